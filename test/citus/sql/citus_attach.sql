-- pgcredit on a Citus cluster: which tables Citus manages can be attached.
-- A table distributed by hash of its customer column is (its shards are
-- attached on their nodes, citus_guard.sql); a reference table, a Citus
-- local table, a table distributed by another column, hold mode and a
-- table not co-located with those attached already are refused with a
-- clear error, never left unguarded.  A customer key of another type than
-- text (the exposure's) works, its tables co-located with each other.  A
-- table attached first and distributed afterwards refuses its orders on
-- the shards until citus_sync() attaches them.
SET client_min_messages = warning;
\set SHOW_CONTEXT never
CREATE EXTENSION pgcredit;
-- shard numbers of its own, so that names in the output do not depend on
-- the files run before
SET citus.next_shard_id TO 1010000;
-- CREATE EXTENSION reaches every worker
SELECT count(*) FILTER (WHERE success AND result = '1') AS workers_with_pgcredit
FROM run_command_on_workers($$SELECT count(*) FROM pg_extension WHERE extname = 'pgcredit'$$);

CREATE TABLE ct_ref (id bigint PRIMARY KEY, customer text NOT NULL, amount numeric(12,2) NOT NULL);
SELECT create_reference_table('ct_ref');
SELECT pgcredit.attach_orders('ct_ref', 'customer', 'amount');
CREATE TABLE ct_citus_local (id bigint PRIMARY KEY, customer text NOT NULL, amount numeric(12,2) NOT NULL);
SELECT citus_add_local_table_to_metadata('ct_citus_local');
SELECT pgcredit.attach_orders('ct_citus_local', 'customer', 'amount');
-- a table of a distributed schema (schema-based sharding) has one shard
-- and no distribution column
SET citus.enable_schema_based_sharding = on;
CREATE SCHEMA ct_tenant;
RESET citus.enable_schema_based_sharding;
CREATE TABLE ct_tenant.ct_order (id bigint PRIMARY KEY, customer text NOT NULL, amount numeric(12,2) NOT NULL);
SELECT pgcredit.attach_orders('ct_tenant.ct_order', 'customer', 'amount');
DROP SCHEMA ct_tenant CASCADE;
CREATE TABLE ct_by_id (id bigint NOT NULL, customer text NOT NULL, amount numeric(12,2) NOT NULL,
  PRIMARY KEY (id));
SELECT create_distributed_table('ct_by_id', 'id');
SELECT pgcredit.attach_orders('ct_by_id', 'customer', 'amount');

-- an integer customer key: orders and invoices co-located by it
CREATE TABLE ct_invoice (id bigint NOT NULL, cust integer NOT NULL, open_amount numeric(12,2) NOT NULL,
  due date, PRIMARY KEY (cust, id));
SELECT create_distributed_table('ct_invoice', 'cust');
CREATE TABLE ct_order (id bigint NOT NULL, cust integer NOT NULL, amount numeric(12,2) NOT NULL,
  held boolean NOT NULL DEFAULT false, PRIMARY KEY (cust, id));
SELECT create_distributed_table('ct_order', 'cust', colocate_with => 'ct_invoice');
SELECT pgcredit.attach_orders('ct_order', 'cust', 'amount', mode => 'hold', hold_column => 'held');
SELECT (a).kind FROM (SELECT pgcredit.attach_receivables('ct_invoice', 'cust', 'open_amount', 'due') a) x;
SELECT (a).kind FROM (SELECT pgcredit.attach_orders('ct_order', 'cust', 'amount') a) x;
SELECT customer, credit_limit FROM pgcredit.open_account('42', 100);
INSERT INTO ct_invoice VALUES (1, 42, 60, current_date + 30);
INSERT INTO ct_order VALUES (1, 42, 30);
INSERT INTO ct_order VALUES (2, 42, 10.01);
INSERT INTO ct_order VALUES (2, 42, 10);
SELECT count(*) AS orders, sum(amount) FROM ct_order;
SELECT * FROM pgcredit.verify_exposure();
-- a text-keyed table cannot join them: Citus cannot co-locate it with an
-- integer column, and a customer's rows would be on two nodes
CREATE TABLE ct_text_order (id bigint NOT NULL, customer text NOT NULL, amount numeric(12,2) NOT NULL,
  PRIMARY KEY (customer, id));
SELECT create_distributed_table('ct_text_order', 'customer');
SELECT pgcredit.attach_orders('ct_text_order', 'customer', 'amount');

-- a table of this node cannot be attached beside them: a customer's
-- exposure would be split between the coordinator and a worker
CREATE TABLE ct_local_order (id bigint NOT NULL, cust integer NOT NULL, amount numeric(12,2) NOT NULL,
  PRIMARY KEY (cust, id));
SELECT pgcredit.attach_orders('ct_local_order', 'cust', 'amount');
SELECT count(*) > 0 AS detached FROM pgcredit.detach('ct_order');
SELECT count(*) > 0 AS detached FROM pgcredit.detach('ct_invoice');
-- nor the other way round
SELECT (a).kind FROM (SELECT pgcredit.attach_orders('ct_local_order', 'cust', 'amount') a) x;
SELECT pgcredit.attach_orders('ct_order', 'cust', 'amount');
SELECT count(*) > 0 AS detached FROM pgcredit.detach('ct_local_order');

-- Attached first, then distributed: Citus refuses a table with triggers;
-- with unsafe triggers allowed, the rows it copies into the shards meet
-- pgcredit's triggers there, which refuse them, and the table stays local
CREATE TABLE ct_order2 (id bigint NOT NULL, cust integer NOT NULL, amount numeric(12,2) NOT NULL,
  PRIMARY KEY (cust, id));
INSERT INTO ct_order2 VALUES (1, 7, 5);
SELECT (a).kind FROM (SELECT pgcredit.attach_orders('ct_order2', 'cust', 'amount') a) x;
SELECT customer, credit_limit FROM pgcredit.open_account('7', 10);
SELECT create_distributed_table('ct_order2', 'cust', colocate_with => 'ct_invoice');
SET citus.enable_unsafe_triggers = on;
SELECT create_distributed_table('ct_order2', 'cust', colocate_with => 'ct_invoice');
-- empty, it is distributed, and its shards refuse every order, saying
-- why, until citus_sync() attaches them where they are
DELETE FROM ct_order2;
SELECT create_distributed_table('ct_order2', 'cust', colocate_with => 'ct_invoice');
RESET citus.enable_unsafe_triggers;
INSERT INTO ct_order2 VALUES (2, 7, 1);
SELECT action, count(*) FROM pgcredit.citus_sync() GROUP BY action ORDER BY action;
INSERT INTO ct_order2 VALUES (2, 7, 10.01);
INSERT INTO ct_order2 VALUES (2, 7, 10);
SELECT count(*) AS orders, sum(amount) FROM ct_order2;
SELECT * FROM pgcredit.verify_exposure();

SELECT count(*) > 0 AS detached FROM pgcredit.detach('ct_order2');
SELECT * FROM run_command_on_workers($$SELECT count(*) FROM pgcredit.attachment$$) ORDER BY nodeport;
DROP TABLE ct_ref, ct_citus_local, ct_by_id, ct_invoice, ct_order, ct_text_order, ct_order2, ct_local_order;
DROP EXTENSION pgcredit CASCADE;
