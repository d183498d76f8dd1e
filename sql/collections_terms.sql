-- Early-payment terms and late fees: 2/10 net 30 windows on their exact
-- days around a month end and a leap day, a discount taken and one
-- missed, terms that change from a day, the economics of the discounts,
-- late fees with grace days, a minimum and a cap, posted, waived and not
-- proposed again; bad input; attacks by each role.  Every figure below
-- is worked out by hand in the comments.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
-- the audit log before this file, left out of what it shows
SELECT coalesce(max(id), 0) AS ct_audit_start FROM pgcredit.audit_log \gset
-- the book's today: fees may be settled up to it
SET pgcredit.horizon_today = '2024-06-30';

CREATE ROLE regress_ct_nobody;
CREATE ROLE regress_ct_app;
CREATE ROLE regress_ct_reader IN ROLE pgcredit_reader;
CREATE ROLE regress_ct_controller IN ROLE pgcredit_controller;
CREATE ROLE regress_ct_admin IN ROLE pgcredit_admin;
CREATE ROLE regress_ct_owner IN ROLE pgcredit_admin;
GRANT CREATE ON SCHEMA public TO regress_ct_owner;

----------------------------------------------------------------------
-- Early-payment terms
----------------------------------------------------------------------

-- The invoices, owned by a table owner whose row-level security policy
-- writes down who ran it: pgcredit must read the table without running it
SET ROLE regress_ct_owner;
CREATE TABLE ct_spy_log (who name);
CREATE FUNCTION ct_spy() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO public.ct_spy_log (who) VALUES (current_user);
  RETURN true;
END
$$;
GRANT INSERT ON ct_spy_log TO PUBLIC;
CREATE TABLE ct_invoice (id int PRIMARY KEY, customer text NOT NULL, open_amount numeric(12,2) NOT NULL,
                         invoice_amount numeric(12,2) NOT NULL, invoiced_on date, due date, paid_on date);
CREATE POLICY ct_everything ON ct_invoice USING (ct_spy());
ALTER TABLE ct_invoice ENABLE ROW LEVEL SECURITY;
ALTER TABLE ct_invoice FORCE ROW LEVEL SECURITY;
SELECT kind FROM pgcredit.attach_receivables('ct_invoice', 'customer', 'open_amount', 'due',
                                             invoice_amount_column => 'invoice_amount',
                                             invoiced_column => 'invoiced_on', paid_column => 'paid_on');
-- a table without a primary key: its invoices have no item_key
CREATE TABLE ct_nokey (customer text NOT NULL, amount numeric(12,2) NOT NULL, invoiced_on date, due date);
SELECT kind FROM pgcredit.attach_receivables('ct_nokey', 'customer', 'amount', 'due',
                                             invoiced_column => 'invoiced_on');
GRANT SELECT, INSERT, UPDATE ON ct_invoice, ct_nokey TO regress_ct_app;
RESET ROLE;

-- The admin defines the terms and the default
SET ROLE regress_ct_admin;
SELECT name, discount_pct, discount_days, net_days
FROM pgcredit.create_payment_terms('2/10 net 30', 2, 10, 30, 'our usual terms', 'two per cent within ten days');
SELECT name, discount_pct, discount_days, net_days FROM pgcredit.create_payment_terms('1/15 net 45', 1, 15, 45, 'large accounts');
SELECT name, discount_pct, discount_days, net_days FROM pgcredit.create_payment_terms('net 30', 0, 0, 30, 'no discount');
SELECT name FROM pgcredit.create_payment_terms('unused', 5, 5, 5, 'to drop');
SELECT pgcredit.set_default_payment_terms('2/10 net 30', 'everyone from 2023', '2023-01-01');
-- a cost of capital of 15 % a year
SELECT cost_of_capital_pct FROM pgcredit.set_cost_of_capital(15, 'treasury figure for 2024');
RESET ROLE;

-- The controller gives customers their own terms, from a day: CT2 has
-- 1/15 net 45 for its invoices from 2024-02-01 (before: the default);
-- CT3 has no discount, and from 2024-04-01 the default again (NULL)
SET ROLE regress_ct_controller;
SELECT customer FROM pgcredit.open_account('CT1', 10000, reason => 'terms test');
SELECT customer FROM pgcredit.open_account('CT2', 10000, reason => 'terms test');
SELECT customer FROM pgcredit.open_account('CT3', 10000, reason => 'terms test');
SELECT pgcredit.set_customer_payment_terms('CT2', '1/15 net 45', 'a large account', '2024-02-01');
SELECT pgcredit.set_customer_payment_terms('CT3', 'net 30', 'pays by card', '2023-01-01');
SELECT pgcredit.set_customer_payment_terms('CT3', NULL, 'card payments end', '2024-04-01');
RESET ROLE;
SELECT customer, valid_from, terms, reason FROM pgcredit.customer_terms ORDER BY customer, valid_from;

SET ROLE regress_ct_app;
INSERT INTO ct_invoice VALUES
  -- CT1, 2/10 net 30.  1: invoiced on a month end; window to 02-10
  -- (01-31 + 10), net due 03-01 (01-31 + 30 in a leap year); paid on its
  -- last day: taken, 20 days before the net due date (02-10 to 03-01)
  (1, 'CT1', 0, 1000.00, '2024-01-31', '2024-03-01', '2024-02-10'),
  -- 2: window to the leap day (02-19 + 10 = 02-29), net due 03-20;
  -- paid on 03-01, a day late: missed
  (2, 'CT1', 0, 500.00, '2024-02-19', '2024-03-20', '2024-03-01'),
  -- 3: invoiced on the leap day; window to 03-10, net due 03-30; paid on
  -- 03-05: taken, 25 days early
  (3, 'CT1', 0, 250.00, '2024-02-29', '2024-03-30', '2024-03-05'),
  -- 4: open; 2 % of 10.25 is 0.205: 0.21, half away from zero
  (4, 'CT1', 10.25, 10.25, '2024-03-01', '2024-03-31', NULL),
  -- CT2.  5: invoiced before its own terms: the default 2/10 net 30;
  -- window to 01-30, net due 02-19; paid 01-25: taken, 25 days early
  (5, 'CT2', 0, 2000.00, '2024-01-20', '2024-02-19', '2024-01-25'),
  -- 6: 1/15 net 45; window to 03-01, net due 03-31; paid 03-01: taken,
  -- 30 days early
  (6, 'CT2', 0, 3000.00, '2024-02-15', '2024-03-31', '2024-03-01'),
  -- CT3, net 30: paid within 4 days, but the terms give no discount
  (7, 'CT3', 0, 800.00, '2024-02-01', '2024-03-02', '2024-02-05'),
  -- CT3 from 04-01: the default terms again; window to 04-11
  (9, 'CT3', 400.00, 400.00, '2024-04-01', '2024-05-01', NULL),
  -- no invoice date: no window, left out
  (8, 'CT1', 70.00, 70.00, NULL, '2024-03-15', NULL),
  -- a credit note takes no discount
  (10, 'CT1', -40.00, -40.00, '2024-02-20', '2024-03-21', NULL);
-- CT1's invoice without a key: window to 03-09, net due 03-29
INSERT INTO ct_nokey VALUES ('CT1', 100.00, '2024-02-28', '2024-03-29');
RESET ROLE;

-- Which invoices may still take the discount.  On 02-09: invoice 1, one
-- day left (its last day 02-10); invoice 5 is paid, 2 not yet invoiced
SELECT day, customer, "table", item_key, terms, invoiced_on, invoice_amount, discount, last_day, days_left, net_due
FROM pgcredit.discount_opportunities_at('2024-02-09');
-- On 02-10, its last day, invoice 1 is paid that day: it is no longer
-- open; the others are not invoiced yet
SELECT count(*) FROM pgcredit.discount_opportunities_at('2024-02-10');
-- On the leap day: invoice 2 on its last day (0 left, 2 % of 500 =
-- 10.00), invoice 6 (1/15: 1 % of 3000 = 30.00, to 03-01), the invoice
-- without a key (2.00, to 03-09), invoice 3 invoiced that day (5.00, 10
-- days left).  Invoice 10, a credit note, and CT3's net 30 take none.
SELECT customer, "table", item_key, terms, invoiced_on, invoice_amount, discount, last_day, days_left, net_due
FROM pgcredit.discount_opportunities_at('2024-02-29');
-- On 03-01 invoice 2 has missed it (paid that day, a day late); invoice 6
-- is paid on its last day; invoice 4 is invoiced: 0.21 to 03-11
SELECT customer, item_key, terms, discount, last_day, days_left
FROM pgcredit.discount_opportunities_at('2024-03-01');
-- On 04-05: CT3's invoice 9, under the default again (2 % of 400)
SELECT customer, item_key, terms, discount, last_day, days_left
FROM pgcredit.discount_opportunities_at('2024-04-05');
-- The view is the day pgcredit.as_of()
SET pgcredit.as_of = '2024-03-05';
SELECT day, customer, item_key, discount, last_day, days_left FROM pgcredit.discount_opportunities;
RESET pgcredit.as_of;
SELECT relid FROM pgcredit.detach('ct_nokey');

-- What discounts were taken on the invoices of the 12 months to 03-31
-- (dated in them, paid by 03-31): invoices 5, 1, 6 and 3, by payment
-- date.  Days saved: the net due date less the payment date (5: 02-19 -
-- 01-25 = 25; 1: 03-01 - 02-10 = 20; 6: 03-31 - 03-01 = 30; 3: 03-30 -
-- 03-05 = 25).  Invoice 2 (missed) and 7 (no discount) are not there.
SELECT day, customer, item_key, terms, invoiced_on, paid_on, last_day, net_due, invoice_amount, discount, days_saved
FROM pgcredit.discounts_taken_at('2024-03-31');
-- The period is the months before the day, the day included, by
-- invoice date: one month to 03-10 starts after 02-10 (invoices 6 and 3,
-- not invoice 1 dated 01-31); one month to 02-29 after 01-29 (invoice 1,
-- not invoice 5 dated 01-20)
SELECT item_key, invoiced_on, paid_on FROM pgcredit.discounts_taken_at('2024-03-10', 1);
SELECT item_key, invoiced_on, paid_on FROM pgcredit.discounts_taken_at('2024-02-29', 1);
SET pgcredit.as_of = '2024-03-31';
SELECT count(*) FROM pgcredit.discounts_taken;

-- The economics, 12 months to 03-31.  Sales of the period (invoices
-- dated in it): CT1 1000 + 500 + 250 + 10.25 - 40 = 1720.25; CT2 2000 +
-- 3000 = 5000; CT3 800 (invoice 9 is dated after); the book 7520.25.
--
-- CT1, 2/10 net 30: invoices 1 and 3, 1250 paid early, discounts 20 + 5
--   = 25; sum(amount * days) = 1000*20 + 250*25 = 26250; days saved
--   26250 / 1250 = 21.00; DSO saved 26250 / 1720.25 = 15.259 -> 15.26.
--   The terms' rate: 100 * 2/98 * 365/20 = 37.2449 -> 37.24 %, above
--   15 %: costs more.  Effective: the capital freed is (1000-20)*20 +
--   (250-5)*25 = 25725 amount-days; 100 * 25 * 365 / 25725 = 35.4713 ->
--   35.47 %.
-- CT2, 2/10 net 30: invoice 5, 2000, discount 40, 25 days; DSO saved
--   50000 / 5000 = 10.00; effective 100 * 40 * 365 / (1960*25) =
--   1460000 / 49000 = 29.7959 -> 29.80.
-- CT2, 1/15 net 45: invoice 6, 3000, discount 30, 30 days; DSO saved
--   90000 / 5000 = 18.00; rate 100 * 1/99 * 365/30 = 12.2896 -> 12.29 %,
--   below 15 %: costs less.  Effective: 100 * 30 * 365 / (2970*30) =
--   12.2896 -> 12.29 (paid on the last day: the terms' rate).
-- The book, 2/10 net 30: 3 invoices, 3250, discounts 65; 76250
--   amount-days: 23.4615 -> 23.46 days; DSO saved 76250 / 7520.25 =
--   10.1393 -> 10.14; effective 100 * 65 * 365 / 74725 = 31.7497 -> 31.75.
-- The book, 1/15 net 45: as CT2's, DSO saved 90000 / 7520.25 = 11.9677
--   -> 11.97.
-- The book, all terms: 4 invoices, 6250, discounts 95, 166250
--   amount-days: 26.60 days; DSO saved 166250 / 7520.25 = 22.1070 ->
--   22.11 (10.1393 + 11.9677); effective 100 * 95 * 365 / 163825 =
--   21.1659 -> 21.17; no rate of its own.
SELECT customer, terms, invoices, paid_early, discounts, days_saved, sales, dso_saved, annual_rate_pct,
       effective_rate_pct, cost_of_capital_pct, costs_more
FROM pgcredit.discount_economics;
RESET pgcredit.as_of;
-- One month to 03-10: sales dated after 02-10, CT1 500 + 250 + 10.25 - 40
-- = 720.25, CT2 3000, the book 3720.25.  CT1: invoice 3, 250 * 25 / 720.25
-- = 8.6775 -> 8.68; CT2: invoice 6, 3000 * 30 / 3000 = 30.00; the book:
-- 2/10 6250 / 3720.25 = 1.6800 -> 1.68, 1/15 90000 / 3720.25 = 24.1919
-- -> 24.19, together 96250 / 3720.25 = 25.8719 -> 25.87
SELECT day, period_months, customer, terms, invoices, discounts, sales, dso_saved
FROM pgcredit.discount_economics_at('2024-03-10', 1);
-- Without a cost of capital, no verdict
SET ROLE regress_ct_admin;
SELECT cost_of_capital_pct FROM pgcredit.set_cost_of_capital(NULL, 'not decided yet');
RESET ROLE;
SELECT terms, annual_rate_pct, cost_of_capital_pct, costs_more FROM pgcredit.discount_economics_at('2024-03-31')
WHERE customer IS NULL;

-- Terms in use stay: the invoices they were given are explained by them
SET ROLE regress_ct_admin;
SELECT pgcredit.drop_payment_terms('2/10 net 30', 'tidy up');
SELECT pgcredit.drop_payment_terms('unused', 'never given');
RESET ROLE;

-- Bad input, refused; nothing changes
SET ROLE regress_ct_admin;
SELECT pgcredit.create_payment_terms('bad', 'NaN', 10, 30, 'r');
SELECT pgcredit.create_payment_terms('bad', 'Infinity', 10, 30, 'r');
SELECT pgcredit.create_payment_terms('bad', -1, 10, 30, 'r');
SELECT pgcredit.create_payment_terms('bad', 100, 10, 30, 'r');
SELECT pgcredit.create_payment_terms('bad', 2, 31, 30, 'r');
SELECT pgcredit.create_payment_terms('bad', 2, -1, 30, 'r');
SELECT pgcredit.create_payment_terms('bad', 2, 10, 4000, 'r');
SELECT pgcredit.create_payment_terms('bad', NULL, 10, 30, 'r');
SELECT pgcredit.create_payment_terms(' ', 2, 10, 30, 'r');
SELECT pgcredit.create_payment_terms('bad', 2, 10, 30, ' ');
SELECT pgcredit.create_payment_terms('net 30', 0, 0, 30, 'again');
SELECT pgcredit.set_default_payment_terms('3/10 net 30', 'r', '2024-01-01');
SELECT pgcredit.set_default_payment_terms('net 30', 'r', 'infinity');
SELECT pgcredit.set_cost_of_capital('NaN', 'r');
SELECT pgcredit.set_cost_of_capital(-5, 'r');
SELECT pgcredit.drop_payment_terms('3/10 net 30', 'r');
RESET ROLE;
SET ROLE regress_ct_controller;
SELECT pgcredit.set_customer_payment_terms('CT1', '3/10 net 30', 'r');
SELECT pgcredit.set_customer_payment_terms('CT99', 'net 30', 'r');
SELECT pgcredit.set_customer_payment_terms(NULL, 'net 30', 'r');
SELECT pgcredit.set_customer_payment_terms('CT1', 'net 30', 'r', NULL);
RESET ROLE;
SELECT count(*) FROM pgcredit.discount_opportunities_at(NULL);
SELECT count(*) FROM pgcredit.discount_opportunities_at('infinity');
SELECT count(*) FROM pgcredit.discounts_taken_at('2024-03-31', 0);
SELECT count(*) FROM pgcredit.discount_economics_at('2024-03-31', 121);
SELECT count(*) FROM pgcredit.discount_economics_at('2024-03-31', NULL);
SELECT name FROM pgcredit.payment_terms ORDER BY name;
SELECT valid_from, terms FROM pgcredit.default_terms;

----------------------------------------------------------------------
-- Late fees and interest
----------------------------------------------------------------------

-- Items without an invoice date column: the fee table
SET ROLE regress_ct_owner;
CREATE TABLE ct_fee (id int PRIMARY KEY, customer text NOT NULL, open_amount numeric(12,2) NOT NULL,
                     invoice_amount numeric(12,2) NOT NULL, due date, paid_on date);
SELECT kind FROM pgcredit.attach_receivables('ct_fee', 'customer', 'open_amount', 'due',
                                             invoice_amount_column => 'invoice_amount', paid_column => 'paid_on');
GRANT SELECT, INSERT, UPDATE ON ct_fee TO regress_ct_app;
RESET ROLE;

-- std: 12 % a year after 10 grace days, a fixed 5.00, at least 15.00, at
-- most 50.00 an item; strict, for tier E: 24 % from the first day
SET ROLE regress_ct_admin;
SELECT name, annual_rate_pct, grace_days, min_fee, max_fee, fixed_fee
FROM pgcredit.create_late_fee_policy('std', 12, 'our terms and conditions', grace_days => 10, min_fee => 15,
                                     max_fee => 50, fixed_fee => 5);
SELECT name, annual_rate_pct, grace_days, min_fee, max_fee, fixed_fee
FROM pgcredit.create_late_fee_policy('strict', 24, 'high risk');
SELECT name FROM pgcredit.create_late_fee_policy('spare', 8, 'to drop');
SELECT pgcredit.set_tier_late_fee_policy('default', 'std', 'everyone');
SELECT pgcredit.set_tier_late_fee_policy('E', 'strict', 'high risk');
RESET ROLE;
SET ROLE regress_ct_controller;
SELECT customer FROM pgcredit.open_account('LF1', 5000, reason => 'late fee test');
SELECT customer FROM pgcredit.open_account('LF2', 5000, reason => 'late fee test');
SELECT customer, risk_tier FROM pgcredit.update_account('LF2', 'a bad payer', risk_tier => 'E');
SELECT customer FROM pgcredit.open_account('LF3', 5000, reason => 'late fee test');
SELECT pgcredit.exempt_from_late_fees('LF3', 'a charity');
SELECT customer FROM pgcredit.open_account('LF4', 5000, reason => 'late fee test');
SELECT pgcredit.set_customer_late_fee_policy('LF4', 'strict', 'broke every promise');
SELECT pgcredit.set_customer_late_fee_policy('LF4', NULL, 'a new start');
-- the customers of the terms above pay no late fees
SELECT pgcredit.exempt_from_late_fees(c, 'terms test') FROM unnest('{CT1,CT2,CT3}'::text[]) c;
RESET ROLE;
SELECT customer, policy FROM pgcredit._late_fee_policies('2024-03-01', '{CT1,LF1,LF2,LF3,LF4,LF99}') ORDER BY customer;

SET ROLE regress_ct_app;
INSERT INTO ct_fee VALUES
  -- LF1, std: 1000 due on a month end
  (1, 'LF1', 1000.00, 1000.00, '2024-01-31', NULL),
  -- LF2, tier E, strict: 200 due on the leap day
  (2, 'LF2', 200.00, 200.00, '2024-02-29', NULL),
  -- LF3, exempt
  (3, 'LF3', 500.00, 500.00, '2024-01-01', NULL),
  -- LF1: 300 due 02-15, paid on 03-10
  (4, 'LF1', 0, 300.00, '2024-02-15', '2024-03-10');
RESET ROLE;

-- 02-10: item 1 is 10 days late, within its 10 grace days: nothing
SELECT count(*) FROM pgcredit.late_fee_proposals_at('2024-02-10');
-- 02-11: 11 days, past the grace days; interest counts from the due
-- date: 1000 * 12/100 * 11/365 = 3.6164 -> 3.62; plus 5.00 is 8.62,
-- below the minimum: 15.00
SELECT day, customer, "table", item_key, due, amount, days_late, policy, interest, fee, settled, settled_until, proposed
FROM pgcredit.late_fee_proposals_at('2024-02-11');
-- The application posts it (the key may be given with a number)
SET ROLE regress_ct_controller;
SELECT relid::regclass, item_key, n, customer, as_of, status, amount, proposed, policy, days_late, reason
FROM pgcredit.post_late_fee('ct_fee', '{"id": 1}', 15.00, '2024-02-11', 'charged on invoice LF-1-F1');
RESET ROLE;
-- It is not proposed again for the days it settled: on 02-20 the fee is
-- still the minimum (1000 * 0.12 * 20/365 = 6.58, + 5 = 11.58 -> 15.00),
-- settled
SELECT count(*) FROM pgcredit.late_fee_proposals_at('2024-02-20');
-- 03-01: item 1, 30 days: 9.86 + 5 = 14.86 -> 15.00, settled: nothing.
-- Item 2, 1 day at 24 %: 200 * 0.24 / 365 = 0.1315 -> 0.13, no minimum.
-- Item 4, 15 days: 300 * 0.12 * 15/365 = 1.4795 -> 1.48, + 5 -> 15.00;
-- it is paid on 03-10, and on 03-01 still open with its invoice amount.
-- Item 3: exempt.
SELECT customer, item_key, due, amount, days_late, policy, interest, fee, settled, proposed
FROM pgcredit.late_fee_proposals_at('2024-03-01');
-- 03-31: item 1, 60 days: 1000 * 0.12 * 60/365 = 19.7260 -> 19.73, +
-- 5.00 = 24.73; 15.00 settled: 9.73 proposed.  Item 2, 31 days: 48 *
-- 31/365 = 4.0767 -> 4.08.  Item 4 is paid.
SET pgcredit.as_of = '2024-03-31';
SELECT customer, item_key, days_late, interest, fee, settled, settled_until, proposed FROM pgcredit.late_fee_proposals;
RESET pgcredit.as_of;
-- A controller waives item 1's 9.73 of 03-31
SET ROLE regress_ct_controller;
SELECT item_key, n, as_of, status, amount, proposed, days_late, reason
FROM pgcredit.waive_late_fee('ct_fee', '{"id": "1"}', '2024-03-31', 'goodwill: a long-standing customer');
RESET ROLE;
-- Not proposed again on 03-31; on 04-01 what accrued since: 61 days,
-- 1000 * 0.12 * 61/365 = 20.0548 -> 20.05, + 5 = 25.05, less 24.73
-- settled: 0.32.  Item 2, 32 days: 48 * 32/365 = 4.2082 -> 4.21
SELECT customer, item_key, proposed FROM pgcredit.late_fee_proposals_at('2024-03-31');
SELECT customer, item_key, days_late, fee, settled, proposed FROM pgcredit.late_fee_proposals_at('2024-04-01');
-- 06-30: item 1, 151 days (29 + 31 + 30 + 31 + 30): 1000 * 0.12 *
-- 151/365 = 49.6438 -> 49.64, + 5 = 54.64, capped at 50.00; less 24.73:
-- 25.27.  Item 2, 122 days: 48 * 122/365 = 16.0438 -> 16.04, no cap.
SELECT customer, item_key, days_late, interest, fee, settled, proposed FROM pgcredit.late_fee_proposals_at('2024-06-30');
-- A past day is seen as it was: on 03-15 only the posting of 02-11 counts
-- (44 days: 1000 * 0.12 * 44/365 = 14.4658 -> 14.47, + 5 = 19.47, less
-- 15.00: 4.47)
SELECT customer, item_key, days_late, fee, settled, settled_until, proposed
FROM pgcredit.late_fee_proposals_at('2024-03-15') WHERE customer = 'LF1';
-- The application posts less than item 2's 16.04: the day is settled
SET ROLE regress_ct_controller;
SELECT item_key, n, as_of, status, amount, proposed FROM pgcredit.post_late_fee('ct_fee', '{"id": 2}', 10.00, '2024-06-30',
                                                                              'rounded down by the ledger');
RESET ROLE;
SELECT customer, item_key, proposed FROM pgcredit.late_fee_proposals_at('2024-06-30');

-- Refused, and nothing recorded
SET ROLE regress_ct_controller;
-- twice the same day: settled
SELECT pgcredit.post_late_fee('ct_fee', '{"id": 2}', 1.00, '2024-06-30', 'again');
-- more than proposed (25.27)
SELECT pgcredit.post_late_fee('ct_fee', '{"id": 1}', 25.28, '2024-06-30', 'too much');
-- a day before the last one settled
SELECT pgcredit.post_late_fee('ct_fee', '{"id": 1}', 1.00, '2024-03-01', 'late news');
-- a day to come
SELECT pgcredit.post_late_fee('ct_fee', '{"id": 1}', 1.00, '2024-07-01', 'early');
-- within the grace days; exempt; unknown item; paid item; a table not attached
SELECT pgcredit.waive_late_fee('ct_fee', '{"id": 4}', '2024-02-20', 'r');
SELECT pgcredit.waive_late_fee('ct_fee', '{"id": 3}', '2024-03-01', 'r');
SELECT pgcredit.post_late_fee('ct_fee', '{"id": 99}', 1.00, '2024-03-01', 'r');
SELECT pgcredit.post_late_fee('ct_fee', '{"id": 4}', 1.00, '2024-03-31', 'r');
SELECT pgcredit.post_late_fee('ct_spy_log', '{"id": 1}', 1.00, '2024-03-01', 'r');
-- bad amounts, keys, days, reasons
SELECT pgcredit.post_late_fee('ct_fee', '{"id": 1}', 'NaN', '2024-06-30', 'r');
SELECT pgcredit.post_late_fee('ct_fee', '{"id": 1}', 'Infinity', '2024-06-30', 'r');
SELECT pgcredit.post_late_fee('ct_fee', '{"id": 1}', -1, '2024-06-30', 'r');
SELECT pgcredit.post_late_fee('ct_fee', '{"id": 1}', 0, '2024-06-30', 'r');
SELECT pgcredit.post_late_fee('ct_fee', '{"id": 1}', NULL, '2024-06-30', 'r');
SELECT pgcredit.post_late_fee('ct_fee', '[1]', 1, '2024-06-30', 'r');
SELECT pgcredit.post_late_fee('ct_fee', NULL, 1, '2024-06-30', 'r');
SELECT pgcredit.post_late_fee('ct_fee', '{"id": 1}', 1, 'infinity', 'r');
SELECT pgcredit.waive_late_fee('ct_fee', '{"id": 1}', '2024-06-30', '');
RESET ROLE;
SET ROLE regress_ct_admin;
SELECT pgcredit.create_late_fee_policy('bad', 'NaN', 'r');
SELECT pgcredit.create_late_fee_policy('bad', 'Infinity', 'r');
SELECT pgcredit.create_late_fee_policy('bad', -12, 'r');
SELECT pgcredit.create_late_fee_policy('bad', NULL, 'r');
SELECT pgcredit.create_late_fee_policy('bad', 12, 'r', min_fee => 'NaN');
SELECT pgcredit.create_late_fee_policy('bad', 12, 'r', fixed_fee => -5);
SELECT pgcredit.create_late_fee_policy('bad', 12, 'r', max_fee => '-Infinity');
SELECT pgcredit.create_late_fee_policy('bad', 12, 'r', min_fee => 20, max_fee => 10);
SELECT pgcredit.create_late_fee_policy('bad', 12, 'r', grace_days => 400);
SELECT pgcredit.create_late_fee_policy('bad', 0, 'r');
SELECT pgcredit.create_late_fee_policy('std', 1, 'again');
SELECT pgcredit.set_tier_late_fee_policy('F', 'std', 'r');
SELECT pgcredit.set_tier_late_fee_policy('A', 'lenient', 'r');
SELECT pgcredit.drop_late_fee_policy('std', 'r');
SELECT pgcredit.drop_late_fee_policy('lenient', 'r');
SELECT pgcredit.drop_late_fee_policy('spare', 'never used');
RESET ROLE;
SET ROLE regress_ct_controller;
SELECT pgcredit.set_customer_late_fee_policy('LF1', 'lenient', 'r');
SELECT pgcredit.exempt_from_late_fees('LF99', 'r');
RESET ROLE;
SELECT count(*) FROM pgcredit.late_fee_proposals_at(NULL);
SELECT name FROM pgcredit.late_fee_policy ORDER BY name;
SELECT relid::regclass, item_key, n, customer, as_of, status, amount, proposed, policy, days_late, reason, role_name
FROM pgcredit.late_fee ORDER BY id;

----------------------------------------------------------------------
-- Attacks
----------------------------------------------------------------------
DELETE FROM ct_spy_log;

-- A role with nothing: no view, no function, no table
SET ROLE regress_ct_nobody;
SELECT count(*) FROM pgcredit.discount_opportunities;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM pgcredit.late_fee_proposals_at('2024-06-30');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM pgcredit.late_fee;
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.create_payment_terms('mine', 50, 30, 30, 'r');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.waive_late_fee('ct_fee', '{"id": 1}', '2024-06-30', 'r');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- The application: writes its tables, nothing of pgcredit's; it cannot
-- record a fee, give itself terms or call the internals
SET ROLE regress_ct_app;
INSERT INTO pgcredit.late_fee (relid, item_key, n, customer, as_of, status, amount, proposed, policy, days_late,
                               reason, role_name)
VALUES ('ct_fee'::regclass, '{"id": "1"}', 9, 'LF1', '2024-06-30', 'waived', 50, 50, 'std', 151, 'r', 'x');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO pgcredit.customer_terms VALUES ('CT1', '2020-01-01', '1/15 net 45', 'r');
\echo :LAST_ERROR_SQLSTATE
UPDATE pgcredit.payment_terms SET discount_pct = 50;
\echo :LAST_ERROR_SQLSTATE
UPDATE pgcredit.discount_settings SET cost_of_capital_pct = 99;
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit._settle_late_fee('ct_fee', '{"id": 1}', NULL, '2024-06-30', 'waived', 'r');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM pgcredit._items_with_terms();
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM pgcredit._late_fees_at('2024-06-30');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.set_customer_payment_terms('CT1', '1/15 net 45', 'r');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- A reader reads, and changes nothing
SET ROLE regress_ct_reader;
SELECT count(*) FROM pgcredit.discount_opportunities_at('2024-02-29');
SELECT count(*) FROM pgcredit.late_fee_proposals_at('2024-06-30');
SELECT count(*) FROM pgcredit.late_fee;
SELECT pgcredit.post_late_fee('ct_fee', '{"id": 1}', 1, '2024-06-30', 'r');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.set_customer_payment_terms('CT1', '1/15 net 45', 'r');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.exempt_from_late_fees('LF1', 'r');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- A controller records fees and assigns; the terms, policies and cost of
-- capital are the admin's.  Objects of its own named like pgcredit's
-- change nothing (every name is qualified, the search path is fixed)
SET ROLE regress_ct_controller;
SELECT pgcredit.create_payment_terms('mine', 50, 30, 30, 'r');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.set_default_payment_terms('1/15 net 45', 'r');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.set_cost_of_capital(99, 'r');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.create_late_fee_policy('mine', 99, 'r');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.set_tier_late_fee_policy('default', NULL, 'r');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.drop_late_fee_policy('strict', 'r');
\echo :LAST_ERROR_SQLSTATE
CREATE TEMP TABLE late_fee_policy (name text, annual_rate_pct numeric, grace_days int, min_fee numeric,
                                   max_fee numeric, fixed_fee numeric);
INSERT INTO late_fee_policy VALUES ('std', 0, 9999, 0, 0, 0);
CREATE TEMP TABLE late_fee (relid oid, item_key jsonb, as_of date, proposed numeric);
INSERT INTO late_fee VALUES ('ct_fee'::regclass, '{"id": "1"}', '2024-01-01', 1000);
CREATE TEMP TABLE payment_terms (name text, discount_pct numeric, discount_days int, net_days int);
INSERT INTO payment_terms VALUES ('2/10 net 30', 90, 999, 999);
SET search_path = pg_temp, public;
SELECT customer, item_key, proposed FROM pgcredit.late_fee_proposals_at('2024-06-30');
SELECT customer, item_key, discount, last_day FROM pgcredit.discount_opportunities_at('2024-02-09');
RESET search_path;
DROP TABLE pg_temp.late_fee_policy, pg_temp.late_fee, pg_temp.payment_terms;
RESET ROLE;

-- The owner's function never ran: pgcredit read its table with a plain
-- heap scan
SELECT count(*) AS spy_calls FROM ct_spy_log;

-- Everything above was audited, with its reason
SELECT action, customer, old_value, new_value - 'id' AS new_value, reason FROM pgcredit.audit_log
WHERE id > :ct_audit_start
  AND action IN ('create_payment_terms', 'drop_payment_terms', 'set_default_payment_terms',
                 'set_customer_payment_terms', 'set_cost_of_capital', 'create_late_fee_policy',
                 'drop_late_fee_policy', 'set_tier_late_fee_policy', 'set_customer_late_fee_policy',
                 'post_late_fee', 'waive_late_fee')
ORDER BY id;

-- Clean up
RESET pgcredit.horizon_today;
SELECT relid FROM pgcredit.detach('ct_invoice');
SELECT relid FROM pgcredit.detach('ct_fee');
DROP TABLE ct_invoice, ct_nokey, ct_fee, ct_spy_log;
DROP FUNCTION ct_spy();
DELETE FROM pgcredit.late_fee;
DELETE FROM pgcredit.late_fee_exception;
DELETE FROM pgcredit.late_fee_assignment;
DELETE FROM pgcredit.late_fee_policy;
DELETE FROM pgcredit.customer_terms;
DELETE FROM pgcredit.default_terms;
DELETE FROM pgcredit.payment_terms;
DELETE FROM pgcredit.discount_settings;
DELETE FROM pgcredit.account WHERE customer LIKE 'CT%' OR customer LIKE 'LF%';
DELETE FROM pgcredit.exposure WHERE customer LIKE 'CT%' OR customer LIKE 'LF%';
REVOKE CREATE ON SCHEMA public FROM regress_ct_owner;
DROP ROLE regress_ct_nobody, regress_ct_app, regress_ct_reader, regress_ct_controller, regress_ct_admin,
          regress_ct_owner;
