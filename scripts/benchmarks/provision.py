"""3+5. Provisioning and drop: N_PROV tenants of the 8-table document-pipeline template
with `tenant_create` against the same DDL run raw in fresh schemas (the floor), in ten
alternating chunks; then `tenant_drop` against `DROP SCHEMA ... CASCADE`, per statement."""
import re
import subprocess
import time

from .harness import median, ratio, secs

TEMPLATE = "tests/fixtures/document_pipeline.sql"


def gen_stash(lo, hi):
    return "".join(f"SELECT 1 FROM stash.tenant_create('p{i}');\n" for i in range(lo, hi + 1))


def gen_raw(lo, hi, template):
    return "".join(f"BEGIN;\nCREATE SCHEMA raw_{i};\nSET LOCAL search_path = raw_{i};\n{template}\nCOMMIT;\n"
                   for i in range(lo, hi + 1))


def timed(b, name, sql):
    """Seconds of psql -f NAME (written with SQL) on database prov."""
    path = b.path(name)
    with open(path, "w") as f:
        f.write(sql)
    t0 = time.monotonic()
    b.psql("-f", path, db="prov", what=path)
    return secs(t0)


def statement_ms(b, sql):
    """psql's \\timing of each statement of SQL on database prov, in ms."""
    out = b.psql(input="\\timing on\n" + sql, db="prov", stderr=subprocess.STDOUT)
    return re.findall(r"^Time: ([0-9.]*) ms", out, re.M)


def run(b):
    b.step(f"provisioning {b.n_prov} tenants with the 8-table template vs the same DDL raw")
    template = open(TEMPLATE).read()
    b.psql("-v", "tpl=" + template.rstrip("\n"), db="prov", what="prov setup",
           input="CREATE EXTENSION stash_tenancy;\n"
                 "SELECT stash.migration_add(1, 'document_pipeline', :'tpl');\n")
    # untimed warm-up of both, then ten alternating chunks (raw first, then stash first, ...):
    # the first DDL of a fresh database and any drift of the machine hit both sides alike
    timed(b, "warm_raw.sql", gen_raw(100001, 100010, template))
    timed(b, "warm_st.sql", gen_stash(100001, 100010))
    chunk = (b.n_prov + 9) // 10
    raw_s = st_s = 0.0
    for k in range(10):
        lo, hi = k * chunk + 1, (k + 1) * chunk
        sides = [("raw", "raw.sql", gen_raw(lo, hi, template)), ("stash", "st.sql", gen_stash(lo, hi))]
        took = {side: float(timed(b, name, sql)) for side, name, sql in (sides if k % 2 == 0 else sides[::-1])}
        raw_s += took["raw"]
        st_s += took["stash"]
    n_prov = chunk * 10
    b.note("create.raw_ddl.per_s", f"{n_prov / raw_s:.1f}")
    b.note("create.tenant_create.per_s", f"{n_prov / st_s:.1f}")
    b.note("create.ratio.time_over_raw", ratio(st_s, raw_s))
    drop = statement_ms(b, "".join(f"SELECT stash.tenant_drop('p{i}');\n" for i in range(1, b.n_drop + 1)))
    raw_drop = statement_ms(b, "".join(f"DROP SCHEMA raw_{i} CASCADE;\n" for i in range(1, b.n_drop + 1)))
    if len(drop) != b.n_drop:
        b.fail("tenant_drop")
    b.note("drop.tenant_drop.median_ms", median(drop))
    b.note("drop.raw_drop_schema.median_ms", median(raw_drop))
