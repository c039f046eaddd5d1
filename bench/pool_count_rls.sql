\set t random(1, :ntenants)
SELECT id AS tid, 't' || t AS slug FROM bench.tenant_ids WHERE t = :t \gset
BEGIN;
SELECT stash.tenant_enter(:slug);
SELECT count(*) FROM events;
COMMIT;
