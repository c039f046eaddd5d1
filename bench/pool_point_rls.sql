\set t random(1, :ntenants)
\set k random(1, :nrows)
SELECT id AS tid, 't' || t AS slug FROM bench.tenant_ids WHERE t = :t \gset
BEGIN;
SELECT stash.tenant_enter(:slug);
SELECT payload FROM events WHERE id = :k;
COMMIT;
