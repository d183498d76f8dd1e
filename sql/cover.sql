-- Cover: credit insurance, bank guarantees, letters of credit, collateral
-- and deposits.  The cover that counts (cover_policy_in_force) raises the
-- effective limit the guard applies, through a copy on the exposure row
-- that holds for a span of days; the guard makes it again, under its row
-- lock, on a day outside that span.  Insurance defines the insured part
-- of the exposure.
--
-- Days: the session runs in the time zone UTC-12 and, to see "a later
-- day" without waiting for one, moves to UTC+14, whose current_date is
-- always one or two days later.  Dates are shown relative to today.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
SET TIME ZONE 'Etc/GMT+12';

CREATE TABLE c_order (
  id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  customer  text NOT NULL,
  amount    numeric(12,2) NOT NULL
);
SELECT relid FROM pgcredit.attach_orders('c_order', 'customer', 'amount');

-- The policy: deposits, guarantees and letters of credit count in full,
-- collateral half, credit insurance not towards the limit but as insurance
SELECT * FROM pgcredit.cover_policy_in_force ORDER BY kind;

SELECT customer, credit_limit FROM pgcredit.open_account('K1', 1000);
SELECT customer, credit_limit FROM pgcredit.open_account('K2', 1000);
SELECT customer, credit_limit FROM pgcredit.open_account('K3', 1000, tolerance_pct => 10);
SELECT customer, credit_limit FROM pgcredit.open_account('K4', 1000);
SELECT customer, credit_limit FROM pgcredit.open_account('K5', NULL);

----------------------------------------------------------------------
-- Each kind, with what it adds to the limit
----------------------------------------------------------------------
SELECT id, customer, kind, issuer, amount, share_pct, deductible, valid_from - current_date AS from_day,
       valid_until - current_date AS until_day, decision, decided_on = current_date AS decided_today
FROM pgcredit.add_cover('K1', 'deposit', 'cash', 500, 'security deposit received');
SELECT id, kind, amount FROM pgcredit.add_cover('K1', 'bank_guarantee', 'First Bank', 300, 'guarantee', valid_until => current_date + 90);
SELECT id, kind, amount FROM pgcredit.add_cover('K1', 'letter_of_credit', 'Second Bank', 200, 'LC 42', valid_until => current_date + 60);
SELECT id, kind, amount FROM pgcredit.add_cover('K1', 'collateral', 'warehouse stock', 1000, 'pledge');
SELECT id, kind, amount FROM pgcredit.add_cover('K1', 'credit_insurance', 'Insurer A', 5000, 'insured limit', share_pct => 90);
-- 500 + 300 + 200 + 1000 * 50% = 1500, insurance not counted
SELECT customer, cover_counted, cover_from - current_date AS from_day, cover_until - current_date AS until_day
FROM pgcredit.exposure WHERE customer = 'K1';
SELECT customer, exposure, credit_limit, cover_counted, effective_limit FROM pgcredit.customer_cover WHERE customer = 'K1';

----------------------------------------------------------------------
-- Validity by date
----------------------------------------------------------------------
-- not yet valid: not counted; the copy holds until the day before it starts
SELECT id FROM pgcredit.add_cover('K2', 'deposit', 'cash', 400, 'deposit from tomorrow', valid_from => current_date + 1);
SELECT cover_counted, cover_from - current_date AS from_day, cover_until - current_date AS until_day
FROM pgcredit.exposure WHERE customer = 'K2';
-- expired: never counted
SELECT id FROM pgcredit.add_cover('K2', 'bank_guarantee', 'Old Bank', 700, 'expired guarantee',
                                  valid_from => current_date - 30, valid_until => current_date - 1);
-- ends today: counted today, the copy holds until today
SELECT id FROM pgcredit.add_cover('K2', 'letter_of_credit', 'Third Bank', 250, 'LC ending today',
                                  valid_from => current_date - 5, valid_until => current_date);
SELECT cover_counted, cover_from - current_date AS from_day, cover_until - current_date AS until_day
FROM pgcredit.exposure WHERE customer = 'K2';
SELECT * FROM pgcredit.verify_cover();

----------------------------------------------------------------------
-- The guard: an order passing only because of cover
----------------------------------------------------------------------
-- K1: limit 1000 + cover 1500
INSERT INTO c_order (customer, amount) VALUES ('K1', 2400);
INSERT INTO c_order (customer, amount) VALUES ('K1', 200);
SELECT verdict, kind, exposure, credit_available FROM pgcredit.check_order('K1', 100);
SELECT verdict, kind, sqlstate, exposure, credit_available FROM pgcredit.check_order('K1', 101);
-- K3: tolerance 10% goes over the own limit only: 1000 * 1.1 + 600 = 1700
SELECT id FROM pgcredit.add_cover('K3', 'deposit', 'cash', 600, 'deposit');
INSERT INTO c_order (customer, amount) VALUES ('K3', 1700);
INSERT INTO c_order (customer, amount) VALUES ('K3', 0.01);
-- K5: no own limit, no limit at all: cover changes nothing
SELECT id FROM pgcredit.add_cover('K5', 'deposit', 'cash', 100, 'deposit');
INSERT INTO c_order (customer, amount) VALUES ('K5', 1000000);
SELECT customer, credit_limit, cover_counted, effective_limit FROM pgcredit.customer_cover WHERE customer = 'K5';

-- K2 on a later day: the LC that ended "today" counts no more, the
-- deposit "from tomorrow" counts.  The guard makes the copy again itself.
INSERT INTO c_order (customer, amount) VALUES ('K2', 1250);
SELECT customer, sum(amount) FROM c_order WHERE customer = 'K2' GROUP BY 1;
SET TIME ZONE 'Etc/GMT-14';
SELECT verdict, exposure, credit_available FROM pgcredit.check_order('K2', 150);
INSERT INTO c_order (customer, amount) VALUES ('K2', 150);
-- the copy the order made, for the new day: 400 from "tomorrow"
SELECT cover_counted, cover_until IS NULL AS for_ever FROM pgcredit.exposure WHERE customer = 'K2';
INSERT INTO c_order (customer, amount) VALUES ('K2', 0.01);
SET TIME ZONE 'Etc/GMT+12';

-- K4: an order passing only because of a cover that ends today, then
-- refused the next day although nothing ran in between
SELECT id FROM pgcredit.add_cover('K4', 'bank_guarantee', 'Fourth Bank', 500, 'guarantee ending today',
                                  valid_from => current_date - 10, valid_until => current_date);
INSERT INTO c_order (customer, amount) VALUES ('K4', 1400);
SET TIME ZONE 'Etc/GMT-14';
SELECT verdict, kind, exposure, credit_available FROM pgcredit.check_order('K4', 1);
INSERT INTO c_order (customer, amount) VALUES ('K4', 1);
-- a refusal takes back the copy it made with it: the next order of that
-- day makes it again
SELECT cover_counted, cover_until - current_date < 0 AS copy_for_an_earlier_day FROM pgcredit.exposure WHERE customer = 'K4';
SET TIME ZONE 'Etc/GMT+12';
INSERT INTO c_order (customer, amount) VALUES ('K4', 100);

----------------------------------------------------------------------
-- The insurer's decisions
----------------------------------------------------------------------
SELECT customer, credit_limit FROM pgcredit.open_account('D1', 1000);
SELECT id AS req FROM pgcredit.add_cover('D1', 'bank_guarantee', 'Fifth Bank', 800, 'guarantee asked for',
                                         decision => 'requested') \gset
SELECT decision, decided_on FROM pgcredit.cover WHERE id = :req;
SELECT cover_counted FROM pgcredit.exposure WHERE customer = 'D1';
SELECT decision, amount, decision_ref FROM pgcredit.decide_cover(:req, 'granted', 'bank said yes', decision_ref => 'G-1');
SELECT cover_counted FROM pgcredit.exposure WHERE customer = 'D1';
SELECT decision, amount FROM pgcredit.decide_cover(:req, 'reduced', 'bank cut it', amount => 300, decision_ref => 'G-2');
SELECT cover_counted FROM pgcredit.exposure WHERE customer = 'D1';
SELECT decision FROM pgcredit.decide_cover(:req, 'withdrawn', 'bank withdrew it');
SELECT cover_counted FROM pgcredit.exposure WHERE customer = 'D1';
SELECT decision, amount FROM pgcredit.decide_cover(:req, 'granted', 'bank granted it again', amount => 600);
SELECT cover_counted FROM pgcredit.exposure WHERE customer = 'D1';
SELECT decision FROM pgcredit.decide_cover(:req, 'refused', 'bank refused in the end');
SELECT cover_counted FROM pgcredit.exposure WHERE customer = 'D1';
SELECT action, old_value - 'decided_on' AS old_value, new_value - 'decided_on' AS new_value,
       (new_value ->> 'decided_on')::date = current_date AS decided_today, reason
FROM pgcredit.audit_log WHERE action = 'decide_cover' AND customer = 'D1' ORDER BY id;

-- changing a cover: a renewal, a new amount; the copy follows
SELECT id AS gua FROM pgcredit.add_cover('D1', 'bank_guarantee', 'Seventh Bank', 400, 'guarantee for a month',
                                         valid_until => current_date + 30) \gset
SELECT cover_counted, cover_until - current_date AS until_day FROM pgcredit.exposure WHERE customer = 'D1';
SELECT amount, valid_until - current_date AS until_day, notes
FROM pgcredit.change_cover(:gua, 'renewed for a year', valid_until => current_date + 365, notes => 'renewal 1');
SELECT amount FROM pgcredit.change_cover(:gua, 'bank lowered it', amount => 350);
SELECT cover_counted, cover_until - current_date AS until_day FROM pgcredit.exposure WHERE customer = 'D1';
SELECT action, old_value - 'valid_until' AS old_value, new_value - 'valid_until' AS new_value, reason
FROM pgcredit.audit_log WHERE action = 'change_cover' ORDER BY id;
SELECT pgcredit.change_cover(:gua, 'nothing given');
SELECT pgcredit.change_cover(:gua, 'too much share', share_pct => 101);
SELECT pgcredit.change_cover(:gua, 'negative', amount => -1);
SELECT pgcredit.change_cover(:gua, 'no issuer', issuer => '');
\set VERBOSITY terse
SELECT pgcredit.change_cover(:gua, 'backwards', valid_until => current_date - 1);
\set VERBOSITY default
SELECT pgcredit.change_cover(999999, 'unknown cover', amount => 1);
SELECT decision FROM pgcredit.decide_cover(:gua, 'withdrawn', 'bank withdrew it');

-- ending a cover: with a last day, then at once
SELECT id AS dep FROM pgcredit.add_cover('D1', 'deposit', 'cash', 250, 'deposit') \gset
SELECT valid_until - current_date AS until_day, ended_at IS NOT NULL AS ended
FROM pgcredit.end_cover(:dep, 'deposit returned next week', current_date + 7);
SELECT cover_counted, cover_until - current_date AS until_day FROM pgcredit.exposure WHERE customer = 'D1';
SELECT ended_at IS NOT NULL AS ended FROM pgcredit.end_cover(:dep, 'deposit returned');
SELECT cover_counted FROM pgcredit.exposure WHERE customer = 'D1';
SELECT action, old_value ->> 'ended_at' IS NULL AS was_running, new_value ->> 'ended_at' IS NOT NULL AS ended, reason
FROM pgcredit.audit_log WHERE action = 'end_cover' AND customer = 'D1' ORDER BY id;

----------------------------------------------------------------------
-- Bad input: every one refused, nothing changed
----------------------------------------------------------------------
SELECT count(*) AS covers_before FROM pgcredit.cover;
SELECT pgcredit.add_cover('D1', 'deposit', 'cash', -1, 'negative');
SELECT pgcredit.add_cover('D1', 'deposit', 'cash', 'NaN', 'not a number');
SELECT pgcredit.add_cover('D1', 'deposit', 'cash', 'Infinity', 'infinite');
SELECT pgcredit.add_cover('D1', 'deposit', 'cash', NULL, 'no amount');
SELECT pgcredit.add_cover('D1', 'credit_insurance', 'Insurer', 100, 'share too high', share_pct => 101);
SELECT pgcredit.add_cover('D1', 'credit_insurance', 'Insurer', 100, 'share negative', share_pct => -1);
SELECT pgcredit.add_cover('D1', 'credit_insurance', 'Insurer', 100, 'share NaN', share_pct => 'NaN');
SELECT pgcredit.add_cover('D1', 'credit_insurance', 'Insurer', 100, 'share NULL', share_pct => NULL);
SELECT pgcredit.add_cover('D1', 'credit_insurance', 'Insurer', 100, 'deductible negative', deductible => -5);
SELECT pgcredit.add_cover('D1', 'credit_insurance', 'Insurer', 100, 'deductible NaN', deductible => 'NaN');
SELECT pgcredit.add_cover('D1', 'credit_insurance', 'Insurer', 100, 'deductible NULL', deductible => NULL);
\set VERBOSITY terse
SELECT pgcredit.add_cover('D1', 'deposit', 'cash', 100, 'backwards', valid_from => current_date, valid_until => current_date - 1);
\set VERBOSITY default
SELECT pgcredit.add_cover('D1', 'deposit', 'cash', 100, 'from the dawn of time', valid_from => '-infinity');
SELECT pgcredit.add_cover('D1', 'deposit', 'cash', 100, 'never ends', valid_until => 'infinity');
SELECT pgcredit.add_cover('D1', 'deposit', 'cash', 100, 'no start', valid_from => NULL);
SELECT pgcredit.add_cover('nobody', 'deposit', 'cash', 100, 'unknown customer');
SELECT pgcredit.add_cover(NULL, 'deposit', 'cash', 100, 'no customer');
SELECT pgcredit.add_cover('D1', 'goodwill', 'cash', 100, 'unknown kind');
SELECT pgcredit.add_cover('D1', NULL, 'cash', 100, 'no kind');
SELECT pgcredit.add_cover('D1', 'deposit', ' ', 100, 'no issuer');
SELECT pgcredit.add_cover('D1', 'deposit', 'cash', 100, NULL);
SELECT pgcredit.add_cover('D1', 'deposit', 'cash', 100, '  ');
SELECT pgcredit.add_cover('D1', 'deposit', 'cash', 100, 'odd decision', decision => 'maybe');
SELECT pgcredit.decide_cover(999999, 'granted', 'unknown cover');
SELECT pgcredit.decide_cover(NULL, 'granted', 'no cover');
SELECT pgcredit.decide_cover(:req, 'reduced', 'reduced without amount');
SELECT pgcredit.decide_cover(:req, 'reduced', 'reduced upwards', amount => 5000);
SELECT pgcredit.decide_cover(:req, 'refused', 'refused with amount', amount => 10);
SELECT pgcredit.decide_cover(:req, 'granted', 'negative amount', amount => -10);
SELECT pgcredit.decide_cover(:req, 'granted', 'no day', decided_on => NULL);
\set VERBOSITY terse
SELECT pgcredit.decide_cover(:dep, 'granted', 'ended cover');
SELECT pgcredit.end_cover(:dep, 'ended twice');
SELECT pgcredit.end_cover(:req, 'later than it ends', current_date + 400) FROM pgcredit.end_cover(:req, 'ends in a year', current_date + 365);
\set VERBOSITY default
SELECT pgcredit.set_cover_policy('goodwill', true, 100, 'unknown kind');
SELECT pgcredit.set_cover_policy('collateral', true, 150, 'more than all of it');
SELECT pgcredit.set_cover_policy('collateral', NULL, 50, 'no decision');
SELECT pgcredit.set_cover_policy('collateral', true, 50, 'negative notice', notice_days => -1);
SELECT count(*) AS covers_after FROM pgcredit.cover;
-- the table refuses what the functions refuse, written past them
\set VERBOSITY terse
UPDATE pgcredit.cover SET share_pct = 120 WHERE id = :req;
UPDATE pgcredit.cover SET amount = 'NaN' WHERE id = :req;
UPDATE pgcredit.cover SET valid_until = valid_from - 1 WHERE id = :req;
UPDATE pgcredit.cover SET decision = 'perhaps' WHERE id = :req;
\set VERBOSITY default

----------------------------------------------------------------------
-- Share and deductible: insured and uninsured exposure
----------------------------------------------------------------------
-- I1: insured limit 10,000 at 90% with a deductible of 500; exposure 12,000
SELECT customer, credit_limit FROM pgcredit.open_account('I1', 20000);
SELECT id FROM pgcredit.add_cover('I1', 'credit_insurance', 'Insurer A', 10000, 'policy 7', share_pct => 90, deductible => 500);
INSERT INTO c_order (customer, amount) VALUES ('I1', 12000);
-- min(12,000, 10,000) * 90% - 500 = 8,500 insured; 3,500 not; 2,000 above the insured limit
SELECT customer, exposure, credit_limit, cover_counted, effective_limit, insured_limit, insured_exposure,
       uninsured_exposure, above_insured_limit, day = pgcredit.as_of() AS on_as_of
FROM pgcredit.customer_cover WHERE customer = 'I1';
-- a second policy stacks above the first: it takes the 2,000 above 10,000, at 50%
SELECT id FROM pgcredit.add_cover('I1', 'credit_insurance', 'Insurer B', 5000, 'top-up policy', share_pct => 50);
SELECT cover, issuer, insured_limit, insured_exposure FROM pgcredit.cover_at(current_date) WHERE customer = 'I1' ORDER BY cover;
SELECT customer, exposure, credit_limit, cover_counted, effective_limit, insured_limit, insured_exposure,
       uninsured_exposure, above_insured_limit, day = pgcredit.as_of() AS on_as_of
FROM pgcredit.customer_cover WHERE customer = 'I1';
-- a small exposure: the deductible takes it all, never below 0
SELECT customer, credit_limit FROM pgcredit.open_account('I2', 1000);
SELECT id FROM pgcredit.add_cover('I2', 'credit_insurance', 'Insurer A', 1000, 'policy 8', share_pct => 90, deductible => 500);
INSERT INTO c_order (customer, amount) VALUES ('I2', 400);
SELECT customer, exposure, insured_exposure, uninsured_exposure, above_insured_limit FROM pgcredit.customer_cover WHERE customer = 'I2';
-- insurance raises no limit by default: I2's limit is 1000
INSERT INTO c_order (customer, amount) VALUES ('I2', 601);
-- I3: exposure 1,500 above an insured limit of 1,000, and a guarantee
-- ending in 20 days
SELECT customer, credit_limit FROM pgcredit.open_account('I3', 5000);
SELECT id FROM pgcredit.add_cover('I3', 'credit_insurance', 'Insurer C', 1000, 'policy 9', share_pct => 80);
SELECT id FROM pgcredit.add_cover('I3', 'bank_guarantee', 'Sixth Bank', 100, 'short guarantee', valid_until => current_date + 20);
INSERT INTO c_order (customer, amount) VALUES ('I3', 1500);
SELECT customer, exposure, insured_limit, insured_exposure, uninsured_exposure, above_insured_limit
FROM pgcredit.customer_cover WHERE customer = 'I3';

-- the book, by kind and issuer
SELECT kind, issuer, covers, customers, amount, counted, insured_exposure, day = pgcredit.as_of() AS on_as_of
FROM pgcredit.cover_book;
-- another day for the views: the LC of K2 that ended is gone
SET pgcredit.as_of = '2999-01-01';
SELECT kind, issuer, covers FROM pgcredit.cover_book WHERE kind = 'letter_of_credit';
RESET pgcredit.as_of;

----------------------------------------------------------------------
-- The policy: collateral counted at 80%, credit insurance counted
----------------------------------------------------------------------
SELECT kind, counts, counted_pct, insures, notice_days FROM pgcredit.set_cover_policy('collateral', true, 80, 'haircut lowered');
SELECT cover_counted FROM pgcredit.exposure WHERE customer = 'K1';
SELECT kind, counts, counted_pct FROM pgcredit.set_cover_policy('credit_insurance', true, 100, 'insurance counts', notice_days => 60);
-- I2: 1000 * 90% - 500 = 400 counted: the order of 601 passes now
SELECT cover_counted FROM pgcredit.exposure WHERE customer = 'I2';
INSERT INTO c_order (customer, amount) VALUES ('I2', 601);
SELECT kind, counts, counted_pct, is_default FROM pgcredit.cover_policy_in_force ORDER BY kind;
SELECT action, old_value ->> 'counted_pct' AS old_pct, new_value ->> 'counted_pct' AS new_pct, reason
FROM pgcredit.audit_log WHERE action = 'set_cover_policy' ORDER BY id;
SELECT kind FROM pgcredit.set_cover_policy('credit_insurance', false, 0, 'back to the default', notice_days => 30);
SELECT kind FROM pgcredit.set_cover_policy('collateral', true, 50, 'back to the default');

----------------------------------------------------------------------
-- Approval: cover that raises the limit past the policy's threshold
----------------------------------------------------------------------
INSERT INTO pgcredit.approval_policy (limit_approval_above) VALUES (1000);
SELECT pgcredit.add_cover('D1', 'deposit', 'cash', 1500, 'large deposit');
SELECT id FROM pgcredit.add_cover('D1', 'credit_insurance', 'Insurer A', 50000, 'insurance raises no limit');
DELETE FROM pgcredit.approval_policy;

----------------------------------------------------------------------
-- The copy checked and repaired
----------------------------------------------------------------------
SELECT * FROM pgcredit.verify_cover();
UPDATE pgcredit.exposure SET cover_counted = 99999 WHERE customer = 'K3';
UPDATE pgcredit.exposure SET cover_counted = NULL, cover_from = NULL, cover_until = NULL WHERE customer = 'K1';
SELECT customer, stored_cover, actual_cover FROM pgcredit.verify_cover();
SELECT pgcredit.rebuild_exposure();
SELECT * FROM pgcredit.verify_cover();
SELECT * FROM pgcredit.verify_exposure();
SELECT customer, cover_counted FROM pgcredit.exposure WHERE customer IN ('K1', 'K3') ORDER BY 1;

----------------------------------------------------------------------
-- Alerts: a cover ending within its notice, exposure above the insured limit
----------------------------------------------------------------------
SELECT coalesce(max(id), 0) AS alerts_before FROM pgcredit.alert \gset
SELECT alerts > 0 AS raised FROM pgcredit.refresh_scores(current_date);
SELECT kind, customer, details - 'as_of' - 'cover' - 'valid_until' AS details,
       (details ->> 'valid_until')::date - current_date AS until_day, (details ->> 'as_of')::date = current_date AS today
FROM pgcredit.alert WHERE id > :alerts_before AND kind IN ('cover_expiring', 'exposure_uninsured')
ORDER BY customer, kind, details ->> 'cover';
-- a second run of the day raises none of them again
SELECT count(*) AS before FROM pgcredit.alert WHERE id > :alerts_before AND kind IN ('cover_expiring', 'exposure_uninsured');
SELECT 1 FROM pgcredit.refresh_scores(current_date);
SELECT count(*) AS after FROM pgcredit.alert WHERE id > :alerts_before AND kind IN ('cover_expiring', 'exposure_uninsured');
-- the next day: the uninsured exposure again, the expiring covers not
SELECT 1 FROM pgcredit.refresh_scores(current_date + 1);
SELECT kind, customer FROM pgcredit.alert
WHERE id > :alerts_before AND kind IN ('cover_expiring', 'exposure_uninsured')
  AND (details ->> 'as_of')::date = current_date + 1 ORDER BY 2, 1;
DELETE FROM pgcredit.alert WHERE id > :alerts_before;
DELETE FROM pgcredit.score_history WHERE as_of IN (current_date, current_date + 1);

----------------------------------------------------------------------
-- Rights: a role with nothing, the application, a reader
----------------------------------------------------------------------
CREATE ROLE regress_cover_nobody;
CREATE ROLE regress_cover_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON c_order TO regress_cover_app;
GRANT USAGE ON SCHEMA pgcredit TO regress_cover_nobody, regress_cover_app;
CREATE ROLE regress_cover_reader IN ROLE pgcredit_reader;
SET ROLE regress_cover_nobody;
SELECT pgcredit.add_cover('K4', 'deposit', 'me', 1000000, 'my own headroom');
SELECT count(*) FROM pgcredit.cover;
SELECT count(*) FROM pgcredit.customer_cover;
RESET ROLE;
-- the application cannot raise its customer's limit through cover
SET ROLE regress_cover_app;
SELECT pgcredit.add_cover('K4', 'deposit', 'me', 1000000, 'my own headroom');
SELECT pgcredit.decide_cover(:req, 'granted', 'my own headroom', amount => 1000000);
SELECT pgcredit.change_cover(:req, 'my own headroom', amount => 1000000);
SELECT pgcredit.set_cover_policy('collateral', true, 100, 'my own headroom');
UPDATE pgcredit.exposure SET cover_counted = 1000000 WHERE customer = 'K4';
INSERT INTO pgcredit.cover (customer, kind, issuer, amount, valid_from, created_by, updated_by)
VALUES ('K4', 'deposit', 'me', 1000000, current_date, 'me', 'me');
INSERT INTO c_order (customer, amount) VALUES ('K4', 10000);
-- on a later day the guard makes K4's copy again for the application,
-- which has no right on pgcredit's tables: the guarantee has ended
SET TIME ZONE 'Etc/GMT-14';
INSERT INTO c_order (customer, amount) VALUES ('K4', 1);
SET TIME ZONE 'Etc/GMT+12';
RESET ROLE;
-- a reader reads, and changes nothing
SET ROLE regress_cover_reader;
SELECT count(*) > 0 AS reads FROM pgcredit.cover;
SELECT count(*) > 0 AS reads FROM pgcredit.customer_cover;
SELECT pgcredit.end_cover(:req, 'a reader ending a cover');
SELECT pgcredit.change_cover(:req, 'a reader changing a cover', amount => 1);
SELECT pgcredit.set_cover_policy('collateral', true, 100, 'a reader');
RESET ROLE;
SELECT count(*) AS covers_of_k4 FROM pgcredit.cover WHERE customer = 'K4';

-- customer_risk's available credit is the headroom the guard leaves: the
-- limit in force (a temporary one today) with its tolerance, plus the
-- cover that counts.  Exactly that much more passes, a cent more does not.
RESET TIME ZONE;
SELECT customer, credit_limit FROM pgcredit.open_account('K6', 1000, 10);
SELECT credit_limit, temporary_limit FROM pgcredit.set_temporary_limit('K6', 1500, current_date + 30, 'season');
SELECT kind, amount FROM pgcredit.add_cover('K6', 'deposit', 'cash', 200, 'deposit received');
INSERT INTO c_order (customer, amount) VALUES ('K6', 100);
SELECT credit_limit, exposure, available_credit FROM pgcredit.customer_risk WHERE customer = 'K6';
SELECT verdict, credit_available = (SELECT available_credit FROM pgcredit.customer_risk WHERE customer = 'K6')
       AS same_as_check_order
FROM pgcredit.check_order('K6', 1);
INSERT INTO c_order (customer, amount)
SELECT 'K6', available_credit + 0.01 FROM pgcredit.customer_risk WHERE customer = 'K6';
INSERT INTO c_order (customer, amount)
SELECT 'K6', available_credit FROM pgcredit.customer_risk WHERE customer = 'K6';
SELECT exposure, available_credit FROM pgcredit.customer_risk WHERE customer = 'K6';
-- on a day after the temporary limit, the permanent limit is in force
SELECT available_credit FROM pgcredit.customer_risk_at(current_date + 31) WHERE customer = 'K6';

-- Clean up
REVOKE USAGE ON SCHEMA pgcredit FROM regress_cover_nobody, regress_cover_app;
DROP ROLE regress_cover_nobody;
REVOKE ALL ON c_order FROM regress_cover_app;
DROP ROLE regress_cover_app;
DROP ROLE regress_cover_reader;
SELECT relid FROM pgcredit.detach('c_order');
DROP TABLE c_order;
DELETE FROM pgcredit.cover;
DELETE FROM pgcredit.cover_policy;
DELETE FROM pgcredit.audit_log
WHERE customer IN ('K1', 'K2', 'K3', 'K4', 'K5', 'K6', 'D1', 'I1', 'I2', 'I3') OR action IN ('set_cover_policy', 'rebuild_exposure');
DELETE FROM pgcredit.exposure WHERE customer IN ('K1', 'K2', 'K3', 'K4', 'K5', 'K6', 'D1', 'I1', 'I2', 'I3');
DELETE FROM pgcredit.account WHERE customer IN ('K1', 'K2', 'K3', 'K4', 'K5', 'K6', 'D1', 'I1', 'I2', 'I3');
RESET TIME ZONE;
