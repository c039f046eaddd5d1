#!/usr/bin/env bash
# make setup: everything a fresh Debian 12 machine (root, rustc 1.95, registries only)
# needs to build and test stash_tenancy on PostgreSQL 15, 16, 17 and 18.
#
# Each PostgreSQL version comes from the first route of scripts/pg_sources.sh that works
# (a pinned primary and at least one fallback, every download checked by sha256); the
# end of the run says which route served each version.  Citus is not installed here: the
# Citus suites run where the user installed it (docs/scale-out.md).
#
# Idempotent: every step checks its result first and does nothing when it is there.
set -euo pipefail
# PostgreSQL's makefiles generate their headers (utils/errcodes.h, ...) only when their own
# make runs at MAKELEVEL 0; `make setup` would hand us MAKELEVEL=1 and break a source build
# on a fresh machine.
unset MAKELEVEL MAKEFLAGS MFLAGS

PGRX_VERSION="${PGRX_VERSION:-0.18.1}"
# Must not be under /root (0700): test clusters run as `postgres`.  Source builds are
# configured with their final prefix; pg_regress/pg_config hard-code it.
PG_ROOT="${PG_ROOT:-/opt/stash-pg}"
# Another prefix gets its own cargo-pgrx configuration (scripts/pg.sh reads the same rule).
[ "$PG_ROOT" = /opt/stash-pg ] || export PGRX_HOME="${PGRX_HOME:-$PG_ROOT/pgrx}"
WORK_DIR="${WORK_DIR:-/var/tmp/stash-setup}"
JOBS="${JOBS:-$(nproc)}"
APT_PACKAGES=(build-essential pkg-config clang libclang-dev bison flex libreadline-dev
  zlib1g-dev libicu-dev libssl-dev pgbouncer sudo unzip ca-certificates curl bzip2
  python3-pip python3-venv)

export DEBIAN_FRONTEND=noninteractive
[ "$(id -u)" = 0 ] || { echo "make setup must run as root (it installs packages)" >&2; exit 1; }
export PATH="$HOME/.cargo/bin:$PATH"
mkdir -p "$PG_ROOT" "$WORK_DIR/dl"
SETUP_T0=$(date +%s)
source "$(dirname "$0")/setup_lib.sh"
source "$(dirname "$0")/pg_sources.sh"

# --- apt ------------------------------------------------------------------------------------
step "apt packages"
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "all ${#APT_PACKAGES[@]} packages present"
fi
# pgbouncer's Debian package starts a service; tests run their own instance.
service pgbouncer stop >/dev/null 2>&1 || true
done_step

# --- cargo-pgrx -------------------------------------------------------------------------------
step "cargo-pgrx $PGRX_VERSION"
if [ "$(cargo pgrx --version 2>/dev/null)" != "cargo-pgrx $PGRX_VERSION" ]; then
  cargo install cargo-pgrx --version "=$PGRX_VERSION" --locked
else
  echo "already installed"
fi
done_step

# --- PostgreSQL 15-18: scripts/pg_sources.sh ---------------------------------------------------
# An earlier setup added Debian trixie + sid source entries to the machine's own apt sources;
# the routes now read the pool directly, so that entry only slows every apt-get update.
rm -f /etc/apt/sources.list.d/stash-tenancy-src.sources
for major in 15 16 17 18; do
  step "PostgreSQL $major"; provide_pg "$major"; done_step
done
# Debian's packages start a PG15 cluster on 5432; our tests start their own clusters.
if [ -x /usr/bin/pg_lsclusters ] && pg_lsclusters -h 2>/dev/null | grep -q online; then
  pg_ctlcluster 15 main stop 2>/dev/null || true
fi
PG15_CONFIG=$(pg_record_get 15 pg_config) PG16_CONFIG=$(pg_record_get 16 pg_config)
PG17_CONFIG=$(pg_record_get 17 pg_config) PG18_CONFIG=$(pg_record_get 18 pg_config)

# --- cargo pgrx init ----------------------------------------------------------------------------
step "cargo pgrx init"
PGRX_CONFIG="${PGRX_HOME:-$HOME/.pgrx}/config.toml"
want=$(printf '%s\n' "pg15 = \"$PG15_CONFIG\"" "pg16 = \"$PG16_CONFIG\"" \
  "pg17 = \"$PG17_CONFIG\"" "pg18 = \"$PG18_CONFIG\"")
if [ -f "$PGRX_CONFIG" ] && [ "$(grep -E '^pg1[5-8] =' "$PGRX_CONFIG" | sort)" = "$want" ]; then
  echo "already initialised"
else
  cargo pgrx init --pg15 "$PG15_CONFIG" --pg16 "$PG16_CONFIG" \
    --pg17 "$PG17_CONFIG" --pg18 "$PG18_CONFIG"
fi
cat "$PGRX_CONFIG"
done_step

# --- Python: the integration tests drive real sessions with psycopg under pytest ----------------
step "python venv (psycopg, pytest, Django, PyJWT)"
VENV="$PG_ROOT/venv"
if ! "$VENV/bin/python" -c 'import psycopg, pytest, django, jwt, cryptography' 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q 'psycopg[binary]==3.2.*' 'pytest==8.*' 'Django==5.2.*' \
    'PyJWT[crypto]==2.*'
else
  echo "already installed"
fi
done_step

# --- Node driver: the Node recipe in docs/recipes runs under make test with the real `pg` ----
step "node (pg driver)"
NODE_DIR="$PG_ROOT/node"
if ! command -v node >/dev/null 2>&1; then
  apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
if [ ! -f "$NODE_DIR/node_modules/pg/package.json" ]; then
  mkdir -p "$NODE_DIR"
  (cd "$NODE_DIR" && npm init -y >/dev/null && npm install --silent --no-audit --no-fund pg@8)
else
  echo "already installed"
fi
done_step

# --- client stacks: scripts/setup.d, one fragment per concern ------------------------------
source "$(dirname "$0")/setup_fragments.sh"  # with VENV and NODE_DIR set above

echo "=== setup: PostgreSQL sources"
for major in 15 16 17 18; do
  echo "PostgreSQL $major: $(pg_record_get "$major" version), from $(pg_record_get "$major" route)"
done
echo "=== setup: complete in $(( $(date +%s) - SETUP_T0 ))s"
