"""7. Signed entry: `tenant_enter_token(token)` (HS256) against `tenant_enter(slug)`.
pgbench cannot sign, so one token per tenant is signed beforehand (PyJWT) into
bench.tokens; both variants fetch the tenant's token and slug with \\gset, then enter, by
slug (A) or by token (B), and run the tenant's SELECT; as the application role, rounds
interleaved."""
import secrets
import time

from .harness import median, per_round, rotated, rounds

VARIANTS = [("tok_enter_slug", "slug"), ("tok_enter_token", "token")]

PGSS_TOKENS = """
SELECT k, round((sum(total_exec_time) / sum(calls) * 1000)::numeric, 2)
  FROM (SELECT CASE WHEN query LIKE '%tenant_enter_token(%' THEN 'token'
                    WHEN query LIKE '%tenant_enter(%' THEN 'slug'
                    WHEN query LIKE '%FROM items%' THEN 'select'
                    WHEN query LIKE '%FROM bench.tokens%' THEN 'gset' END AS k, *
          FROM pg_stat_statements
         WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'bench')) s
 WHERE k IS NOT NULL GROUP BY k ORDER BY k"""


def sign(b, secret):
    """DIR/tokens.tsv: tenant number, a token for t<number> valid for 4 hours."""
    try:
        import jwt
    except ImportError:
        b.fail("signing tokens (PyJWT in $PG_ROOT/venv: make setup)")
        return
    exp = int(time.time()) + 4 * 3600
    with open(b.path("tokens.tsv"), "w") as f:
        for t in range(1, b.n_mid + 1):
            token = jwt.encode({"tenant": f"t{t}", "exp": exp}, secret, algorithm="HS256",
                               headers={"kid": "bench"})
            f.write(f"{t}\t{token}\n")


def run(b):
    b.step(f"signed entry: tenant_enter_token (HS256) vs tenant_enter as an application role: "
          f"{b.runs} rounds x {b.dur}s")
    b.app_role()
    secret = secrets.token_hex(32)
    sign(b, secret)
    b.psql("-v", f"secret={secret}", what="tokens setup", input=f"""
CREATE TABLE bench.tokens (t int PRIMARY KEY, token text NOT NULL);
\\copy bench.tokens FROM '{b.path("tokens.tsv")}'
SELECT stash.token_key_add('bench', 'HS256', :'secret');
GRANT USAGE ON SCHEMA bench TO bench_app;
GRANT SELECT ON bench.tokens TO bench_app;
VACUUM ANALYZE bench.tokens;
""")
    got = b.as_app(r"""
SELECT token AS tok FROM bench.tokens WHERE t = 1 \gset
BEGIN;
SELECT stash.tenant_enter_token(:'tok');
SELECT stash.current_tenant() || ' ' || (SELECT count(*) FROM items);
COMMIT;
""")
    if got != "t1 100":
        b.fail(f"tenant_enter_token as bench_app: {got}")
    for run in range(1, b.runs + 1):
        for script, key in rotated(VARIANTS, run):
            b.measure(run, key, f"tok_{key}", script, user="bench_app", out="tok.out", nrows=True,
                      what=f"pgbench {script}")
    slug, token = b.tps["tok_slug"], b.tps["tok_token"]
    b.note("tokens.tps.slug", median(slug))
    b.note("tokens.tps.token", median(token))
    b.note("tokens.ratio.token_over_slug", per_round(token, slug))
    b.note("tokens.ratio.rounds", rounds(token, slug))
    # the profile: both scripts mixed in one run (the same noise for both); server time per
    # statement from pg_stat_statements (all tenant roles together)
    if b.pgss:
        b.pgss_track("top")
    b.pgbench("tok_enter_slug", "tok_enter_token", user="bench_app", out="tok_mixed.out",
              what="mixed pgbench (tokens)", nrows=True)
    b.note("tokens.mixed.latency_ms.slug", b.mixed_latency("tok_mixed.out", 1))
    b.note("tokens.mixed.latency_ms.token", b.mixed_latency("tok_mixed.out", 2))
    if b.pgss:
        for k, us in b.rows(PGSS_TOKENS, "pg_stat_statements (tokens)"):
            b.note(f"tokens.server_us_per_call.{k}", us)
        b.pgss_track("none")
