-- Configuration "group" of guard.sh: orders of customers 1001 to 2000,
-- each a member of a two-level credit group (ten customers to a group,
-- five groups under each of twenty top groups), so that every order locks
-- and raises its group, the group above and its own row.  Limits high
-- enough that every order passes.  Made once, on the first run: the
-- customers of the other configurations (1 to 1000) stay outside groups.
\set ON_ERROR_STOP on
SET client_min_messages = warning;
SELECT count(*) AS top_groups FROM (
  SELECT pgcredit.create_group('T' || t, 1e12, 0, NULL, 'bench top group')
  FROM generate_series(1, 20) t
  WHERE NOT EXISTS (SELECT FROM pgcredit.credit_group g WHERE g.id = 'T' || t)) s;
SELECT count(*) AS groups FROM (
  SELECT pgcredit.create_group('S' || s, 1e12, 0, 'T' || (s % 20 + 1), 'bench group')
  FROM generate_series(1, 100) s
  WHERE NOT EXISTS (SELECT FROM pgcredit.credit_group g WHERE g.id = 'S' || s)) s;
SELECT count(*) AS members FROM (
  SELECT pgcredit.open_account(c::text, 1e12), pgcredit.join_group(c::text, 'S' || (c % 100 + 1), 'bench')
  FROM generate_series(1001, 2000) c
  WHERE NOT EXISTS (SELECT FROM pgcredit.group_member m WHERE m.customer = c::text)) s;
