-- The guard with the rules that read the customer's receivables by due
-- date (configuration "pastdue" of guard.sh): a days_past_due rule of ten
-- years and an overdue_amount rule with a threshold no customer reaches,
-- so that every order is judged by both and passes.  The overdue_amount
-- rule counts everything due before today: it sums all of the
-- customer's buckets.
\set ON_ERROR_STOP on
SET client_min_messages = warning;
SELECT count(*) AS rules FROM (
  SELECT pgcredit.add_rule('days_past_due', 'refuse', 'bench', days => 3650, name => 'bench days past due')
  UNION ALL
  SELECT pgcredit.add_rule('overdue_amount', 'refuse', 'bench', amount => 1e12, name => 'bench overdue amount')
) r;
