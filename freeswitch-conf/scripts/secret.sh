#!/bin/sh
# Prints the secret held by the environment variable named in $1, or a random
# 32-character hex secret when that variable is unset or empty.
#
# vars.xml runs this through the pre-processor's exec-set, which keeps the
# printed text (trailing newline stripped) as a global variable. A random
# value fails closed: nobody can log in until the variable is set, and
# scripts/startup-check.sh says so in the log.
set -u
name=${1:?usage: secret.sh VARIABLE_NAME}
case $name in
    *[!A-Za-z0-9_]*) echo "secret.sh: bad variable name: $name" >&2; exit 2 ;;
esac
eval "value=\${$name:-}"
if [ -n "$value" ]; then
    printf '%s\n' "$value"
else
    od -An -N16 -tx1 /dev/urandom | tr -d ' \n'
    printf '\n'
fi
