-- The guard on partitioned tables when an UPDATE moves a row to another
-- partition.  PostgreSQL runs the move as a delete and an insert and fires
-- the BEFORE UPDATE, BEFORE DELETE and BEFORE INSERT row triggers; the
-- guard counts the change once, and checks it as the update it is.
\set SHOW_CONTEXT never

CREATE TABLE p_order (id int, customer text NOT NULL, amount numeric(12,2) NOT NULL,
                      region text NOT NULL, PRIMARY KEY (id, region)) PARTITION BY LIST (region);
CREATE TABLE p_order_eu PARTITION OF p_order FOR VALUES IN ('eu');
CREATE TABLE p_order_us PARTITION OF p_order FOR VALUES IN ('us');
-- a sub-partitioned branch: moves across levels
CREATE TABLE p_order_asia PARTITION OF p_order FOR VALUES IN ('jp', 'sg') PARTITION BY LIST (region);
CREATE TABLE p_order_jp PARTITION OF p_order_asia FOR VALUES IN ('jp');
CREATE TABLE p_order_sg PARTITION OF p_order_asia FOR VALUES IN ('sg');
SELECT relid FROM pgcredit.attach_orders('p_order', 'customer', 'amount');
SELECT customer, credit_limit FROM pgcredit.open_account('PA', 100);
SELECT customer, credit_limit FROM pgcredit.open_account('PB', 100);
INSERT INTO p_order VALUES (1, 'PA', 10, 'eu'), (2, 'PA', 20, 'eu'), (3, 'PB', 30, 'us');

CREATE VIEW p_state AS
SELECT x.customer, x.open_orders,
       (SELECT coalesce(sum(amount), 0) FROM p_order o WHERE o.customer = x.customer) AS in_table
FROM pgcredit.exposure x WHERE x.customer IN ('PA', 'PB') ORDER BY x.customer;

-- A move alone changes nothing.
UPDATE p_order SET region = 'us' WHERE id = 1;
SELECT * FROM p_state;
-- A move that changes the amount counts the change once.
UPDATE p_order SET region = 'eu', amount = 15 WHERE id = 1;
SELECT * FROM p_state;
-- A move that changes the customer moves the amount between them.
UPDATE p_order SET region = 'us', customer = 'PB' WHERE id = 2;
SELECT * FROM p_state;
-- Into and out of a sub-partitioned branch, and between its partitions.
UPDATE p_order SET region = 'jp', amount = 25 WHERE id = 3;
UPDATE p_order SET region = 'sg' WHERE id = 3;
UPDATE p_order SET region = 'eu', amount = 30 WHERE id = 3;
SELECT tableoid::regclass, * FROM p_order ORDER BY id;
SELECT * FROM p_state;
SELECT count(*) AS mismatches FROM pgcredit.verify_exposure();

-- A move that raises exposure past the limit is refused and changes nothing.
UPDATE p_order SET region = 'us', amount = 120 WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE
SELECT tableoid::regclass, * FROM p_order WHERE id = 1;
SELECT * FROM p_state;
-- One that raises it within the limit passes.
UPDATE p_order SET region = 'us', amount = 50 WHERE id = 1;
SELECT * FROM p_state;

-- A customer already over its limit (the limit was cut) can still have an
-- order moved or lowered, since that raises nothing; not raised.
SELECT customer, credit_limit FROM pgcredit.set_credit_limit('PA', 10, 'limit cut for the test');
UPDATE p_order SET region = 'jp' WHERE id = 1;
UPDATE p_order SET region = 'eu', amount = 40 WHERE id = 1;
SELECT * FROM p_state;
UPDATE p_order SET region = 'us', amount = 41 WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE
SELECT customer, credit_limit FROM pgcredit.set_credit_limit('PA', 100, 'limit restored');

-- A multi-row update moving several rows both ways in one statement.
INSERT INTO p_order VALUES (4, 'PA', 1, 'eu'), (5, 'PB', 2, 'us'), (6, 'PA', 3, 'sg');
UPDATE p_order SET region = CASE region WHEN 'eu' THEN 'us' WHEN 'us' THEN 'jp' ELSE 'eu' END,
                   amount = amount + 1
WHERE id >= 4;
SELECT tableoid::regclass, * FROM p_order WHERE id >= 4 ORDER BY id;
SELECT * FROM p_state;
SELECT count(*) AS mismatches FROM pgcredit.verify_exposure();

-- Another trigger cancels the delete half of a move: the row stays, and
-- so does its contribution.
CREATE FUNCTION p_keep_sg() RETURNS trigger LANGUAGE plpgsql AS
$$BEGIN IF OLD.id = 4 THEN RETURN NULL; END IF; RETURN OLD; END$$;
CREATE TRIGGER p_keep BEFORE DELETE ON p_order_us FOR EACH ROW EXECUTE FUNCTION p_keep_sg();
UPDATE p_order SET region = 'eu', amount = 9 WHERE id = 4;
SELECT tableoid::regclass, * FROM p_order WHERE id = 4;
SELECT count(*) AS mismatches FROM pgcredit.verify_exposure();
DROP TRIGGER p_keep ON p_order_us;

-- Another trigger changes the row as it lands: exposure follows the row
-- as stored.
CREATE FUNCTION p_round_up() RETURNS trigger LANGUAGE plpgsql AS
$$BEGIN NEW.amount := ceil(NEW.amount); RETURN NEW; END$$;
CREATE TRIGGER p_round BEFORE INSERT ON p_order_jp FOR EACH ROW EXECUTE FUNCTION p_round_up();
UPDATE p_order SET region = 'jp', amount = 7.25 WHERE id = 6;
SELECT tableoid::regclass, * FROM p_order WHERE id = 6;
SELECT * FROM p_state;
SELECT count(*) AS mismatches FROM pgcredit.verify_exposure();
DROP TRIGGER p_round ON p_order_jp;

-- A refused move inside a subtransaction leaves no trace for the next
-- statement: the plain insert after it is checked on its own.
BEGIN;
SAVEPOINT a;
UPDATE p_order SET region = 'us', amount = 500 WHERE id = 6;
ROLLBACK TO SAVEPOINT a;
INSERT INTO p_order VALUES (7, 'PA', 1, 'eu');
COMMIT;
SELECT * FROM p_state;
SELECT count(*) AS mismatches FROM pgcredit.verify_exposure();

-- In hold mode a move that would pass the limit lands held, out of exposure.
CREATE TABLE p_web (id int, customer text NOT NULL, amount numeric NOT NULL, region text NOT NULL,
                    on_hold boolean NOT NULL DEFAULT false, PRIMARY KEY (id, region)) PARTITION BY LIST (region);
CREATE TABLE p_web_eu PARTITION OF p_web FOR VALUES IN ('eu');
CREATE TABLE p_web_us PARTITION OF p_web FOR VALUES IN ('us');
SELECT relid FROM pgcredit.attach_orders('p_web', 'customer', 'amount', mode => 'hold', hold_column => 'on_hold');
SELECT customer, credit_limit FROM pgcredit.open_account('PX', 100);
INSERT INTO p_web VALUES (1, 'PX', 40, 'eu');
UPDATE p_web SET region = 'us', amount = 140 WHERE id = 1;
SELECT tableoid::regclass, * FROM p_web;
SELECT relid, row_key, amount FROM pgcredit.held_order WHERE customer = 'PX';
SELECT open_orders FROM pgcredit.exposure WHERE customer = 'PX';
SELECT count(*) AS mismatches FROM pgcredit.verify_exposure();
-- A held row that moves takes its hold record along; released there.
UPDATE p_web SET region = 'eu' WHERE id = 1;
SELECT relid, row_key, amount, released_at IS NULL AS open FROM pgcredit.held_order WHERE customer = 'PX';
SELECT customer, release_reason FROM pgcredit.release_held_order(
  (SELECT id FROM pgcredit.held_order WHERE customer = 'PX'), 'approved');
SELECT tableoid::regclass, * FROM p_web;
SELECT open_orders FROM pgcredit.exposure WHERE customer = 'PX';
SELECT count(*) AS mismatches FROM pgcredit.verify_exposure();

SELECT relid FROM pgcredit.detach('p_order');
SELECT relid FROM pgcredit.detach('p_web');
DROP VIEW p_state;
DROP TABLE p_order, p_web;
DROP FUNCTION p_keep_sg(), p_round_up();
