-- What a user would hand-write instead of stash.tenant_enter: registry lookup, status
-- check, set_config(..., true).  The baseline (c) of the context-switch benchmark.
CREATE SCHEMA bench;
CREATE FUNCTION bench.plpgsql_enter(p_slug text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE r record;
BEGIN
  SELECT schema_name, status INTO r FROM stash.tenants WHERE slug = p_slug;
  IF NOT FOUND THEN RAISE EXCEPTION 'unknown tenant %', p_slug USING ERRCODE = '42704'; END IF;
  IF r.status <> 'active' THEN RAISE EXCEPTION 'tenant % is suspended', p_slug USING ERRCODE = '55000'; END IF;
  PERFORM set_config('search_path', quote_ident(r.schema_name) || ', public', true);
  PERFORM set_config('app.tenant', p_slug, true);
END $$;
SELECT stash.migration_add(1, 'items',
  'CREATE TABLE items (id int PRIMARY KEY, v text);
   INSERT INTO items SELECT g, md5(g::text) FROM generate_series(1, 100) g');
