-- Risk: the day the risk views describe, and the weights and thresholds

----------------------------------------------------------------------
-- Risk: scores, tiers, alerts and the views BI tools read
----------------------------------------------------------------------

CREATE FUNCTION pgcredit.as_of()
RETURNS date LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$ SELECT coalesce(nullif(current_setting('pgcredit.as_of', true), '')::date, current_date) $$;
COMMENT ON FUNCTION pgcredit.as_of() IS
  'the day the risk views describe: the setting pgcredit.as_of when set (SET pgcredit.as_of = ''2024-06-30''), else today';
-- EXECUTE: PUBLIC (the default): it reads only a setting.

CREATE FUNCTION pgcredit._check_day(as_of date)
RETURNS void LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  IF as_of IS NULL OR NOT isfinite(as_of) THEN
    RAISE EXCEPTION 'as_of must be a finite date' USING ERRCODE = 'invalid_parameter_value';
  END IF;
END
$$;
COMMENT ON FUNCTION pgcredit._check_day(date) IS 'refuse a NULL or infinite day for the risk functions';
REVOKE EXECUTE ON FUNCTION pgcredit._check_day(date) FROM PUBLIC;

CREATE TABLE pgcredit.risk_settings (
  only_row                  boolean PRIMARY KEY DEFAULT true CHECK (only_row),
  -- numeric NaN passes >= 0 (it sorts above every number), so each check
  -- also bounds the value below 'Infinity', which refuses NaN and infinity
  weight_behaviour          numeric NOT NULL DEFAULT 0.5 CHECK (weight_behaviour >= 0 AND weight_behaviour < 'Infinity'),
  weight_external           numeric NOT NULL DEFAULT 0.3 CHECK (weight_external >= 0 AND weight_external < 'Infinity'),
  weight_utilisation        numeric NOT NULL DEFAULT 0.2 CHECK (weight_utilisation >= 0 AND weight_utilisation < 'Infinity'),
  tier_a_min                numeric NOT NULL DEFAULT 80 CHECK (tier_a_min > '-Infinity' AND tier_a_min < 'Infinity'),
  tier_b_min                numeric NOT NULL DEFAULT 65 CHECK (tier_b_min > '-Infinity' AND tier_b_min < 'Infinity'),
  tier_c_min                numeric NOT NULL DEFAULT 50 CHECK (tier_c_min > '-Infinity' AND tier_c_min < 'Infinity'),
  tier_d_min                numeric NOT NULL DEFAULT 35 CHECK (tier_d_min > '-Infinity' AND tier_d_min < 'Infinity'),
  watch_utilisation_pct     numeric NOT NULL DEFAULT 90 CHECK (watch_utilisation_pct >= 0 AND watch_utilisation_pct < 'Infinity'),
  watch_overdue_days        int NOT NULL DEFAULT 30 CHECK (watch_overdue_days >= 0),
  watch_new_overdue_window  int NOT NULL DEFAULT 7 CHECK (watch_new_overdue_window >= 1),
  watch_score_drop          numeric NOT NULL DEFAULT 10 CHECK (watch_score_drop >= 0 AND watch_score_drop < 'Infinity'),
  tier_margin               numeric NOT NULL DEFAULT 5 CHECK (tier_margin >= 0 AND tier_margin < 'Infinity'),
  auto_watch                boolean NOT NULL DEFAULT false,
  auto_watch_utilisation_pct numeric NOT NULL DEFAULT 90
                            CHECK (auto_watch_utilisation_pct >= 0 AND auto_watch_utilisation_pct < 'Infinity'),
  auto_watch_release_margin numeric NOT NULL DEFAULT 10
                            CHECK (auto_watch_release_margin >= 0 AND auto_watch_release_margin < 'Infinity'),
  auto_watch_signals        text[] NOT NULL DEFAULT '{new_overdue_item,score_drop,receivables_up_orders_down}'
                            CHECK (auto_watch_signals <@ '{new_overdue_item,score_drop,receivables_up_orders_down,review_overdue}'),
  auto_watch_calm_days      int NOT NULL DEFAULT 14 CHECK (auto_watch_calm_days >= 0),
  disputed_in_score         boolean NOT NULL DEFAULT true,
  broken_promise_penalty    numeric NOT NULL DEFAULT 0
                            CHECK (broken_promise_penalty >= 0 AND broken_promise_penalty < 'Infinity'),
  weight_financial          numeric NOT NULL DEFAULT 0 CHECK (weight_financial >= 0 AND weight_financial < 'Infinity'),
  CHECK (weight_behaviour + weight_external + weight_utilisation > 0),
  CHECK (tier_a_min > tier_b_min AND tier_b_min > tier_c_min AND tier_c_min > tier_d_min)
);
COMMENT ON TABLE pgcredit.risk_settings IS 'weights of the combined score, tier thresholds and their margin, watchlist thresholds, the automatic watch and the cost of broken promises: one row at most; no row means every default';
COMMENT ON COLUMN pgcredit.risk_settings.only_row IS 'always true: the table holds one row at most';
COMMENT ON COLUMN pgcredit.risk_settings.weight_behaviour IS 'weight of the behavioural score (payment history) in the combined score';
COMMENT ON COLUMN pgcredit.risk_settings.weight_external IS 'weight of the latest external score, brought to 0-100';
COMMENT ON COLUMN pgcredit.risk_settings.weight_utilisation IS 'weight of the utilisation score, 100 minus utilisation % (0 at or above the limit)';
COMMENT ON COLUMN pgcredit.risk_settings.tier_a_min IS 'lowest combined score of tier A (best)';
COMMENT ON COLUMN pgcredit.risk_settings.tier_b_min IS 'lowest combined score of tier B';
COMMENT ON COLUMN pgcredit.risk_settings.tier_c_min IS 'lowest combined score of tier C';
COMMENT ON COLUMN pgcredit.risk_settings.tier_d_min IS 'lowest combined score of tier D; below it, tier E (worst)';
COMMENT ON COLUMN pgcredit.risk_settings.watch_utilisation_pct IS 'watchlist: utilisation above this percentage of the limit';
COMMENT ON COLUMN pgcredit.risk_settings.watch_overdue_days IS 'watchlist: an open item passing this many days past due ...';
COMMENT ON COLUMN pgcredit.risk_settings.watch_new_overdue_window IS '... within the last this many days (a new overdue item)';
COMMENT ON COLUMN pgcredit.risk_settings.watch_score_drop IS 'watchlist and alert: a combined score falling by more than this many points from one refresh to the next';
COMMENT ON COLUMN pgcredit.risk_settings.tier_margin IS 'hysteresis of the tiers: a customer keeps the tier of its previous scoring until its combined score leaves that tier''s band by more than this many points';
COMMENT ON COLUMN pgcredit.risk_settings.auto_watch IS 'refresh_scores() puts accounts on status watch when a reason holds, and back to ok when none is left (false: it never changes a status)';
COMMENT ON COLUMN pgcredit.risk_settings.auto_watch_utilisation_pct IS 'automatic watch: utilisation above this percentage of the limit is a reason';
COMMENT ON COLUMN pgcredit.risk_settings.auto_watch_release_margin IS 'automatic watch: the utilisation reason is gone only once utilisation is at or below auto_watch_utilisation_pct minus this many points';
COMMENT ON COLUMN pgcredit.risk_settings.auto_watch_signals IS 'automatic watch: the watchlist rules that are a reason (new_overdue_item, score_drop, receivables_up_orders_down, review_overdue)';
COMMENT ON COLUMN pgcredit.risk_settings.auto_watch_calm_days IS 'automatic watch: a signal reason is gone only once no listed signal fired at a scoring of the last this many days';
COMMENT ON COLUMN pgcredit.risk_settings.disputed_in_score IS 'whether an item whose dispute is open on the scoring day counts in the behavioural score (false: it is left out of it; aging, overdue and DSO count it either way)';
COMMENT ON COLUMN pgcredit.risk_settings.broken_promise_penalty IS 'points refresh_scores() takes off the combined score (not below 0) for each promise to pay the customer broke whose day fell in the 365 days before the day scored (0: none)';
COMMENT ON COLUMN pgcredit.risk_settings.weight_financial IS 'weight of the financial score (Altman''s Z'''' of the customer''s latest financial statement, 25 points a unit, 0 to 100) in the combined score (0: not counted)';
REVOKE ALL ON pgcredit.risk_settings FROM PUBLIC;
GRANT SELECT ON pgcredit.risk_settings TO pgcredit_reader;
GRANT INSERT, UPDATE, DELETE ON pgcredit.risk_settings TO pgcredit_admin;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.risk_settings', '');

CREATE TABLE pgcredit.external_score_scale (
  source            text PRIMARY KEY,
  worst             numeric NOT NULL CHECK (worst > '-Infinity' AND worst < 'Infinity'),
  best              numeric NOT NULL CHECK (best > '-Infinity' AND best < 'Infinity'),
  CHECK (worst <> best)
);
COMMENT ON TABLE pgcredit.external_score_scale IS 'the scale of each external score source, to bring its scores to 0 (worst) - 100 (best); a source not listed is taken as 0-100 already';
COMMENT ON COLUMN pgcredit.external_score_scale.source IS 'external_score.source';
COMMENT ON COLUMN pgcredit.external_score_scale.worst IS 'the source''s worst score (may be above best, for scales where lower is better)';
COMMENT ON COLUMN pgcredit.external_score_scale.best IS 'the source''s best score';
REVOKE ALL ON pgcredit.external_score_scale FROM PUBLIC;
GRANT SELECT ON pgcredit.external_score_scale TO pgcredit_reader;
GRANT INSERT, UPDATE, DELETE ON pgcredit.external_score_scale TO pgcredit_admin;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.external_score_scale', '');
