-- Foresight: expected credit loss, IFRS 9 simplified approach
-- (doc/foresight.md, "Expected credit loss")

----------------------------------------------------------------------
-- A provision matrix: a loss rate per aging band, computed from the
-- company's own history by roll rates over a chosen number of months
-- (or set by hand), times a forward-looking factor a controller sets;
-- the provision of a customer on a day is its receivables in each band
-- times the band's rate.
----------------------------------------------------------------------

CREATE TABLE pgcredit.provision_settings (
  one            boolean PRIMARY KEY DEFAULT true CONSTRAINT provision_settings_one CHECK (one),
  method         text NOT NULL DEFAULT 'roll_rate' CONSTRAINT provision_method CHECK (method IN ('roll_rate', 'fixed')),
  months         int NOT NULL DEFAULT 12 CONSTRAINT provision_months CHECK (months BETWEEN 1 AND 120),
  forward_factor numeric NOT NULL DEFAULT 1
                 CONSTRAINT provision_forward_factor CHECK (forward_factor >= 0 AND forward_factor <= 100)
);
COMMENT ON TABLE pgcredit.provision_settings IS 'how the provision matrix is made: at most one row, set with set_provision_settings(); without it, the defaults (roll_rate over 12 months, factor 1)';
COMMENT ON COLUMN pgcredit.provision_settings.one IS 'true: the table has one row';
COMMENT ON COLUMN pgcredit.provision_settings.method IS 'roll_rate: loss rates from the roll rates of the ledger''s history; fixed: the rates of provision_rate';
COMMENT ON COLUMN pgcredit.provision_settings.months IS 'how many months of history the roll rates are taken over (1 to 120)';
COMMENT ON COLUMN pgcredit.provision_settings.forward_factor IS 'the forward-looking adjustment: every loss rate is multiplied by it (capped at 100 %); 1 leaves the history as it is';
REVOKE ALL ON pgcredit.provision_settings FROM PUBLIC;
GRANT SELECT ON pgcredit.provision_settings TO pgcredit_reader;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.provision_settings', '');

-- The settings row, or every default (the table holds no row until they
-- are set, so that a restore brings back the row set)
CREATE FUNCTION pgcredit._provision_settings()
RETURNS pgcredit.provision_settings LANGUAGE sql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT coalesce((SELECT s FROM pgcredit.provision_settings s), ROW(true, 'roll_rate', 12, 1)::pgcredit.provision_settings)
$$;
COMMENT ON FUNCTION pgcredit._provision_settings() IS 'the provision settings row, or every default';
REVOKE EXECUTE ON FUNCTION pgcredit._provision_settings() FROM PUBLIC;

CREATE TABLE pgcredit.provision_rate (
  band      text PRIMARY KEY CONSTRAINT provision_rate_band CHECK (band IN ('current', '1_30', '31_60', '61_90', 'over_90')),
  loss_rate numeric NOT NULL CONSTRAINT provision_rate_range CHECK (loss_rate >= 0 AND loss_rate <= 1)
);
COMMENT ON TABLE pgcredit.provision_rate IS 'the loss rate of each aging band when provision_settings.method is fixed; set with set_provision_rates()';
COMMENT ON COLUMN pgcredit.provision_rate.band IS 'current (not yet due), 1_30, 31_60, 61_90 or over_90 days past due';
COMMENT ON COLUMN pgcredit.provision_rate.loss_rate IS 'the share of the band expected to be lost, 0 to 1';
REVOKE ALL ON pgcredit.provision_rate FROM PUBLIC;
GRANT SELECT ON pgcredit.provision_rate TO pgcredit_reader;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.provision_rate', '');

-- The matrix in use, as refresh_provision_matrix() made it last
CREATE TABLE pgcredit.provision_matrix (
  band            text PRIMARY KEY CONSTRAINT provision_matrix_band CHECK (band IN ('current', '1_30', '31_60', '61_90', 'over_90')),
  band_order      int NOT NULL,
  balance         numeric,
  rolled          numeric,
  roll_rate       numeric,
  loss_rate       numeric NOT NULL,
  adjusted_rate   numeric NOT NULL,
  method          text NOT NULL,
  months          int,
  from_month_end  date,
  to_month_end    date,
  forward_factor  numeric NOT NULL,
  computed_on     date NOT NULL,
  computed_at     timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE pgcredit.provision_matrix IS 'the provision matrix in use: a loss rate per aging band and the history behind it, made by refresh_provision_matrix()';
COMMENT ON COLUMN pgcredit.provision_matrix.band IS 'the aging band';
COMMENT ON COLUMN pgcredit.provision_matrix.band_order IS 'the band''s place, 1 (current) to 5 (over 90 days)';
COMMENT ON COLUMN pgcredit.provision_matrix.balance IS 'roll_rate: the band''s receivables summed over the month ends the rates are taken from (the month end before each month)';
COMMENT ON COLUMN pgcredit.provision_matrix.rolled IS 'roll_rate: what of it was found a month later in the next band (for over_90: written off in the month after, less what was recovered in it)';
COMMENT ON COLUMN pgcredit.provision_matrix.roll_rate IS 'rolled / balance, at most 1 (NULL: no balance to measure it on, taken as 0)';
COMMENT ON COLUMN pgcredit.provision_matrix.loss_rate IS 'the product of the roll rates from this band to a write-off; fixed: the rate set';
COMMENT ON COLUMN pgcredit.provision_matrix.adjusted_rate IS 'loss_rate times forward_factor, at most 1: the rate the provision uses';
COMMENT ON COLUMN pgcredit.provision_matrix.method IS 'roll_rate or fixed, as provision_settings had it';
COMMENT ON COLUMN pgcredit.provision_matrix.months IS 'roll_rate: the months of history';
COMMENT ON COLUMN pgcredit.provision_matrix.from_month_end IS 'roll_rate: the first month end read';
COMMENT ON COLUMN pgcredit.provision_matrix.to_month_end IS 'roll_rate: the last month end read';
COMMENT ON COLUMN pgcredit.provision_matrix.forward_factor IS 'the forward-looking factor applied';
COMMENT ON COLUMN pgcredit.provision_matrix.computed_on IS 'the day the matrix was made for';
COMMENT ON COLUMN pgcredit.provision_matrix.computed_at IS 'when it was made';
REVOKE ALL ON pgcredit.provision_matrix FROM PUBLIC;
GRANT SELECT ON pgcredit.provision_matrix TO pgcredit_reader;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.provision_matrix', '');

CREATE FUNCTION pgcredit.set_provision_settings(method text, months int, forward_factor numeric, reason text)
RETURNS pgcredit.provision_settings LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  before pgcredit.provision_settings;
  after pgcredit.provision_settings;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  IF method IS NULL OR method NOT IN ('roll_rate', 'fixed') THEN
    RAISE EXCEPTION 'invalid provision method "%"', method USING ERRCODE = 'invalid_parameter_value',
      HINT = 'roll_rate takes the loss rates from the ledger''s history; fixed uses those of set_provision_rates().';
  END IF;
  IF months IS NULL OR months NOT BETWEEN 1 AND 120 THEN
    RAISE EXCEPTION 'months must be between 1 and 120' USING ERRCODE = 'invalid_parameter_value',
      DETAIL = format('months is %s.', coalesce(months::text, 'null'));
  END IF;
  IF forward_factor IS NULL OR forward_factor = 'NaN' OR forward_factor < 0 OR forward_factor > 100 THEN
    RAISE EXCEPTION 'forward_factor must be between 0 and 100' USING ERRCODE = 'invalid_parameter_value',
      DETAIL = format('forward_factor is %s.', coalesce(forward_factor::text, 'null')),
      HINT = '1 keeps the rates of the history; 1.2 expects 20 % more losses than it shows.';
  END IF;
  LOCK TABLE pgcredit.provision_settings IN SHARE ROW EXCLUSIVE MODE;
  before := pgcredit._provision_settings();
  INSERT INTO pgcredit.provision_settings AS s (one, method, months, forward_factor)
  VALUES (true, set_provision_settings.method, set_provision_settings.months, set_provision_settings.forward_factor)
  ON CONFLICT (one) DO UPDATE SET method = EXCLUDED.method, months = EXCLUDED.months,
                                  forward_factor = EXCLUDED.forward_factor
  RETURNING * INTO after;
  PERFORM pgcredit._audit('set_provision_settings', NULL, to_jsonb(before), to_jsonb(after), reason);
  RETURN after;
END
$$;
COMMENT ON FUNCTION pgcredit.set_provision_settings(text, integer, numeric, text) IS
  'how the provision matrix is made: roll_rate over months of history, or fixed rates; and the forward-looking factor; audited';
REVOKE EXECUTE ON FUNCTION pgcredit.set_provision_settings(text, integer, numeric, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.set_provision_settings(text, integer, numeric, text) TO pgcredit_controller;

CREATE FUNCTION pgcredit.set_provision_rates(current numeric, days_1_30 numeric, days_31_60 numeric,
                                             days_61_90 numeric, days_over_90 numeric, reason text)
RETURNS SETOF pgcredit.provision_rate LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  rates numeric[] := ARRAY[current, days_1_30, days_31_60, days_61_90, days_over_90];
  before jsonb;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  FOR i IN 1..5 LOOP
    IF rates[i] IS NULL OR rates[i] = 'NaN' OR rates[i] < 0 OR rates[i] > 1 THEN
      RAISE EXCEPTION 'a loss rate must be between 0 and 1' USING ERRCODE = 'invalid_parameter_value',
        DETAIL = format('The rate of band %s is %s.', (ARRAY['current', '1_30', '31_60', '61_90', 'over_90'])[i],
                        coalesce(rates[i]::text, 'null')),
        HINT = 'Give rates as fractions: 0.03 for 3 %.';
    END IF;
  END LOOP;
  SELECT jsonb_object_agg(r.band, r.loss_rate) INTO before FROM pgcredit.provision_rate r;
  DELETE FROM pgcredit.provision_rate;
  INSERT INTO pgcredit.provision_rate (band, loss_rate)
  SELECT b, rates[i] FROM unnest(ARRAY['current', '1_30', '31_60', '61_90', 'over_90']) WITH ORDINALITY AS x(b, i);
  PERFORM pgcredit._audit('set_provision_rates', NULL, before,
                          (SELECT jsonb_object_agg(r.band, r.loss_rate) FROM pgcredit.provision_rate r), reason);
  RETURN QUERY SELECT * FROM pgcredit.provision_rate r
               ORDER BY array_position(ARRAY['current', '1_30', '31_60', '61_90', 'over_90'], r.band);
END
$$;
COMMENT ON FUNCTION pgcredit.set_provision_rates(numeric, numeric, numeric, numeric, numeric, text) IS
  'the loss rate of each aging band (fractions, 0 to 1) for the fixed method; audited';
REVOKE EXECUTE ON FUNCTION pgcredit.set_provision_rates(numeric, numeric, numeric, numeric, numeric, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.set_provision_rates(numeric, numeric, numeric, numeric, numeric, text) TO pgcredit_controller;

-- The roll rates of the history before a day, item by item: for each
-- pair of month ends a month apart, what each aging band held at the
-- first and how much of that was, still open, in a later band at the
-- second; for the last band, the write-offs of the month (less the
-- recoveries in it).  An item's open amount on a day is that of
-- _receivable_items_sql(): none once paid, the invoice amount when paid
-- later, the open amount as it stands otherwise.
CREATE FUNCTION pgcredit.roll_rates(as_of date, months int)
RETURNS TABLE (band text, band_order int, balance numeric, rolled numeric, roll_rate numeric,
               loss_rate numeric, from_month_end date, to_month_end date)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET jit = off
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  PERFORM pgcredit._check_day(as_of);
  IF months IS NULL OR months NOT BETWEEN 1 AND 120 THEN
    RAISE EXCEPTION 'months must be between 1 and 120' USING ERRCODE = 'invalid_parameter_value',
      DETAIL = format('months is %s.', coalesce(months::text, 'null'));
  END IF;
  RETURN QUERY
  -- the month ends: the last one on or before the day (k = 0), and
  -- months more before it (k months back)
  WITH e AS (SELECT k, (date_trunc('month', as_of + 1) - make_interval(months => k) - interval '1 day')::date AS d
             FROM generate_series(0, months) k),
       i AS (SELECT a.amount, a.counts, a.due, a.invoice_amount, a.invoiced_on, a.paid_on
             FROM pgcredit._attached_items('receivables') a),
       -- each item at each month end k >= 1 and a month later (k - 1):
       -- its open amount and band at both
       o AS (SELECT e.k, e.d, n.d AS next_d, i.due,
                    CASE WHEN i.invoiced_on IS NULL OR i.invoiced_on <= e.d THEN
                      CASE WHEN i.paid_on <= e.d THEN NULL WHEN i.paid_on > e.d THEN i.invoice_amount
                           WHEN i.counts THEN i.amount END END AS open_then,
                    CASE WHEN i.invoiced_on IS NULL OR i.invoiced_on <= n.d THEN
                      CASE WHEN i.paid_on <= n.d THEN NULL WHEN i.paid_on > n.d THEN i.invoice_amount
                           WHEN i.counts THEN i.amount END END AS open_next
             FROM i CROSS JOIN e JOIN e n ON n.k = e.k - 1
             WHERE e.k >= 1),
       ob AS (SELECT o.k, o.open_then, o.open_next,
                     array_position(ARRAY['current', '1-30', '31-60', '61-90', '90+'],
                                    pgcredit.aging_bucket(o.due, o.d)) AS band_then,
                     array_position(ARRAY['current', '1-30', '31-60', '61-90', '90+'],
                                    pgcredit.aging_bucket(o.due, o.next_d)) AS band_next
              FROM o WHERE o.open_then > 0 AND o.due IS NOT NULL),
       r AS (SELECT ob.band_then AS pos, sum(ob.open_then) AS balance,
                    sum(ob.open_then) FILTER (WHERE ob.band_then < 5 AND ob.open_next > 0
                                              AND ob.band_next > ob.band_then) AS rolled
             FROM ob GROUP BY ob.band_then),
       -- net write-offs of each month, for the last band
       w AS (SELECT greatest(0, coalesce(sum(x.net), 0)) AS net FROM (
               SELECT o.amount AS net FROM pgcredit.write_off o
               WHERE o.written_off_on > (SELECT e.d FROM e WHERE e.k = months)
                 AND o.written_off_on <= (SELECT e.d FROM e WHERE e.k = 0)
               UNION ALL
               SELECT -c.amount FROM pgcredit.recovery c
               WHERE c.recovered_on > (SELECT e.d FROM e WHERE e.k = months)
                 AND c.recovered_on <= (SELECT e.d FROM e WHERE e.k = 0)) x),
       rr AS (SELECT p.pos, coalesce(r.balance, 0) AS balance,
                     CASE WHEN p.pos < 5 THEN coalesce(r.rolled, 0) ELSE (SELECT w.net FROM w) END AS rolled
              FROM generate_series(1, 5) p(pos) LEFT JOIN r ON r.pos = p.pos),
       rate AS (SELECT rr.pos, rr.balance, rr.rolled,
                       CASE WHEN rr.balance > 0 THEN least(1, round(rr.rolled / rr.balance, 6)) END AS rate
                FROM rr),
       a AS (SELECT array_agg(coalesce(rate.rate, 0) ORDER BY rate.pos) AS r FROM rate)
  SELECT (ARRAY['current', '1_30', '31_60', '61_90', 'over_90'])[x.pos], x.pos, round(x.balance, 2), round(x.rolled, 2),
         x.rate,
         -- the product of the rates from this band to a write-off
         round(CASE x.pos WHEN 1 THEN a.r[1] * a.r[2] * a.r[3] * a.r[4] * a.r[5]
                          WHEN 2 THEN a.r[2] * a.r[3] * a.r[4] * a.r[5]
                          WHEN 3 THEN a.r[3] * a.r[4] * a.r[5]
                          WHEN 4 THEN a.r[4] * a.r[5]
                          ELSE a.r[5] END, 6),
         (SELECT e.d FROM e WHERE e.k = months), (SELECT e.d FROM e WHERE e.k = 0)
  FROM rate x CROSS JOIN a ORDER BY x.pos;
END
$$;
COMMENT ON FUNCTION pgcredit.roll_rates(date, integer) IS
  'the roll rates of the ledger over the months before a day, item by item: for each aging band, its receivables at each month end summed, what of them was open in a later band a month later (for over 90 days: the write-offs of those months, less recoveries), the rate (at most 1, 6 decimals), and the loss rate (the product of the rates from the band to a write-off)';
REVOKE EXECUTE ON FUNCTION pgcredit.roll_rates(date, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.roll_rates(date, integer) TO pgcredit_reader;


CREATE FUNCTION pgcredit.refresh_provision_matrix(as_of date DEFAULT pgcredit.as_of())
RETURNS SETOF pgcredit.provision_matrix LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET jit = off
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  cfg pgcredit.provision_settings;
  before jsonb;
BEGIN
  PERFORM pgcredit._check_day(as_of);
  cfg := pgcredit._provision_settings();
  IF cfg.method = 'fixed' AND (SELECT count(*) FROM pgcredit.provision_rate) < 5 THEN
    RAISE EXCEPTION 'no fixed loss rates are set' USING ERRCODE = 'object_not_in_prerequisite_state',
      HINT = 'Set them with pgcredit.set_provision_rates(), or use the roll_rate method.';
  END IF;
  SELECT jsonb_object_agg(m.band, m.adjusted_rate) INTO before FROM pgcredit.provision_matrix m;
  LOCK TABLE pgcredit.provision_matrix IN EXCLUSIVE MODE;
  DELETE FROM pgcredit.provision_matrix;
  IF cfg.method = 'roll_rate' THEN
    INSERT INTO pgcredit.provision_matrix (band, band_order, balance, rolled, roll_rate, loss_rate, adjusted_rate,
                                           method, months, from_month_end, to_month_end, forward_factor, computed_on)
    SELECT r.band, r.band_order, r.balance, r.rolled, r.roll_rate, r.loss_rate,
           least(1, round(r.loss_rate * cfg.forward_factor, 6)), 'roll_rate', cfg.months,
           r.from_month_end, r.to_month_end, cfg.forward_factor, as_of
    FROM pgcredit.roll_rates(as_of, cfg.months) r;
  ELSE
    INSERT INTO pgcredit.provision_matrix (band, band_order, loss_rate, adjusted_rate, method, forward_factor, computed_on)
    SELECT p.band, array_position(ARRAY['current', '1_30', '31_60', '61_90', 'over_90'], p.band), p.loss_rate,
           least(1, round(p.loss_rate * cfg.forward_factor, 6)), 'fixed', cfg.forward_factor, as_of
    FROM pgcredit.provision_rate p;
  END IF;
  PERFORM pgcredit._audit('refresh_provision_matrix', NULL, before,
                          (SELECT jsonb_object_agg(m.band, m.adjusted_rate) FROM pgcredit.provision_matrix m),
                          format('%s as of %s', cfg.method, to_char(as_of, 'YYYY-MM-DD')));
  RETURN QUERY SELECT * FROM pgcredit.provision_matrix m ORDER BY m.band_order;
END
$$;
COMMENT ON FUNCTION pgcredit.refresh_provision_matrix(date) IS
  'make the provision matrix for a day as provision_settings says (roll rates over the months before it, or the fixed rates), times the forward-looking factor, into provision_matrix; audited';
REVOKE EXECUTE ON FUNCTION pgcredit.refresh_provision_matrix(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.refresh_provision_matrix(date) TO pgcredit_controller;

-- The provision of each customer on a day: its receivables in each band
-- (receivable_stats(), from the kept book when it holds) times the
-- matrix's rates
CREATE FUNCTION pgcredit.expected_credit_loss_at(day date)
RETURNS TABLE (customer text, receivables numeric, provision_current numeric, provision_1_30 numeric,
               provision_31_60 numeric, provision_61_90 numeric, provision_over_90 numeric,
               provision numeric, coverage_pct numeric, day date)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  WITH m AS (SELECT max(adjusted_rate) FILTER (WHERE band = 'current') AS r1,
                    max(adjusted_rate) FILTER (WHERE band = '1_30') AS r2,
                    max(adjusted_rate) FILTER (WHERE band = '31_60') AS r3,
                    max(adjusted_rate) FILTER (WHERE band = '61_90') AS r4,
                    max(adjusted_rate) FILTER (WHERE band = 'over_90') AS r5
             FROM pgcredit.provision_matrix),
       p AS (SELECT s.customer, s.receivables, s.current * m.r1 AS p1, s.days_1_30 * m.r2 AS p2,
                    s.days_31_60 * m.r3 AS p3, s.days_61_90 * m.r4 AS p4, s.days_over_90 * m.r5 AS p5
             FROM pgcredit.receivable_stats($1) s CROSS JOIN m)
  SELECT p.customer, round(p.receivables, 2), round(p.p1, 2), round(p.p2, 2), round(p.p3, 2), round(p.p4, 2),
         round(p.p5, 2), round(p.p1 + p.p2 + p.p3 + p.p4 + p.p5, 2),
         CASE WHEN p.receivables > 0 THEN round((p.p1 + p.p2 + p.p3 + p.p4 + p.p5) * 100 / p.receivables, 2) END,
         $1
  FROM p
$$;
COMMENT ON FUNCTION pgcredit.expected_credit_loss_at(date) IS
  'the rows of expected_credit_loss on any day';
REVOKE EXECUTE ON FUNCTION pgcredit.expected_credit_loss_at(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.expected_credit_loss_at(date) TO pgcredit_reader;

CREATE VIEW pgcredit.expected_credit_loss AS
SELECT * FROM pgcredit.expected_credit_loss_at(pgcredit.as_of());
COMMENT ON VIEW pgcredit.expected_credit_loss IS 'the loss allowance of each customer with receivables, today (IFRS 9 simplified approach): its receivables in each aging band times the provision matrix''s rates; NULL provisions until refresh_provision_matrix() made a matrix';
COMMENT ON COLUMN pgcredit.expected_credit_loss.customer IS 'customer key';
COMMENT ON COLUMN pgcredit.expected_credit_loss.receivables IS 'open receivables on the day';
COMMENT ON COLUMN pgcredit.expected_credit_loss.provision_current IS 'the provision of the receivables not yet due';
COMMENT ON COLUMN pgcredit.expected_credit_loss.provision_1_30 IS 'of those 1-30 days past due';
COMMENT ON COLUMN pgcredit.expected_credit_loss.provision_31_60 IS 'of those 31-60 days past due';
COMMENT ON COLUMN pgcredit.expected_credit_loss.provision_61_90 IS 'of those 61-90 days past due';
COMMENT ON COLUMN pgcredit.expected_credit_loss.provision_over_90 IS 'of those over 90 days past due';
COMMENT ON COLUMN pgcredit.expected_credit_loss.provision IS 'the customer''s loss allowance, the sum of its bands'' (each band''s amount times its rate, rounded once here)';
COMMENT ON COLUMN pgcredit.expected_credit_loss.coverage_pct IS 'provision as a percentage of receivables';
COMMENT ON COLUMN pgcredit.expected_credit_loss.day IS 'the day the row describes';
REVOKE ALL ON pgcredit.expected_credit_loss FROM PUBLIC;
GRANT SELECT ON pgcredit.expected_credit_loss TO pgcredit_reader;

-- The book's provision by band on a day
CREATE FUNCTION pgcredit.provision_at(day date)
RETURNS TABLE (band text, receivables numeric, loss_rate numeric, provision numeric, day date)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  WITH p AS (SELECT * FROM pgcredit.portfolio_stats($1)),
       b AS (SELECT x.band, x.band_order, x.amount
             FROM p CROSS JOIN LATERAL (VALUES ('current', 1, p.current), ('1_30', 2, p.days_1_30),
                                               ('31_60', 3, p.days_31_60), ('61_90', 4, p.days_61_90),
                                               ('over_90', 5, p.days_over_90)) x(band, band_order, amount))
  SELECT b.band, round(b.amount, 2), m.adjusted_rate, round(b.amount * m.adjusted_rate, 2), $1
  FROM b LEFT JOIN pgcredit.provision_matrix m ON m.band = b.band
  ORDER BY b.band_order
$$;
COMMENT ON FUNCTION pgcredit.provision_at(date) IS 'the rows of provision on any day';
REVOKE EXECUTE ON FUNCTION pgcredit.provision_at(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.provision_at(date) TO pgcredit_reader;

CREATE VIEW pgcredit.provision AS
SELECT * FROM pgcredit.provision_at(pgcredit.as_of());
COMMENT ON VIEW pgcredit.provision IS 'the whole book''s loss allowance by aging band, today: the receivables of the band, the matrix''s rate, the provision';
COMMENT ON COLUMN pgcredit.provision.band IS 'current, 1_30, 31_60, 61_90 or over_90';
COMMENT ON COLUMN pgcredit.provision.receivables IS 'the book''s receivables in the band';
COMMENT ON COLUMN pgcredit.provision.loss_rate IS 'the provision matrix''s rate (adjusted by the forward-looking factor)';
COMMENT ON COLUMN pgcredit.provision.provision IS 'receivables times the rate';
COMMENT ON COLUMN pgcredit.provision.day IS 'the day the row describes';
REVOKE ALL ON pgcredit.provision FROM PUBLIC;
GRANT SELECT ON pgcredit.provision TO pgcredit_reader;
