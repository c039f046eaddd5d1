\set t random(1, :ntenants)
\set k random(1, 100)
BEGIN;
SELECT set_config('search_path', 'tenant_t' || :t || ', public', true);
SELECT v FROM items WHERE id = :k;
COMMIT;
