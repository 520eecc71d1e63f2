#!/bin/sh
# Prints a <load module="..."/> line for each module named after $1 whose
# shared object exists in the module directory $1, and an XML comment for
# each one that does not.
#
# autoload_configs/modules.conf.xml splices this output in through the
# pre-processor's exec command: a module listed but not installed would make
# FreeSWITCH log "Error Loading module" at CRIT level on every start
# (src/switch_loadable_module.c), which we do not want for modules that only
# some images ship (mod_shout, mod_flite, mod_opus).
set -u
mod_dir=${1:?usage: optional-modules.sh MODULE_DIR mod_name...}
shift
for module in "$@"; do
    case $module in
        mod_*) ;;
        *) echo "optional-modules.sh: not a module name: $module" >&2; continue ;;
    esac
    if [ -f "$mod_dir/$module.so" ]; then
        printf '    <load module="%s"/>\n' "$module"
    else
        printf '    <!-- %s is not installed in %s: not loaded -->\n' "$module" "$mod_dir"
    fi
done
