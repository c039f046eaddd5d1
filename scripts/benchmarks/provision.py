"""3+5. Provisioning and drop with the 8-table document-pipeline template
(tests/fixtures/document_pipeline.sql, registered as migration 1): `tenant_create` against
the same DDL run raw in a fresh schema (the floor), and `tenant_drop` against `DROP SCHEMA
… CASCADE`, measured twice, each in a database of its own:

- prov, with ~100 tenants of the template present (created first, untimed);
- prov_big, with the mode's fleet size (10,000 full, 200 smoke, also under BENCH_ONLY) of
  tenants of the template present (created first, untimed: a catalog the size of a real
  fleet's, 8 tables each); dropped at the end of the section, so that autovacuum and the
  buffers of its catalog leave the later sections alone.

In each: an untimed warm-up of both, then N_PROV tenants of each kind in CHUNKS alternating
chunks (raw first, then stash first, ...), the median of the per-chunk ratios of the times.
After each pair of chunks its tenants and raw schemas are dropped again, statement by
statement in one session, tenant_drop and DROP SCHEMA alternating (psql's \\timing; the
median of the per-pair ratios), so the number of tenants present stays near the start's.
The goals: tenant_create ≤ 1.2× raw with the fleet present, and that ratio ≤ 1.1× the
one at ~100 tenants; tenant_drop ≤ 1.3× DROP SCHEMA with the fleet present."""
import re
import subprocess
import time

from .harness import SIZES, median, per_round, ratio, rounds, secs

TEMPLATE = "tests/fixtures/document_pipeline.sql"
N_SMALL = 100   # tenants present in database prov
CHUNKS = 20     # chunks of each kind per database (fewer when N_PROV is smaller)

# VACUUM ANALYZE of the catalogs and of stash's tables after a fill, so autovacuum does not
# start on them during the timed chunks
VACUUM_CATALOGS = """
SELECT format('VACUUM ANALYZE %I.%I', n.nspname, c.relname)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname IN ('pg_catalog', 'stash') AND c.relkind = 'r' AND NOT c.relisshared
\\gexec
"""


def gen_stash(names):
    return "".join(f"SELECT 1 FROM stash.tenant_create('{s}');\n" for s in names)


def gen_raw(names, template):
    return "".join(f"BEGIN;\nCREATE SCHEMA {s};\nSET LOCAL search_path = {s};\n{template}\nCOMMIT;\n" for s in names)


def timed(b, db, name, sql):
    """Seconds of psql -f NAME (written with SQL) on database DB."""
    path = b.path(name)
    with open(path, "w") as f:
        f.write(sql)
    t0 = time.monotonic()
    b.psql("-f", path, db=db, what=f"provision: {path} on {db}")
    return time.monotonic() - t0


def statement_ms(b, db, sql):
    """psql's \\timing of each statement of SQL on database DB, in ms, and psql's output
    (errors included)."""
    out = b.psql(input="\\timing on\n" + sql, db=db, stderr=subprocess.STDOUT)
    return [float(ms) for ms in re.findall(r"^Time: ([0-9.]*) ms", out, re.M)], out


def chunking(b):
    """(chunks, tenants per chunk) of each kind: N_PROV in at most CHUNKS chunks."""
    chunks = min(CHUNKS, b.n_prov)
    return chunks, (b.n_prov + chunks - 1) // chunks


def measure(b, db, key, present, template):
    """Database DB with PRESENT tenants of the template, then the interleaved chunks and
    drops; the results under create.KEY and drop.KEY."""
    b.psql("-v", "tpl=" + template.rstrip("\n"), db=db, what=f"provision: setup of {db}",
           input="CREATE EXTENSION stash_tenancy;\n"
                 "SELECT stash.migration_add(1, 'document_pipeline', :'tpl');\n")
    fill = timed(b, db, f"fill_{db}.sql", gen_stash(f"f{i}" for i in range(1, present + 1)))
    t0 = time.monotonic()
    b.psql(input=VACUUM_CATALOGS, db=db, what=f"provision: vacuum of {db}")
    b.note(f"provision.{key}.tenants", present)
    b.note(f"provision.{key}.fill_s", f"{fill:.3f}")
    b.note(f"provision.{key}.vacuum_s", secs(t0))
    # untimed warm-up of both: the first DDL of a fresh database hits neither side's numbers
    timed(b, db, "warm_raw.sql", gen_raw((f"warm_{i}" for i in range(1, 11)), template))
    timed(b, db, "warm_st.sql", gen_stash(f"w{i}" for i in range(1, 11)))
    chunks, chunk = chunking(b)
    raw_s, st_s, raw_ms, drop_ms = [], [], [], []
    for k in range(chunks):
        ids = range(k * chunk + 1, (k + 1) * chunk + 1)
        sides = [("raw", lambda: timed(b, db, "raw.sql", gen_raw((f"raw_{i}" for i in ids), template))),
                 ("stash", lambda: timed(b, db, "st.sql", gen_stash(f"p{i}" for i in ids)))]
        took = {side: f() for side, f in (sides if k % 2 == 0 else sides[::-1])}
        raw_s.append(took["raw"])
        st_s.append(took["stash"])
        # the chunk's tenants and schemas dropped again, one statement each, alternating
        pairs = [(f"SELECT stash.tenant_drop('p{i}');\n", f"DROP SCHEMA raw_{i} CASCADE;\n") for i in ids]
        ms, out = statement_ms(b, db, "".join(d + r if i % 2 else r + d for i, (d, r) in zip(ids, pairs)))
        if len(ms) != 2 * len(ids):
            b.fail(f"provision: the drops of chunk {k + 1} on {db} ran {len(ms)} of {2 * len(ids)} statements")
            print("\n".join(out.splitlines()[-5:]))
            continue
        for i, (x, y) in zip(ids, zip(ms[0::2], ms[1::2])):
            drop_ms.append(x if i % 2 else y)
            raw_ms.append(y if i % 2 else x)
    left = b.psql("-c", "SELECT count(*) FROM stash.tenants WHERE slug LIKE 'p%'", db=db)
    if left != "0":
        b.fail(f"provision: {left} timed tenants left on {db} after their drops")
    n = chunk * chunks
    b.note(f"create.{key}.raw_ddl.per_s", f"{n / sum(raw_s):.1f}")
    b.note(f"create.{key}.tenant_create.per_s", f"{n / sum(st_s):.1f}")
    b.note(f"create.{key}.ratio.time_over_raw", per_round(st_s, raw_s))
    b.note(f"create.{key}.ratio.chunks", rounds(st_s, raw_s))
    b.note(f"drop.{key}.tenant_drop.median_ms", median(drop_ms))
    b.note(f"drop.{key}.raw_drop_schema.median_ms", median(raw_ms))
    b.note(f"drop.{key}.ratio.time_over_raw", per_round(drop_ms, raw_ms))


def run(b):
    t_section = time.monotonic()
    template = open(TEMPLATE).read()
    # the mode's fleet size, also when BENCH_ONLY made bench.py's fleet smaller
    fleet = SIZES[b.mode]["fleet"]
    chunks, chunk = chunking(b)
    b.step(f"provisioning {chunks * chunk} tenants with the 8-table template vs the same DDL raw, "
           f"with {N_SMALL} such tenants present (database prov)")
    b.note("provision.chunks", chunks)
    b.note("provision.chunk_tenants", chunk)
    measure(b, "prov", "small", N_SMALL, template)
    b.step(f"the same with {fleet} such tenants present (database prov_big, filled first)")
    b.psql("-c", "CREATE DATABASE prov_big", db="postgres", what="provision: CREATE DATABASE prov_big")
    measure(b, "prov_big", "fleet", fleet, template)
    t0 = time.monotonic()
    b.psql("-c", "DROP DATABASE prov_big", db="postgres", what="provision: DROP DATABASE prov_big")
    b.note("provision.drop_prov_big_s", secs(t0))
    small, big = b.results["create.small.ratio.time_over_raw"], b.results["create.fleet.ratio.time_over_raw"]
    b.note("create.ratio.fleet_over_small", ratio(big, small))
    b.note("provision.section_s", secs(t_section))
