\set t random_zipfian(1, :ntenants, 1.1)
BEGIN;
SELECT stash.tenant_enter('m' || :t);
SELECT count(*) FROM campaigns;
SELECT count(*) FROM documents;
SELECT count(*) FROM processors;
SELECT count(*) FROM document_jobs;
SELECT count(*) FROM processor_executions;
SELECT count(*) FROM credentials;
SELECT count(*) FROM usage_events;
SELECT count(*) FROM audit_logs;
COMMIT;
