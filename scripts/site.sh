# shellcheck shell=bash
# Sourced (not run) by the job scripts, scripts/submit.sh and the Makefile: reads the site file
# (SITE if set, else site/local.env if it exists, else site/default.env) and, with
# `site_load_modules`, loads its modules. Afterwards SITE_BIN is where the binaries built for the
# loaded MPI are (scripts/mpi-stack.sh).
if [ -z "${SITE:-}" ]; then
  if [ -f site/local.env ]; then SITE=site/local.env; else SITE=site/default.env; fi
fi
[ -f "$SITE" ] || { echo "site: no site file $SITE (copy site/example-cluster.env and fill it in)" >&2; return 1; }
# shellcheck disable=SC1090
. "$SITE"

# Loads SITE_MODULES (after `module purge`), first making `module` available in a batch shell.
site_load_modules() {
  [ -n "${SITE_MODULES:-}" ] || return 0
  if ! type module >/dev/null 2>&1; then
    local init
    for init in "${LMOD_PKG:-/nonexistent}/init/bash" /usr/share/lmod/lmod/init/bash /etc/profile.d/lmod.sh /etc/profile.d/modules.sh; do
      # shellcheck disable=SC1090
      [ -f "$init" ] && . "$init" && break
    done
  fi
  type module >/dev/null 2>&1 || { echo "site: SITE_MODULES is set but this shell has no 'module' command" >&2; return 1; }
  module purge
  # Folders separated by colons, as in MODULEPATH, so that a folder's name may hold a space.
  # Plain sh, no arrays: the Makefile reads this file with /bin/sh.
  local rest="${SITE_MODULEPATH:-}" dir
  while [ -n "$rest" ]; do
    dir=${rest%%:*}
    if [ "$dir" = "$rest" ]; then rest=""; else rest=${rest#*:}; fi
    [ -z "$dir" ] || module use "$dir"
  done
  # shellcheck disable=SC2086
  module load $SITE_MODULES || { echo "site: module load $SITE_MODULES failed" >&2; return 1; }
}

site_bin() {
  echo "$(scripts/mpi-stack.sh target-dir)/release"
}
