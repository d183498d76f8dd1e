-- Configuration "pastdue" of guard.sh: the rules of guard_pastdue.before.sql go
\set ON_ERROR_STOP on
SET client_min_messages = warning;
SELECT count(*) AS dropped FROM pgcredit.credit_rule r, pgcredit.drop_rule(r.id, 'bench') d
WHERE r.name LIKE 'bench %';
