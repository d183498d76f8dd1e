-- Stable tiers: a customer keeps the tier of its previous scoring while
-- its combined score stays within risk_settings.tier_margin points of
-- that tier's band; a score that leaves it moves the tier at once.
-- tier_churn counts the moves.  The combined score here is the external
-- score alone (the other weights are 0), so each day's score is set by
-- hand.  It runs in a database of its own.
\set SHOW_CONTEXT never
\set regress_db :DBNAME
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_tiers;
CREATE DATABASE regress_tiers;
\c regress_tiers
\set SHOW_CONTEXT never
SET client_min_messages = warning;
SET datestyle = 'ISO, YMD';
CREATE EXTENSION pgcredit;

-- The margin and its checks: 5 points by default, never negative, NaN
-- or infinite.
SELECT tier_margin FROM pgcredit._settings_or_default();
INSERT INTO pgcredit.risk_settings (tier_margin) VALUES (-1);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO pgcredit.risk_settings (tier_margin) VALUES ('NaN');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO pgcredit.risk_settings (tier_margin) VALUES ('Infinity');
\echo :LAST_ERROR_SQLSTATE

-- risk_tier(score, previous tier), with the default thresholds (A from
-- 80, B from 65, C from 50, D from 35) and margin: B is kept from 60 up
-- to, not including, 85; A down to 75; E up to, not including, 40.
SELECT s AS score, p AS previous, pgcredit.risk_tier(s) AS plain, pgcredit.risk_tier(s, p) AS kept
FROM (VALUES (60, 'B'), (59.99, 'B'), (84.99, 'B'), (85, 'B'), (75, 'A'), (74.99, 'A'),
             (39.99, 'E'), (40, 'E'), (20, 'A'), (95, 'E'), (63, NULL), (NULL, 'B'), ('NaN', 'B'))
     AS t(s, p);
SELECT pgcredit.risk_tier(70, 'X');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.risk_tier(70, 'b');
\echo :LAST_ERROR_SQLSTATE
-- a margin of 0 is the plain tier
BEGIN;
INSERT INTO pgcredit.risk_settings (tier_margin) VALUES (0);
SELECT pgcredit.risk_tier(64.99, 'B') AS b_at_64_99, pgcredit.risk_tier(80, 'B') AS b_at_80;
ROLLBACK;
-- open to every role, like risk_tier(numeric)
CREATE ROLE regress_tiers_nobody;
SET ROLE regress_tiers_nobody;
SELECT pgcredit.risk_tier(62, 'B') AS kept;
RESET ROLE;
DROP ROLE regress_tiers_nobody;

-- Four customers scored at four month ends.  OSC wavers around the B/C
-- threshold of 65 and keeps B; FALL drops well below it and moves at
-- once, then on down to E in one step; RISE creeps over 80 and becomes
-- A only past 85; NEW appears at the third scoring.
INSERT INTO pgcredit.risk_settings (weight_behaviour, weight_external, weight_utilisation) VALUES (0, 1, 0);
SELECT count(*) AS accounts
FROM unnest('{OSC,FALL,RISE,NEW}'::text[]) AS c, pgcredit.open_account(c, 1000) a;
INSERT INTO pgcredit.external_score (customer, source, score, as_of) VALUES
  ('OSC', 'bureau', 66, '2024-01-31'), ('FALL', 'bureau', 70, '2024-01-31'), ('RISE', 'bureau', 70, '2024-01-31'),
  ('OSC', 'bureau', 63, '2024-02-29'), ('FALL', 'bureau', 55, '2024-02-29'), ('RISE', 'bureau', 84, '2024-02-29'),
  ('OSC', 'bureau', 67, '2024-03-31'), ('FALL', 'bureau', 30, '2024-03-31'), ('RISE', 'bureau', 85.5, '2024-03-31'),
  ('NEW', 'bureau', 64, '2024-03-31'),
  ('OSC', 'bureau', 61, '2024-04-30'), ('FALL', 'bureau', 39, '2024-04-30'), ('RISE', 'bureau', 76, '2024-04-30'),
  ('NEW', 'bureau', 66, '2024-04-30');
SELECT d AS as_of, r.customers, r.alerts
FROM unnest('{2024-01-31,2024-02-29,2024-03-31,2024-04-30}'::date[]) AS d,
     pgcredit.refresh_scores(d) r;
SELECT customer, as_of, combined_score, score_tier, tier
FROM pgcredit.score_history ORDER BY customer, as_of;

-- Only the real moves raise a tier_change alert.
SELECT customer, details ->> 'as_of' AS as_of, details ->> 'from' AS "from", details ->> 'to' AS "to"
FROM pgcredit.alert WHERE kind = 'tier_change' ORDER BY id;

-- The churn, per day scored: a customer's first scoring is not counted,
-- and a first score after none (NEW in March) is no move.
SELECT * FROM pgcredit.tier_churn ORDER BY as_of, from_tier, to_tier;
SELECT as_of, coalesce(sum(customers) FILTER (WHERE moved), 0) AS moved, sum(customers) AS scored
FROM pgcredit.tier_churn GROUP BY as_of ORDER BY as_of;

-- A second run of a day starts again from the customer's previous day,
-- not from its own first run: OSC at 59 in April leaves B for C, and a
-- run of April again with 61 puts it back in B.
INSERT INTO pgcredit.external_score (customer, source, score, as_of, loaded_at)
VALUES ('OSC', 'second bureau', 59, '2024-04-30', now() + interval '1 minute');
SELECT customers FROM pgcredit.refresh_scores('2024-04-30');
SELECT tier FROM pgcredit.score_history WHERE customer = 'OSC' AND as_of = '2024-04-30';
DELETE FROM pgcredit.external_score WHERE customer = 'OSC' AND score = 59;
SELECT customers FROM pgcredit.refresh_scores('2024-04-30');
SELECT tier FROM pgcredit.score_history WHERE customer = 'OSC' AND as_of = '2024-04-30';

-- Without the margin every crossing is a move: the same history rescored.
UPDATE pgcredit.risk_settings SET tier_margin = 0;
SELECT count(*) AS runs
FROM unnest('{2024-01-31,2024-02-29,2024-03-31,2024-04-30}'::date[]) AS d, pgcredit.refresh_scores(d) r;
SELECT as_of, coalesce(sum(customers) FILTER (WHERE moved), 0) AS moved, sum(customers) AS scored
FROM pgcredit.tier_churn GROUP BY as_of ORDER BY as_of;
SELECT count(*) AS tier_is_score_tier FROM pgcredit.score_history WHERE tier = score_tier;

-- refresh_scores() reads the settings once and tiers every customer with
-- an inlined expression (_tier), calling no function per customer: with
-- 4 customers, each function it calls is called once or twice (a form without the
-- customer calls the form with it).
BEGIN;
SET LOCAL track_functions = 'all';
SELECT customers FROM pgcredit.refresh_scores('2024-04-30');
SELECT funcid::regprocedure AS function, calls FROM pg_stat_xact_user_functions WHERE schemaname = 'pgcredit'
ORDER BY funcid::regprocedure::text COLLATE "C";
ROLLBACK;
-- Its tiers are risk_tier()'s: every row scored above, with the previous
-- row's tier, and a grid of scores (every 0.05 from 20 to 100, NULL
-- and NaN) and previous tiers, under the default settings, a margin of 0
-- and other thresholds.
SELECT count(*) AS rows,
       count(*) FILTER (WHERE h.combined_score IS NOT DISTINCT FROM
                              pgcredit.combined_score(h.behavioural_score, h.external_score, h.utilisation_pct)
                          AND h.tier IS NOT DISTINCT FROM pgcredit.risk_tier(h.combined_score, p.tier)
                          AND h.score_tier IS NOT DISTINCT FROM pgcredit.risk_tier(h.combined_score)) AS same
FROM pgcredit.score_history h
LEFT JOIN LATERAL (SELECT x.tier FROM pgcredit.score_history x
                   WHERE x.customer = h.customer AND x.as_of < h.as_of ORDER BY x.as_of DESC LIMIT 1) p ON true;
CREATE TEMP TABLE grid AS
SELECT s, p FROM (SELECT g / 20.0 AS s FROM generate_series(400, 2000) g
                  UNION ALL VALUES (NULL::numeric), ('NaN'::numeric)) AS scores,
                 (VALUES (NULL), ('A'), ('B'), ('C'), ('D'), ('E')) AS previous(p);
CREATE FUNCTION pg_temp.tiers_differ() RETURNS bigint LANGUAGE sql AS $$
  SELECT count(*) FROM grid, pgcredit._settings_or_default() r
  WHERE pgcredit._tier(s, p, r.tier_a_min, r.tier_b_min, r.tier_c_min, r.tier_d_min, r.tier_margin)
        IS DISTINCT FROM pgcredit.risk_tier(s, p)
$$;
SELECT count(*) AS grid, pg_temp.tiers_differ() AS margin_0 FROM grid;
UPDATE pgcredit.risk_settings SET tier_margin = 5;
SELECT pg_temp.tiers_differ() AS margin_5;
UPDATE pgcredit.risk_settings SET tier_a_min = 90, tier_b_min = 70.5, tier_c_min = 55, tier_d_min = 30, tier_margin = 7.25;
SELECT pg_temp.tiers_differ() AS other_thresholds;

-- tier_churn is for readers.
CREATE ROLE regress_tiers_reader IN ROLE pgcredit_reader;
CREATE ROLE regress_tiers_app;
SET ROLE regress_tiers_reader;
SELECT count(*) AS rows FROM pgcredit.tier_churn;
SET ROLE regress_tiers_app;
SELECT count(*) FROM pgcredit.tier_churn;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
DROP ROLE regress_tiers_reader, regress_tiers_app;

\c :regress_db
DROP DATABASE regress_tiers;
