#!/usr/bin/env bash
# The fragments of `make setup` in scripts/setup.d: the client stacks the recipes run with.
# Sourced by scripts/setup.sh after its own steps; also runnable alone while working on one
# fragment:  bash scripts/setup_fragments.sh scripts/setup.d/NN-name.sh
#
# Each fragment is sourced in name order with step/done_step and apt_install (setup_lib.sh),
# PG_ROOT, WORK_DIR, JOBS, VENV and NODE_DIR available, and must be idempotent: check the result first and do
# nothing when it is there.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then  # run alone
  set -euo pipefail
  unset MAKELEVEL MAKEFLAGS MFLAGS
  [ "$(id -u)" = 0 ] || { echo "must run as root (it installs packages)" >&2; exit 1; }
  export DEBIAN_FRONTEND=noninteractive PATH="$HOME/.cargo/bin:$PATH"
  PG_ROOT="${PG_ROOT:-/opt/stash-pg}" WORK_DIR="${WORK_DIR:-/var/tmp/stash-setup}"
  JOBS="${JOBS:-$(nproc)}" VENV="${VENV:-${PG_ROOT:-/opt/stash-pg}/venv}"
  NODE_DIR="${NODE_DIR:-${PG_ROOT:-/opt/stash-pg}/node}"
  mkdir -p "$PG_ROOT" "$WORK_DIR/dl"
  source "$(dirname "${BASH_SOURCE[0]}")/setup_lib.sh"
fi

if [ "${BASH_SOURCE[0]}" = "$0" ] && [ $# -gt 0 ]; then
  fragments=("$@")
else
  fragments=("$(dirname "${BASH_SOURCE[0]}")"/setup.d/*.sh)
fi
for fragment in "${fragments[@]}"; do
  [ -e "$fragment" ] || continue
  # shellcheck source=/dev/null
  source "$fragment"
done
