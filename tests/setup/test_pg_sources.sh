#!/usr/bin/env bash
# How `make setup` chooses where a PostgreSQL version comes from (scripts/pg_sources.sh),
# proven without a network: a route table of this file's own over a file:// "mirror", and
# a stand-in for the one expensive step (the source build), which installs a fake
# pg_config.  Everything else — the order, STASH_PG_SKIP_ROUTES, the sha256 check, a
# missing file, the record, the one-line failure — is the code setup runs.
set -uo pipefail
cd "$(dirname "$0")/../.."
T=$(mktemp -d /tmp/stash-pg-sources.XXXXXX)
trap 'rm -rf "$T"' EXIT
PG_ROOT="$T/root" WORK_DIR="$T/work" JOBS=1
mkdir -p "$PG_ROOT" "$WORK_DIR/dl" "$T/mirror/pool/main/p/pg"
source scripts/pg_sources.sh
DEBIAN_MIRROR="file://$T/mirror"

# pg_build_from_tarball TARBALL PREFIX: a "build" whose pg_config reports the tarball's
# contents as its version, with the headers and plpgsql.so a usable install has.
pg_build_from_tarball() {
  local ver; ver=$(tar xjOf "$1" version) || return 1
  mkdir -p "$2/bin" "$2/include/server" "$2/lib"
  touch "$2/include/server/pg_config.h" "$2/lib/plpgsql.so"
  cat >"$2/bin/pg_config" <<EOF
#!/bin/sh
case "\$1" in
  --version) echo "PostgreSQL $ver" ;;
  --includedir-server) echo "$2/include/server" ;;
  --pkglibdir) echo "$2/lib" ;;
esac
EOF
  chmod +x "$2/bin/pg_config"
  echo "$ver" >"$2/built-from"
}
tarball() {  # tarball NAME VERSION: a tarball in the mirror's pool; prints its sha256
  mkdir -p "$T/t" && echo "$2" >"$T/t/version"
  tar cjf "$T/mirror/pool/main/p/pg/$1" -C "$T/t" version
  sha256sum "$T/mirror/pool/main/p/pg/$1" | cut -d' ' -f1
}

pass=0 fail=0
check() {  # check DESCRIPTION COMMAND...
  if "${@:2}"; then pass=$((pass + 1)); echo "  ok    $1"
  else fail=$((fail + 1)); echo "  FAIL  $1"; fi
}
served_by() { [ "$(pg_record_get 17 route)" = "$1" ] && [ "$(cat "$PG_ROOT/17/built-from")" = "$2" ]; }
fresh() { rm -rf "$PG_ROOT"/* "$WORK_DIR/dl"/*; }

A=$(tarball a.tar.bz2 17.1) B=$(tarball b.tar.bz2 17.2)
PG_ROUTES=("17 primary debian-src pg/a.tar.bz2 $A" "17 fallback debian-src pg/b.tar.bz2 $B"
           "16 other debian-src pg/a.tar.bz2 $A")

echo "== the primary serves when it works"
fresh; out=$(provide_pg 17 2>&1)
check "primary installed and recorded" served_by primary 17.1
check "setup says which route served it" grep -q "PostgreSQL 17: served by primary (PostgreSQL 17.1)" <<<"$out"
check "pg_config recorded for scripts/pg.sh" test "$(pg_record_get 17 pg_config)" = "$PG_ROOT/17/bin/pg_config"

echo "== an install already there is kept, with no download"
mv "$T/mirror/pool/main/p/pg/a.tar.bz2" "$T/a.away"; rm -f "$WORK_DIR/dl"/*
out=$(provide_pg 17 2>&1)
check "kept without its source" grep -q "already installed (17.1, from primary)" <<<"$out"
mv "$T/a.away" "$T/mirror/pool/main/p/pg/a.tar.bz2"

echo "== a disabled primary: the fallback serves (and replaces the primary's install)"
out=$(STASH_PG_SKIP_ROUTES="17:primary" provide_pg 17 2>&1)
check "fallback installed" served_by fallback 17.2
check "says so" grep -q "served by fallback" <<<"$out"
out=$(STASH_PG_SKIP_ROUTES="16:* 17:fallback" provide_pg 17 2>&1)
check "a glob disables only its own version's routes" served_by primary 17.1

echo "== a missing file (404) or a wrong checksum: the fallback serves"
fresh; mv "$T/mirror/pool/main/p/pg/a.tar.bz2" "$T/a.away"
out=$(provide_pg 17 2>&1)
check "missing primary file -> fallback" served_by fallback 17.2
mv "$T/a.away" "$T/mirror/pool/main/p/pg/a.tar.bz2"
fresh; PG_ROUTES[0]="17 primary debian-src pg/a.tar.bz2 ${B}"
out=$(provide_pg 17 2>&1)
check "checksum mismatch -> fallback" served_by fallback 17.2
check "the mismatched download is not kept" test ! -e "$WORK_DIR/dl/a.tar.bz2"
PG_ROUTES[0]="17 primary debian-src pg/a.tar.bz2 $A"

echo "== an install that is not the major asked for is refused"
fresh; C=$(tarball c.tar.bz2 16.9)
PG_ROUTES[0]="17 primary debian-src pg/c.tar.bz2 $C"
out=$(provide_pg 17 2>&1)
check "wrong major -> fallback" served_by fallback 17.2
PG_ROUTES[0]="17 primary debian-src pg/a.tar.bz2 $A"

echo "== no route works: one line naming every route tried, and a failure"
fresh; rm -f "$T/mirror/pool/main/p/pg/b.tar.bz2"
err=$(STASH_PG_SKIP_ROUTES="17:primary" provide_pg 17 2>&1 >/dev/null); rc=$?
check "non-zero" test "$rc" != 0
check "exactly one line on stderr" test "$(wc -l <<<"$err")" = 1
check "names both routes and why" grep -qE "^PostgreSQL 17: no source could provide it; tried: primary \(disabled by STASH_PG_SKIP_ROUTES\); fallback \(download failed: .*\)$" <<<"$err"
check "nothing recorded" test ! -e "$PG_ROOT/pg17.source"
err=$(provide_pg 15 2>&1 >/dev/null); rc=$?
check "a version with no route fails too" test "$rc" != 0 -a "$err" = "PostgreSQL 15: no source could provide it; tried: "

echo "== the real table: every version has a primary and a fallback, each pinned"
source scripts/pg_sources.sh  # the real PG_ROUTES again
for major in 15 16 17 18; do
  n=0
  for line in "${PG_ROUTES[@]}"; do
    read -r -a r <<<"$line"; [ "${r[0]}" = "$major" ] || continue
    n=$((n + 1))
    case "${r[2]}" in
      apt) ok=1 ;;
      debian-src) [[ "${r[4]}" =~ ^[0-9a-f]{64}$ ]] && ok=1 || ok=0 ;;
      wheel|wheel+deb-headers) [[ "${r[3]}" == *==* && "${r[5]}" =~ ^[0-9a-f]{64}$ ]] && ok=1 || ok=0 ;;
      *) ok=0 ;;
    esac
    check "$major ${r[1]}: a known kind, pinned" test "$ok" = 1
    declare -F "route_${r[2]}" >/dev/null || { fail=$((fail + 1)); echo "  FAIL  no route_${r[2]}"; }
  done
  check "PostgreSQL $major has at least two routes" test "$n" -ge 2
done

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
