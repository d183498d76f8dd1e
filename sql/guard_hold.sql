-- The credit guard in hold mode: an order the customer's credit cannot
-- carry goes in marked held, stays out of exposure, and waits in
-- pgcredit.held_order until a controller releases it.
\set SHOW_CONTEXT never
-- the exposure rows, with whether the guard gave each a book version
-- rather than its number (a sequence's, which the tests before move on)
CREATE TEMP VIEW exposure_row AS
SELECT customer, receivables, open_orders, has_account, credit_limit, tolerance_pct, status, risk_tier,
       next_review, temporary_limit, temporary_from, temporary_until, order_count, order_sum, credit_group,
       cover_counted, cover_from, cover_until, currency, book_version IS NOT NULL AS book_versioned
FROM pgcredit.exposure;

CREATE TABLE web_order (
  id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  customer  text NOT NULL,
  amount    numeric(12,2) NOT NULL,
  on_hold   boolean NOT NULL DEFAULT false
);
SELECT relid, mode, hold_column
FROM pgcredit.attach_orders('web_order', 'customer', 'amount', mode => 'hold', hold_column => 'on_hold');
SELECT customer, credit_limit FROM pgcredit.open_account('ACME', 1000);

INSERT INTO web_order (customer, amount) VALUES ('ACME', 600), ('ACME', 300);
-- 100 left: this one is held, not refused.
INSERT INTO web_order (customer, amount) VALUES ('ACME', 250) RETURNING id, on_hold;
SELECT id, customer, amount, on_hold FROM web_order ORDER BY id;
SELECT id, relid, row_key, customer, amount, why, released_at FROM pgcredit.held_order ORDER BY id;
SELECT * FROM exposure_row WHERE customer = 'ACME';

-- Orders on hold accounts are held too, whatever their size.
SELECT status FROM pgcredit.place_hold('ACME', 'awaiting references');
INSERT INTO web_order (customer, amount) VALUES ('ACME', 1);
SELECT id, customer, amount, why FROM pgcredit.held_order WHERE released_at IS NULL ORDER BY id;
SELECT status FROM pgcredit.release_hold('ACME', 'references received');

-- The application cannot release a held order by clearing the mark: that
-- raises exposure and is checked like any order (and held again here).
UPDATE web_order SET on_hold = false WHERE id = 3;
SELECT id, on_hold FROM web_order WHERE id = 3;
SELECT count(*) AS holds_recorded, count(*) FILTER (WHERE row_key = '{"id": "3"}') AS of_row_3
FROM pgcredit.held_order;

-- A controller releases it, with a reason: it counts in exposure past
-- the limit, and the release is audited.
SELECT id, released_by = current_user AS by_me, release_reason
FROM pgcredit.release_held_order(1, 'customer paid in advance');
SELECT id, customer, amount, on_hold FROM web_order ORDER BY id;
SELECT * FROM exposure_row WHERE customer = 'ACME';
SELECT action, customer, old_value, new_value ? 'xid' AS names_transaction, new_value -> 'amount' AS amount, reason
FROM pgcredit.audit_log
WHERE action IN ('release_held_order', 'override_block') AND customer = 'ACME' ORDER BY id;

-- Releasing twice, an unknown hold, no reason, a vanished row: errors.
\set VERBOSITY terse
SELECT pgcredit.release_held_order(1, 'again');
\set VERBOSITY default
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.release_held_order(999, 'typo');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.release_held_order(2, NULL);
\echo :LAST_ERROR_SQLSTATE
-- Deleting a held order closes its hold record.
DELETE FROM web_order WHERE id = 4;
SELECT id, released_by = current_user AS by_me, release_reason FROM pgcredit.held_order WHERE id = 2;
\set VERBOSITY terse
SELECT pgcredit.release_held_order(2, 'too late');
\set VERBOSITY default
\echo :LAST_ERROR_SQLSTATE

-- When room is made (an order cancelled), the application may clear the
-- mark itself: the order is checked, passes, and its hold record is
-- closed, audited.
INSERT INTO web_order (customer, amount) VALUES ('ACME', 50) RETURNING id, on_hold;
DELETE FROM web_order WHERE id = 2;
UPDATE web_order SET on_hold = false WHERE id = 5 RETURNING id, on_hold;
SELECT id, released_by = current_user AS by_me, release_reason
FROM pgcredit.held_order WHERE row_key = '{"id": "5"}';
SELECT action, new_value -> 'amount' AS amount, reason FROM pgcredit.audit_log
WHERE action = 'close_held_order' ORDER BY id;
SELECT * FROM exposure_row WHERE customer = 'ACME';

-- A held row that vanished without its trigger firing cannot be released.
INSERT INTO web_order (customer, amount) VALUES ('ACME', 500) RETURNING id, on_hold;
SET session_replication_role = replica;
DELETE FROM web_order WHERE id = 6;
RESET session_replication_role;
SELECT pgcredit.release_held_order((SELECT id FROM pgcredit.held_order WHERE row_key = '{"id": "6"}'), 'too late');
\echo :LAST_ERROR_SQLSTATE

SELECT * FROM pgcredit.verify_exposure();
SELECT relid FROM pgcredit.detach('web_order');
DROP TABLE web_order;

-- Hold mode needs a primary key to find the row again.
CREATE TABLE no_key_order (customer text, amount numeric, held boolean);
SELECT pgcredit.attach_orders('no_key_order', 'customer', 'amount', mode => 'hold', hold_column => 'held');
\echo :LAST_ERROR_SQLSTATE
DROP TABLE no_key_order;

-- Partitioned order tables: the guard works through the parent.
CREATE TABLE part_order (id int, customer text NOT NULL, amount numeric NOT NULL,
                         region text NOT NULL, PRIMARY KEY (id, region)) PARTITION BY LIST (region);
CREATE TABLE part_order_eu PARTITION OF part_order FOR VALUES IN ('eu');
CREATE TABLE part_order_us PARTITION OF part_order FOR VALUES IN ('us');
INSERT INTO part_order VALUES (1, 'ACME', 10, 'eu');
SELECT relid FROM pgcredit.attach_orders('part_order', 'customer', 'amount');
SELECT customer, open_orders FROM pgcredit.exposure WHERE customer = 'ACME';
INSERT INTO part_order VALUES (2, 'ACME', 5, 'us');
INSERT INTO part_order VALUES (3, 'ACME', 1000, 'eu');
\echo :LAST_ERROR_SQLSTATE
UPDATE part_order SET region = 'us' WHERE id = 1;
SELECT * FROM pgcredit.verify_exposure();
SELECT relid FROM pgcredit.detach('part_order');
DROP TABLE part_order;

-- Held orders of a partitioned table are released through the partition
-- they landed in; the release's override serves the release alone, so a
-- second order in the same transaction is checked again.
CREATE TABLE part_web (id int, customer text NOT NULL, amount numeric NOT NULL, region text NOT NULL,
                       on_hold boolean NOT NULL DEFAULT false, PRIMARY KEY (id, region)) PARTITION BY LIST (region);
CREATE TABLE part_web_eu PARTITION OF part_web FOR VALUES IN ('eu');
SELECT relid FROM pgcredit.attach_orders('part_web', 'customer', 'amount', mode => 'hold', hold_column => 'on_hold');
SELECT customer FROM pgcredit.open_account('PW', 100);
INSERT INTO part_web VALUES (1, 'PW', 150, 'eu');
SELECT relid, row_key, amount FROM pgcredit.held_order WHERE customer = 'PW';
BEGIN;
SELECT customer, release_reason FROM pgcredit.release_held_order(
  (SELECT id FROM pgcredit.held_order WHERE customer = 'PW'), 'approved by phone');
INSERT INTO part_web VALUES (2, 'PW', 10, 'eu');
COMMIT;
SELECT id, amount, on_hold FROM part_web ORDER BY id;
SELECT * FROM pgcredit.verify_exposure();
SELECT relid FROM pgcredit.detach('part_web');
DROP TABLE part_web;

-- The no-account policy deny holds an order of a customer without an
-- account in a hold-mode table (it refuses it in a block-mode one).
CREATE TABLE deny_web (id int PRIMARY KEY, customer text NOT NULL, amount numeric(12,2) NOT NULL,
                       on_hold boolean NOT NULL DEFAULT false);
CREATE TABLE deny_blk (id int PRIMARY KEY, customer text NOT NULL, amount numeric(12,2) NOT NULL);
SELECT relid FROM pgcredit.attach_orders('deny_web', 'customer', 'amount', mode => 'hold', hold_column => 'on_hold');
SELECT relid FROM pgcredit.attach_orders('deny_blk', 'customer', 'amount');
SELECT no_account_policy FROM pgcredit.set_no_account_policy('deny', reason => 'accounts first');
INSERT INTO deny_web VALUES (1, 'NOACCT', 40) RETURNING id, on_hold;
SELECT customer, amount, why FROM pgcredit.held_order WHERE customer = 'NOACCT';
SELECT customer, open_orders FROM pgcredit.exposure WHERE customer = 'NOACCT';
\set VERBOSITY terse
INSERT INTO deny_blk VALUES (1, 'NOACCT', 40);
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
SELECT no_account_policy FROM pgcredit.set_no_account_policy('allow', reason => 'back');
SELECT relid FROM pgcredit.detach('deny_web');
SELECT relid FROM pgcredit.detach('deny_blk');
DROP TABLE deny_web, deny_blk;

-- A table holding NaN amounts cannot be attached until they are corrected.
CREATE TABLE nan_order (id int PRIMARY KEY, customer text, amount numeric);
INSERT INTO nan_order VALUES (1, 'X', 'NaN');
SELECT pgcredit.attach_orders('nan_order', 'customer', 'amount');
\echo :LAST_ERROR_SQLSTATE
UPDATE nan_order SET amount = 0;
SELECT relid FROM pgcredit.attach_orders('nan_order', 'customer', 'amount');
SELECT relid FROM pgcredit.detach('nan_order');
DROP TABLE nan_order;
