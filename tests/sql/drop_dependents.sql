-- tenant_drop never drops objects outside the tenant without saying so.  An object outside
-- the tenant's schema that depends on one of the tenant's (a view in public over a tenant
-- table, a foreign key into it) makes tenant_drop refuse with 2BP01, naming each one, and
-- change nothing.  force => true drops them with the tenant and lists them in the event:
-- a GDPR erasure still removes everything of the tenant.
CREATE EXTENSION stash_tenancy;
SELECT stash.migration_add(1, 'orders', 'CREATE TABLE orders (id int PRIMARY KEY, total numeric)');
SELECT slug FROM stash.tenant_create('acme');
SELECT slug FROM stash.tenant_create('globex');
CREATE VIEW public.all_orders AS SELECT 'acme' AS tenant, * FROM tenant_acme.orders;
CREATE TABLE public.invoices (order_id int REFERENCES tenant_acme.orders (id));

SELECT stash.tenant_drop('acme');
-- nothing changed
SELECT slug FROM stash.tenants ORDER BY slug;
SELECT count(*) AS acme_tables FROM pg_tables WHERE schemaname = 'tenant_acme';
SELECT to_regclass('public.all_orders') IS NOT NULL AS view_still_there;

-- a tenant with nothing outside depending on it drops as before
SELECT stash.tenant_drop('globex');

-- forced: the outside objects go too (the foreign key, not the table that holds it), and
-- the event says which
SELECT stash.tenant_drop('acme', force => true);
SELECT to_regclass('public.all_orders') AS view, to_regclass('public.invoices') AS invoices_table;
SELECT count(*) AS invoices_foreign_keys FROM pg_constraint WHERE conrelid = 'public.invoices'::regclass AND contype = 'f';
SELECT slug, action, detail FROM stash.events WHERE slug = 'acme' ORDER BY id;

-- the objects inside are found by following pg_depend from the schema, as DROP SCHEMA
-- does: a function over a tenant table's row type and a column default drawing from a
-- tenant sequence are outside dependents too
SELECT stash.migration_add(2, 'numbers', 'CREATE SEQUENCE numbers');
SELECT slug FROM stash.tenant_create('initech');
CREATE FUNCTION public.order_total(o tenant_initech.orders) RETURNS numeric LANGUAGE sql AS 'SELECT o.total';
CREATE TABLE public.tickets (n bigint DEFAULT nextval('tenant_initech.numbers'));
SELECT stash.tenant_drop('initech');
DROP FUNCTION public.order_total(tenant_initech.orders);
ALTER TABLE public.tickets ALTER COLUMN n DROP DEFAULT;
SELECT stash.tenant_drop('initech');

-- a trigger and a row-level policy belong to their table: on a table outside, calling a
-- tenant's function, they are outside dependents; inside the tenant (with a view over a
-- view, a column default and a policy) they are the tenant's own and drop with it
SELECT stash.migration_add(3, 'guards', $m$
  CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
  CREATE FUNCTION visible(total numeric) RETURNS boolean LANGUAGE sql AS 'SELECT total > 0';
  CREATE TRIGGER orders_touch BEFORE UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION touch();
  ALTER TABLE orders ENABLE ROW LEVEL SECURITY;
  CREATE POLICY orders_visible ON orders USING (visible(total));
  CREATE VIEW big_orders AS SELECT * FROM orders WHERE total > 100;
  CREATE VIEW biggest_orders AS SELECT * FROM big_orders WHERE total > 1000;
  ALTER TABLE orders ADD COLUMN n bigint DEFAULT nextval('numbers')
$m$);
SELECT slug FROM stash.tenant_create('hooli');
SELECT slug FROM stash.tenant_create('umbrella');
CREATE TABLE public.audit (total numeric);
ALTER TABLE public.audit ENABLE ROW LEVEL SECURITY;
CREATE POLICY audit_visible ON public.audit USING (tenant_hooli.visible(total));
CREATE VIEW public.top_orders AS SELECT * FROM tenant_hooli.biggest_orders;
CREATE TRIGGER audit_touch BEFORE UPDATE ON public.audit FOR EACH ROW EXECUTE FUNCTION tenant_umbrella.touch();
SELECT stash.tenant_drop('hooli');
-- each on its own is enough
DROP VIEW public.top_orders;
SELECT stash.tenant_drop('hooli');
DROP POLICY audit_visible ON public.audit;
SELECT stash.tenant_drop('hooli');
SELECT stash.tenant_drop('umbrella');
DROP TRIGGER audit_touch ON public.audit;
SELECT stash.tenant_drop('umbrella');
SELECT slug FROM stash.tenants ORDER BY slug;
