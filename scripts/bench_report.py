"""Turn the results of scripts/bench.sh into BENCHMARKS.md: machine, settings, the command,
and a table of medians and ratios against the baselines measured in the same run."""
import os
import platform
import subprocess
import sys

r = dict(line.rstrip("\n").split("\t", 1) for line in open(sys.argv[1]) if "\t" in line)


def f(key):
    return float(r[key])


def cpu():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
fleet = next(k.split("_")[-2] for k in r if k.startswith("enter.backend_rss_anon_kb.after_"))


def verdict(ok):
    return "met" if ok else "**missed**"


rows = [
    ("1. context switch: tps (median of 3 × 30 s, 4 clients, random tenant among 1,000)", "", ""),
    ("(a) `SET LOCAL search_path` via set_config — the floor", r["enter.tps.set_local"], ""),
    ("(b) `stash.tenant_enter(slug)`", r["enter.tps.stash"], ""),
    ("(c) PL/pgSQL hand-written enter", r["enter.tps.plpgsql"], ""),
    ("(b) / (a)", r["enter.ratio.stash_over_set_local"],
     f"≥ 0.95: {verdict(f('enter.ratio.stash_over_set_local') >= 0.95)}"),
    ("(b) / (c)", r["enter.ratio.stash_over_plpgsql"],
     f"> 1: {verdict(f('enter.ratio.stash_over_plpgsql') > 1.0)}"),
    ("2. (b) among 10 tenants, tps", r["enter.tps.stash_among_10"], ""),
    (f"(b) among {fleet} tenants, tps", r[f"enter.tps.stash_among_{fleet}"], ""),
    (f"(b) {fleet} / (b) 10", r["enter.ratio.large_over_small"],
     f"≥ 0.9: {verdict(f('enter.ratio.large_over_small') >= 0.9)}"),
    ("control: (a) among 10 tenants, tps", r["enter.tps.set_local_among_10"], ""),
    (f"control: (a) among {fleet} tenants, tps", r[f"enter.tps.set_local_among_{fleet}"], ""),
    (f"control: (a) {fleet} / (a) 10 — what the server alone loses", r["enter.ratio.set_local_large_over_small"], ""),
    ("backend private memory (RssAnon) before, KB", r["enter.backend_rss_anon_kb.before"], ""),
    (f"… after entering {fleet} different tenants in one session, KB",
     r[f"enter.backend_rss_anon_kb.after_{fleet}_enters"], ""),
    ("3. provisioning, tenants/s: raw DDL in a fresh schema (floor)", r["create.raw_ddl.per_s"], ""),
    ("`tenant_create` with the 8-table template", r["create.tenant_create.per_s"], ""),
    ("time(tenant_create) / time(raw)", r["create.ratio.time_over_raw"],
     f"≤ 1.1: {verdict(f('create.ratio.time_over_raw') <= 1.1)}"),
    (f"4. fleet of {fleet}: `CALL stash.migrate_all()` with nothing pending, s", r["migrate_all.nothing_pending_s"],
     f"< 1 s: {verdict(f('migrate_all.nothing_pending_s') < 1.0)}"),
    ("ALTER … ADD COLUMN, client loop (`SET search_path; ALTER` per schema), tenants/s", r["migrate_all.alter.client_loop.per_s"], "baseline"),
    ("ALTER via `migrate_all`, 1 session, tenants/s", r["migrate_all.alter.sessions_1.per_s"], ""),
    ("ALTER via `migrate_all`, 2 sessions, tenants/s", r["migrate_all.alter.sessions_2.per_s"],
     f"≥ 1,000/s: {verdict(f('migrate_all.alter.sessions_2.per_s') >= 1000)}"),
    ("ALTER via `migrate_all`, 4 sessions, tenants/s", r["migrate_all.alter.sessions_4.per_s"],
     f"≥ 1,000/s: {verdict(f('migrate_all.alter.sessions_4.per_s') >= 1000)}"),
    ("5. `tenant_drop` of an 8-table tenant, median ms", r["drop.tenant_drop.median_ms"], ""),
    ("`DROP SCHEMA … CASCADE` of the same template, median ms", r["drop.raw_drop_schema.median_ms"], "baseline"),
    ("fleet creation (1-table template, one transaction each), s", r["fleet.create_s"], ""),
]

pg = os.environ.get("PG_VERSION", "?")
print(f"""# Benchmarks

Reproduce with `make bench` (PostgreSQL 17 by default; `make bench PG=16`). Every number
below comes from one run on one throwaway cluster, side by side with its baseline;
machines here are noisy, so compare ratios, not absolute times.

- machine: {cpu()}, {os.cpu_count()} cores, {mem_gb:.0f} GiB, {platform.system()} {platform.release()}
- PostgreSQL {pg}; `shared_buffers = 512MB`, `fsync = off`, `synchronous_commit = off`,
  `max_connections = 60`, `max_locks_per_transaction = {r['settings.max_locks_per_transaction']}` (the default);
  extension built with `--release`
- pgbench: `-M prepared -c 4 -j 2 -T 30`, scripts in `bench/`; runs of (a), (b), (c) interleaved

| measurement | value | goal |
|---|---:|---|""")
for name, value, goal in rows:
    if value == "":
        print(f"| **{name}** | | |")
    else:
        print(f"| {name} | {value} | {goal} |")
