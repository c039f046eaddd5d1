\set t random(1, :ntenants)
\set k random(1, 100)
SELECT token AS tok, 't' || t AS slug FROM bench.tokens WHERE t = :t \gset
BEGIN;
SELECT stash.tenant_enter_token(:tok);
SELECT v FROM items WHERE id = :k;
COMMIT;
