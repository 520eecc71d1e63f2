#!/bin/sh
# Prints the SIP trunk gateway of the internal profile, or a comment when none is
# configured. Read from the environment:
#   FS_GATEWAY_NAME      the gateway's name (the controller's [outbound] gateway);
#                        unset or empty: no gateway
#   FS_GATEWAY_HOST      the trunk's host[:port] (its proxy and realm); required
#   FS_GATEWAY_USER      the account (empty: no registration, calls unauthenticated)
#   FS_GATEWAY_PASSWORD  its password
#   FS_GATEWAY_REGISTER  true/false: register with the trunk (default: true with a user)
#
# sip_profiles/internal.xml splices this output in through the pre-processor's
# exec command. Numbers are then dialled as sofia/gateway/<name>/<number>
# (mod_sofia.c sofia_outgoing_channel); caller-id-in-from puts the call's caller
# id in From, which is where most trunks read it (sofia.c parse_gateways).
set -u
name=${FS_GATEWAY_NAME:-}
host=${FS_GATEWAY_HOST:-}
user=${FS_GATEWAY_USER:-}
password=${FS_GATEWAY_PASSWORD:-}
if [ -z "$name" ]; then
    echo '  <!-- no SIP trunk: FS_GATEWAY_NAME is not set -->'
    exit 0
fi
case $name in
    *[!A-Za-z0-9_.-]*) echo "gateway.sh: FS_GATEWAY_NAME must be letters, digits, _ . -: $name" >&2
                       echo '  <!-- no SIP trunk: FS_GATEWAY_NAME is not a valid name -->'; exit 0 ;;
esac
case $host in
    ''|*[!A-Za-z0-9_.:-]*) echo "gateway.sh: FS_GATEWAY_HOST must be host[:port]: '$host'" >&2
                           echo '  <!-- no SIP trunk: FS_GATEWAY_HOST is missing or invalid -->'
                           exit 0 ;;
esac
register=${FS_GATEWAY_REGISTER:-}
if [ -z "$register" ]; then
    if [ -n "$user" ]; then register=true; else register=false; fi
fi
case $register in true|false) ;; *) register=false ;; esac
# XML attribute values: escape the five special characters.
xml() { printf '%s' "$1" | sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g' \
                                -e 's/"/\&quot;/g' -e "s/'/\&apos;/g"; }
printf '  <gateways>\n'
printf '    <gateway name="%s">\n' "$name"
printf '      <param name="proxy" value="%s"/>\n' "$host"
printf '      <param name="realm" value="%s"/>\n' "$host"
if [ -n "$user" ]; then
    printf '      <param name="username" value="%s"/>\n' "$(xml "$user")"
    printf '      <param name="from-user" value="%s"/>\n' "$(xml "$user")"
    printf '      <param name="password" value="%s"/>\n' "$(xml "$password")"
fi
printf '      <param name="register" value="%s"/>\n' "$register"
printf '      <param name="caller-id-in-from" value="true"/>\n'
printf '    </gateway>\n'
printf '  </gateways>\n'
