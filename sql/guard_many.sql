-- Many orders of one customer in one transaction: the guard finds the
-- customer's exposure row where it last wrote it, and must still find
-- the right version when that place went stale (a savepoint rolled
-- back, an account change rewrote the row through SQL).
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE TABLE m_order (id int PRIMARY KEY, customer text, amount numeric NOT NULL);
SELECT relid FROM pgcredit.attach_orders('m_order', 'customer', 'amount');
SELECT customer FROM pgcredit.open_account('M1', 100000);

BEGIN;
INSERT INTO m_order SELECT g, 'M1', 1 FROM generate_series(1, 3000) g;
DO $$ BEGIN FOR i IN 3001..4000 LOOP INSERT INTO m_order VALUES (i, 'M1', 2); END LOOP; END $$;
SAVEPOINT s;
INSERT INTO m_order SELECT g, 'M1', 10 FROM generate_series(4001, 4100) g;
ROLLBACK TO s;
INSERT INTO m_order SELECT g, 'M1', 3 FROM generate_series(4101, 4200) g;
-- an account change rewrites the exposure row through SQL
SELECT credit_limit FROM pgcredit.set_credit_limit('M1', 5700, 'review');
INSERT INTO m_order SELECT g, 'M1', 4 FROM generate_series(4201, 4300) g;
SELECT open_orders, (SELECT sum(amount) FROM m_order) AS stored FROM pgcredit.exposure WHERE customer = 'M1';
-- the limit read through the remembered place is the new one
SAVEPOINT t;
INSERT INTO m_order VALUES (4301, 'M1', 1);
\echo :LAST_ERROR_SQLSTATE
ROLLBACK TO t;
INSERT INTO m_order VALUES (4302, 'M1', -1);
COMMIT;
SELECT open_orders FROM pgcredit.exposure WHERE customer = 'M1';
SELECT * FROM pgcredit.verify_exposure();

-- a second transaction starts from the index again
BEGIN;
DELETE FROM m_order WHERE id > 4000 AND amount > 0;
SELECT open_orders FROM pgcredit.exposure WHERE customer = 'M1';
COMMIT;
SELECT * FROM pgcredit.verify_exposure();

SELECT relid FROM pgcredit.detach('m_order');
DROP TABLE m_order;
DELETE FROM pgcredit.exposure WHERE customer = 'M1';
DELETE FROM pgcredit.account WHERE customer = 'M1';
