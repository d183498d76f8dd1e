-- Temporary limits: a limit for a window of days that replaces the
-- permanent one and lapses by itself; set and cleared through audited
-- functions, refused when malformed.
SET client_min_messages = warning;
SELECT customer, credit_limit FROM pgcredit.open_account('T1', 1000);

-- a season of higher limit, given with both ends
SELECT customer, credit_limit, temporary_limit, temporary_from, temporary_until
FROM pgcredit.set_temporary_limit('T1', 2500, '2031-12-31', 'christmas season', valid_from => '2031-11-15');

-- the limit in force, day by day: before, first day, last day, after
SELECT d::date AS day,
       pgcredit._effective_limit(a.credit_limit, a.temporary_limit, a.temporary_from, a.temporary_until, d::date) AS in_force
FROM pgcredit.account a,
     unnest(ARRAY['2031-11-14', '2031-11-15', '2031-12-31', '2032-01-01']::date[]) AS d
WHERE a.customer = 'T1' ORDER BY 1;

-- without valid_from it starts at once; a second one replaces the first
SELECT temporary_limit, temporary_from, temporary_until
FROM pgcredit.set_temporary_limit('T1', 1800, '2031-06-30', 'trade fair');
SELECT pgcredit._effective_limit(credit_limit, temporary_limit, temporary_from, temporary_until, current_date) AS today,
       pgcredit._effective_limit(credit_limit, temporary_limit, temporary_from, temporary_until, '2031-07-01') AS after
FROM pgcredit.account WHERE customer = 'T1';

-- a temporary limit may also be lower than the permanent one
SELECT temporary_limit FROM pgcredit.set_temporary_limit('T1', 200, '2031-03-31', 'collections dispute');

-- refused, changing nothing
SELECT pgcredit.set_temporary_limit('T1', NULL, current_date + 1, 'no limit');
SELECT pgcredit.set_temporary_limit('T1', -1, current_date + 1, 'negative');
SELECT pgcredit.set_temporary_limit('T1', 'NaN', current_date + 1, 'not a number');
SELECT pgcredit.set_temporary_limit('T1', 'Infinity', current_date + 1, 'infinite');
SELECT pgcredit.set_temporary_limit('T1', 100, NULL, 'no end');
SELECT pgcredit.set_temporary_limit('T1', 100, 'infinity', 'never ends');
\set VERBOSITY terse
SELECT pgcredit.set_temporary_limit('T1', 100, current_date - 1, 'ended yesterday');
\set VERBOSITY default
SELECT pgcredit.set_temporary_limit('T1', 100, '2031-01-01', 'backwards', valid_from => '2031-02-01');
SELECT pgcredit.set_temporary_limit('T1', 100, '2031-01-01', 'from the dawn of time', valid_from => '-infinity');
SELECT pgcredit.set_temporary_limit('T1', 100, current_date + 1, '');
SELECT pgcredit.set_temporary_limit('nobody', 100, current_date + 1, 'unknown customer');
SELECT temporary_limit, temporary_from, temporary_until FROM pgcredit.account WHERE customer = 'T1';

-- the table refuses a malformed window written past the functions
\set VERBOSITY terse
UPDATE pgcredit.account SET temporary_until = NULL WHERE customer = 'T1';
UPDATE pgcredit.account SET temporary_from = temporary_until + 1 WHERE customer = 'T1';
UPDATE pgcredit.account SET temporary_limit = 'NaN' WHERE customer = 'T1';
\set VERBOSITY default

-- cleared before it lapses
SELECT credit_limit, temporary_limit, temporary_from, temporary_until
FROM pgcredit.clear_temporary_limit('T1', 'dispute settled');

-- every step in the audit log, old and new values
SELECT action, old_value, new_value, reason
FROM pgcredit.audit_log WHERE customer = 'T1' AND action LIKE '%temporary%' ORDER BY id;

-- only a controller may set one
CREATE ROLE regress_temp_reader;
GRANT pgcredit_reader TO regress_temp_reader;
SET ROLE regress_temp_reader;
SELECT pgcredit.set_temporary_limit('T1', 5000, current_date + 5, 'my own headroom');
RESET ROLE;
SELECT temporary_limit FROM pgcredit.account WHERE customer = 'T1';
DROP ROLE regress_temp_reader;
DELETE FROM pgcredit.audit_log WHERE customer = 'T1';
DELETE FROM pgcredit.exposure WHERE customer = 'T1';
DELETE FROM pgcredit.account WHERE customer = 'T1';
