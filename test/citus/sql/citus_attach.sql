-- pgcredit on a Citus cluster: what a table Citus manages meets.  Until
-- pgcredit's guard runs on the workers, attaching a distributed, a
-- reference or a Citus local table is refused with a clear error, never
-- left unguarded; and a table attached first cannot be distributed
-- behind pgcredit's back without its orders being refused.
SET client_min_messages = warning;
\set SHOW_CONTEXT never
CREATE EXTENSION pgcredit;
-- shard numbers of its own, so that names in the output do not depend on
-- the files run before
SET citus.next_shard_id TO 1010000;
-- CREATE EXTENSION reaches every worker
SELECT count(*) FILTER (WHERE success AND result = '1') AS workers_with_pgcredit
FROM run_command_on_workers($$SELECT count(*) FROM pg_extension WHERE extname = 'pgcredit'$$);

CREATE TABLE ct_order (id bigint NOT NULL, customer text NOT NULL, amount numeric(12,2) NOT NULL,
  PRIMARY KEY (customer, id));
SELECT create_distributed_table('ct_order', 'customer');
SELECT pgcredit.attach_orders('ct_order', 'customer', 'amount');
SET citus.enable_unsafe_triggers = on;
SELECT pgcredit.attach_orders('ct_order', 'customer', 'amount');
RESET citus.enable_unsafe_triggers;
CREATE TABLE ct_ref (id bigint PRIMARY KEY, customer text NOT NULL, amount numeric(12,2) NOT NULL);
SELECT create_reference_table('ct_ref');
SELECT pgcredit.attach_orders('ct_ref', 'customer', 'amount');
SELECT count(*) AS attached FROM pgcredit.attachment;

-- Attached first, then distributed: Citus refuses a table with triggers
CREATE TABLE ct_order2 (id bigint NOT NULL, customer text NOT NULL, amount numeric(12,2) NOT NULL,
  PRIMARY KEY (customer, id));
SELECT (a).kind FROM (SELECT pgcredit.attach_orders('ct_order2', 'customer', 'amount') a) x;
SELECT customer, credit_limit FROM pgcredit.open_account('K', 10);
SELECT create_distributed_table('ct_order2', 'customer');
-- with unsafe triggers allowed Citus distributes it, copying pgcredit's
-- triggers to the shards; there they refuse every row, saying why
SET citus.enable_unsafe_triggers = on;
SELECT create_distributed_table('ct_order2', 'customer');
INSERT INTO ct_order2 VALUES (1, 'K', 5);
INSERT INTO ct_order2 VALUES (2, 'K', 50);
SELECT count(*) AS orders FROM ct_order2;
SELECT receivables + open_orders AS exposure FROM pgcredit.exposure WHERE customer = 'K';
-- detached, undistributed and attached again, the table is guarded
SELECT count(*) > 0 AS detached FROM pgcredit.detach('ct_order2');
SELECT undistribute_table('ct_order2');
RESET citus.enable_unsafe_triggers;
SELECT (a).kind FROM (SELECT pgcredit.attach_orders('ct_order2', 'customer', 'amount') a) x;
INSERT INTO ct_order2 VALUES (1, 'K', 5);
INSERT INTO ct_order2 VALUES (2, 'K', 50);
SELECT count(*) AS orders FROM ct_order2;
SELECT receivables + open_orders AS exposure FROM pgcredit.exposure WHERE customer = 'K';

SELECT count(*) > 0 AS detached FROM pgcredit.detach('ct_order2');
DROP TABLE ct_order, ct_ref, ct_order2;
DROP EXTENSION pgcredit CASCADE;
