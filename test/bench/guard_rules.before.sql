-- The guard with rules (configuration "rules" of guard.sh): five live
-- rules and two shadow rules beside the built-in ones, none of which
-- stops the benchmark's orders, so that the figures measure judging them.
-- Only rules judged from the customer's exposure row: days_past_due and
-- overdue_amount, which read the customer's receivables by due date, are
-- measured apart (configuration "pastdue", doc/performance.md).
\set ON_ERROR_STOP on
SET client_min_messages = warning;
SELECT count(*) AS rules FROM (
  SELECT pgcredit.add_rule('utilisation', 'hold', 'bench', share => 0.95, name => 'bench utilisation')
  UNION ALL
  SELECT pgcredit.add_rule('largest_order', 'refuse', 'bench', amount => 1e9, name => 'bench largest order')
  UNION ALL
  SELECT pgcredit.add_rule('largest_order', 'refuse', 'bench', scope => 'tier', scope_value => 'C',
                           multiple => 1000, min_orders => 5, name => 'bench usual order, tier C')
  UNION ALL
  SELECT pgcredit.add_rule('limit_expired', 'refuse', 'bench', days => 30, name => 'bench review date')
  UNION ALL
  SELECT pgcredit.add_rule('account_status', 'refuse', 'bench', scope => 'customer', scope_value => '1',
                           statuses => '{watch,hold,blocked}', name => 'bench customer 1 status')
  UNION ALL
  SELECT pgcredit.add_rule('utilisation', 'shadow', 'bench', share => 0.5, name => 'bench shadow utilisation')
  UNION ALL
  SELECT pgcredit.add_rule('largest_order', 'shadow', 'bench', amount => 1e6, name => 'bench shadow largest order')
) r;
