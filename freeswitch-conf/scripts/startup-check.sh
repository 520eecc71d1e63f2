#!/bin/sh
# Prints a FreeSWITCH console command that logs one CRIT line naming every
# required environment variable (given as arguments) that is unset or empty;
# prints nothing when all are set.
#
# vars.xml stores the output in api_on_startup, which FreeSWITCH runs once it
# has started (src/switch_core.c). Printing nothing leaves the variable unset,
# so a complete environment produces no log line at all.
set -u
missing=""
for name in "$@"; do
    case $name in
        *[!A-Za-z0-9_]*) echo "startup-check.sh: bad variable name: $name" >&2; exit 2 ;;
    esac
    eval "value=\${$name:-}"
    [ -n "$value" ] || missing="$missing $name"
done
if [ -n "$missing" ]; then
    echo "log CRIT required environment variable(s) not set:$missing. Until they are set a random secret is used and nobody can log in. Set them and restart FreeSWITCH."
fi
