"""PostgREST with `db-pre-request = "stash.postgrest_pre_request"`, replayed.

No PostgREST runs here.  Each request sends, over psycopg 3, the statements PostgREST
12 and 13 send for it, in the same order, with the same text byte for byte and the same
parameter types.  The statements were transcribed from the PostgREST source at tags
v12.0.0 to v12.2.12 and v13.0.0 to v13.0.8, with hasql-transaction for BEGIN/COMMIT/ABORT:

  BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY | READ WRITE
  select set_config('search_path', $1, true), set_config('role', $2, true), ...  (7 params)
  select "stash"."postgrest_pre_request"()
  WITH pgrst_source AS (...) SELECT ...            (the main query; POST: $1 is the body, json)
  COMMIT, or ABORT after an error

All of them go over the extended protocol as prepared statements, which is PostgREST's
default (db-prepared-statements).  The set_config values go as untyped text (hasql sends
OID 705 "unknown"; psycopg sends a str with OID 0, which the server treats the same way).
The text of the main query depends on the version: readPlanToQuery leaves a different
number of spaces for the empty join/where/group/order/limit parts, and v12.0.x builds the
INSERT body differently.  Those statements are parametrized over the release series.

The connection is PostgREST's: an `authenticator` LOGIN NOINHERIT role that is a member of
the JWT role `web_user` (NOLOGIN, registered with stash.app_role_add).  It is given
nothing on tenant schemas.
"""
import json
import time

import jwt
import psycopg
import pytest
from psycopg.types.json import Json

AUTH = "pgrst_authenticator"
WEB = "pgrst_web_user"
ANON = "pgrst_anon"
E = psycopg.errors
SECRET = "pgrst-jwt-secret-pgrst-jwt-secret-0123456789"  # 44 bytes: PostgREST's jwt-secret
OTHER_SECRET = "not-the-jwt-secret-not-the-jwt-secret-012345"

# ---- the statements, as PostgREST sends them ----------------------------------------------

BEGIN_READ = "BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY"    # GET
BEGIN_WRITE = "BEGIN ISOLATION LEVEL READ COMMITTED READ WRITE"  # POST
SET_LOCALS = ("select set_config('search_path', $1, true), set_config('role', $2, true), "
              "set_config('request.jwt.claims', $3, true), set_config('request.method', $4, true), "
              "set_config('request.path', $5, true), set_config('request.headers', $6, true), "
              "set_config('request.cookies', $7, true)")
PRE_REQUEST = 'select "stash"."postgrest_pre_request"()'

# The number of spaces readPlanToQuery leaves for the empty join/where/group/order/limit parts.
READ_PAD = {"v12.0": 5, "v12.2": 5, "v13.0.0": 1, "v13.0.2": 3}
SERIES = {  # the releases (git tags) each series stands for: every 12.x and 13.x tag
    "v12.0": "v12.0.0-v12.0.3",
    "v12.2": "v12.2.0-v12.2.12",
    "v13.0.0": "v13.0.0-v13.0.1",
    "v13.0.2": "v13.0.2-v13.0.8",
}
GET_SERIES = ["v12.2", "v13.0.0", "v13.0.2"]  # v12.0 reads exactly like v12.2
POST_SERIES = ["v12.0", "v12.2", "v13.0.0", "v13.0.2"]

RESPONSE_COLUMNS = ("nullif(current_setting('response.headers', true), '') AS response_headers, "
                    "nullif(current_setting('response.status', true), '') AS response_status, "
                    "'' AS response_inserted ")


def qi(schema, name):
    return f'"{schema}"."{name}"'


def get_sql(series, schema, table):
    """GET /<table> with Accept-Profile <schema> (no select, filters, order or count)."""
    rel = qi(schema, table)
    return ("WITH pgrst_source AS ( SELECT " + rel + ".* FROM " + rel + " " * READ_PAD[series] + " )  "
            "SELECT null::bigint AS total_result_set, pg_catalog.count(_postgrest_t) AS page_total, "
            "coalesce(json_agg(_postgrest_t), '[]') AS body, " + RESPONSE_COLUMNS
            + "FROM ( SELECT * FROM pgrst_source ) _postgrest_t")


def post_sql(series, schema, table, representation):
    """POST /<table> with Content-Profile <schema>, a JSON object body with the key "item";
    Prefer: return=minimal (the default) or return=representation."""
    rel = qi(schema, table)
    if series == "v12.0":
        body = ('SELECT "pgrst_body"."item" FROM (SELECT $1 AS json_data) pgrst_payload, '
                "LATERAL (SELECT CASE WHEN json_typeof(pgrst_payload.json_data) = 'array' "
                "THEN pgrst_payload.json_data ELSE json_build_array(pgrst_payload.json_data) END AS val) "
                'pgrst_uniform_json, LATERAL (SELECT "item" FROM json_to_recordset(pgrst_uniform_json.val) '
                'AS _("item" text) ) pgrst_body ')
    else:
        body = ('SELECT "pgrst_body"."item" FROM (SELECT $1 AS json_data) pgrst_payload, '
                'LATERAL (SELECT "item" FROM json_to_record(pgrst_payload.json_data) AS _("item" text) ) '
                "pgrst_body ")
    insert = "INSERT INTO " + rel + '("item") ' + body + " RETURNING " + (rel + ".*" if representation else "1")
    if representation:
        handler = "coalesce(json_agg(_postgrest_t), '[]')"
        select = f'SELECT "{table}".* FROM "pgrst_source" AS "{table}"' + " " * READ_PAD[series]
    else:
        handler, select = "''::text", "SELECT * FROM pgrst_source"
    return ("WITH pgrst_source AS (" + insert + ") SELECT '' AS total_result_set, "
            "pg_catalog.count(_postgrest_t) AS page_total, array[]::text[] AS header, "
            + handler + " AS body, " + RESPONSE_COLUMNS + "FROM (" + select + ") _postgrest_t")


# ---- requests ----------------------------------------------------------------------------------

def claims_for(tenant, role=WEB, **extra):
    """The claims PostgREST puts into request.jwt.claims: the verified JWT's payload."""
    claims = {"role": role, "exp": int(time.time()) + 300}
    if tenant is not None:
        claims["tenant"] = tenant
    claims.update(extra)
    return claims


def signed(claims, key=SECRET):
    return jwt.encode(claims, key, algorithm="HS256")


class Failed(Exception):
    """A request whose transaction PostgREST would ABORT: the error and the statement."""

    def __init__(self, error, statement):
        super().__init__(f"{statement}: {error!r}")
        self.error, self.statement = error, statement


def replay(conn, *, method, path, profile, claims, main, params=(), authorization=..., prefer=None,
           pre_request=PRE_REQUEST):
    """One request, statement by statement.  Returns (main query row, who and where the
    transaction was just before COMMIT); raises Failed after sending ABORT, as hasql does.

    `authorization`: the Authorization header; by default a token signed with the JWT secret
    carrying exactly `claims` (what PostgREST verified); None for no header."""
    if authorization is ...:
        authorization = "Bearer " + signed(claims)
    headers = {"host": "localhost:3000", "user-agent": "curl/8.5.0", "accept": "*/*"}
    if method == "GET":
        headers["accept-profile"] = profile
    else:
        headers.update({"content-profile": profile, "content-type": "application/json"})
    if prefer:
        headers["prefer"] = prefer
    if authorization is not None:
        headers["authorization"] = authorization
    cur = psycopg.RawCursor(conn)
    statements = [
        (BEGIN_READ if method == "GET" else BEGIN_WRITE, ()),
        (SET_LOCALS, (f'"{profile}", "public"', claims["role"], json.dumps(claims, separators=(",", ":")),
                      method, path, json.dumps(headers, separators=(",", ":")), "{}")),
        (pre_request, ()),
        (main, params),
    ]
    row = None
    for sql, args in statements:
        try:
            cur.execute(sql, args, prepare=True)
        except psycopg.Error as e:
            cur.execute("ABORT", prepare=True)
            raise Failed(e, sql) from e
        if sql is main:
            row = cur.fetchone()
    inside = conn.execute("SELECT session_user::text, current_user::text, stash.current_tenant()").fetchone()
    cur.execute("COMMIT", prepare=True)
    return row, inside


def get(conn, series, profile, claims, table="orders", **kw):
    row, inside = replay(conn, method="GET", path=f"/{table}", profile=profile, claims=claims,
                         main=get_sql(series, profile, table), **kw)
    total, page_total, body, response_headers, response_status, inserted = row
    assert page_total == len(body)
    return body, inside


def post(conn, series, profile, claims, item, representation, table="orders", **kw):
    raw = json.dumps({"item": item}, separators=(",", ":"))
    row, inside = replay(conn, method="POST", path=f"/{table}", profile=profile, claims=claims,
                         main=post_sql(series, profile, table, representation),
                         params=(Json(raw, dumps=lambda s: s),),
                         prefer="return=representation" if representation else "return=minimal", **kw)
    return row, inside


def state(conn):
    """Who and where the connection is between requests."""
    return conn.execute("SELECT current_user::text, current_setting('role'), stash.current_tenant()").fetchone()


# ---- setup ---------------------------------------------------------------------------------------

ACME = [{"id": 1, "item": "acme-1"}, {"id": 2, "item": "acme-2"}]
GLOBEX = [{"id": 1, "item": "globex-secret-1"}, {"id": 2, "item": "globex-secret-2"}]


def rows(admin, schema):
    return [{"id": i, "item": item} for i, item in
            admin.execute(f"SELECT id, item FROM {schema}.orders ORDER BY id").fetchall()]


@pytest.fixture
def world(db):
    with db.connect() as admin:
        for role in (AUTH, WEB, ANON):
            admin.execute(f"DROP ROLE IF EXISTS {role}")
        admin.execute(f"CREATE ROLE {AUTH} LOGIN NOINHERIT")
        admin.execute(f"CREATE ROLE {WEB} NOLOGIN")
        admin.execute(f"CREATE ROLE {ANON} NOLOGIN")
        admin.execute(f"GRANT {WEB}, {ANON} TO {AUTH}")
        admin.execute(f"SELECT stash.app_role_add('{WEB}')")
        admin.execute("SELECT stash.migration_add(1, 'orders', "
                      "'CREATE TABLE orders (id bigserial PRIMARY KEY, item text)')")
        for slug in ("acme", "globex", "initech"):
            admin.execute("SELECT stash.tenant_create(%s)", (slug,))
        admin.execute("SELECT stash.tenant_suspend('initech')")
        admin.execute("INSERT INTO tenant_acme.orders (item) VALUES ('acme-1'), ('acme-2')")
        admin.execute("INSERT INTO tenant_globex.orders (item) VALUES ('globex-secret-1'), ('globex-secret-2')")
        roles = dict(admin.execute("SELECT slug, stash.tenant_role(slug)::text FROM stash.tenants").fetchall())
        ids = dict(admin.execute("SELECT slug, id::text FROM stash.tenants").fetchall())
        group = admin.execute("SELECT stash.tenant_group_role()::text").fetchone()[0]
    yield {"db": db, "roles": roles, "ids": ids, "group": group}
    with db.connect() as admin:
        admin.execute("DROP SCHEMA IF EXISTS api CASCADE")
        for slug in ("acme", "globex", "initech"):
            admin.execute("SELECT stash.tenant_drop(%s, force => true)", (slug,))
        for role in (AUTH, WEB, ANON):
            admin.execute(f"DROP OWNED BY {role}")
            admin.execute(f"DROP ROLE {role}")


def postgrest(world):
    """A connection of PostgREST's pool."""
    return psycopg.connect(dbname=world["db"].name, user=AUTH, autocommit=True)


def admin(world):
    return world["db"].connect()


# ---- tenant schemas as profiles ------------------------------------------------------------------

@pytest.mark.parametrize("series", GET_SERIES, ids=SERIES.get)
def test_get_reads_the_claimed_tenant_only_and_leaves_nothing_on_the_connection(world, series):
    with postgrest(world) as conn:
        assert state(conn) == (AUTH, "none", None)
        # one pooled connection serves acme, then globex, then acme again
        for slug, expected in (("acme", ACME), ("globex", GLOBEX), ("acme", ACME)):
            body, inside = get(conn, series, f"tenant_{slug}", claims_for(slug))
            assert body == expected
            assert inside == (AUTH, world["roles"][slug], slug)
            assert state(conn) == (AUTH, "none", None)


@pytest.mark.parametrize("series", GET_SERIES, ids=SERIES.get)
def test_the_tenant_claim_may_be_the_tenant_id(world, series):
    with postgrest(world) as conn:
        body, inside = get(conn, series, "tenant_globex", claims_for(world["ids"]["globex"]))
        assert body == GLOBEX and inside[2] == "globex"


@pytest.mark.parametrize("representation", [False, True], ids=["return=minimal", "return=representation"])
@pytest.mark.parametrize("series", POST_SERIES, ids=SERIES.get)
def test_post_writes_into_the_claimed_tenant(world, series, representation):
    with postgrest(world) as conn:
        row, inside = post(conn, series, "tenant_acme", claims_for("acme"), "acme-new", representation)
        assert inside == (AUTH, world["roles"]["acme"], "acme")
        total, page_total, header, body, *_ = row
        assert page_total == 1 and header == []
        assert body == ([{"id": 3, "item": "acme-new"}] if representation else "")
        assert state(conn) == (AUTH, "none", None)
    with admin(world) as a:
        assert rows(a, "tenant_acme") == ACME + [{"id": 3, "item": "acme-new"}]
        assert rows(a, "tenant_globex") == GLOBEX


@pytest.mark.parametrize("series", GET_SERIES, ids=SERIES.get)
def test_get_with_another_tenants_profile_is_refused_before_the_query(world, series):
    with postgrest(world) as conn:
        with pytest.raises(Failed) as failed:
            get(conn, series, "tenant_globex", claims_for("acme"))
        assert failed.value.statement == PRE_REQUEST  # the main query never ran
        assert isinstance(failed.value.error, E.InsufficientPrivilege)
        assert 'profile schema "tenant_globex" is not the schema of tenant "acme"' in str(failed.value.error)
        assert state(conn) == (AUTH, "none", None)
        # the connection serves the next request normally
        assert get(conn, series, "tenant_acme", claims_for("acme"))[0] == ACME


@pytest.mark.parametrize("representation", [False, True], ids=["return=minimal", "return=representation"])
@pytest.mark.parametrize("series", POST_SERIES, ids=SERIES.get)
def test_post_with_another_tenants_profile_writes_nothing(world, series, representation):
    with postgrest(world) as conn:
        with pytest.raises(Failed) as failed:
            post(conn, series, "tenant_globex", claims_for("acme"), "planted", representation)
        assert failed.value.statement == PRE_REQUEST
        assert isinstance(failed.value.error, E.InsufficientPrivilege)
        assert state(conn) == (AUTH, "none", None)
    with admin(world) as a:
        assert rows(a, "tenant_globex") == GLOBEX
        assert rows(a, "tenant_acme") == ACME


# ---- an API schema as the profile -----------------------------------------------------------------

@pytest.fixture
def api(world):
    """Schema api: a SECURITY INVOKER function written unqualified (resolved through the
    tenant's search_path when it runs; a view's own query would be bound to one table when
    it is created) and a security_invoker view over it, writable through an INSTEAD OF
    trigger that is written unqualified too.  Granted to the tenant group role (inside a
    tenant the request runs as the tenant's role); web_user gets nothing."""
    group = world["group"]
    with admin(world) as a:
        a.execute("CREATE SCHEMA api")
        a.execute("SET check_function_bodies = off")  # "orders" exists only in tenant schemas
        a.execute("CREATE FUNCTION api.tenant_orders() RETURNS TABLE (id bigint, item text) "
                  "LANGUAGE sql STABLE AS 'SELECT id, item FROM orders ORDER BY id'")
        a.execute("CREATE VIEW api.orders WITH (security_invoker = true) AS SELECT * FROM api.tenant_orders()")
        a.execute("CREATE FUNCTION api.orders_insert() RETURNS trigger LANGUAGE plpgsql AS $$"
                  "BEGIN INSERT INTO orders (item) VALUES (NEW.item) RETURNING id INTO NEW.id; RETURN NEW; END $$")
        a.execute("CREATE TRIGGER orders_insert INSTEAD OF INSERT ON api.orders "
                  "FOR EACH ROW EXECUTE FUNCTION api.orders_insert()")
        a.execute("REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA api FROM PUBLIC")
        a.execute(f'GRANT USAGE ON SCHEMA api TO "{group}"')
        a.execute(f'GRANT SELECT, INSERT ON api.orders TO "{group}"')
        a.execute(f'GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA api TO "{group}"')
    return world


@pytest.mark.parametrize("series", GET_SERIES, ids=SERIES.get)
def test_an_api_schema_profile_reads_the_entered_tenant_through_search_path(api, series):
    with postgrest(api) as conn:
        for slug, expected in (("acme", ACME), ("globex", GLOBEX), ("acme", ACME)):
            body, inside = get(conn, series, "api", claims_for(slug))
            assert body == expected
            assert inside == (AUTH, api["roles"][slug], slug)
            assert state(conn) == (AUTH, "none", None)


@pytest.mark.parametrize("representation", [False, True], ids=["return=minimal", "return=representation"])
@pytest.mark.parametrize("series", POST_SERIES, ids=SERIES.get)
def test_an_api_schema_profile_writes_into_the_entered_tenant(api, series, representation):
    with postgrest(api) as conn:
        row, inside = post(conn, series, "api", claims_for("globex"), "globex-new", representation)
        assert inside == (AUTH, api["roles"]["globex"], "globex")
        assert row[1] == 1 and row[3] == ([{"id": 3, "item": "globex-new"}] if representation else "")
        assert state(conn) == (AUTH, "none", None)
    with admin(api) as a:
        assert rows(a, "tenant_globex") == GLOBEX + [{"id": 3, "item": "globex-new"}]
        assert rows(a, "tenant_acme") == ACME


def test_an_api_schema_gives_nothing_outside_a_tenant(api):
    # web_user itself (no pre-request, as if the setting were missing) is refused by the privileges
    with postgrest(api) as conn:
        with pytest.raises(E.InsufficientPrivilege):
            with conn.transaction():
                conn.execute(f"SET LOCAL ROLE {WEB}")
                conn.execute("SELECT * FROM api.orders")


def test_a_wrapper_pre_request_can_let_anonymous_requests_through_outside_any_tenant(api):
    """db-pre-request = "api.pre_request": db-anon-role requests enter no tenant and reach
    only what the anon role was granted; every other request goes through
    stash.postgrest_pre_request as before."""
    with admin(api) as a:
        a.execute("CREATE FUNCTION api.pre_request() RETURNS void LANGUAGE plpgsql AS $$BEGIN "
                  f"IF current_user = '{ANON}' THEN RETURN; END IF; "
                  "PERFORM stash.postgrest_pre_request(); END $$")
        a.execute(f"GRANT EXECUTE ON FUNCTION api.pre_request() TO {ANON}, {WEB}")
        a.execute("CREATE VIEW api.ping AS SELECT 'pong' AS ping")
        a.execute(f"GRANT USAGE ON SCHEMA api TO {ANON}, {WEB}")  # both call api.pre_request()
        a.execute(f"GRANT SELECT ON api.ping TO {ANON}")
    wrapper = 'select "api"."pre_request"()'
    with postgrest(api) as conn:
        body, inside = get(conn, "v13.0.2", "api", {"role": ANON}, table="ping", authorization=None,
                           pre_request=wrapper)
        assert body == [{"ping": "pong"}] and inside == (AUTH, ANON, None)
        with pytest.raises(Failed) as failed:  # the tenants' data is not the anon role's
            get(conn, "v13.0.2", "api", {"role": ANON}, authorization=None, pre_request=wrapper)
        assert failed.value.statement.startswith("WITH pgrst_source")  # the main query
        assert isinstance(failed.value.error, E.InsufficientPrivilege)
        body, inside = get(conn, "v13.0.2", "api", claims_for("globex"), pre_request=wrapper)
        assert body == GLOBEX and inside == (AUTH, api["roles"]["globex"], "globex")
        assert state(conn) == (AUTH, "none", None)


# ---- errors ------------------------------------------------------------------------------------
# PostgREST's pgErrorStatus (src/PostgREST/Error.hs, the same from v12.0.0 to v13.0.8) answers
# 28xxx with 403, 42501 with 403 (401 when the role is db-anon-role), 55xxx with 500, and
# codes it does not list (42704, 22023) with 400.

@pytest.mark.parametrize("tenant,error,message", [
    (None, E.InvalidAuthorizationSpecification, 'no "tenant" claim'),          # 28000
    (7, E.InvalidAuthorizationSpecification, 'claim "tenant" is not a string'),  # 28000
    ("initech", E.ObjectNotInPrerequisiteState, "suspended"),                   # 55000
    ("nosuch", E.UndefinedObject, "does not exist"),                            # 42704
    ("Bad Slug", E.InvalidParameterValue, "invalid tenant slug"),               # 22023
], ids=["no tenant claim", "tenant claim not a string", "suspended", "unknown", "malformed"])
def test_claims_that_name_no_usable_tenant(world, tenant, error, message):
    with postgrest(world) as conn:
        with pytest.raises(Failed) as failed:
            get(conn, "v13.0.2", "tenant_acme", claims_for(tenant))
        assert failed.value.statement == PRE_REQUEST
        assert isinstance(failed.value.error, error), failed.value.error
        assert message in str(failed.value.error)
        assert state(conn) == (AUTH, "none", None)


def test_anonymous_requests_and_unregistered_roles_cannot_enter(world):
    """db-anon-role requests: claims {"role": <anon>}, no Authorization header."""
    with postgrest(world) as conn:
        with pytest.raises(Failed) as failed:
            get(conn, "v13.0.2", "tenant_acme", {"role": ANON}, authorization=None)
        assert failed.value.statement == PRE_REQUEST
        assert isinstance(failed.value.error, E.InsufficientPrivilege)
        assert "not an application role" in str(failed.value.error)
        # a signed JWT for a role that is not registered, with a tenant claim: the same
        with pytest.raises(Failed) as failed:
            get(conn, "v13.0.2", "tenant_acme", claims_for("acme", role=ANON))
        assert isinstance(failed.value.error, E.InsufficientPrivilege)
        # db-anon-role = web_user: an application role, but the claims are just {"role": ...}
        with pytest.raises(Failed) as failed:
            replay(conn, method="GET", path="/orders", profile="tenant_acme", claims={"role": WEB},
                   main=get_sql("v13.0.2", "tenant_acme", "orders"), authorization=None)
        assert isinstance(failed.value.error, E.InvalidAuthorizationSpecification)
        assert state(conn) == (AUTH, "none", None)


# ---- app_role_require_token: the bearer token, not the claims ------------------------------------

@pytest.fixture
def token_bound(world):
    with admin(world) as a:
        a.execute("SELECT stash.token_key_add('pgrst', 'HS256', %s)", (SECRET,))
        a.execute(f"SELECT stash.app_role_require_token('{WEB}')")
    return world


@pytest.mark.parametrize("series", GET_SERIES, ids=SERIES.get)
def test_with_require_token_the_bearer_token_names_the_tenant(token_bound, series):
    with postgrest(token_bound) as conn:
        # request.jwt.claims say globex, the verified bearer token says acme: acme
        body, inside = get(conn, series, "tenant_acme", claims_for("globex"),
                           authorization="Bearer " + signed(claims_for("acme")))
        assert body == ACME and inside == (AUTH, token_bound["roles"]["acme"], "acme")
        assert state(conn) == (AUTH, "none", None)
        # and the profile is checked against the token's tenant, not the claims'
        with pytest.raises(Failed) as failed:
            get(conn, series, "tenant_globex", claims_for("globex"),
                authorization="Bearer " + signed(claims_for("acme")))
        assert failed.value.statement == PRE_REQUEST
        assert isinstance(failed.value.error, E.InsufficientPrivilege)
        # the scheme as PostgREST reads it: any case, any whitespace after it
        for spelling in ("BEARER ", "bearer\t", "Bearer  "):
            body, inside = get(conn, series, "tenant_acme", claims_for("globex"),
                               authorization=spelling + signed(claims_for("acme")))
            assert inside[2] == "acme", spelling
        # an ordinary request (claims and token agree) works
        assert get(conn, series, "tenant_globex", claims_for("globex"))[0] == GLOBEX


@pytest.mark.parametrize("authorization,message", [
    (lambda: None, "no bearer token"),
    (lambda: "Basic cGdyc3Q6cGdyc3Q=", "no bearer token"),
    (lambda: "Bearer " + signed(claims_for("globex"), key=OTHER_SECRET), "signature does not verify"),
    (lambda: "Bearer " + signed(claims_for(None)), 'no "tenant" claim'),
    (lambda: "Bearer " + signed(claims_for("globex", exp=int(time.time()) - 120)), "has expired"),
    (lambda: "Bearer garbage", "three base64url parts"),
], ids=["no header", "basic auth", "wrong secret", "no tenant claim", "expired", "garbage"])
def test_with_require_token_forged_claims_without_a_valid_token_are_28000(token_bound, authorization, message):
    with postgrest(token_bound) as conn:
        with pytest.raises(Failed) as failed:
            get(conn, "v13.0.2", "tenant_globex", claims_for("globex"), authorization=authorization())
        assert failed.value.statement == PRE_REQUEST
        assert isinstance(failed.value.error, E.InvalidAuthorizationSpecification), failed.value.error
        assert message in str(failed.value.error)
        assert state(conn) == (AUTH, "none", None)
    with admin(token_bound) as a:
        assert rows(a, "tenant_globex") == GLOBEX


def test_with_require_token_a_forged_post_writes_nothing(token_bound):
    with postgrest(token_bound) as conn:
        with pytest.raises(Failed) as failed:
            post(conn, "v13.0.2", "tenant_globex", claims_for("globex"), "planted", True, authorization=None)
        assert isinstance(failed.value.error, E.InvalidAuthorizationSpecification)
        row, inside = post(conn, "v13.0.2", "tenant_globex", claims_for("globex"), "real", True)
        assert row[3] == [{"id": 3, "item": "real"}]
    with admin(token_bound) as a:
        assert rows(a, "tenant_globex") == GLOBEX + [{"id": 3, "item": "real"}]

