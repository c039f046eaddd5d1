#!/usr/bin/env bash
# Regenerates stash_tenancy-0.1.0.dump.sql: run it with the RELEASED 0.1.0 library
# installed (git checkout of the 0.1.0 release, `make install PG_CONFIG=...` for
# PostgreSQL 15) and a server of that version running (PGHOST/PGPORT/PGUSER).  The dump
# is made with PostgreSQL 15's pg_dump, the oldest supported version, so every supported
# server can restore it.  It was made once, at the 0.1.0 release; like sql/, it is history
# and should not need regenerating.
set -euo pipefail
cd "$(dirname "$0")"
BINDIR=${BINDIR:-/usr/lib/postgresql/15/bin}
db=stash_fixture_010
"$BINDIR/psql" -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
"$BINDIR/psql" -X -q -d "$db" -v commerce="$(cat ../fixtures/commerce.sql)" -f state-0.1.0.sql
test "$("$BINDIR/psql" -X -At -d "$db" -c "SELECT extversion FROM pg_extension WHERE extname = 'stash_tenancy'")" = 0.1.0
"$BINDIR/pg_dump" -d "$db" -f stash_tenancy-0.1.0.dump.sql
"$BINDIR/psql" -X -q -d postgres -c "DROP DATABASE $db"
echo "wrote $(pwd)/stash_tenancy-0.1.0.dump.sql"
