-- Configuration "group_fx" of guard.sh: the orders of "group" (members of
-- two-level credit groups, customers 1001 to 2000) placed in dollars into
-- an order table with a currency column, so that the guard converts each
-- into the accounts' euros with the rate valid on its date, then raises
-- the customer, its group and the group above.  Made once, on the first
-- run; the book's base currency changes nothing for the tables without a
-- currency column.
\set ON_ERROR_STOP on
SET client_min_messages = warning;
\ir guard_group.before.sql
SELECT pgcredit.set_base_currency('EUR', 'bench') IS NOT NULL AS base_currency
WHERE (SELECT base_currency FROM pgcredit.settings) IS NULL;
INSERT INTO pgcredit.fx_rate (currency_from, currency_to, valid_from, rate)
SELECT 'USD', 'EUR', date '2000-01-01', 0.9137
WHERE NOT EXISTS (SELECT FROM pgcredit.fx_rate WHERE currency_from = 'USD' AND currency_to = 'EUR');
CREATE TABLE IF NOT EXISTS g_order_fx (id bigserial PRIMARY KEY, customer int NOT NULL,
                                       amount numeric(12,2) NOT NULL, currency text NOT NULL,
                                       placed_on date NOT NULL DEFAULT current_date);
SELECT pgcredit.attach_orders('g_order_fx', 'customer', 'amount', currency_column => 'currency',
                              rate_date_column => 'placed_on') IS NOT NULL AS attached
WHERE NOT EXISTS (SELECT FROM pgcredit.attachment WHERE relid = 'g_order_fx'::regclass);
