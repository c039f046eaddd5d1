-- Entering by signed token: stash.tenant_enter_token verifies a JWT (HS256, RS256,
-- ES256) with a key registered by an administrator and enters the tenant its `tenant`
-- claim names.  (tests/integration/test_tokens.py signs tokens with PyJWT at run time;
-- the tokens below were signed once with PyJWT and expire in 2100.)
CREATE EXTENSION stash_tenancy;
SELECT slug FROM stash.tenant_create('acme');
SELECT slug FROM stash.tenant_create('globex');

-- the key: an HS256 secret of at least 32 bytes (RS256 / ES256 take a public key in PEM)
SELECT stash.token_key_add('main', 'HS256', 'regress-secret-regress-secret-0123456789');
SELECT kid, alg FROM stash.token_keys;

-- {"alg":"HS256","kid":"main"} . {"tenant":"acme","exp":4102444800}
BEGIN;
SELECT stash.tenant_enter_token('eyJhbGciOiJIUzI1NiIsImtpZCI6Im1haW4iLCJ0eXAiOiJKV1QifQ.eyJ0ZW5hbnQiOiJhY21lIiwiZXhwIjo0MTAyNDQ0ODAwfQ.tRx0u3CLk2qkNk1N3GWtxsmroV-jo5fVeiA1X_0Ga90');
SELECT stash.current_tenant(), current_setting('search_path');
COMMIT;

-- anything wrong with a token is 28000 (invalid_authorization_specification), and the
-- transaction is left as it was: expired ...
BEGIN;
SELECT stash.tenant_enter_token('eyJhbGciOiJIUzI1NiIsImtpZCI6Im1haW4iLCJ0eXAiOiJKV1QifQ.eyJ0ZW5hbnQiOiJhY21lIiwiZXhwIjoxMDAwMDAwMDAwfQ.fkOAU6mCa2B7pm_iU5hiwMvq4un6DXqa51ZeogD4mDo');
ROLLBACK;
-- ... signed with another secret ...
BEGIN;
SELECT stash.tenant_enter_token('eyJhbGciOiJIUzI1NiIsImtpZCI6Im1haW4iLCJ0eXAiOiJKV1QifQ.eyJ0ZW5hbnQiOiJnbG9iZXgiLCJleHAiOjQxMDI0NDQ4MDB9.ZpZXdtIc2ywlicQp71ksdZbJr5CkPvxqmeZzp4BaxvE');
ROLLBACK;
-- ... not signed at all ...
BEGIN;
SELECT stash.tenant_enter_token('eyJhbGciOiJub25lIiwia2lkIjoibWFpbiJ9.eyJ0ZW5hbnQiOiJnbG9iZXgiLCJleHAiOjQxMDI0NDQ4MDB9.');
ROLLBACK;
-- ... or not a token
BEGIN;
SELECT stash.tenant_enter_token('not-a-token');
ROLLBACK;
SELECT stash.current_tenant();

-- keys: bad input is 22023 and never echoes the key; one kid, one key
SELECT stash.token_key_add('short', 'HS256', 'too-short');
SELECT stash.token_key_add('main', 'HS256', 'another-secret-another-secret-0123456789');
SELECT stash.token_key_add('rsa', 'RS256', 'not a pem');

-- an application role can be required to enter by token only: tenant_enter(slug) is
-- then closed to it (42501), tenant_enter_token stays open
CREATE ROLE app;
SELECT stash.app_role_add('app');
SELECT stash.app_role_require_token('app');
SELECT role, token_required FROM stash.app_roles;
SET ROLE app;
BEGIN;
SELECT stash.tenant_enter('globex');
ROLLBACK;
-- the keys are for administrators only
SELECT kid FROM stash.token_keys;
RESET ROLE;

-- removing the key: its tokens stop verifying at once
SELECT stash.token_key_remove('main');
BEGIN;
SELECT stash.tenant_enter_token('eyJhbGciOiJIUzI1NiIsImtpZCI6Im1haW4iLCJ0eXAiOiJKV1QifQ.eyJ0ZW5hbnQiOiJhY21lIiwiZXhwIjo0MTAyNDQ0ODAwfQ.tRx0u3CLk2qkNk1N3GWtxsmroV-jo5fVeiA1X_0Ga90');
ROLLBACK;
SELECT stash.token_key_remove('main');

SELECT stash.app_role_remove('app');
DROP ROLE app;
SELECT stash.tenant_drop('acme');
SELECT stash.tenant_drop('globex');
