#!/bin/sh
# Checks the environment, prepares the shared directories, then runs the
# command (FreeSWITCH by default).
#
# The configuration would start without the passwords (it falls back to a
# random secret and logs one CRIT line), but a container that nobody can log
# in to is a mistake worth stopping for: refuse to start and say why.
set -eu

missing=""
for name in FS_ESL_PASSWORD FS_SIP_PASSWORD; do
    eval "value=\${$name:-}"
    [ -n "$value" ] || missing="$missing $name"
done
if [ -n "$missing" ]; then
    echo "freeswitch-entrypoint: required environment variable(s) not set:$missing" >&2
    echo "freeswitch-entrypoint: FS_ESL_PASSWORD is the Event Socket password (the controller's" >&2
    echo "  CC_FREESWITCH_ESL_PASSWORD), FS_SIP_PASSWORD the phones' SIP password (users 1000-1019)." >&2
    exit 64
fi

# Volumes mounted over these directories come up owned by root.
for dir in /var/lib/conference/recordings /var/lib/conference/media; do
    if [ -d "$dir" ]; then
        chgrp conference "$dir" && chmod 2775 "$dir"
    fi
done
chown -R freeswitch:freeswitch /var/lib/freeswitch /var/log/freeswitch 2>/dev/null || true

exec "$@"
