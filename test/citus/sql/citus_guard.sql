-- The guard on the workers.  A table distributed by its customer column
-- is attached on the coordinator; each shard is attached on the node
-- holding it, whose guard keeps its customers' exposure there and judges
-- an order without asking another node.  The accounts set on the
-- coordinator reach the workers in the same transaction.  An order over
-- the limit is refused through the coordinator with the SQLSTATE, message,
-- detail and hint of a single node; verify_exposure() on the coordinator
-- checks every worker; a shard moved to another node refuses orders until
-- citus_sync() attaches it there.
SET client_min_messages = warning;
\set SHOW_CONTEXT never
CREATE EXTENSION pgcredit;
SET citus.next_shard_id TO 1030000;
-- what a worker keeps, read on each worker (worker1 first); the helpers
-- stay on the coordinator (Citus would say so)
SET client_min_messages = error;
CREATE FUNCTION pg_temp.on_workers(q text) RETURNS SETOF text LANGUAGE sql AS $$
  SELECT nodeport::text || ': ' || coalesce(result, '') FROM run_command_on_workers(q) ORDER BY nodeport
$$;
-- the same error on one node and through the coordinator
CREATE FUNCTION pg_temp.try(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  st text; msg text; det text; hin text;
BEGIN
  EXECUTE q;
  RETURN 'accepted';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL, hin = PG_EXCEPTION_HINT;
  RETURN format(E'%s %s\n  detail: %s\n  hint: %s', st, msg, det, hin);
END
$$;
SET client_min_messages = warning;

CREATE TABLE cg_order (id bigint NOT NULL, customer text NOT NULL, amount numeric(12,2) NOT NULL,
  PRIMARY KEY (customer, id));
SELECT create_distributed_table('cg_order', 'customer');
CREATE TABLE cg_invoice (id bigint NOT NULL, customer text NOT NULL, open_amount numeric(12,2) NOT NULL,
  due date, PRIMARY KEY (customer, id));
SELECT create_distributed_table('cg_invoice', 'customer', colocate_with => 'cg_order');
-- rows before attaching count once attached
INSERT INTO cg_order VALUES (1, 'ACME', 100), (2, 'BOLT', 10);
INSERT INTO cg_invoice VALUES (1, 'ACME', 250, current_date + 30);
SELECT customer, credit_limit FROM pgcredit.open_account('ACME', 1000);
SELECT customer, credit_limit FROM pgcredit.open_account('BOLT', 50);
SELECT (a).kind, (a).mode FROM (SELECT pgcredit.attach_orders('cg_order', 'customer', 'amount') a) x;
SELECT (a).kind FROM (SELECT pgcredit.attach_receivables('cg_invoice', 'customer', 'open_amount', 'due') a) x;
-- the coordinator keeps the two attachments, each worker one per shard it
-- holds, and no exposure is kept on the coordinator
SELECT relid, kind, citus_shard_of FROM pgcredit.attachment ORDER BY relid::text;
SELECT * FROM pg_temp.on_workers($$SELECT count(*) || ' shards attached, of ' || string_agg(DISTINCT citus_shard_of::text, ', ') FROM pgcredit.attachment$$);
SELECT count(*) AS coordinator_exposure_rows FROM pgcredit.exposure WHERE receivables <> 0 OR open_orders <> 0;
-- each customer's exposure on the node of its shard only
SELECT * FROM pg_temp.on_workers($$SELECT coalesce(string_agg(customer || ' ' || receivables || '+' || open_orders || ' of ' || credit_limit, '; ' ORDER BY customer), 'none') FROM pgcredit.exposure WHERE receivables <> 0 OR open_orders <> 0$$);
SELECT get_shard_id_for_distribution_column('cg_order', 'ACME') AS acme_shard,
       get_shard_id_for_distribution_column('cg_order', 'BOLT') AS bolt_shard;

-- an order within the limit passes, one over it is refused: the same
-- SQLSTATE and message as a single node's, through the coordinator
SELECT pg_temp.try($$INSERT INTO cg_order VALUES (3, 'ACME', 600)$$);
SELECT pg_temp.try($$INSERT INTO cg_order VALUES (4, 'ACME', 60)$$);
CREATE TABLE cg_local (id bigint NOT NULL, customer text NOT NULL, amount numeric(12,2) NOT NULL,
  PRIMARY KEY (customer, id));
CREATE TABLE cg_local_invoice (LIKE cg_invoice INCLUDING ALL);
SELECT count(*) FROM pgcredit.detach('cg_order');
SELECT count(*) FROM pgcredit.detach('cg_invoice');
INSERT INTO cg_local SELECT * FROM cg_order;
INSERT INTO cg_local_invoice SELECT * FROM cg_invoice;
SELECT (a).kind FROM (SELECT pgcredit.attach_orders('cg_local', 'customer', 'amount') a) x;
SELECT (a).kind FROM (SELECT pgcredit.attach_receivables('cg_local_invoice', 'customer', 'open_amount', 'due') a) x;
SELECT pg_temp.try($$INSERT INTO cg_local VALUES (4, 'ACME', 60)$$) AS on_one_node;
SELECT count(*) FROM pgcredit.detach('cg_local');
SELECT count(*) FROM pgcredit.detach('cg_local_invoice');
SELECT (a).kind FROM (SELECT pgcredit.attach_orders('cg_order', 'customer', 'amount') a) x;
SELECT (a).kind FROM (SELECT pgcredit.attach_receivables('cg_invoice', 'customer', 'open_amount', 'due') a) x;
SELECT pg_temp.try($$INSERT INTO cg_order VALUES (4, 'ACME', 60)$$) AS through_the_coordinator;
-- a payment (an invoice closed) makes room, on the worker
UPDATE cg_invoice SET open_amount = 0 WHERE customer = 'ACME';
SELECT pg_temp.try($$INSERT INTO cg_order VALUES (4, 'ACME', 60)$$);

-- a limit set on the coordinator is the workers' in the same transaction;
-- one rolled back never was
BEGIN;
SELECT customer, credit_limit FROM pgcredit.set_credit_limit('BOLT', 20, 'test: lower');
SELECT pg_temp.try($$INSERT INTO cg_order VALUES (5, 'BOLT', 15)$$);
ROLLBACK;
SELECT pg_temp.try($$INSERT INTO cg_order VALUES (5, 'BOLT', 15)$$);
SELECT customer, credit_limit FROM pgcredit.set_credit_limit('BOLT', 30, 'test: lower');
SELECT pg_temp.try($$INSERT INTO cg_order VALUES (6, 'BOLT', 10)$$);
SELECT * FROM pg_temp.on_workers($$SELECT coalesce(string_agg(customer || ' ' || credit_limit, '; ' ORDER BY customer), 'none') FROM pgcredit.account$$);
-- a blocked account, the policy for customers without an account, a
-- rule: all reach the workers
SELECT customer, status FROM pgcredit.block_account('BOLT', 'test: block');
SELECT pg_temp.try($$INSERT INTO cg_order VALUES (7, 'BOLT', 1)$$);
-- leaving blocked above an approval threshold needs an approved request:
-- judged by the exposure on BOLT's worker (25), not the coordinator's (0)
INSERT INTO pgcredit.approval_policy (unblock_approval_above) VALUES (20);
SELECT pg_temp.try($$SELECT pgcredit.release_hold('BOLT', 'test: release')$$);
DELETE FROM pgcredit.approval_policy;
SELECT customer, status FROM pgcredit.release_hold('BOLT', 'test: release');
SELECT pg_temp.try($$INSERT INTO cg_order VALUES (7, 'BOLT', 1)$$);
SELECT pg_temp.try($$INSERT INTO cg_order VALUES (8, 'NEWCO', 1)$$);
SELECT no_account_policy FROM pgcredit.set_no_account_policy('deny', reason => 'test');
SELECT pg_temp.try($$INSERT INTO cg_order VALUES (9, 'NEWCO', 1)$$);
SELECT no_account_policy FROM pgcredit.set_no_account_policy('allow', reason => 'test');
SELECT kind, action FROM pgcredit.add_rule('largest_order', 'refuse', 'test: orders above 150 need a person',
  amount => 150);
SELECT pg_temp.try($$INSERT INTO cg_order VALUES (9, 'BOLT', 150.01)$$);
SELECT count(*) FROM pgcredit.drop_rule((SELECT max(id) FROM pgcredit.credit_rule), 'test: done');
SELECT pg_temp.try($$INSERT INTO cg_order VALUES (9, 'ACME', 150.01)$$);

-- verify_exposure() on the coordinator checks the workers: all well, then
-- a worker's exposure damaged by hand is found, and citus_sync() mends it
SELECT * FROM pgcredit.verify_exposure();
SELECT * FROM pg_temp.on_workers($$UPDATE pgcredit.exposure SET open_orders = open_orders + 7 WHERE customer = 'ACME' AND open_orders <> 0$$);
SELECT * FROM pgcredit.verify_exposure();
SELECT node, action FROM pgcredit.citus_sync() WHERE action NOT IN ('kept') ORDER BY node, port;
SELECT * FROM pgcredit.verify_exposure();
-- revalue_exposure() on the coordinator revalues each worker's exposure
-- (here one damaged over ACME's limit: it comes back under it)
SELECT * FROM pg_temp.on_workers($$UPDATE pgcredit.exposure SET open_orders = open_orders + 500 WHERE customer = 'ACME' AND open_orders <> 0$$);
SELECT * FROM pgcredit.revalue_exposure('test: rates loaded');
SELECT * FROM pgcredit.verify_exposure();
-- what the guards keep, read live on the coordinator
SELECT customer, port, receivables, open_orders, exposure, credit_limit, available_credit, status
FROM pgcredit.cluster_exposure ORDER BY customer;
-- the risk views on the coordinator: exposure as the workers keep it,
-- aging read from the distributed invoices
INSERT INTO cg_invoice VALUES (2, 'BOLT', 3, current_date - 40);
SELECT customer, days_31_60, total, oldest_days_past_due FROM pgcredit.aging_by_customer ORDER BY customer;
SELECT customer, credit_limit, exposure, receivables, open_orders, available_credit, status, days_past_due
FROM pgcredit.customer_risk ORDER BY customer;
SELECT total_exposure, customers, customers_over_limit FROM pgcredit.portfolio;
SELECT customer, exposure FROM pgcredit.customer_risk WHERE customer = 'ACME';
-- what the exposure is made of, by category, on the coordinator: the
-- workers' figures, a company category with a sub-limit among them
SELECT name FROM pgcredit.add_category('services', 'orders', 'service contracts');
SELECT category, credit_limit FROM pgcredit.set_category_limit('services', 50, 'test: services', customer => 'ACME');
CREATE TABLE cg_service (id bigint NOT NULL, customer text NOT NULL, amount numeric(12,2) NOT NULL,
  PRIMARY KEY (customer, id));
SELECT create_distributed_table('cg_service', 'customer', colocate_with => 'cg_order');
SELECT (a).kind, (a).category FROM (SELECT pgcredit.attach_orders('cg_service', 'customer', 'amount', category => 'services') a) x;
INSERT INTO cg_service VALUES (1, 'ACME', 40);
SELECT customer, category, kind, amount, sub_limit, headroom FROM pgcredit.exposure_breakdown
WHERE amount <> 0 ORDER BY customer, category;
SELECT category, kind, amount, customers FROM pgcredit.category_totals ORDER BY category;
-- check_order() on the coordinator answers as the customer's worker: the
-- guard's verdict there (the sub-limit of the table's category; the
-- limit), as the insert then finds it
SELECT verdict, kind, sqlstate, exposure, credit_available FROM pgcredit.check_order('ACME', 20, 'cg_service');
SELECT pg_temp.try($$INSERT INTO cg_service VALUES (2, 'ACME', 20)$$);
SELECT verdict, kind, sqlstate, exposure, credit_available FROM pgcredit.check_order('ACME', 20, 'cg_order');
SELECT verdict, kind, sqlstate, exposure, credit_available FROM pgcredit.check_order('ACME', 60, 'cg_order');
SELECT pg_temp.try($$INSERT INTO cg_order VALUES (20, 'ACME', 60)$$);
SELECT verdict, kind, exposure, credit_available FROM pgcredit.check_order('ACME', 5);
SELECT verdict, kind, exposure, credit_available FROM pgcredit.check_order('BOLT', 50);
SELECT customer, status, credit_limit, available_credit, exposure, receivables, open_orders
FROM pgcredit.credit_status('ACME');
-- a key with quotes and format characters is a key like any other
SELECT verdict, exposure FROM pgcredit.check_order($k$x'); DROP TABLE cg_order; --%s%I{shard}$k$, 1);
SELECT count(*) AS cg_order_rows FROM cg_order;
-- the arguments are checked on the coordinator, with its errors
SELECT pg_temp.try($$SELECT pgcredit.check_order('ACME', -1)$$);
SELECT pg_temp.try($$SELECT pgcredit.check_order('ACME', 1, 'cg_invoice')$$);
DELETE FROM cg_service;
SELECT count(*) FROM pgcredit.detach('cg_service');
DROP TABLE cg_service;
-- cover on the coordinator: insured and uninsured exposure from the
-- workers' exposure
SELECT kind, amount FROM pgcredit.add_cover('ACME', 'credit_insurance', 'Insurer A', 500, 'test: insured', share_pct => 90);
SELECT customer, exposure, insured_limit, insured_exposure, uninsured_exposure FROM pgcredit.customer_cover
WHERE customer = 'ACME';
SELECT kind, covers, amount, insured_exposure FROM pgcredit.cover_book;
SELECT count(*) FROM pgcredit.end_cover((SELECT max(id) FROM pgcredit.cover), 'test: done');
-- a cover reaches the guard on the worker: BOLT (29 of 30) may order 10
-- with a deposit of 20, and not without it
SELECT kind, amount FROM pgcredit.add_cover('BOLT', 'deposit', 'cash', 20, 'test: deposit');
SELECT pg_temp.try($$INSERT INTO cg_order VALUES (22, 'BOLT', 10)$$);
SELECT * FROM pgcredit.verify_cover();
DELETE FROM cg_order WHERE id = 22;
SELECT count(*) FROM pgcredit.end_cover((SELECT max(id) FROM pgcredit.cover), 'test: done');
SELECT pg_temp.try($$INSERT INTO cg_order VALUES (22, 'BOLT', 10)$$);
SELECT * FROM pgcredit.verify_cover();
-- a past day's exposure on the coordinator: from the workers' history
-- (dated back a day here, on every node, as if the orders were old)
SELECT nodeid, success FROM run_command_on_all_nodes($$UPDATE pgcredit.exposure_history SET changed_at = changed_at - interval '1 day'$$) ORDER BY nodeid;
-- an order today: yesterday's figures do not have it
INSERT INTO cg_order VALUES (20, 'NEWCO', 2);
SELECT customer, exposure, receivables, open_orders, credit_limit FROM pgcredit.customer_risk_at(current_date - 1)
ORDER BY customer;
SELECT customer, exposure FROM pgcredit.customer_risk WHERE customer = 'NEWCO';
DELETE FROM cg_order WHERE id = 20;
-- the nightly scoring on the coordinator: utilisation from the workers'
-- exposure
SELECT customers FROM pgcredit.refresh_scores();
SELECT customer, utilisation_pct, receivables, open_orders FROM pgcredit.score_history ORDER BY customer;
-- the coordinator keeps no book of the day (refresh_book()): the rows
-- change on the workers, whose guards would not tell it
SELECT * FROM pgcredit.refresh_book('2026-01-01');
SELECT day, customers FROM pgcredit.book_state;

-- a shard moved to the other worker: Citus copies the table's triggers to
-- it, and there it refuses every order until citus_sync() attaches it
SELECT nodeport AS acme_was_on FROM pg_dist_shard_placement
WHERE shardid = get_shard_id_for_distribution_column('cg_order', 'ACME') \gset
SELECT nodeport AS acme_goes_to FROM pg_dist_node WHERE groupid <> 0 AND nodeport <> :acme_was_on \gset
SELECT citus_move_shard_placement(get_shard_id_for_distribution_column('cg_order', 'ACME'),
  'localhost', :acme_was_on, 'localhost', :acme_goes_to, shard_transfer_mode => 'block_writes');
SELECT nodeport <> :acme_was_on AS moved FROM pg_dist_shard_placement
WHERE shardid = get_shard_id_for_distribution_column('cg_order', 'ACME');
SELECT pg_temp.try($$INSERT INTO cg_order VALUES (10, 'ACME', 1)$$);
-- the shards left behind, dropped: their attachments go with them
CALL citus_cleanup_orphaned_resources();
SELECT * FROM pg_temp.on_workers($$SELECT count(*) FROM pgcredit.attachment$$);
SELECT node = 'coordinator' AS coordinator, action FROM pgcredit.citus_sync()
WHERE action NOT IN ('kept') ORDER BY node, port;
SELECT * FROM pgcredit.verify_exposure();
-- the new node counted ACME's rows as it attached the shard: 910.01 of
-- 1000 (orders of 100, 600, 60, 150.01)
SELECT pg_temp.try($$INSERT INTO cg_order VALUES (10, 'ACME', 90)$$);
SELECT pg_temp.try($$INSERT INTO cg_order VALUES (10, 'ACME', 89.99)$$);

-- credit groups cannot be judged on one node
SELECT id, credit_limit FROM pgcredit.create_group('G1', 100);
SELECT pg_temp.try($$SELECT pgcredit.join_group('ACME', 'G1', 'test')$$);

-- an application role: its orders are judged on the workers as anyone's;
-- the feed and the cluster functions are out of its reach, on every node
SET client_min_messages = error;
CREATE ROLE regress_cg_app LOGIN;
SET client_min_messages = warning;
GRANT SELECT, INSERT ON cg_order TO regress_cg_app;
SET ROLE regress_cg_app;
SELECT pg_temp.try($$INSERT INTO cg_order VALUES (12, 'BOLT', 1000)$$);
SELECT pg_temp.try($$SELECT * FROM pgcredit.citus_sync()$$);
SELECT pg_temp.try($$INSERT INTO pgcredit_cluster.policy_feed VALUES ('account', 'D', '{"customer": "BOLT"}', NULL)$$);
SELECT pg_temp.try($$SELECT pgcredit._cluster_exec('SELECT 1')$$);
SELECT * FROM pg_temp.on_workers($q$DO $d$ BEGIN
  EXECUTE format('INSERT INTO pgcredit_cluster.%I VALUES (''account'', ''D'', ''{"customer": "BOLT"}'', NULL)',
                 (SELECT relname FROM pg_class WHERE relname LIKE 'policy\_feed\_%'));
END $d$$q$);
SELECT * FROM pg_temp.on_workers($$SELECT pgcredit._attach_shard('cg_order_1030002', 'cg_order', '{}', false)$$);
RESET ROLE;
SELECT * FROM pg_temp.on_workers($$SELECT count(*) FROM pgcredit.account WHERE customer = 'BOLT'$$);
-- a reader reads the workers' figures through the views and asks
-- check_order(); a role with nothing reaches neither the views nor the
-- functions behind them
SET client_min_messages = error;
CREATE ROLE regress_cg_reader LOGIN;
SET client_min_messages = warning;
GRANT pgcredit_reader TO regress_cg_reader;
SET ROLE regress_cg_reader;
SELECT customer, category, amount FROM pgcredit.exposure_breakdown WHERE amount <> 0 ORDER BY customer, category;
SELECT customer, exposure FROM pgcredit.customer_cover ORDER BY customer;
SELECT verdict, exposure FROM pgcredit.check_order('BOLT', 1);
SELECT pg_temp.try($$SELECT pgcredit._citus_check_order('BOLT', 1, NULL, 0, NULL, NULL, NULL)$$);
SELECT pg_temp.try($$SELECT pgcredit._citus_ask('BOLT', 'SELECT 1')$$);
RESET ROLE;
-- in a transaction that wrote to the customer's shard, check_order()
-- counts the transaction's own order when the writer is the role Citus
-- asks the worker as (the owner of citus, here); another role's
-- transaction is answered from what is committed
BEGIN;
INSERT INTO cg_order VALUES (21, 'NEWCO', 2);
SELECT verdict, exposure FROM pgcredit.check_order('NEWCO', 1);
ROLLBACK;
GRANT INSERT ON cg_order TO regress_cg_reader;
SET ROLE regress_cg_reader;
BEGIN;
INSERT INTO cg_order VALUES (21, 'NEWCO', 2);
SELECT verdict, exposure FROM pgcredit.check_order('NEWCO', 1);
SELECT customer, exposure FROM pgcredit.credit_status('NEWCO');
ROLLBACK;
RESET ROLE;
REVOKE INSERT ON cg_order FROM regress_cg_reader;
SET ROLE regress_cg_app;
SELECT pg_temp.try($$SELECT count(*) FROM pgcredit.exposure_breakdown$$);
SELECT pg_temp.try($$SELECT count(*) FROM pgcredit._citus_exposure_at(current_date, NULL)$$);
SELECT pg_temp.try($$SELECT count(*) FROM pgcredit._citus_category_exposure()$$);
SELECT pg_temp.try($$SELECT pgcredit.check_order('BOLT', 1)$$);
RESET ROLE;
SET client_min_messages = error;
DROP ROLE regress_cg_reader;
SET client_min_messages = warning;
REVOKE ALL ON cg_order FROM regress_cg_app;
SET client_min_messages = error;
DROP ROLE regress_cg_app;
SET client_min_messages = warning;

-- detached: the shards are detached on their nodes
SELECT count(*) FROM pgcredit.detach('cg_order');
SELECT count(*) FROM pgcredit.detach('cg_invoice');
SELECT * FROM pg_temp.on_workers($$SELECT count(*) FROM pgcredit.attachment$$);
SELECT pg_temp.try($$INSERT INTO cg_order VALUES (11, 'BOLT', 1000)$$);

DROP TABLE cg_order, cg_invoice, cg_local, cg_local_invoice;
-- Citus keeps the shards of pgcredit's policy feed in their own schema,
-- which the extension drops with CASCADE (it does not drop them itself)
DROP EXTENSION pgcredit;
DROP EXTENSION pgcredit CASCADE;
SELECT * FROM run_command_on_all_nodes($$SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'pgcredit%'$$) ORDER BY nodeid;
