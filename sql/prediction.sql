-- Payment prediction worked out by hand, and the weekly cash forecast,
-- with the model's settings (a half-life of 730 days; the ledger counts
-- as 0.5 of the customer's invoices for the days late, as 3 for the
-- probability).  Every payment of the history is made 730 days before
-- the day asked, so each weighs 0.5.  Customer X paid invoices 10, 20 and
-- 40 days late, customer Y three on their due date.  On 2025-07-01:
--   X due 07-11 (unpaid at -10 days): X's three (weight 1.5, 23.33 days
--     late on average), the ledger's six (11.67): (1.5 x 23.33 +
--     0.5 x 11.67) / 2 = 20.42 days late, paid 07-31 (due + 20);
--     P(> 30 late): X 1/3, ledger 1/6: (1.5 / 3 + 3 / 6) / 4.5 = 0.2222
--   X due 06-16 (15 days past due): those paid later than 15 days: 20
--     and 40 (weight 1, 30 days), the ledger's the same: 30 days late,
--     paid 07-16; P (1 x 0.5 + 3 x 0.5) / 4 = 0.5
--   X due 05-17 (45 days past due): nobody paid that late: the next
--     day, 07-02; P 1 (already more than 30 days late)
--   Z due 07-31, no history of its own: the ledger's 11.67 days, paid
--     08-12 (due + 12); P 1/6 = 0.1667
--   Y due 07-20 (paid on 07-05, after the day: open on it): Y's three
--     (weight 1.5, 0 days late), the ledger's six (11.67): 5.83 / 2 =
--     2.92 days late, paid 07-23; P (0 + 3 / 6) / 4.5 = 0.1111
\set SHOW_CONTEXT never
\set regress_db :DBNAME
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_prediction;
CREATE DATABASE regress_prediction;
\c regress_prediction
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION pgcredit;

CREATE TABLE pr_invoice (id int PRIMARY KEY, customer text NOT NULL, amount numeric(12,2) NOT NULL,
  open_amount numeric(12,2) NOT NULL, invoiced_on date NOT NULL, due date, paid_on date);
CREATE INDEX ON pr_invoice (customer);
SELECT (a).kind FROM (SELECT pgcredit.attach_receivables('pr_invoice', 'customer', 'open_amount', 'due',
  invoice_amount_column => 'amount', invoiced_column => 'invoiced_on', paid_column => 'paid_on') a) x;
INSERT INTO pr_invoice VALUES
  (1, 'X', 100, 0, '2023-05-23', '2023-06-22', '2023-07-02'),
  (2, 'X', 100, 0, '2023-05-13', '2023-06-12', '2023-07-02'),
  (3, 'X', 100, 0, '2023-04-23', '2023-05-23', '2023-07-02'),
  (4, 'Y', 100, 0, '2023-06-02', '2023-07-02', '2023-07-02'),
  (5, 'Y', 100, 0, '2023-06-02', '2023-07-02', '2023-07-02'),
  (6, 'Y', 100, 0, '2023-06-02', '2023-07-02', '2023-07-02'),
  (10, 'X', 1000, 1000, '2025-06-11', '2025-07-11', NULL),
  (11, 'X', 500, 500, '2025-05-17', '2025-06-16', NULL),
  (12, 'X', 250, 250, '2025-04-17', '2025-05-17', NULL),
  (13, 'Z', 800, 800, '2025-07-01', '2025-07-31', NULL),
  -- paid after the day: open on it, for its invoice amount
  (14, 'Y', 300, 0, '2025-06-20', '2025-07-20', '2025-07-05'),
  -- no due date: not predicted
  (15, 'Y', 70, 70, '2025-06-20', NULL, NULL);

SELECT customer, item_key_text, open_amount, due, days_past_due, expected_days_late, expected_payment_date,
       p_late_30, customer_weight, customer_days_late, ledger_days_late
FROM pgcredit.payment_predictions_at('2025-07-01') ORDER BY customer, due;
SELECT customer, explanation FROM pgcredit.payment_predictions_at('2025-07-01') ORDER BY customer, due;
-- the cash of the next weeks, each the seven days after its start: 250
-- on 07-02, 500 on 07-16, 300 on 07-23, 1000 on 07-31, 800 on 08-12; at
-- risk of more than 30 days late: 250 x 1, 500 x 0.5, 300 x 0.1111 =
-- 33.33, 1000 x 0.2222 = 222.20, 800 x 0.1667 = 133.36
SELECT week_start, expected_cash, items, cash_late_30 FROM pgcredit.cash_forecast_at('2025-07-01', 7);
-- weeks below one are one week; no weeks given, 13
SELECT count(*) AS weeks FROM pgcredit.cash_forecast_at('2025-07-01', 0);
SELECT count(*) AS weeks FROM pgcredit.cash_forecast_at('2025-07-01', NULL);
-- bad input
SELECT count(*) FROM pgcredit.payment_predictions_at(NULL);
SELECT count(*) FROM pgcredit.payment_predictions_at('infinity');
SELECT count(*) FROM pgcredit.cash_forecast_at(NULL, 4);
SELECT count(*) FROM pgcredit.evaluate_payment_predictions(NULL);
SELECT count(*) FROM pgcredit.evaluate_payment_predictions('-infinity');

\c :regress_db
DROP DATABASE regress_prediction;
