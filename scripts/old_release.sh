#!/usr/bin/env bash
# The shared library of a released stash_tenancy, built from the commit sql/RELEASES names,
# for the upgrade test (tests/integration/test_upgrade.py starts each released version's
# databases under that version's real library, then updates them under the new one).
#
#   scripts/old_release.sh VERSION PGMAJOR    builds (or finds) it; prints the .so's path,
#                                             the only line on stdout (progress: stderr)
#   scripts/old_release.sh --list             the released versions, oldest first
#
# The commit is exported with `git archive` (never checked out: the work tree is untouched)
# into $WORK_DIR/releases/src/, and built there with `cargo build --lib --locked`: the
# release's own Cargo.lock, a dev profile without debug info (quick to build; the test
# needs behaviour, not speed: CARGO_PROFILE_DEV_* override it), one CARGO_TARGET_DIR for
# every release, so the dependencies compile once per PostgreSQL major, and the pg_config
# that scripts/pg.sh knows for PGMAJOR.  The result is kept in
# $WORK_DIR/releases/VERSION-COMMIT/pgMAJOR/stash_tenancy.so with a stamp of the commit and
# the PostgreSQL it was built against: a second call costs nothing; another PostgreSQL
# build of that major (a minor update, another route of make setup) rebuilds it.
# WORK_DIR is make setup's (/var/tmp/stash-setup).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
source scripts/pg.sh
WORK_DIR="${WORK_DIR:-/var/tmp/stash-setup}"
CACHE="$WORK_DIR/releases"
RELEASES="$ROOT/sql/RELEASES"

say() { printf 'old_release: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }
usage() { sed -n '5,7p' "$0" | sed 's/^# *//' >&2; exit 2; }
released() { sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$RELEASES"; }

[ "${1:-}" = --list ] && { released | awk '{print $1}'; exit 0; }
[ $# = 2 ] || usage
version=$1 major=$2
commit=$(released | awk -v v="$version" '$1 == v {print $2}')
[ -n "$commit" ] || die "$version is not a released version (sql/RELEASES has: $(released | awk '{print $1}' | xargs))"
cfg=$(pg_config_for "$major") || exit 1

out="$CACHE/$version-${commit:0:12}/pg$major"
so="$out/stash_tenancy.so"
# what the library was built from and against; a different PostgreSQL build of the same
# major (headers, configure options such as --enable-cassert) is another library
stamp="commit=$commit
pg_config=$cfg
$("$cfg" --version)
configure=$("$cfg" --configure | sha256sum | cut -c1-16)"
cached() { [ -f "$so" ] && [ "$(cat "$out/stamp" 2>/dev/null)" = "$stamp" ]; }
if cached; then echo "$so"; exit 0; fi

# Building needs the commit (a cached library does not: its stamp names the commit).
if ! git -C "$ROOT" cat-file -e "$commit^{commit}" 2>/dev/null; then
  die "release $version's commit $commit is not in this repository$( \
    [ "$(git -C "$ROOT" rev-parse --is-shallow-repository 2>/dev/null)" = true ] && echo ' (a shallow clone)'): \
run \`git fetch --unshallow\` (or \`git fetch origin $commit\`), then again"
fi
tagged=$(git -C "$ROOT" show "$commit:Cargo.toml" | sed -n 's/^version = "\(.*\)"$/\1/p' | head -1)
[ "$tagged" = "$version" ] || die "sql/RELEASES: commit $commit is version ${tagged:-?} (its Cargo.toml), not $version"

mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
if ! flock -n 9; then
  say "waiting for another build in $CACHE"
  flock 9
fi
if cached; then echo "$so"; exit 0; fi   # built meanwhile by the one we waited for

src="$CACHE/src/$version-${commit:0:12}"
if ! [ -f "$src/.exported" ]; then
  rm -rf "$src" "$src.tmp"; mkdir -p "$src.tmp"
  git -C "$ROOT" archive --format=tar "$commit" | tar -x -C "$src.tmp"
  touch "$src.tmp/.exported"
  mv "$src.tmp" "$src"
fi

say "building stash_tenancy $version (${commit:0:12}) for PostgreSQL $major ($("$cfg" --version)); log: cargo's, below"
t0=$(date +%s)
# Every release's library is target/debug/deps/libstash_tenancy.so, without a hash in the
# name (a cdylib), so the last release built owns that file while cargo still calls the
# others fresh.  Removing it makes cargo build this release's crate again (the
# dependencies stay compiled, ~10-40 s), so a library there afterwards is this build's.
rm -f "$CACHE/target/debug/deps/libstash_tenancy.so" "$CACHE/target/debug/libstash_tenancy.so" \
      "$CACHE/target/debug/libstash_tenancy.d"
(cd "$src" && nice -n 10 env \
   CARGO_TARGET_DIR="$CACHE/target" \
   PGRX_PG_CONFIG_PATH="$cfg" \
   CARGO_INCREMENTAL=0 \
   CARGO_PROFILE_DEV_DEBUG="${CARGO_PROFILE_DEV_DEBUG:-0}" \
   cargo build --lib --locked --no-default-features --features "pg$major") >&2 \
  || die "building $version for PostgreSQL $major failed (sources: $src)"
built="$CACHE/target/debug/libstash_tenancy.so"
[ -f "$built" ] || die "cargo built no $built"
# The commit must be the release: its library defines every C symbol the frozen install
# script names (CREATE EXTENSION ... VERSION would fail on the first one missing).
script="$ROOT/sql/stash_tenancy--$version.sql"
[ -f "$script" ] || die "no frozen install script $script for $version"
missing=$(comm -23 <(grep -oE "'MODULE_PATHNAME', '[A-Za-z0-9_]+'" "$script" | sed -E "s/.*, '(.*)'/\1/" | sort -u) \
                   <(nm -D --defined-only "$built" | awk '{print $NF}' | sort -u))
[ -z "$missing" ] || die "commit $commit is not release $version: its library lacks $(echo $missing | wc -w) C \
symbol(s) that sql/stash_tenancy--$version.sql names ($(echo $missing | cut -c1-200)); fix sql/RELEASES"
mkdir -p "$out"
cp "$built" "$so.tmp" && chmod 755 "$so.tmp" && mv "$so.tmp" "$so"
printf '%s\n' "$stamp" >"$out/stamp"
say "built $version for PostgreSQL $major in $(( $(date +%s) - t0 ))s: $so"
echo "$so"
