-- Foresight: when each open invoice will be paid, how likely more than 30
-- days late, and the cash coming in week by week (doc/foresight.md,
-- "Payment prediction")

----------------------------------------------------------------------
-- The model, explainable: an invoice still unpaid on a day will be paid
-- as the invoices of its customer that were still unpaid that late were
-- paid, weighted by how recently they were paid (half of the weight every
-- 730 days), and shrunk towards the whole ledger's invoices as unpaid
-- that late (the ledger counting as 0.5 invoice of the customer's for
-- the days late, as 3 for the probability of more than 30 days late;
-- chosen on the first half of the sample ledger, doc/foresight.md).  Days
-- late are payment date less due date, negative for early payment.
----------------------------------------------------------------------

-- The history: every attached receivables item paid, with its due date
CREATE FUNCTION pgcredit._payment_history()
RETURNS TABLE (customer text, due date, paid_on date)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT i.customer, i.due, i.paid_on FROM pgcredit._attached_items('receivables') i
  WHERE i.paid_on IS NOT NULL AND i.due IS NOT NULL
$$;
COMMENT ON FUNCTION pgcredit._payment_history() IS 'every item of the attached receivables tables with a due date and a payment date';
REVOKE EXECUTE ON FUNCTION pgcredit._payment_history() FROM PUBLIC;

-- The weight of a payment made a number of days before the day asked:
-- half every 180 days, computed in floating point and kept to 12
-- decimals, so that sums of weights are exact and do not depend on order
CREATE FUNCTION pgcredit._recency_weight(days_ago int, half_life numeric)
RETURNS numeric LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT round(power(0.5::float8, $1 / $2::float8)::numeric, 12) $$;
COMMENT ON FUNCTION pgcredit._recency_weight(integer, numeric) IS 'the weight of a payment made days_ago days before: 0.5 ^ (days_ago / half_life), to 12 decimals';
REVOKE EXECUTE ON FUNCTION pgcredit._recency_weight(integer, numeric) FROM PUBLIC;

-- Predictions for questions (a customer, a due date, the day asked on: the
-- item is taken as unpaid on that day), each from the history paid before
-- its day
CREATE FUNCTION pgcredit._payment_model(customers text[], dues date[], days date[],
                                        half_life numeric DEFAULT 730, prior numeric DEFAULT 0.5,
                                        late_prior numeric DEFAULT 3)
RETURNS TABLE (question int, expected_days_late numeric, expected_payment_date date, p_late_30 numeric,
               customer_weight numeric, customer_days_late numeric, ledger_days_late numeric,
               customer_p_late_30 numeric, ledger_p_late_30 numeric, customer_share numeric)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  WITH q AS (SELECT n AS question, c AS customer, u AS due, d AS day, d - u AS t
             FROM unnest($1, $2, $3) WITH ORDINALITY AS x(c, u, d, n)
             WHERE u IS NOT NULL AND d IS NOT NULL),
       h AS (SELECT * FROM pgcredit._payment_history()),
       qd AS (SELECT DISTINCT q.day FROM q),
       -- the ledger on each day asked: weight and payments by days late
       led AS (SELECT qd.day, h.paid_on - h.due AS dl,
                      sum(pgcredit._recency_weight(qd.day - h.paid_on, $4)) AS w
               FROM qd JOIN h ON h.paid_on < qd.day
               GROUP BY qd.day, h.paid_on - h.due),
       -- for each question, the ledger's items paid later than it is now
       lq AS (SELECT q.question, sum(l.w) AS w, sum(l.w * l.dl) AS wdl,
                     sum(l.w) FILTER (WHERE l.dl > 30) AS wlate
              FROM q JOIN led l ON l.day = q.day AND l.dl > q.t
              GROUP BY q.question),
       -- and its customer's
       cq AS (SELECT q.question, sum(x.w) AS w, sum(x.w * x.dl) AS wdl,
                     sum(x.w) FILTER (WHERE x.dl > 30) AS wlate
              FROM q JOIN h ON h.customer = q.customer AND h.paid_on < q.day AND h.paid_on - h.due > q.t
              CROSS JOIN LATERAL (SELECT h.paid_on - h.due AS dl,
                                         pgcredit._recency_weight(q.day - h.paid_on, $4) AS w) x
              GROUP BY q.question),
       m AS (SELECT q.question, q.due, q.day, q.t,
                    coalesce(c.w, 0) AS cw, c.wdl / nullif(c.w, 0) AS cdl,
                    coalesce(c.wlate, 0) / nullif(c.w, 0) AS cp,
                    l.wdl / nullif(l.w, 0) AS ldl, coalesce(l.wlate, 0) / nullif(l.w, 0) AS lp
             FROM q LEFT JOIN cq c USING (question) LEFT JOIN lq l USING (question)),
       b AS (SELECT m.*,
                    -- the customer's weight against the ledger's 3; without the
                    -- ledger, the customer alone; without either, tomorrow
                    CASE WHEN m.ldl IS NULL AND m.cdl IS NULL THEN m.t + 1
                         WHEN m.ldl IS NULL THEN m.cdl
                         ELSE (m.cw * coalesce(m.cdl, 0) + $5 * m.ldl) / (m.cw + $5) END AS edl,
                    CASE WHEN m.t >= 30 THEN 1
                         WHEN m.lp IS NULL AND m.cdl IS NULL THEN NULL
                         WHEN m.lp IS NULL THEN m.cp
                         ELSE (m.cw * coalesce(m.cp, 0) + $6 * m.lp) / (m.cw + $6) END AS p
             FROM m)
  SELECT b.question::int, round(b.edl, 2), b.due + greatest(b.t + 1, round(b.edl)::int), round(b.p, 4),
         round(b.cw, 4), round(b.cdl, 2), round(b.ldl, 2), round(b.cp, 4), round(b.lp, 4),
         -- the share of the customer's own invoices in the days late
         CASE WHEN b.ldl IS NULL THEN 1 ELSE b.cw / (b.cw + $5) END
  FROM b
$$;
COMMENT ON FUNCTION pgcredit._payment_model(text[], date[], date[], numeric, numeric, numeric) IS
  'the payment prediction of each question (customer, due date, day asked on), from the history paid before its day: expected days late, expected payment date, probability of more than 30 days late, and what drove them (customer_share: the part of the customer''s own invoices in the days late)';
REVOKE EXECUTE ON FUNCTION pgcredit._payment_model(text[], date[], date[], numeric, numeric, numeric) FROM PUBLIC;

-- Every item open on a day, predicted
CREATE FUNCTION pgcredit.payment_predictions_at(as_of date)
RETURNS TABLE (customer text, relid regclass, item_key jsonb, open_amount numeric, due date,
               days_past_due int, expected_days_late numeric, expected_payment_date date, p_late_30 numeric,
               customer_weight numeric, customer_days_late numeric, ledger_days_late numeric, explanation text,
               relid_text text, item_key_text text, day date)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET jit = off
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  PERFORM pgcredit._check_day(as_of);
  RETURN QUERY
  WITH o AS (SELECT row_number() OVER () AS n, i.customer, i.relid, i.item_key,
                    CASE WHEN i.paid_on > as_of THEN i.invoice_amount ELSE i.amount END AS amount, i.due
             FROM pgcredit._attached_items_keyed('receivables', NULL, NULL, false, as_of) i
             WHERE i.due IS NOT NULL),
       a AS (SELECT array_agg(o.customer ORDER BY o.n) AS c, array_agg(o.due ORDER BY o.n) AS u,
                    array_agg(as_of ORDER BY o.n) AS d FROM o),
       p AS (SELECT m.* FROM a, pgcredit._payment_model(a.c, a.u, a.d) m)
  SELECT o.customer, o.relid::regclass, o.item_key, round(o.amount, 2), o.due, greatest(as_of - o.due, 0),
         p.expected_days_late, p.expected_payment_date, p.p_late_30, p.customer_weight,
         p.customer_days_late, p.ledger_days_late,
         CASE WHEN p.customer_weight > 0 THEN
                format('%s%% from the customer''s own invoices as late as this one (weight %s, %s days late on average), %s%% from the ledger''s (%s days late)',
                       round(100 * p.customer_share), p.customer_weight,
                       coalesce(p.customer_days_late::text, '-'),
                       100 - round(100 * p.customer_share), coalesce(p.ledger_days_late::text, '-'))
              WHEN p.ledger_days_late IS NOT NULL THEN
                format('from the ledger''s invoices as late as this one (%s days late on average): no such invoice of the customer''s', p.ledger_days_late)
              ELSE 'no invoice paid this late before: expected the next day' END,
         o.relid::regclass::text, o.item_key::text, as_of
  FROM o JOIN p ON p.question = o.n;
END
$$;
COMMENT ON FUNCTION pgcredit.payment_predictions_at(date) IS 'the rows of payment_predictions on any day';
REVOKE EXECUTE ON FUNCTION pgcredit.payment_predictions_at(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.payment_predictions_at(date) TO pgcredit_reader;

CREATE VIEW pgcredit.payment_predictions AS
SELECT * FROM pgcredit.payment_predictions_at(pgcredit.as_of());
COMMENT ON VIEW pgcredit.payment_predictions IS 'every receivable item open today with a due date: its expected payment date and days late, the probability of paying more than 30 days late, and what drove them';
COMMENT ON COLUMN pgcredit.payment_predictions.customer IS 'customer key';
COMMENT ON COLUMN pgcredit.payment_predictions.relid IS 'the attached table of the item';
COMMENT ON COLUMN pgcredit.payment_predictions.item_key IS 'the item''s primary key (NULL for a table without one)';
COMMENT ON COLUMN pgcredit.payment_predictions.open_amount IS 'what is open on the day, in the account''s currency';
COMMENT ON COLUMN pgcredit.payment_predictions.due IS 'the due date';
COMMENT ON COLUMN pgcredit.payment_predictions.days_past_due IS 'days past due on the day (0 when not yet due)';
COMMENT ON COLUMN pgcredit.payment_predictions.expected_days_late IS 'expected payment date less due date, in days (negative: early), given it is unpaid on the day';
COMMENT ON COLUMN pgcredit.payment_predictions.expected_payment_date IS 'the expected payment date, after the day';
COMMENT ON COLUMN pgcredit.payment_predictions.p_late_30 IS 'the probability of paying more than 30 days after the due date (1 once it is)';
COMMENT ON COLUMN pgcredit.payment_predictions.customer_weight IS 'how much of the customer''s own history speaks for it: its invoices paid later than this one is now, weighted by recency (half every 730 days); the ledger counts as 0.5 for the days late, 3 for the probability';
COMMENT ON COLUMN pgcredit.payment_predictions.customer_days_late IS 'how late those invoices were paid, on average (weighted)';
COMMENT ON COLUMN pgcredit.payment_predictions.ledger_days_late IS 'how late the whole ledger''s invoices as late were paid, on average (weighted)';
COMMENT ON COLUMN pgcredit.payment_predictions.explanation IS 'what drove the prediction, in words';
COMMENT ON COLUMN pgcredit.payment_predictions.relid_text IS 'relid as text';
COMMENT ON COLUMN pgcredit.payment_predictions.item_key_text IS 'item_key as text';
COMMENT ON COLUMN pgcredit.payment_predictions.day IS 'the day the row describes';
REVOKE ALL ON pgcredit.payment_predictions FROM PUBLIC;
GRANT SELECT ON pgcredit.payment_predictions TO pgcredit_reader;

-- The cash expected in each of the coming weeks
CREATE FUNCTION pgcredit.cash_forecast_at(day date, weeks int DEFAULT 13)
RETURNS TABLE (week_start date, expected_cash numeric, items bigint, cash_late_30 numeric, day date)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  WITH p AS (SELECT * FROM pgcredit.payment_predictions_at($1)),
       w AS (SELECT ($1 + 7 * k) AS week_start FROM generate_series(0, greatest(coalesce($2, 13), 1) - 1) k)
  SELECT w.week_start, round(coalesce(sum(p.open_amount), 0), 2), count(p.open_amount),
         round(coalesce(sum(p.open_amount * p.p_late_30), 0), 2), $1
  FROM w LEFT JOIN p ON p.expected_payment_date > w.week_start AND p.expected_payment_date <= w.week_start + 7
  GROUP BY w.week_start ORDER BY w.week_start
$$;
COMMENT ON FUNCTION pgcredit.cash_forecast_at(date, integer) IS
  'the rows of cash_forecast for any day and number of weeks (13 by default): the open amounts expected in each week after the day';
REVOKE EXECUTE ON FUNCTION pgcredit.cash_forecast_at(date, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.cash_forecast_at(date, integer) TO pgcredit_reader;

CREATE VIEW pgcredit.cash_forecast AS
SELECT * FROM pgcredit.cash_forecast_at(pgcredit.as_of(), 13);
COMMENT ON VIEW pgcredit.cash_forecast IS 'the cash expected in each of the next 13 weeks: the open items whose expected payment date falls in the week';
COMMENT ON COLUMN pgcredit.cash_forecast.week_start IS 'the week is the seven days after this day';
COMMENT ON COLUMN pgcredit.cash_forecast.expected_cash IS 'the open amounts expected in the week';
COMMENT ON COLUMN pgcredit.cash_forecast.items IS 'how many items';
COMMENT ON COLUMN pgcredit.cash_forecast.cash_late_30 IS 'of that, weighted by the probability of more than 30 days late: the cash at risk of coming late';
COMMENT ON COLUMN pgcredit.cash_forecast.day IS 'the day the row describes';
REVOKE ALL ON pgcredit.cash_forecast FROM PUBLIC;
GRANT SELECT ON pgcredit.cash_forecast TO pgcredit_reader;

-- The model measured: invoices of the later part of the timeline, each
-- predicted on its invoice date from what was paid before, against the
-- due date and the customer's average days late (both the MAE of the
-- payment date), and the probability of more than 30 days late against
-- the base rate of the earlier part (Brier score, AUC)
CREATE FUNCTION pgcredit.evaluate_payment_predictions(test_from date)
RETURNS TABLE (measure text, model numeric, baseline text, baseline_value numeric, invoices bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET jit = off
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  PERFORM pgcredit._check_day(test_from);
  RETURN QUERY
  WITH i AS (SELECT row_number() OVER (ORDER BY a.customer, a.due, a.invoiced_on, a.paid_on) AS n,
                    a.customer, a.due, a.invoiced_on, a.paid_on
             FROM pgcredit._attached_items('receivables') a
             WHERE a.paid_on IS NOT NULL AND a.due IS NOT NULL AND a.invoiced_on >= test_from),
       arr AS (SELECT array_agg(i.customer ORDER BY i.n) AS c, array_agg(i.due ORDER BY i.n) AS u,
                      array_agg(i.invoiced_on ORDER BY i.n) AS d FROM i),
       p AS (SELECT m.* FROM arr, pgcredit._payment_model(arr.c, arr.u, arr.d) m),
       h AS (SELECT * FROM pgcredit._payment_history()),
       -- the customer's plain average days late before the invoice date
       avg_c AS (SELECT i.n, avg(h.paid_on - h.due) AS dl
                 FROM i JOIN h ON h.customer = i.customer AND h.paid_on < i.invoiced_on GROUP BY i.n),
       base AS (SELECT avg(CASE WHEN h.paid_on - h.due > 30 THEN 1.0 ELSE 0 END) AS rate
                FROM h WHERE h.paid_on < test_from),
       e AS (SELECT i.n, i.paid_on, i.due, p.expected_payment_date AS pred, p.p_late_30 AS p,
                    CASE WHEN i.paid_on - i.due > 30 THEN 1 ELSE 0 END AS y,
                    i.due + round(coalesce(a.dl, 0))::int AS pred_avg
             FROM i JOIN p ON p.question = i.n LEFT JOIN avg_c a ON a.n = i.n),
       -- AUC: the chance that a late invoice is given a higher probability
       -- than one on time (ties count half)
       auc AS (SELECT avg(CASE WHEN x.p > z.p THEN 1.0 WHEN x.p = z.p THEN 0.5 ELSE 0 END) AS v
               FROM e x JOIN e z ON x.y = 1 AND z.y = 0)
  SELECT 'payment date MAE, days'::text, round(avg(abs(e.paid_on - e.pred)), 2), 'due date'::text,
         round(avg(abs(e.paid_on - e.due)), 2), count(*) FROM e
  UNION ALL
  SELECT 'payment date MAE, days', round(avg(abs(e.paid_on - e.pred)), 2), 'customer''s average days late',
         round(avg(abs(e.paid_on - e.pred_avg)), 2), count(*) FROM e
  UNION ALL
  SELECT 'P(more than 30 days late), Brier score', round(avg((e.p - e.y) ^ 2), 5), 'base rate of the earlier part',
         round(avg(((SELECT rate FROM base) - e.y) ^ 2), 5), count(*) FROM e
  UNION ALL
  SELECT 'P(more than 30 days late), AUC', round((SELECT v FROM auc), 4), 'base rate (no ranking)', 0.5, count(*) FROM e
  UNION ALL
  SELECT 'invoices more than 30 days late', sum(e.y), 'base rate of the earlier part',
         round((SELECT rate FROM base), 5), count(*) FROM e;
END
$$;
COMMENT ON FUNCTION pgcredit.evaluate_payment_predictions(date) IS
  'the payment prediction measured on the ledger: every paid invoice invoiced on or after test_from, predicted on its invoice date from what was paid before; the mean absolute error of the payment date against the due date and the customer''s average days late, and the Brier score and AUC of the probability of more than 30 days late against the base rate before test_from';
REVOKE EXECUTE ON FUNCTION pgcredit.evaluate_payment_predictions(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.evaluate_payment_predictions(date) TO pgcredit_reader;
