# What every part of `make setup` shares: step timing and apt installs.  Sourced by
# scripts/setup.sh and scripts/setup_fragments.sh (a fragment run alone).

step() { STEP_NAME=$1; STEP_T0=$(date +%s); echo "=== setup: $1"; }
done_step() { echo "=== setup: $STEP_NAME done in $(( $(date +%s) - STEP_T0 ))s"; }

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
