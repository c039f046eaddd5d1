"""Signed entry: stash.tenant_enter_token with tokens signed by an independent
implementation (PyJWT), every way a token can be wrong (28000, nothing changed), the keys
an application role cannot read, app_role_require_token closing the door by name (the
injected `COMMIT; tenant_enter('b')`), and the same through PgBouncer in transaction
mode."""
import base64
import hashlib
import hmac
import json
import time

import jwt
import psycopg
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from conftest import start_pgbouncer

APP = "app_tok"
E = psycopg.errors
SECRET = "s3cret-s3cret-s3cret-s3cret-0123456789"  # 38 bytes
OTHER_SECRET = "another-secret-another-secret-0123456789"


def pem_pair(private):
    priv = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption()).decode()
    pub = private.public_key().public_bytes(serialization.Encoding.PEM,
                                            serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return priv, pub


RSA_PRIV, RSA_PUB = pem_pair(rsa.generate_private_key(public_exponent=65537, key_size=2048))
EC_PRIV, EC_PUB = pem_pair(ec.generate_private_key(ec.SECP256R1()))
_, OTHER_RSA_PUB = pem_pair(rsa.generate_private_key(public_exponent=65537, key_size=2048))


def token(claims=None, key=SECRET, alg="HS256", kid="hs", exp_in=300, **extra):
    body = {"tenant": "acme", "exp": int(time.time()) + exp_in}
    if claims:
        body.update(claims)
    body = {k: v for k, v in body.items() if v is not None}
    headers = {"kid": kid} if kid is not None else {}
    headers.update(extra)
    return jwt.encode(body, key, algorithm=alg, headers=headers)


def b64(obj):
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def hs256_by_hand(header, claims, key: bytes):
    """An HS256 token PyJWT refuses to make: HMAC keyed with a public key's PEM (the classic
    algorithm-confusion attack on libraries that take the algorithm from the token)."""
    signing_input = b64(header) + "." + b64(claims)
    mac = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


@pytest.fixture
def world(db):
    with db.connect() as admin:
        admin.execute(f"DROP ROLE IF EXISTS {APP}")
        admin.execute(f"CREATE ROLE {APP} LOGIN")
        admin.execute("SELECT stash.migration_add(1, 'orders', "
                      "'CREATE TABLE orders (id serial PRIMARY KEY, note text)')")
        for slug in ("acme", "globex", "initech"):
            admin.execute("SELECT stash.tenant_create(%s)", (slug,))
        admin.execute("SELECT stash.tenant_suspend('initech')")
        admin.execute("INSERT INTO tenant_acme.orders (note) VALUES ('acme-1')")
        admin.execute("INSERT INTO tenant_globex.orders (note) VALUES ('globex-secret')")
        admin.execute(f"SELECT stash.app_role_add('{APP}')")
        admin.execute("SELECT stash.token_key_add('hs', 'HS256', %s)", (SECRET,))
        admin.execute("SELECT stash.token_key_add('rs', 'RS256', %s)", (RSA_PUB,))
        admin.execute("SELECT stash.token_key_add('es', 'ES256', %s)", (EC_PUB,))
        ids = dict(admin.execute("SELECT slug, id::text FROM stash.tenants").fetchall())
        # a pool table (shared, tenant column, row-level security) next to the schemas
        group = admin.execute("SELECT stash.tenant_group_role()").fetchone()[0]
        admin.execute("CREATE TABLE public.tok_notes (tenant_id uuid NOT NULL, body text)")
        admin.execute("SELECT stash.pool_table_add('public.tok_notes')")
        admin.execute(f'GRANT SELECT, INSERT ON public.tok_notes TO "{group}", {APP}')
        for slug in ("acme", "globex"):
            admin.execute("INSERT INTO public.tok_notes VALUES (%s, %s)", (ids[slug], slug + "-note"))
        roles = dict(admin.execute("SELECT slug, stash.tenant_role(slug)::text FROM stash.tenants").fetchall())
    yield {"db": db, "ids": ids, "roles": roles}
    with db.connect() as admin:
        for slug in ("acme", "globex", "initech"):
            admin.execute("SELECT stash.tenant_drop(%s, force => true)", (slug,))
        admin.execute("DROP TABLE public.tok_notes")
        admin.execute(f"DROP OWNED BY {APP}")
        admin.execute(f"DROP ROLE {APP}")


def app(world, **kw):
    return psycopg.connect(dbname=world["db"].name, user=APP, autocommit=True, **kw)


def enter_with(conn, tok):
    """Enters by token and returns who and where the transaction then is."""
    with conn.transaction():
        conn.execute("SELECT stash.tenant_enter_token(%s)", (tok,))
        return conn.execute(
            "SELECT current_user::text, stash.current_tenant(), (SELECT array_agg(note) FROM orders),"
            " (SELECT array_agg(body) FROM public.tok_notes)"
        ).fetchone()


@pytest.mark.parametrize("alg,key,kid", [("HS256", SECRET, "hs"), ("RS256", RSA_PRIV, "rs"),
                                         ("ES256", EC_PRIV, "es")])
def test_a_valid_token_enters_its_tenant_with_the_role_switch(world, alg, key, kid):
    with app(world) as conn:
        who = enter_with(conn, token(key=key, alg=alg, kid=kid))
        assert who == (world["roles"]["acme"], "acme", ["acme-1"], ["acme-note"])
        # and the transaction's end restores the application role
        assert conn.execute("SELECT current_user::text, stash.current_tenant()").fetchone() == (APP, None)


def test_the_tenant_claim_may_be_an_id_and_its_name_is_a_setting(world):
    with app(world) as conn:
        assert enter_with(conn, token({"tenant": world["ids"]["globex"]}))[1] == "globex"
    with world["db"].connect() as admin:
        admin.execute(f"ALTER ROLE {APP} SET stash.token_tenant_claim = 'org'")
    try:
        with app(world) as conn:
            assert enter_with(conn, token({"tenant": None, "org": "globex"}))[1] == "globex"
            # an application role cannot point the claim elsewhere itself
            with pytest.raises(E.InsufficientPrivilege):
                conn.execute("SET stash.token_tenant_claim = 'tenant'")
    finally:
        with world["db"].connect() as admin:
            admin.execute(f"ALTER ROLE {APP} RESET stash.token_tenant_claim")


def test_a_single_key_needs_no_kid_and_several_keys_do(world):
    with app(world) as conn:
        with pytest.raises(E.InvalidAuthorizationSpecification, match="no kid header, and 3 keys"):
            enter_with(conn, token(kid=None))
    with world["db"].connect() as admin:
        admin.execute("SELECT stash.token_key_remove('rs')")
        admin.execute("SELECT stash.token_key_remove('es')")
    with app(world) as conn:
        assert enter_with(conn, token(kid=None))[1] == "acme"


now = int(time.time())
BAD = [
    ("tampered payload", lambda: (lambda t: t.split(".")[0] + "." + b64({"tenant": "globex", "exp": now + 300})
                                  + "." + t.split(".")[2])(token()), "signature does not verify"),
    ("tampered signature", lambda: token()[:-4] + ("AAAA" if not token().endswith("AAAA") else "BBBB"),
     "signature does not verify|malformed"),
    ("wrong secret", lambda: token(key=OTHER_SECRET), "signature does not verify"),
    ("expired", lambda: token(exp_in=-120), "has expired"),
    ("not yet valid", lambda: token({"nbf": int(time.time()) + 600}), r"not valid yet \(nbf\)"),
    ("no exp", lambda: jwt.encode({"tenant": "acme"}, SECRET, algorithm="HS256", headers={"kid": "hs"}),
     'no "exp" claim'),
    ("no tenant claim", lambda: token({"tenant": None}), 'no "tenant" claim'),
    ("tenant claim not a string", lambda: token({"tenant": 7}), 'claim "tenant" is not a string'),
    ("unknown kid", lambda: token(kid="nope"), 'token key "nope" is unknown'),
    ("alg none", lambda: b64({"alg": "none", "kid": "hs"}) + "." + b64({"tenant": "globex", "exp": now + 300}) + ".",
     r'not signed \(alg "none"\)'),
    ("alg not accepted", lambda: token(key=SECRET, alg="HS512"), 'algorithm "HS512" is not accepted'),
    ("alg does not match the key (RS256 key, HS256 token signed with its PEM)",
     lambda: hs256_by_hand({"alg": "HS256", "kid": "rs"}, {"tenant": "globex", "exp": now + 300}, RSA_PUB.encode()),
     "does not match key"),
    ("RS256 token under the HS256 kid", lambda: token(key=RSA_PRIV, alg="RS256", kid="hs"), "does not match key"),
    ("wrong RSA key", lambda: token(key=RSA_PRIV, alg="RS256", kid="rs2"), "signature does not verify"),
    ("two parts", lambda: "abc.def", "three base64url parts"),
    ("header not JSON", lambda: "bm90IGpzb24." + b64({"tenant": "acme"}) + ".sig", "header is not base64url-encoded JSON"),
    ("oversized", lambda: token({"pad": "x" * 9000}), "too large"),
    ("garbage", lambda: "🙂", "three base64url parts"),
]


@pytest.mark.parametrize("name,make,message", BAD, ids=[b[0] for b in BAD])
def test_a_bad_token_is_28000_and_changes_nothing(world, name, make, message):
    with world["db"].connect() as admin:
        admin.execute("SELECT stash.token_key_add('rs2', 'RS256', %s)", (OTHER_RSA_PUB,))
    with app(world) as conn:
        conn.execute("BEGIN")
        with pytest.raises(E.InvalidAuthorizationSpecification, match=message):
            conn.execute("SELECT stash.tenant_enter_token(%s)", (make(),))
        conn.execute("ROLLBACK")
        assert conn.execute("SELECT current_user::text, stash.current_tenant(), current_setting('search_path')"
                            ).fetchone() == (APP, None, '"$user", public')


def test_the_audience_is_checked_when_set(world):
    with world["db"].connect() as admin:
        admin.execute(f"ALTER ROLE {APP} SET stash.token_audience = 'orders-api'")
    try:
        with app(world) as conn:
            assert enter_with(conn, token({"aud": "orders-api"}))[1] == "acme"
            with pytest.raises(E.InvalidAuthorizationSpecification, match="audience does not match"):
                enter_with(conn, token({"aud": "billing-api"}))
            with pytest.raises(E.InvalidAuthorizationSpecification, match='no "aud" claim'):
                enter_with(conn, token())
    finally:
        with world["db"].connect() as admin:
            admin.execute(f"ALTER ROLE {APP} RESET stash.token_audience")


def test_a_valid_token_for_a_suspended_or_unknown_tenant_gets_tenant_enters_errors(world):
    with app(world) as conn:
        with pytest.raises(E.ObjectNotInPrerequisiteState, match="suspended"):
            enter_with(conn, token({"tenant": "initech"}))
        with pytest.raises(E.UndefinedObject, match="does not exist"):
            enter_with(conn, token({"tenant": "nosuch"}))
        with pytest.raises(E.InvalidParameterValue, match="invalid tenant slug"):
            enter_with(conn, token({"tenant": "Bad Slug"}))


def test_a_role_that_may_not_enter_learns_nothing_from_its_token(world):
    with world["db"].connect() as admin:
        admin.execute("DROP ROLE IF EXISTS tok_stranger")
        admin.execute("CREATE ROLE tok_stranger LOGIN")
    try:
        with psycopg.connect(dbname=world["db"].name, user="tok_stranger", autocommit=True) as conn:
            for tok in (token(), token(key=OTHER_SECRET), "garbage"):
                with pytest.raises(E.InsufficientPrivilege, match="not an application role"):
                    enter_with(conn, tok)
    finally:
        with world["db"].connect() as admin:
            admin.execute("DROP ROLE tok_stranger")


def test_the_keys_never_reach_an_application_role(world):
    with app(world) as conn:
        for sql in ("SELECT * FROM stash.token_keys",
                    "SELECT stash.token_key_add('mine', 'HS256', repeat('x', 40))",
                    "SELECT stash.token_key_remove('hs')",
                    f"SELECT stash.app_role_require_token('{APP}', false)"):
            with pytest.raises(E.InsufficientPrivilege):
                conn.execute(sql)
        # pg_stats shows column values only to roles that may read the table
        assert conn.execute("SELECT count(*) FROM pg_stats WHERE tablename = 'token_keys'").fetchone()[0] == 0
        # a wrong key's message names the kid, never the secret
        try:
            enter_with(conn, token(key=OTHER_SECRET))
        except E.InvalidAuthorizationSpecification as e:
            text = str(e) + str(e.diag.message_hint) + str(e.diag.message_detail)
            assert SECRET not in text and OTHER_SECRET not in text


def test_key_management_errors(world):
    with world["db"].connect() as admin:
        for args, exc, message in [
            (("short", "HS256", "too-short"), E.InvalidParameterValue, "at least 32 bytes"),
            (("x", "HS512", SECRET), E.InvalidParameterValue, "not supported"),
            (("x", "RS256", "not a pem"), E.InvalidParameterValue, "not an RSA public key"),
            (("x", "ES256", RSA_PUB), E.InvalidParameterValue, "not a P-256 public key"),
            (("x", "RS256", RSA_PRIV), E.InvalidParameterValue, "private key"),
            (("", "HS256", SECRET), E.InvalidParameterValue, "1 to 200 bytes"),
            (("hs", "HS256", OTHER_SECRET), E.UniqueViolation, "already exists with another key"),
            ((None, "HS256", SECRET), E.NullValueNotAllowed, "kid must not be NULL"),
        ]:
            with pytest.raises(exc, match=message) as info:
                admin.execute("SELECT stash.token_key_add(%s, %s, %s)", args)
            shown = str(info.value) + str(info.value.diag.message_hint)
            assert "too-short" not in shown and OTHER_SECRET not in shown
            assert RSA_PRIV.splitlines()[1] not in shown and RSA_PUB.splitlines()[1] not in shown
        admin.execute("SELECT stash.token_key_add('hs', 'HS256', %s)", (SECRET,))  # same key: no-op
        with pytest.raises(E.UndefinedObject):
            admin.execute("SELECT stash.token_key_remove('nope')")
        assert admin.execute("SELECT array_agg(kid ORDER BY kid) FROM stash.token_keys").fetchone()[0] == ["es", "hs", "rs"]
        with pytest.raises(E.UndefinedObject, match="not an application role"):
            admin.execute("SELECT stash.app_role_require_token('postgres')")


def test_removing_a_key_stops_its_tokens_in_a_session_that_used_it(world):
    with app(world) as conn:
        tok = token()
        assert enter_with(conn, tok)[1] == "acme"
        with world["db"].connect() as admin:
            admin.execute("SELECT stash.token_key_remove('hs')")
        with pytest.raises(E.InvalidAuthorizationSpecification, match="unknown"):
            enter_with(conn, tok)


def test_require_token_closes_the_door_by_name_even_after_an_injected_commit(world):
    with world["db"].connect() as admin:
        admin.execute(f"SELECT stash.app_role_require_token('{APP}')")
        assert admin.execute(f"SELECT token_required FROM stash.app_roles WHERE role = '{APP}'").fetchone()[0]
    with app(world) as conn:
        assert enter_with(conn, token())[1] == "acme"
        # injected SQL in acme's request: end the transaction, try to go to globex by name
        conn.execute("BEGIN")
        conn.execute("SELECT stash.tenant_enter_token(%s)", (token(),))
        conn.execute("COMMIT")
        for sql, arg in (("SELECT stash.tenant_enter(%s)", "globex"),
                         ("SELECT stash.tenant_enter(%s::uuid)", world["ids"]["globex"]),
                         ("SELECT stash.tenant_enter(%s)", "acme")):
            conn.execute("BEGIN")
            with pytest.raises(E.InsufficientPrivilege, match="only with a signed token|closed to this application role"):
                conn.execute(sql, (arg,))
            conn.execute("ROLLBACK")
        # and inside a token-entered transaction, not even the same tenant by name
        conn.execute("BEGIN")
        conn.execute("SELECT stash.tenant_enter_token(%s)", (token(),))
        with pytest.raises(E.InsufficientPrivilege):
            conn.execute("SELECT stash.tenant_enter('acme')")
        conn.execute("ROLLBACK")
        with pytest.raises(E.InsufficientPrivilege):
            with conn.transaction():
                conn.execute("SELECT count(*) FROM tenant_globex.orders")
    with world["db"].connect() as admin:
        admin.execute(f"SELECT stash.app_role_require_token('{APP}', false)")
        # administrators are never token-bound
        with admin.transaction():
            admin.execute("SELECT stash.tenant_enter('globex')")
    with app(world) as conn:
        with conn.transaction():
            conn.execute("SELECT stash.tenant_enter('globex')")


@pytest.fixture
def tok_pgbouncer(world, run_dir):
    proc, kwargs = start_pgbouncer(run_dir, "pgbouncer-tok", 6435, world["db"].name, [APP])
    yield {**kwargs, "user": APP}
    proc.terminate()
    proc.wait(10)


def test_through_pgbouncer_each_client_reaches_only_its_token_s_tenant(world, tok_pgbouncer):
    with world["db"].connect() as admin:
        admin.execute(f"SELECT stash.app_role_require_token('{APP}')")
    a = psycopg.connect(**tok_pgbouncer, autocommit=True, prepare_threshold=None)
    b = psycopg.connect(**tok_pgbouncer, autocommit=True, prepare_threshold=None)
    try:
        for _ in range(3):
            pa = a.execute("SELECT pg_backend_pid()").fetchone()[0]
            assert enter_with(a, token({"tenant": "acme"}))[2:] == (["acme-1"], ["acme-note"])
            pb = b.execute("SELECT pg_backend_pid()").fetchone()[0]
            assert enter_with(b, token({"tenant": "globex"}))[2:] == (["globex-secret"], ["globex-note"])
            assert pa == pb, "one server connection"
            # b's next transaction, on the connection acme just used, holds no tenant:
            # no schema privilege, and no row of the pool table
            assert b.execute("SELECT current_user::text, stash.current_tenant(),"
                             " (SELECT count(*) FROM public.tok_notes)").fetchone() == (APP, None, 0)
            with pytest.raises(E.InsufficientPrivilege):
                with b.transaction():
                    b.execute("SELECT stash.tenant_enter('acme')")
    finally:
        a.close()
        b.close()
