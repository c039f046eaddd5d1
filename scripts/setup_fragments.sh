#!/usr/bin/env bash
# The fragments of `make setup` in scripts/setup.d: the client stacks the recipes run with
# and Citus.  Sourced by scripts/setup.sh after its own steps; also runnable alone while
# working on one fragment:  bash scripts/setup_fragments.sh scripts/setup.d/NN-name.sh
#
# Each fragment is sourced in name order with step/done_step, apt_install, PG_ROOT, WORK_DIR,
# JOBS, VENV and NODE_DIR available, and must be idempotent: check the result first and do
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
  step() { STEP_NAME=$1; STEP_T0=$(date +%s); echo "=== setup: $1"; }
  done_step() { echo "=== setup: $STEP_NAME done in $(( $(date +%s) - STEP_T0 ))s"; }
fi

apt_install() {  # apt_install PKG...: installs the missing ones; waits for another dpkg run
  local want=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || want+=("$p")
  done
  [ ${#want[@]} -gt 0 ] || return 0
  echo "installing: ${want[*]}"
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${want[@]}" >/dev/null \
    || { apt-get -o DPkg::Lock::Timeout=600 update -qq \
         && apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${want[@]}" >/dev/null; }
}

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
