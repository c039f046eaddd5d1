#!/usr/bin/env bash
# make setup: everything a fresh Debian 12 machine (root, rustc 1.95, registries only)
# needs to build and test stash_tenancy on PostgreSQL 15, 16, 17 and 18.
#
#   PG15  Debian bookworm packages (postgresql-15 + postgresql-server-dev-15)
#   PG16  PyPI wheel pgserver==0.1.4: a relocatable PostgreSQL 16.2 build with headers
#   PG17  upstream tarball from Debian trixie's source package, built here (no cassert:
#         the benchmark version, so it should behave like production builds)
#   PG18  upstream tarball from Debian sid's source package, built with cassert so the
#         test suite runs at least once against PostgreSQL's own assertions
#
# Idempotent: every step checks its result first and does nothing when it is there.
set -euo pipefail
# PostgreSQL's makefiles generate their headers (utils/errcodes.h, ...) only when their own
# make runs at MAKELEVEL 0; `make setup` would hand us MAKELEVEL=1 and break the PG17/18
# (and Citus) builds on a fresh machine.
unset MAKELEVEL MAKEFLAGS MFLAGS

PGRX_VERSION="${PGRX_VERSION:-0.18.1}"
# Must not be under /root (0700): test clusters run as `postgres`.  Source builds are
# configured with their final prefix; pg_regress/pg_config hard-code it.
PG_ROOT="${PG_ROOT:-/opt/stash-pg}"
WORK_DIR="${WORK_DIR:-/var/tmp/stash-setup}"
JOBS="${JOBS:-$(nproc)}"
PGSERVER_WHEEL_SHA256=d595789b47624a3d963aa9aa6359da9be31beb7e61f1a45541953242068b8813
APT_PACKAGES=(build-essential pkg-config clang libclang-dev bison flex libreadline-dev
  zlib1g-dev libicu-dev libssl-dev postgresql-15 postgresql-server-dev-15 postgresql-client-15
  pgbouncer sudo unzip ca-certificates curl bzip2 python3-pip python3-venv)

export DEBIAN_FRONTEND=noninteractive
[ "$(id -u)" = 0 ] || { echo "make setup must run as root (it installs packages)" >&2; exit 1; }
export PATH="$HOME/.cargo/bin:$PATH"
mkdir -p "$PG_ROOT" "$WORK_DIR/dl"
SETUP_T0=$(date +%s)
step() { STEP_NAME=$1; STEP_T0=$(date +%s); echo "=== setup: $1"; }
done_step() { echo "=== setup: $STEP_NAME done in $(( $(date +%s) - STEP_T0 ))s"; }

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
# Debian's packages start a PG15 cluster on 5432; our tests start their own clusters.
if [ -x /usr/bin/pg_lsclusters ] && pg_lsclusters -h 2>/dev/null | grep -q online; then
  pg_ctlcluster 15 main stop 2>/dev/null || true
fi
# pgbouncer's Debian package starts a service too; tests run their own instance.
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

# --- PG15 (apt) -------------------------------------------------------------------------------
PG15_CONFIG=/usr/lib/postgresql/15/bin/pg_config

# --- PG16 (pgserver wheel) --------------------------------------------------------------------
step "PostgreSQL 16 (pgserver wheel)"
PG16_DIR="$PG_ROOT/16-pgserver"
PG16_CONFIG="$PG16_DIR/pgserver/pginstall/bin/pg_config"
if ! "$PG16_CONFIG" --version 2>/dev/null | grep -q '^PostgreSQL 16\.'; then
  WHL="$WORK_DIR/dl/pgserver-0.1.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
  if ! { [ -f "$WHL" ] && echo "$PGSERVER_WHEEL_SHA256  $WHL" | sha256sum -c --quiet; }; then
    python3 -m pip download -q --no-deps --only-binary=:all: --platform manylinux2014_x86_64 \
      --python-version 3.11 --implementation cp pgserver==0.1.4 -d "$WORK_DIR/dl"
    echo "$PGSERVER_WHEEL_SHA256  $WHL" | sha256sum -c --quiet
  fi
  rm -rf "$PG16_DIR.tmp"
  # binaries carry RPATH $ORIGIN/../../../pgserver.libs: keep the wheel's layout
  unzip -q "$WHL" 'pgserver/pginstall/*' 'pgserver.libs/*' -d "$PG16_DIR.tmp"
  rm -rf "$PG16_DIR"; mv "$PG16_DIR.tmp" "$PG16_DIR"
fi
"$PG16_CONFIG" --version
done_step

# --- PG17 / PG18 from Debian source packages ---------------------------------------------------
# The deb-src entry uses the mirror this machine already uses for its own packages (a
# snapshot or a local mirror where the machine has one), not a host written in here.
apt_mirror() {
  local uri=""
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    uri=$(awk '/^URIs:/ {for (i = 2; i <= NF; i++) if ($i ~ /\/debian\/?$/) {print $i; exit}}' "$f")
    [ -n "$uri" ] && break
  done
  [ -n "$uri" ] || uri=$(awk '$1 == "deb" && $2 ~ /\/debian\/?$/ {print $2; exit}' \
    /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null)
  [ -n "$uri" ] || { echo "no Debian mirror found in /etc/apt/sources.list*" >&2; return 1; }
  echo "$uri"
}
ensure_deb_src() {
  if ! apt-cache showsrc postgresql-17 2>/dev/null | grep -q '^Version:' \
     || ! apt-cache showsrc postgresql-18 2>/dev/null | grep -q '^Version:'; then
    local uri; uri=$(apt_mirror)
    echo "deb-src for trixie + sid from $uri"
    cat > /etc/apt/sources.list.d/stash-tenancy-src.sources <<SRC
Types: deb-src
URIs: $uri
Suites: trixie sid
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    apt-get update -qq
  fi
}
build_pg() {  # $1 = major, $2.. = extra configure flags
  local major=$1; shift
  local prefix="$PG_ROOT/$major" tarball ver src
  if "$prefix/bin/pg_config" --version 2>/dev/null | grep -q "^PostgreSQL $major\." \
     && [ -f "$("$prefix/bin/pg_config" --pkglibdir)/pg_stat_statements.so" ]; then
    echo "already installed: $("$prefix/bin/pg_config" --version)"; return 0
  fi
  ensure_deb_src
  ( cd "$WORK_DIR/dl" && apt-get source --download-only -qq "postgresql-$major" )
  tarball=$(ls -1 "$WORK_DIR/dl"/postgresql-"$major"_*.orig.tar.bz2 | sort -V | tail -1)
  ver=$(basename "$tarball" .orig.tar.bz2); ver=${ver#postgresql-"$major"_}
  src="$WORK_DIR/postgresql-$ver"
  rm -rf "$src" "$prefix"; mkdir -p "$src"
  tar xjf "$tarball" -C "$src" --strip-components=1
  ( cd "$src"
    ./configure --prefix="$prefix" --enable-debug "$@" > configure.log 2>&1 \
      || { tail -30 configure.log; exit 1; }
    make -j"$JOBS" > make.log 2>&1 || { tail -50 make.log; exit 1; }
    make install > make-install.log 2>&1 || { tail -50 make-install.log; exit 1; }
    # the benchmarks read pg_stat_statements
    make -C contrib/pg_stat_statements install > contrib.log 2>&1 || { tail -30 contrib.log; exit 1; } )
  rm -rf "$src"
  "$prefix/bin/pg_config" --version
}
step "PostgreSQL 17 (source)"; build_pg 17; done_step
step "PostgreSQL 18 (source, cassert)"
CPPFLAGS="-DUSE_ASSERT_CHECKING=1" build_pg 18 --enable-cassert
done_step

# --- cargo pgrx init ----------------------------------------------------------------------------
step "cargo pgrx init"
PGRX_CONFIG="${PGRX_HOME:-$HOME/.pgrx}/config.toml"
want=$(printf '%s\n' "pg15 = \"$PG15_CONFIG\"" "pg16 = \"$PG16_CONFIG\"" \
  "pg17 = \"$PG_ROOT/17/bin/pg_config\"" "pg18 = \"$PG_ROOT/18/bin/pg_config\"")
if [ -f "$PGRX_CONFIG" ] && [ "$(grep -E '^pg1[5-8] =' "$PGRX_CONFIG" | sort)" = "$want" ]; then
  echo "already initialised"
else
  cargo pgrx init --pg15 "$PG15_CONFIG" --pg16 "$PG16_CONFIG" \
    --pg17 "$PG_ROOT/17/bin/pg_config" --pg18 "$PG_ROOT/18/bin/pg_config"
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

# --- client stacks and Citus: scripts/setup.d, one fragment per concern --------------------
source "$(dirname "$0")/setup_fragments.sh"  # with VENV and NODE_DIR set above

echo "=== setup: complete in $(( $(date +%s) - SETUP_T0 ))s"
