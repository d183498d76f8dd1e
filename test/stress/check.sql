-- After the run: the credit guard held under load, checked from the data.
\set ON_ERROR_STOP on
\pset footer off
SELECT (SELECT count(*) FROM stress_order) AS orders_accepted,
       (SELECT count(*) FROM stress_refusal) AS orders_refused,
       (SELECT count(*) FROM stress_order WHERE currency <> 'EUR') AS orders_in_dollars,
       (SELECT count(*) FROM stress_order WHERE status = 'shipped') AS orders_shipped,
       (SELECT count(*) FROM stress_invoice WHERE open_amount = 0) AS invoices_paid,
       (SELECT count(*) FROM stress_move WHERE sqlstate IS NULL) AS group_moves,
       (SELECT count(*) FROM stress_move WHERE sqlstate IS NOT NULL) AS group_moves_refused,
       (SELECT count(*) FROM stress_limit) AS limit_changes;
SELECT sqlstate, count(*) FROM stress_refusal GROUP BY 1 ORDER BY 1;

CREATE TEMP TABLE verdict AS
SELECT
  -- no accepted order ever took its customer past limit plus tolerance
  (SELECT count(*) FROM stress_log WHERE data_exposure > allowed) AS over_limit,
  -- nor its group or the top group above it
  (SELECT count(*) FROM stress_log WHERE group_exposure > group_allowed) AS group_over_limit,
  (SELECT count(*) FROM stress_log WHERE top_exposure > top_allowed) AS top_over_limit,
  -- the orders of group members were checked against groups at all
  (SELECT count(*) FROM stress_log WHERE group_id IS NOT NULL AND top_id IS NOT NULL) AS group_orders,
  -- every accepted order is in the log (none slipped past the function)
  (SELECT count(*) FROM stress_order o WHERE NOT EXISTS (SELECT FROM stress_log l WHERE l.order_id = o.id)) AS unlogged,
  -- every refusal carries pgcredit's documented SQLSTATE for this case
  (SELECT count(*) FROM stress_refusal WHERE sqlstate NOT IN ('PC001', 'PC014')) AS other_refusals,
  -- pgcredit's counters equal what the tables hold
  (SELECT count(*) FROM pgcredit.verify_exposure()) AS mismatches,
  (SELECT count(*) FROM pgcredit.verify_group_exposure()) AS group_mismatches,
  -- the guard's copies of the accounts are the accounts
  (SELECT count(*) FROM pgcredit.verify_account_copy()) AS copy_mismatches,
  (SELECT count(*) FROM stress_limit) AS limit_changes,
  (SELECT count(*) FROM stress_refusal WHERE sqlstate = 'PC014') AS group_refusals;
SELECT * FROM verdict;
SELECT CASE WHEN over_limit = 0 AND group_over_limit = 0 AND top_over_limit = 0 AND group_orders > 0
                 AND group_refusals > 0 AND unlogged = 0 AND other_refusals = 0 AND mismatches = 0
                 AND group_mismatches = 0 AND copy_mismatches = 0 AND limit_changes > 0
            THEN 'stress check passed' ELSE 'stress check FAILED' END AS verdict
FROM verdict \gset
\echo :verdict
