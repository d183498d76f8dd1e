-- last_held_order_id(): the application that wrote a held order learns
-- the id of its hold, without rights on pgcredit.held_order; only its
-- own session's.
\set SHOW_CONTEXT never
SET client_min_messages = warning;

CREATE ROLE regress_hi_app;
CREATE TABLE hi_order (id int PRIMARY KEY, customer text NOT NULL, amount numeric(12,2) NOT NULL,
                       on_hold boolean NOT NULL DEFAULT false);
SELECT kind FROM pgcredit.attach_orders('hi_order', 'customer', 'amount', mode => 'hold', hold_column => 'on_hold');
GRANT SELECT, INSERT, UPDATE ON hi_order TO regress_hi_app;
SELECT customer FROM pgcredit.open_account('HI1', 100, reason => 'hold id');

\c
SET client_min_messages = warning;
SET ROLE regress_hi_app;
-- none yet in this session
SELECT pgcredit.last_held_order_id() IS NULL AS none_yet;
-- an order that passes records no hold
INSERT INTO hi_order VALUES (1, 'HI1', 60) RETURNING on_hold;
SELECT pgcredit.last_held_order_id() IS NULL AS none_yet;
-- over the limit: held, and its hold's id
INSERT INTO hi_order VALUES (2, 'HI1', 60) RETURNING on_hold;
SELECT pgcredit.last_held_order_id() AS first_hold \gset
-- two held in one statement: the last one's
INSERT INTO hi_order VALUES (3, 'HI1', 70), (4, 'HI1', 80) RETURNING id, on_hold;
SELECT pgcredit.last_held_order_id() AS last_hold \gset
-- the application cannot read the holds themselves
SELECT count(*) FROM pgcredit.held_order;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT (SELECT row_key ->> 'id' FROM pgcredit.held_order WHERE id = :first_hold) AS first_hold_row,
       (SELECT row_key ->> 'id' FROM pgcredit.held_order WHERE id = :last_hold) AS last_hold_row;
-- like lastval(), it stays the last hold's: an order that passes later
-- changes nothing
SET ROLE regress_hi_app;
INSERT INTO hi_order VALUES (5, 'HI1', 10) RETURNING on_hold;
SELECT pgcredit.last_held_order_id() = :last_hold AS still_the_last;
RESET ROLE;

-- another session knows nothing of this one's holds
\c
SELECT pgcredit.last_held_order_id() IS NULL AS none_in_a_new_session;

-- Clean up
SET client_min_messages = warning;
SELECT relid FROM pgcredit.detach('hi_order');
DROP TABLE hi_order;
DELETE FROM pgcredit.held_order WHERE customer = 'HI1';
DELETE FROM pgcredit.alert WHERE customer = 'HI1';
DELETE FROM pgcredit.account WHERE customer = 'HI1';
DELETE FROM pgcredit.exposure WHERE customer = 'HI1';
DROP ROLE regress_hi_app;
