-- Customers' financial statements, loaded with load_csv; their ratios and
-- Altman's Z'' for private firms, checked against figures worked out by
-- hand; bad rows rejected with their reason; the financial score as a
-- part of the combined score; rights.  In a database of its own.
\set SHOW_CONTEXT never
\set regress_db :DBNAME
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_financials;
CREATE DATABASE regress_financials;
\c regress_financials
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION pgcredit;

-- Three firms, by hand (X1 = (CA - CL) / TA, X2 = RE / TA, X3 = EBIT / TA,
-- X4 = equity / TL; Z'' = 6.56 X1 + 3.26 X2 + 6.72 X3 + 1.05 X4):
--   GREY  CA 300 CL 200 TA 1000 TL 600 RE 200 EBIT 50 equity 400:
--         X1 0.1, X2 0.2, X3 0.05, X4 0.666667;
--         Z'' = 0.656 + 0.652 + 0.336 + 0.7 = 2.344: grey
--   SAFE  CA 600 CL 100 TA 1000 TL 300 RE 400 EBIT 150 equity 700:
--         X1 0.5, X2 0.4, X3 0.15, X4 2.333333;
--         Z'' = 3.28 + 1.304 + 1.008 + 2.45 = 8.042: safe
--   SICK  CA 100 CL 300 TA 1000 TL 900 RE -100 EBIT -20 equity 100:
--         X1 -0.2, X2 -0.1, X3 -0.02, X4 0.111111;
--         Z'' = -1.312 - 0.326 - 0.1344 + 0.116667 = -1.655733: distress
SELECT status, rows_read, rows_loaded, rows_rejected FROM pgcredit.load_csv('pgcredit.financial_statement',
E'customer,fiscal_year_end,currency,revenue,ebit,net_income,current_assets,current_liabilities,total_assets,total_liabilities,retained_earnings,equity\n'
 'GREY,2024-12-31,EUR,2000,50,30,300,200,1000,600,200,400\n'
 'SAFE,2024-12-31,EUR,3000,150,110,600,100,1000,300,400,700\n'
 'SICK,2024-12-31,EUR,800,-20,-35,100,300,1000,900,-100,100\n'
 'SICK,2023-12-31,EUR,900,10,5,200,250,1000,800,-60,200\n'
 'BAD1,2024-12-31,EUR,100,1,1,0,0,0,5,0,1\n'
 'BAD2,2024-12-31,EUR,100,NaN,1,10,5,100,5,0,1\n'
 'BAD3,2024-12-31,EUR,100,1,1,200,5,100,5,0,1\n'
 'BAD4,2024-13-45,EUR,100,1,1,10,5,100,5,0,1\n'
 ',2024-12-31,EUR,100,1,1,10,5,100,5,0,1\n'
 'BAD5,2024-12-31,euro,100,1,1,10,5,100,5,0,1\n');
SELECT line_number, column_name, reason FROM pgcredit.import_reject
WHERE run_id = (SELECT max(id) FROM pgcredit.import_run) ORDER BY line_number;

SELECT customer, fiscal_year_end, x1_working_capital, x2_retained_earnings, x3_ebit, x4_equity_to_liabilities,
       z_score, zone
FROM pgcredit.financial_ratios ORDER BY customer, fiscal_year_end;
SELECT customer, fiscal_year_end, current_ratio, debt_ratio, debt_to_equity, return_on_assets, return_on_equity,
       ebit_margin
FROM pgcredit.financial_ratios ORDER BY customer, fiscal_year_end;
-- the function directly, and its edges
SELECT pgcredit.altman_z2(300, 200, 200, 50, 400, 1000, 600) AS grey,
       pgcredit.altman_z2(300, 200, 200, 50, 400, 1000, 0) AS no_liabilities,
       pgcredit.altman_z2(NULL, 200, 200, 50, 400, 1000, 600) AS missing,
       pgcredit.altman_zone(2.60) AS at_2_60, pgcredit.altman_zone(1.10) AS at_1_10,
       pgcredit.altman_zone(1.0999) AS below_1_10, pgcredit.altman_zone(2.6001) AS above_2_60;

-- The financial score: Z'' of the latest statement of the 24 months
-- before the day, 25 points a unit (GREY: 2.344 x 25 = 58.60)
SELECT * FROM pgcredit.financial_score_now('2025-06-30', NULL) ORDER BY customer;
SELECT count(*) AS too_old FROM pgcredit.financial_score_now('2026-12-31', 'GREY');
SELECT fiscal_year_end FROM pgcredit.financial_score_now('2024-06-30', 'SICK');
-- in the combined score with its weight (0 by default: not counted).
-- GREY has an account of 1000 and nothing owed: utilisation 0, its part
-- 100 at weight 0.2.  With the financial score at weight 0.5:
-- (0.2 x 100 + 0.5 x 58.60) / 0.7 = 49.3 / 0.7 = 70.43
-- (the account is opened today, so today is read, with a statement of
-- the same figures a month old)
SELECT customer FROM pgcredit.open_account('GREY', 1000);
INSERT INTO pgcredit.financial_statement (customer, fiscal_year_end, ebit, current_assets, current_liabilities,
                                          total_assets, total_liabilities, retained_earnings, equity)
VALUES ('GREY', current_date - 30, 50, 300, 200, 1000, 600, 200, 400);
SELECT customer, combined_score FROM pgcredit.customer_risk_at(current_date, 'GREY');
INSERT INTO pgcredit.risk_settings (weight_financial) VALUES (0.5);
SELECT customer, combined_score FROM pgcredit.customer_risk_at(current_date, 'GREY');
SELECT customer, combined_score FROM pgcredit.customer_risk_at(current_date) WHERE customer = 'GREY';
SELECT pgcredit.combined_score(NULL, NULL, 0, 58.60) AS four_parts, pgcredit.combined_score(NULL, NULL, 0) AS three_parts;
SELECT customers FROM pgcredit.refresh_scores('2025-06-30');
SELECT customer, combined_score, tier FROM pgcredit.score_history WHERE customer = 'GREY';
UPDATE pgcredit.risk_settings SET weight_financial = -1;
UPDATE pgcredit.risk_settings SET weight_financial = 'NaN';

-- Rights: controllers load, readers read
CREATE ROLE regress_fs_reader IN ROLE pgcredit_reader;
CREATE ROLE regress_fs_controller IN ROLE pgcredit_controller;
CREATE ROLE regress_fs_nobody;
SET ROLE regress_fs_reader;
SELECT count(*) AS statements FROM pgcredit.financial_ratios WHERE fiscal_year_end < '2025-01-01';
SELECT status FROM pgcredit.load_csv('pgcredit.financial_statement',
  E'customer,fiscal_year_end,ebit,current_assets,current_liabilities,total_assets,total_liabilities,retained_earnings,equity\nR,2024-12-31,1,1,1,10,5,1,5\n');
RESET ROLE;
SET ROLE regress_fs_controller;
SELECT status, rows_loaded FROM pgcredit.load_csv('pgcredit.financial_statement',
  E'customer,fiscal_year_end,ebit,current_assets,current_liabilities,total_assets,total_liabilities,retained_earnings,equity\nC,2024-12-31,1,1,1,10,5,1,5\n');
RESET ROLE;
SET ROLE regress_fs_nobody;
SELECT count(*) FROM pgcredit.financial_ratios;
SELECT count(*) FROM pgcredit.financial_statement;
RESET ROLE;

\c :regress_db
DROP DATABASE regress_financials;
DROP ROLE regress_fs_reader, regress_fs_controller, regress_fs_nobody;
