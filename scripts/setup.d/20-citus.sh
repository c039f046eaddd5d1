# Citus (schema-based sharding) for the scale-out suite: built from its source into the
# PostgreSQL 17 install (the suite's version) and 18.  Citus is in no registry reachable
# here: the tarball comes from CITUS_TARBALL, else ../shared/vendor/ next to this
# checkout, else (online machines) Citus's GitHub release.  No extra Debian packages:
# built without libcurl (no statistics reporting over the network), lz4 and zstd
# (columnar compression, which tenants do not need).
CITUS_VERSION=14.0.1
CITUS_SHA256=b146bf5d22eff6120d2240bd45e6dd718674969fa63a74ac9960e88ae106e64f
step "citus $CITUS_VERSION (PostgreSQL 17, 18)"
citus_tarball() {
  local vendored
  vendored="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)/shared/vendor/citus-$CITUS_VERSION.tar.gz"
  if [ -n "${CITUS_TARBALL:-}" ]; then echo "$CITUS_TARBALL"
  elif [ -f "$vendored" ]; then echo "$vendored"
  else
    local dl="$WORK_DIR/dl/citus-$CITUS_VERSION.tar.gz"
    [ -f "$dl" ] || curl -fsSL -o "$dl" \
      "https://github.com/citusdata/citus/archive/refs/tags/v$CITUS_VERSION.tar.gz" \
      || { echo "no Citus source: set CITUS_TARBALL (or put citus-$CITUS_VERSION.tar.gz in ../shared/vendor)" >&2; return 1; }
    echo "$dl"
  fi
}
for citus_major in 17 18; do
  citus_cfg="$PG_ROOT/$citus_major/bin/pg_config"
  [ -x "$citus_cfg" ] || { echo "PostgreSQL $citus_major missing at $citus_cfg" >&2; exit 1; }
  citus_ctl="$("$citus_cfg" --sharedir)/extension/citus.control"
  if [ -f "$citus_ctl" ] && grep -q "default_version = '${CITUS_VERSION%.*}" "$citus_ctl" \
     && [ -f "$("$citus_cfg" --pkglibdir)/citus.so" ]; then
    echo "pg$citus_major: already installed"; continue
  fi
  citus_src=$(citus_tarball)
  echo "$CITUS_SHA256  $citus_src" | sha256sum --check --quiet \
    || [ -n "${CITUS_TARBALL:-}" ] || { echo "unexpected checksum: $citus_src" >&2; exit 1; }
  citus_build="$WORK_DIR/citus-$CITUS_VERSION-pg$citus_major"
  rm -rf "$citus_build"; mkdir -p "$citus_build"
  tar -xzf "$citus_src" -C "$citus_build" --strip-components=1
  ( cd "$citus_build" \
    && ./configure -q PG_CONFIG="$citus_cfg" --without-libcurl --without-lz4 --without-zstd >configure.log \
    && make -s -j"$JOBS" >make.log 2>&1 && make -s install >install.log 2>&1 ) \
    || { echo "citus build for pg$citus_major failed: see $citus_build/*.log" >&2; exit 1; }
  echo "pg$citus_major: installed"
done
done_step
