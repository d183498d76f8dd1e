-- held_orders_at(day): the orders on hold at the end of any day, for a BI
-- tool that asks for a day without session state; today's rows are the
-- view's.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
-- the holds this test makes must not move the hold numbers the later
-- tests of the schedule see: the sequence is put back at the end
SELECT last_value AS hold_seq_last, is_called AS hold_seq_called
FROM pgcredit.held_order_id_seq \gset

CREATE TABLE ho_order (id int PRIMARY KEY, customer text NOT NULL, amount numeric(12,2) NOT NULL,
                       on_hold boolean NOT NULL DEFAULT false);
CREATE INDEX ON ho_order (customer);
SELECT kind FROM pgcredit.attach_orders('ho_order', 'customer', 'amount', mode => 'hold', hold_column => 'on_hold');
SELECT customer FROM pgcredit.open_account('HO1', 100, reason => 'held orders by day');
-- three orders over the limit, held
INSERT INTO ho_order VALUES (1, 'HO1', 150), (2, 'HO1', 250), (3, 'HO1', 350) RETURNING id, on_hold;
-- their lives, set here as if they had been held and released on these
-- days: 1 held 2025-03-01 10:00 and released 2025-03-03 09:00, 2 held
-- 2025-03-02 08:00 and still held, 3 held 2025-03-02 23:59:59 and released
-- at the very start of 2025-03-03
UPDATE pgcredit.held_order h SET held_at = v.held_at, released_at = v.released_at
FROM (VALUES (150, timestamptz '2025-03-01 10:00', timestamptz '2025-03-03 09:00'),
             (250, timestamptz '2025-03-02 08:00', NULL),
             (350, timestamptz '2025-03-02 23:59:59', timestamptz '2025-03-03 00:00')) v(amount, held_at, released_at)
WHERE h.customer = 'HO1' AND h.amount = v.amount;

-- day by day: which were on hold at the end of it, and for how long by then
SELECT d AS day, h.amount, h.held_for, h.held_for_seconds, h.day = d AS its_day
FROM unnest('{2025-02-28,2025-03-01,2025-03-02,2025-03-03,2025-03-04}'::date[]) d
LEFT JOIN pgcredit.held_orders_at(d) h ON h.customer = 'HO1'
ORDER BY d, h.amount;
-- today: the view's rows, column for column
SELECT count(*) AS differing FROM (
  (SELECT * FROM pgcredit.held_orders EXCEPT SELECT * FROM pgcredit.held_orders_at(current_date))
  UNION ALL
  (SELECT * FROM pgcredit.held_orders_at(current_date) EXCEPT SELECT * FROM pgcredit.held_orders)) x;
SELECT amount, order_table_text, row_key_text FROM pgcredit.held_orders_at(current_date) WHERE customer = 'HO1';
-- a reader may; a role with nothing may not
CREATE ROLE regress_ho_reader IN ROLE pgcredit_reader;
CREATE ROLE regress_ho_nobody;
SET ROLE regress_ho_reader;
SELECT count(*) AS held FROM pgcredit.held_orders_at('2025-03-02') WHERE customer = 'HO1';
SET ROLE regress_ho_nobody;
SELECT count(*) FROM pgcredit.held_orders_at('2025-03-02');
RESET ROLE;
-- no day, no rows
SELECT count(*) FROM pgcredit.held_orders_at(NULL);

SELECT relid AS detached FROM pgcredit.detach('ho_order');
DROP TABLE ho_order;
DELETE FROM pgcredit.held_order WHERE customer = 'HO1';
DELETE FROM pgcredit.alert WHERE customer = 'HO1';
DELETE FROM pgcredit.exposure WHERE customer = 'HO1';
DELETE FROM pgcredit.account WHERE customer = 'HO1';
DROP ROLE regress_ho_reader;
DROP ROLE regress_ho_nobody;
SELECT setval('pgcredit.held_order_id_seq', :hold_seq_last, :'hold_seq_called'::boolean) IS NOT NULL AS hold_numbers_kept;
