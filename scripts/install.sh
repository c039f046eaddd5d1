#!/usr/bin/env bash
# make install / make package: cargo pgrx's install or package, plus the full install
# scripts of released versions kept in sql/.
#
#   scripts/install.sh install PG_CONFIG [cargo pgrx install flags]
#   scripts/install.sh package PG_CONFIG [OUT_DIR] [cargo pgrx package flags]
#
# cargo pgrx generates the current version's script (stash_tenancy--X.sql) and copies the
# upgrade scripts (stash_tenancy--A--B.sql) from sql/, but not the install scripts of
# released versions (stash_tenancy--0.1.0.sql).  Those are what lets `CREATE EXTENSION
# stash_tenancy VERSION '0.1.0'` work, which the upgrade test relies on and which an
# operator needs to restore a dump of an older version before updating it.
#
# A package is a directory tree mirroring the target server's paths (lib/…/stash_tenancy.so,
# share/…/extension/stash_tenancy*); installing it is `cp -r OUT_DIR/. /` on a machine with
# the same PostgreSQL major version, without Rust.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
EXT=stash_tenancy

usage() { sed -n '4,5p' "$0" | sed 's/^# *//' >&2; exit 2; }
[ $# -ge 2 ] || usage
mode=$1 pg_config=$2; shift 2
[ -x "$pg_config" ] || { echo "not an executable pg_config: $pg_config" >&2; exit 2; }
major=$("$pg_config" --version | sed -E 's/^PostgreSQL ([0-9]+).*/\1/')
extdir="$("$pg_config" --sharedir)/extension"

case "$mode" in
  install)
    cargo pgrx install --pg-config "$pg_config" "$@"
    dest=$extdir ;;
  package)
    out=${1:-target/package/$EXT-pg$major}; [ $# -gt 0 ] && shift
    out=$(realpath -m "$out")
    rm -rf "$out"
    cargo pgrx package --pg-config "$pg_config" --out-dir "$out" "$@"
    dest=$out$extdir ;;
  *) usage ;;
esac

shopt -s nullglob
for f in sql/$EXT--*.sql; do
  name=$(basename "$f")
  [[ $name == $EXT--*--*.sql ]] && continue   # upgrade scripts: cargo pgrx copied them
  install -m 644 "$f" "$dest/$name"
done
if [ "$mode" = package ]; then
  echo "package for PostgreSQL $major in $out:"
  (cd "$out" && find . -type f | sort)
fi
