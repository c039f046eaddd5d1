#!/usr/bin/env bash
# make test: lint once, then on each PostgreSQL version
#   1. the #[pg_test] suite      (cargo pgrx test)
#   2. the regress suite         (tests/sql/*.sql diffed against tests/expected/*.out)
#   3. the integration suite     (tests/integration, real sessions through psycopg/PgBouncer)
# against real clusters.  Exits non-zero on any failure; ends with one line per version
# and a total.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
source scripts/pg.sh

LINT_ONLY=0
versions=()
for a in "$@"; do
  case "$a" in --lint-only) LINT_ONLY=1 ;; *) versions+=("$a") ;; esac
done
[ ${#versions[@]} -gt 0 ] || versions=(15 16 17 18)
for v in "${versions[@]}"; do pg_config_for "$v" >/dev/null || exit 2; done

RUN_DIR=$(mktemp -d /tmp/stash-test.XXXXXX)
chmod 755 "$RUN_DIR"
started=()
cleanup() {
  for v in "${started[@]}"; do cluster_stop "$v" "$RUN_DIR/pg$v"; done
  [ "${KEEP_RUN_DIR:-0}" = 1 ] || rm -rf "$RUN_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

TOTAL_PASS=0 TOTAL_FAIL=0
SUMMARY=()
SKIPPED=()  # "what: reason", repeated at the end: nothing is skipped silently
T_ALL=$(date +%s)
say() { printf '\n=== %s\n' "$*"; }

# ---- lint (once) ---------------------------------------------------------------------------
lint_pass=0 lint_fail=0
if [[ " ${SUITES:-lint} " == *" lint "* ]]; then
say "lint: cargo fmt --check"
if cargo fmt --all -- --check; then lint_pass=$((lint_pass + 1)); else lint_fail=$((lint_fail + 1)); fi
say "lint: cargo clippy -D warnings (pg${PG_DEFAULT:-17})"
if cargo clippy --quiet --all-targets --no-default-features \
     --features "pg${PG_DEFAULT:-17} pg_test" -- -D warnings; then
  lint_pass=$((lint_pass + 1)); else lint_fail=$((lint_fail + 1)); fi
say "lint: no import cycle among the modules of src/ (scripts/check_modules.py); docs/development.md's tree is src/"
if python3 tests/lint/test_check_modules.py && python3 scripts/check_modules.py \
   && python3 tests/lint/test_layout_doc.py --self-test 2>/dev/null && python3 tests/lint/test_layout_doc.py; then lint_pass=$((lint_pass + 1)); else lint_fail=$((lint_fail + 1)); fi
say "lint: the stash CLI (cli/): cargo fmt --check, clippy -D warnings, unit tests"
if cargo fmt --manifest-path cli/Cargo.toml -- --check \
   && cargo clippy --quiet --manifest-path cli/Cargo.toml --target-dir target --all-targets -- -D warnings \
   && cargo test --quiet --manifest-path cli/Cargo.toml --target-dir target; then
  lint_pass=$((lint_pass + 1)); else lint_fail=$((lint_fail + 1)); fi
say "lint: make setup's choice of PostgreSQL sources (tests/setup/test_pg_sources.sh, no network)"
if bash tests/setup/test_pg_sources.sh; then
  lint_pass=$((lint_pass + 1)); else lint_fail=$((lint_fail + 1)); fi
say "lint: make bench's merge of a BENCH_ONLY run into the stored results (tests/lint/test_bench_results.py)"
if python3 tests/lint/test_bench_results.py; then
  lint_pass=$((lint_pass + 1)); else lint_fail=$((lint_fail + 1)); fi
say "lint: released SQL scripts are unchanged (sql/RELEASED.sha256)"
if (cd sql && sha256sum --check --strict RELEASED.sha256); then
  lint_pass=$((lint_pass + 1)); else lint_fail=$((lint_fail + 1)); fi
fi
TOTAL_PASS=$((TOTAL_PASS + lint_pass)); TOTAL_FAIL=$((TOTAL_FAIL + lint_fail))
SUMMARY+=("lint: $lint_pass passed, $lint_fail failed")
if [ $LINT_ONLY = 1 ]; then
  printf '%s\n' "${SUMMARY[@]}"; [ $lint_fail = 0 ]; exit
fi

# ---- per version ----------------------------------------------------------------------------
run_pg_test() {  # $1 = major; sets PT_PASS PT_FAIL
  local v=$1 log="$RUN_DIR/pg_test-$1.log"
  PT_PASS=0 PT_FAIL=0
  say "pg$v: #[pg_test] suite"
  # pgrx initdb's as `postgres` (--runas), which must own the data directory's parent
  mkdir -p "$RUN_DIR/pgrx-data-$v"
  [ "$(id -u)" = 0 ] && chown postgres: "$RUN_DIR/pgrx-data-$v"
  cargo pgrx test "pg$v" --runas postgres --pgdata "$RUN_DIR/pgrx-data-$v" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]} line
  line=$(grep -E '^test result: ' "$log" | tail -1)
  if [ -n "$line" ]; then
    PT_PASS=$(sed -E 's/.* ([0-9]+) passed.*/\1/' <<<"$line")
    PT_FAIL=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")
  fi
  # a build failure or crash reports no result line: count it as a failure
  if [ "$rc" != 0 ] && [ "$PT_FAIL" = 0 ]; then PT_FAIL=1; fi
}

# regress_file NAME DB MODE OUTDIR: runs tests/sql/NAME.sql in DB and diffs it against
# tests/expected/NAME.out.  MODE "upgraded": DB already has the extension, created at the
# oldest released version and updated; the file's own CREATE EXTENSION line is left out
# of both the input and the expected output.
regress_file() {
  local name=$1 db=$2 mode=$3 out=$4 expected="tests/expected/$1.out" input="tests/sql/$1.sql"
  if [ "$mode" = upgraded ]; then
    grep -vx 'CREATE EXTENSION stash_tenancy;' "$input" >"$out/$name.sql"; input="$out/$name.sql"
    grep -vx 'CREATE EXTENSION stash_tenancy;' "$expected" >"$out/$name.expected"; expected="$out/$name.expected"
  fi
  # stdin, not -f: psql then prints errors without a file:line prefix.
  # VERBOSITY=verbose shows each error's SQLSTATE; LOCATION (C file/line) is noise.
  "$PSQL" -X -a -q -v VERBOSITY=verbose -d "$db" <"$input" 2>&1 \
    | grep -v '^LOCATION:  ' >"$out/$name.out"
  diff -u "$expected" "$out/$name.out" >"$out/$name.diff" 2>&1
}

run_regress() {  # $1 = major; needs a running cluster; sets RG_PASS RG_FAIL
  local v=$1 out="$RUN_DIR/regress-$1" up="$RUN_DIR/regress-upgraded-$1" f name db oldest
  RG_PASS=0 RG_FAIL=0
  mkdir -p "$out" "$up"
  say "pg$v: regress suite (tests/sql)"
  for f in tests/sql/*.sql; do
    name=$(basename "$f" .sql); db="regress_$name"
    PGOPTIONS="-c client_min_messages=warning" "$PSQL" -X -q -d postgres \
      -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
    if regress_file "$name" "$db" fresh "$out"; then
      RG_PASS=$((RG_PASS + 1)); printf '  ok    %s\n' "$name"
    else
      RG_FAIL=$((RG_FAIL + 1)); printf '  FAIL  %s\n' "$name"; head -60 "$out/$name.diff"
    fi
  done
  mkdir -p tests/results && cp "$out"/*.out tests/results/ 2>/dev/null
  # The same files against an extension that was created at the oldest released version
  # and then updated: the privileges, grants and behaviour they document must hold for
  # databases that upgraded, not only for fresh installs.  (Files that create or drop the
  # extension more than once are about installing, and run only fresh.)
  oldest=$(ls sql/stash_tenancy--*.sql | grep -v -- '--.*--' | sed -E 's/.*--(.*)\.sql/\1/' | sort -V | head -1)
  say "pg$v: regress suite against $oldest + ALTER EXTENSION UPDATE"
  for f in tests/sql/*.sql; do
    name=$(basename "$f" .sql); db="regress_$name"
    [ "$(grep -c 'EXTENSION stash_tenancy' "$f")" = 1 ] && grep -qx 'CREATE EXTENSION stash_tenancy;' "$f" || continue
    PGOPTIONS="-c client_min_messages=warning" "$PSQL" -X -q -d postgres \
      -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
    "$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$db" -c "CREATE EXTENSION stash_tenancy VERSION '$oldest'" \
      -c "ALTER EXTENSION stash_tenancy UPDATE" >"$up/$name.setup" 2>&1 || { cat "$up/$name.setup"; }
    if regress_file "$name" "$db" upgraded "$up"; then
      RG_PASS=$((RG_PASS + 1)); printf '  ok    %s (upgraded)\n' "$name"
    else
      RG_FAIL=$((RG_FAIL + 1)); printf '  FAIL  %s (upgraded)\n' "$name"; head -60 "$up/$name.diff"
    fi
  done
  return 0
}

# The released libraries the upgrade test starts from (tests/integration/test_upgrade.py),
# one per version of sql/RELEASES, built from its commit by scripts/old_release.sh and
# cached under $WORK_DIR/releases (minutes the first time per PostgreSQL major, nothing
# after).  Sets RELEASED_LIBS ("0.1.0=/path/stash_tenancy.so ...") and, for a version that
# could not be built, RELEASED_ERRORS ("0.2.0=/path/to/its.log"): the test then fails with
# the reason.  Skipped when IT_ARGS narrows the suite to files other than the upgrade test.
build_released() {  # $1 = major
  local v=$1 r so log
  RELEASED_LIBS="" RELEASED_ERRORS=""
  case "${IT_ARGS:-}" in ""|*upgrade*) ;; *) return 0 ;; esac
  say "pg$v: released libraries for the upgrade test (scripts/old_release.sh)"
  for r in $(bash scripts/old_release.sh --list); do
    log="$RUN_DIR/old-release-$r-pg$v.log"
    if so=$(bash scripts/old_release.sh "$r" "$v" 2> >(tee "$log" >&2)); then
      RELEASED_LIBS+="${RELEASED_LIBS:+ }$r=$so"; echo "  $r: $so"
    else
      RELEASED_ERRORS+="${RELEASED_ERRORS:+ }$r=$log"; echo "  $r: could not be built (log: $log)"
    fi
  done
}

run_integration() {  # $1 = major; needs a running cluster; sets IT_PASS IT_FAIL
  local v=$1 log="$RUN_DIR/integration-$1.log" line
  IT_PASS=0 IT_FAIL=0
  ls tests/integration/test_*.py >/dev/null 2>&1 || return 0
  say "pg$v: integration suite (tests/integration)"
  STASH_RELEASED_LIBS=$RELEASED_LIBS STASH_RELEASED_ERRORS=$RELEASED_ERRORS \
  STASH_PG_MAJOR=$v STASH_PG_DEFAULT=${PG_DEFAULT:-17} STASH_PG_BINDIR=$(pg_bindir_for "$v") STASH_RUN_DIR="$RUN_DIR/it-$v" \
    "$PG_ROOT/venv/bin/python" -m pytest -q -rs -p no:cacheprovider --durations=5 ${IT_ARGS:-tests/integration} 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  # pytest -rs: "SKIPPED [N] tests/integration/test_x.py:12: reason", one line per place
  while IFS= read -r line; do SKIPPED+=("pg$v integration: $line"); done < <(
    sed -nE 's/^SKIPPED \[([0-9]+)\] ([^:]+):[0-9]+: (.*)$/\3\t\1\t\2/p' "$log" \
      | awk -F'\t' '{n[$1] += $2; f[$1] = f[$1] (index(f[$1], $3) ? "" : " " $3)}
                    END {for (r in n) printf "%d skipped (%s) — %s\n", n[r], substr(f[r], 2), r}' | sort)
  line=$(tail -1 "$log")
  IT_PASS=$(grep -oE '[0-9]+ passed' <<<"$line" | awk '{s += $1} END {print s + 0}')
  IT_FAIL=$(grep -oE '[0-9]+ (failed|errors?)' <<<"$line" | awk '{s += $1} END {print s + 0}')
  if [ "$rc" != 0 ] && [ "$IT_FAIL" = 0 ]; then IT_FAIL=1; fi
}

# PostgreSQL 15 is Debian's own build, not one made here: install into it the way a user
# without Rust would, by copying the tree `make package` makes (and check that tree is
# self-contained).  The others get `make install`'s path.
install_extension() {  # $1 = major
  local v=$1 cfg pkg so
  cfg=$(pg_config_for "$v")
  if [ "$v" = 15 ]; then
    pkg="$RUN_DIR/package-pg15"
    bash scripts/install.sh package "$cfg" "$pkg" --debug || return 1
    so=$(find "$pkg" -name 'stash_tenancy.so')
    [ -n "$so" ] || { echo "package has no stash_tenancy.so"; return 1; }
    if ldd "$so" | grep -Ei 'rust|not found'; then echo "package library needs more than libc"; return 1; fi
    for f in sql/stash_tenancy--*.sql; do
      [ -f "$pkg$("$cfg" --sharedir)/extension/$(basename "$f")" ] \
        || { echo "package lacks $(basename "$f")"; return 1; }
    done
    cp -r "$pkg/." /
  else
    bash scripts/install.sh install "$cfg"
  fi
}

# SUITES narrows a developer's run, e.g. SUITES="regress" scripts/test.sh 15 (make test runs all);
# IT_ARGS narrows the integration suite, e.g. IT_ARGS=tests/integration/test_tokens.py
SUITES=${SUITES:-lint pg_test regress integration demo bench}
wants() { [[ " $SUITES " == *" $1 "* ]]; }

for v in "${versions[@]}"; do
  T0=$(date +%s)
  PT_PASS=0 PT_FAIL=0
  wants pg_test && run_pg_test "$v"
  RELEASED_LIBS="" RELEASED_ERRORS=""
  wants integration && build_released "$v"
  say "pg$v: install the extension (cargo pgrx install)"
  RG_PASS=0 RG_FAIL=0 IT_PASS=0 IT_FAIL=0
  # STASH_NO_INSTALL=1 (development only): test what is already installed, e.g. while
  # another checkout's build owns the install directory.
  if [ "${STASH_NO_INSTALL:-0}" = 1 ] || install_extension "$v" >"$RUN_DIR/install-$v.log" 2>&1; then
    started+=("$v")
    if cluster_start "$v" "$RUN_DIR/pg$v"; then
      wants regress && run_regress "$v"
      wants integration && run_integration "$v"
    else
      RG_FAIL=1
    fi
    cluster_stop "$v" "$RUN_DIR/pg$v"
  else
    cat "$RUN_DIR/install-$v.log"; RG_FAIL=1
  fi
  p=$((PT_PASS + RG_PASS + IT_PASS)) f=$((PT_FAIL + RG_FAIL + IT_FAIL))
  TOTAL_PASS=$((TOTAL_PASS + p)); TOTAL_FAIL=$((TOTAL_FAIL + f))
  SUMMARY+=("pg$v: pg_test $PT_PASS passed/$PT_FAIL failed, regress $RG_PASS/$RG_FAIL, integration $IT_PASS/$IT_FAIL  ($(( $(date +%s) - T0 ))s; $("$(pg_config_for "$v")" --version) from $(pg_source_for "$v"))")
done

# one pass/fail line of the summary: single NAME LABEL LOG COMMAND...
single() {
  local name=$1 label=$2 log=$3; shift 3
  say "$name (PostgreSQL $DEMO_V)"
  if "$@" >"$log" 2>&1; then
    TOTAL_PASS=$((TOTAL_PASS + 1)); SUMMARY+=("$name: 1 passed, 0 failed$label")
  else
    cat "$log"
    TOTAL_FAIL=$((TOTAL_FAIL + 1)); SUMMARY+=("$name: 0 passed, 1 failed$label")
  fi
}
DEMO_V=${PG_DEFAULT:-17}
[[ " ${versions[*]} " == *" $DEMO_V "* ]] || DEMO_V=${versions[0]}
# the Citus ones only where Citus is installed (never by this project: docs/scale-out.md)
citus_single() {
  if citus_installed "$DEMO_V"; then single "$@"
  else SKIPPED+=("$1: skipped — $(citus_missing_reason "$DEMO_V")"); fi
}
# the demo and the benchmarks at tiny sizes, so `make demo` and `make bench` cannot rot
wants demo && single demo " (pg$DEMO_V)" "$RUN_DIR/demo.log" env PG="$DEMO_V" bash scripts/demo.sh demo
wants demo && citus_single demo-citus " (pg$DEMO_V)" "$RUN_DIR/demo-citus.log" env PG="$DEMO_V" bash scripts/demo_citus.sh
wants bench && single bench-smoke "" "$RUN_DIR/bench.log" env PG="$DEMO_V" "$PG_ROOT/venv/bin/python" scripts/bench.py smoke
wants bench && single bench-memory-smoke "" "$RUN_DIR/bench-memory.log" env PG="$DEMO_V" bash scripts/bench_memory.sh smoke
wants bench && citus_single bench-citus-smoke "" "$RUN_DIR/bench-citus.log" env PG="$DEMO_V" bash scripts/bench_citus.sh smoke
wants bench && single bench-ops-smoke "" "$RUN_DIR/bench-ops.log" env PG="$DEMO_V" bash scripts/bench_ops.sh smoke

say "summary ($(( $(date +%s) - T_ALL ))s)"
printf '%s\n' "${SUMMARY[@]}"
if [ ${#SKIPPED[@]} -gt 0 ]; then
  echo "skipped:"
  printf '  %s\n' "${SKIPPED[@]}"
fi
echo "total: $TOTAL_PASS passed, $TOTAL_FAIL failed"
[ "$TOTAL_FAIL" = 0 ]
