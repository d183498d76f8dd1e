-- Release 1.1: tier_policy and external_score_scale refuse NaN and
-- infinity (numeric NaN sorts above every number, so ">= 0" let it in),
-- and messages that were built from fragments read as one sentence.
\set VERBOSITY default
\set SHOW_CONTEXT never

-- tier_policy: tolerance_pct and limit_months are finite
INSERT INTO pgcredit.tier_policy VALUES ('C', 30, 'NaN', 120, 1.5);
INSERT INTO pgcredit.tier_policy VALUES ('C', 30, 'Infinity', 120, 1.5);
INSERT INTO pgcredit.tier_policy VALUES ('C', 30, 0, 120, 'NaN');
INSERT INTO pgcredit.tier_policy VALUES ('C', 30, 0, 120, 'Infinity');
UPDATE pgcredit.tier_policy SET limit_months = 'NaN' WHERE tier = 'E';
-- the edges that stay allowed, and the policy is as it was
UPDATE pgcredit.tier_policy SET tolerance_pct = 0, limit_months = 0 WHERE tier = 'E';
SELECT * FROM pgcredit.tier_policy ORDER BY tier;

-- external_score_scale: both ends of the scale are finite
INSERT INTO pgcredit.external_score_scale VALUES ('nan_worst', 'NaN', 100);
INSERT INTO pgcredit.external_score_scale VALUES ('nan_best', 0, 'NaN');
INSERT INTO pgcredit.external_score_scale VALUES ('inf_best', 0, 'Infinity');
INSERT INTO pgcredit.external_score_scale VALUES ('minus_inf_worst', '-Infinity', 0);
-- a reversed scale (lower is better) and negative ends stay allowed
INSERT INTO pgcredit.external_score_scale VALUES ('reversed', 100, -5);
SELECT * FROM pgcredit.external_score_scale WHERE source = 'reversed';
DELETE FROM pgcredit.external_score_scale WHERE source = 'reversed';

-- attaching a table with NaN or infinite amounts: the count goes to the
-- detail, in a full sentence, singular or plural
CREATE TABLE finite_order (id int PRIMARY KEY, customer text, amount numeric);
INSERT INTO finite_order VALUES (1, 'C1', 'NaN');
SELECT pgcredit.attach_orders('finite_order', 'customer', 'amount');
INSERT INTO finite_order VALUES (2, 'C1', 'Infinity');
SELECT pgcredit.attach_orders('finite_order', 'customer', 'amount');

-- the DDL guard: the refused change is the detail, as a sentence
DELETE FROM finite_order;
SELECT relid, kind, mode FROM pgcredit.attach_orders('finite_order', 'customer', 'amount');
ALTER TABLE finite_order ALTER COLUMN amount TYPE text;
ALTER TABLE finite_order RENAME COLUMN customer TO client;
SELECT relid, kind FROM pgcredit.detach('finite_order');
DROP TABLE finite_order;

-- releasing a held order whose row changed since: one sentence of detail
-- (in a transaction rolled back, leaving no account behind)
BEGIN;
SELECT customer FROM pgcredit.open_account('FINITE1', 100, reason => 'test account');
CREATE TABLE finite_hold (id int PRIMARY KEY, customer text, amount numeric,
                          on_hold boolean NOT NULL DEFAULT false);
SELECT relid, mode FROM pgcredit.attach_orders('finite_hold', 'customer', 'amount',
                                               mode => 'hold', hold_column => 'on_hold');
\set VERBOSITY terse
INSERT INTO finite_hold VALUES (1, 'FINITE1', 150);
\set VERBOSITY default
ALTER TABLE finite_hold DISABLE TRIGGER zz_pgcredit_guard;
UPDATE finite_hold SET amount = 7 WHERE id = 1;
ALTER TABLE finite_hold ENABLE TRIGGER zz_pgcredit_guard;
DO $$
DECLARE
  msg text;
  detail text;
BEGIN
  PERFORM pgcredit.release_held_order(
    (SELECT max(id) FROM pgcredit.held_order WHERE customer = 'FINITE1'), 'checked');
EXCEPTION WHEN object_not_in_prerequisite_state THEN
  GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL;
  RAISE NOTICE 'error: %', regexp_replace(msg, 'order [0-9]+', 'order N');
  RAISE NOTICE 'detail: %', detail;
END
$$;
ROLLBACK;
SELECT count(*) FROM pgcredit.account WHERE customer = 'FINITE1';
