-- Citus support on a node without Citus: nothing changes, and the
-- statements pgcredit runs across a cluster stay its own.  (The cluster
-- itself is tested by make test-citus: test/citus.)
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE ROLE regress_cl_nobody;
CREATE ROLE regress_cl_admin IN ROLE pgcredit_admin;

-- without Citus: no node is a coordinator, no table is distributed, the
-- policy tables' feed triggers send nothing and citus_sync() says why
SELECT pgcredit._citus_installed() AS citus, pgcredit._citus_coordinator() AS coordinator,
       pgcredit._citus_shells() AS distributed, pgcredit._policy_fed() AS fed;
SELECT customer, credit_limit FROM pgcredit.open_account('CL1', 100);
SELECT customer, credit_limit FROM pgcredit.set_credit_limit('CL1', 90, 'test');
SET ROLE regress_cl_admin;
SELECT * FROM pgcredit.citus_sync();
SELECT count(*) AS cluster_exposure_rows FROM pgcredit.cluster_exposure;
RESET ROLE;

-- the statements run as the owner of citus: no role may call them, and
-- a grant by mistake does not open them (the C function checks its caller)
SET ROLE regress_cl_nobody;
SELECT pgcredit._cluster_exec('SELECT 1');
SELECT pgcredit._cluster_query('SELECT 1');
RESET ROLE;
SET ROLE regress_cl_admin;
SELECT pgcredit._cluster_exec('SELECT 1');
SELECT pgcredit._policy_send('account', 'I', NULL, '{}');
SELECT pgcredit._policy_apply_row('account', 'D', '{"customer": "CL1"}', NULL);
SELECT pgcredit._attach_shard('pgcredit.account', 'pgcredit.account', '{}', false);
RESET ROLE;
GRANT EXECUTE ON FUNCTION pgcredit._cluster_exec(text) TO regress_cl_nobody;
GRANT EXECUTE ON FUNCTION pgcredit._cluster_query(text) TO regress_cl_nobody;
SET ROLE regress_cl_nobody;
SELECT pgcredit._cluster_exec('SELECT 1');
SELECT pgcredit._cluster_query('SELECT 1');
RESET ROLE;
REVOKE EXECUTE ON FUNCTION pgcredit._cluster_exec(text) FROM regress_cl_nobody;
REVOKE EXECUTE ON FUNCTION pgcredit._cluster_query(text) FROM regress_cl_nobody;
-- a superuser: there is no Citus to reach
SELECT pgcredit._cluster_exec('SELECT 1');
-- the feed applies changes to the policy tables only, and the feed's
-- table is no one's: not readable, not writable
SELECT pgcredit._policy_apply_row('attachment', 'D', '{}', NULL);
SELECT pgcredit._policy_apply_row(NULL, 'D', '{}', NULL);
SELECT pgcredit._policy_apply_row('account', 'X', '{}', '{}');
SET ROLE regress_cl_admin;
SELECT count(*) FROM pgcredit_cluster.policy_feed;
INSERT INTO pgcredit_cluster.policy_feed VALUES ('account', 'D', '{"customer": "CL1"}', NULL);
RESET ROLE;
-- on a node without Citus a row written to the feed is dropped, not applied
INSERT INTO pgcredit_cluster.policy_feed VALUES ('account', 'D', '{"customer": "CL1"}', NULL);
SELECT count(*) AS stored FROM pgcredit_cluster.policy_feed;
SELECT customer, credit_limit FROM pgcredit.account WHERE customer = 'CL1';

-- the feed applies a change as a worker would: an account inserted,
-- changed and deleted, its copy on the exposure row following
SELECT pgcredit._policy_apply_row('account', 'U', to_jsonb(a), to_jsonb(a) || '{"credit_limit": 75}')
FROM pgcredit.account a WHERE a.customer = 'CL1';
SELECT a.credit_limit AS account, e.credit_limit AS exposure_copy
FROM pgcredit.account a JOIN pgcredit.exposure e USING (customer) WHERE customer = 'CL1';
SELECT pgcredit._policy_apply_row('account', 'I', NULL, to_jsonb(a) || '{"customer": "CL2", "credit_limit": 5}')
FROM pgcredit.account a WHERE a.customer = 'CL1';
SELECT e.customer, e.has_account, e.credit_limit FROM pgcredit.exposure e WHERE customer = 'CL2';
-- the whole table sent again, without CL1: CL1 goes, the other accounts
-- (of the files before this one) stay as they are
SELECT count(*) AS accounts_before FROM pgcredit.account \gset
SELECT pgcredit._policy_apply_row('account', 'S', NULL, (SELECT jsonb_agg(a) FROM pgcredit.account a WHERE a.customer <> 'CL1'));
SELECT count(*) = :accounts_before - 1 AS one_account_less FROM pgcredit.account;
SELECT customer, credit_limit FROM pgcredit.account WHERE customer IN ('CL1', 'CL2') ORDER BY 1;
SELECT e.customer, e.has_account, e.credit_limit FROM pgcredit.exposure e WHERE customer IN ('CL1', 'CL2') ORDER BY 1;
SELECT count(*) AS mismatched_copies FROM pgcredit.verify_account_copy();

-- a cover applied by the feed is copied onto the customer's exposure
-- row, as add_cover() copies it (the guard judges by the copy)
SELECT pgcredit._policy_apply_row('cover', 'I', NULL, jsonb_build_object(
  'id', 9999, 'customer', 'CL2', 'kind', 'deposit', 'issuer', 'cash', 'amount', 40, 'share_pct', 100,
  'deductible', 0, 'valid_from', current_date, 'decision', 'granted', 'decided_on', current_date,
  'created_at', now(), 'created_by', current_user, 'updated_at', now(), 'updated_by', current_user));
SELECT customer, cover_counted FROM pgcredit.exposure WHERE customer = 'CL2';
UPDATE pgcredit.exposure SET cover_counted = NULL, cover_from = NULL, cover_until = NULL WHERE customer = 'CL2';
SELECT customer, stored_cover, actual_cover FROM pgcredit.verify_cover();
SELECT pgcredit._policy_apply_row('cover', 'U', to_jsonb(c), to_jsonb(c)) FROM pgcredit.cover c WHERE c.customer = 'CL2';
SELECT customer, cover_counted FROM pgcredit.exposure WHERE customer = 'CL2';
SELECT count(*) AS mismatched_cover FROM pgcredit.verify_cover();
-- a change of the cover policy: copied again for every customer with cover
SELECT pgcredit._policy_apply_row('cover_policy', 'I', NULL, to_jsonb(p) || '{"counted_pct": 50}')
FROM pgcredit.cover_policy_in_force p WHERE p.kind = 'deposit';
SELECT customer, cover_counted FROM pgcredit.exposure WHERE customer = 'CL2';
UPDATE pgcredit.exposure SET cover_counted = 0 WHERE customer = 'CL2';
SELECT pgcredit._policy_apply_row('cover_policy', 'U', to_jsonb(p), to_jsonb(p)) FROM pgcredit.cover_policy p WHERE p.kind = 'deposit';
SELECT customer, cover_counted FROM pgcredit.exposure WHERE customer = 'CL2';
SELECT pgcredit._policy_apply_row('cover_policy', 'D', to_jsonb(p), NULL) FROM pgcredit.cover_policy p WHERE p.kind = 'deposit';
SELECT customer, cover_counted FROM pgcredit.exposure WHERE customer = 'CL2';
SELECT pgcredit._policy_apply_row('cover', 'D', to_jsonb(c), NULL) FROM pgcredit.cover c WHERE c.customer = 'CL2';
SELECT customer, cover_counted FROM pgcredit.exposure WHERE customer = 'CL2';

-- the exposure history turned on again through the feed starts from
-- every customer's exposure as it stands, as set_exposure_history() does
SELECT count(*) AS settings_rows FROM pgcredit.settings \gset
INSERT INTO pgcredit.settings DEFAULT VALUES ON CONFLICT DO NOTHING;
SELECT count(*) AS history_rows FROM pgcredit.exposure_history WHERE customer = 'CL2' \gset
SELECT pgcredit._policy_apply_row('settings', 'U', to_jsonb(s), to_jsonb(s) || '{"exposure_history": false}')
FROM pgcredit.settings s;
SELECT pgcredit._policy_apply_row('settings', 'U', to_jsonb(s), to_jsonb(s) || '{"exposure_history": true}')
FROM pgcredit.settings s;
SELECT count(*) - :history_rows AS seeded FROM pgcredit.exposure_history WHERE customer = 'CL2';
SELECT pgcredit._policy_apply_row('settings', 'U', to_jsonb(s), to_jsonb(s)) FROM pgcredit.settings s;
SELECT count(*) - :history_rows AS seeded_once FROM pgcredit.exposure_history WHERE customer = 'CL2';
DELETE FROM pgcredit.settings WHERE :settings_rows = 0;

-- the readers' questions to the workers: nothing to ask without Citus;
-- the checks asked of the workers are a fixed few; the questions about
-- one customer are pgcredit's own
SELECT count(*) FROM pgcredit._citus_exposure_at(current_date, NULL);
SELECT count(*) FROM pgcredit._citus_exposure_at(current_date, 'CL1');
SELECT count(*) FROM pgcredit._citus_category_exposure();
SELECT count(*) FROM pgcredit._citus_receivable_due(current_date);
SELECT count(*) FROM pgcredit._citus_verify('verify_cover');
SELECT count(*) FROM pgcredit._citus_verify('verify_exposure; DROP TABLE pgcredit.account');
SELECT count(*) FROM pgcredit._citus_exposure_at('infinity', NULL);
SELECT pgcredit._exposure_now('CL1');
SET ROLE regress_cl_nobody;
SELECT count(*) FROM pgcredit._citus_exposure_at(current_date, NULL);
SELECT count(*) FROM pgcredit._citus_verify('verify_cover');
SELECT pgcredit._exposure_now('CL1');
RESET ROLE;
SET ROLE regress_cl_admin;
SELECT pgcredit._citus_ask('CL1', 'SELECT 1');
SELECT pgcredit._citus_shard_of('CL1', NULL);
SELECT * FROM pgcredit._citus_check_order('CL1', 1, NULL, 0, NULL, NULL, NULL);
SELECT * FROM pgcredit._citus_revalue_here('test');
RESET ROLE;

-- leave nothing for the files after this one
SELECT pgcredit._policy_apply_row('account', 'D', '{"customer": "CL2"}', NULL);
DELETE FROM pgcredit.exposure WHERE customer IN ('CL1', 'CL2');
DROP ROLE regress_cl_nobody, regress_cl_admin;
