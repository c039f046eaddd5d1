\set t random(1, :ntenants)
\set k random(1, 100)
BEGIN;
SELECT bench.plpgsql_enter('t' || :t);
SELECT v FROM items WHERE id = :k;
COMMIT;
