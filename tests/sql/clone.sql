-- tenant_clone: a new tenant built by its migrations at the source's version, then filled
-- with the source's rows; sequences and identity columns continue after the copied values.
CREATE EXTENSION stash_tenancy;
SELECT stash.migration_add(1, 'kitchen sink', $$
  CREATE TYPE status AS ENUM ('open', 'paid');
  CREATE DOMAIN cents AS bigint CHECK (VALUE >= 0);
  CREATE TABLE customers (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL,
                          name_upper text GENERATED ALWAYS AS (upper(name)) STORED);
  CREATE TABLE orders (id serial PRIMARY KEY, customer_id int NOT NULL REFERENCES customers,
                       status status NOT NULL DEFAULT 'open', total cents);
  CREATE TABLE audit (at timestamptz DEFAULT now(), what text);
  CREATE FUNCTION audit_order() RETURNS trigger LANGUAGE plpgsql AS
    'BEGIN INSERT INTO audit (what) VALUES (''order '' || NEW.id); RETURN NEW; END';
  CREATE TRIGGER orders_audit AFTER INSERT ON orders FOR EACH ROW EXECUTE FUNCTION audit_order();
  CREATE VIEW open_orders AS SELECT id, total FROM orders WHERE status = 'open';
  CREATE TABLE events (at date NOT NULL, what text) PARTITION BY RANGE (at);
  CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
  CREATE TABLE events_2027 PARTITION OF events FOR VALUES FROM ('2027-01-01') TO ('2028-01-01');
  CREATE TABLE notes (id bigint PRIMARY KEY, body text);
  ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
  CREATE POLICY notes_all ON notes USING (true);
$$);
SELECT slug FROM stash.tenant_create('template', settings => '{"plan": "demo"}');
BEGIN;
SELECT stash.tenant_enter('template');
INSERT INTO customers (name) VALUES ('Wile'), ('Road Runner');
INSERT INTO orders (customer_id, total) VALUES (1, 100), (2, 250), (2, 5);
INSERT INTO events VALUES ('2026-05-01', 'opened'), ('2027-02-01', 'grew');
INSERT INTO notes VALUES (1, 'hello');
UPDATE orders SET status = 'paid' WHERE id = 2;
SELECT count(*) AS audit_rows FROM audit;
COMMIT;

SELECT slug, name, settings FROM stash.tenant_clone('template', 'demo1', 'Demo one');

-- the same rows ...
SELECT * FROM tenant_demo1.customers ORDER BY id;
SELECT * FROM tenant_demo1.orders ORDER BY id;
SELECT tableoid::regclass, * FROM tenant_demo1.events ORDER BY at;
SELECT * FROM tenant_demo1.notes;
-- ... the copy fired no trigger (the audit table has the source's rows, copied once) ...
SELECT what FROM tenant_demo1.audit ORDER BY what;
-- ... and new rows continue after the copied ids
BEGIN;
SELECT stash.tenant_enter('demo1');
INSERT INTO customers (name) VALUES ('Coyote Jr') RETURNING id;
INSERT INTO orders (customer_id) VALUES (3) RETURNING id;
COMMIT;
SELECT slug, status, differences FROM stash.tenant_verify('demo1');
SELECT detail FROM stash.events WHERE slug = 'demo1' AND action = 'cloned';

-- structure only
SELECT slug FROM stash.tenant_clone('template', 'demo2', with_data => false);
SELECT count(*) AS customers FROM tenant_demo2.customers;

-- a source behind the catalog: the clone is at the source's version
SELECT stash.migration_add(2, 'orders note', 'ALTER TABLE orders ADD COLUMN note text');
SELECT slug FROM stash.tenant_create('newer');
SELECT slug FROM stash.tenant_clone('template', 'demo3');
SELECT slug, current_version FROM stash.tenant_status WHERE slug IN ('template', 'demo3', 'newer') ORDER BY slug;

-- bad input: nothing is created
SELECT stash.tenant_clone('template', 'template');
SELECT stash.tenant_clone('nosuch', 'demo4');
SELECT stash.tenant_clone('template', 'demo1');
SELECT stash.tenant_clone('template', 'Bad Slug');
-- a drifted source is refused, naming the difference
CREATE INDEX orders_total_idx ON tenant_template.orders (total);
SELECT stash.tenant_clone('template', 'demo4');
SELECT count(*) AS tenants FROM stash.tenants;

SELECT stash.tenant_drop(slug) FROM stash.tenants ORDER BY slug;
