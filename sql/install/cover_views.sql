-- Cover: insured and uninsured exposure per customer and for the book, and the cover alerts

----------------------------------------------------------------------
-- Cover: what each cover is worth on a day, per customer and per book
----------------------------------------------------------------------

-- Insuring covers of one customer stack in the order they were recorded
-- (by id): the first takes the exposure up to its amount, the next the
-- exposure above that up to its own, and so on.  Of the exposure a cover
-- takes, it pays its share less its deductible (never below 0).
CREATE FUNCTION pgcredit.cover_at(day date, for_customer text)
RETURNS TABLE (cover bigint, customer text, kind text, issuer text, amount numeric, share_pct numeric,
               deductible numeric, valid_from date, valid_until date, decision text,
               counted numeric, insured_limit numeric, insured_exposure numeric)
LANGUAGE plpgsql STABLE
SUPPORT pgcredit._customer_support
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  -- the exposure: this node's, the workers' on the coordinator of a Citus
  -- cluster with distributed tables attached (doc/citus.md)
  exposure_source text := CASE WHEN cardinality(pgcredit._citus_shells()) > 0
                               THEN 'pgcredit._citus_exposure_at(current_date, $2)' ELSE 'pgcredit.exposure' END;
BEGIN
  -- planned at each call with its values: one customer's covers are
  -- found through the customer index, every customer's with a scan
  RETURN QUERY EXECUTE 'SELECT c.id, c.customer, c.kind, c.issuer, c.amount, c.share_pct, c.deductible, c.valid_from, c.valid_until,
         c.decision,
         CASE WHEN p.counts THEN pg_catalog.trim_scale(round(pgcredit._cover_value(c.amount, c.share_pct, c.deductible) * p.counted_pct / 100, 2))
              ELSE 0 END,
         CASE WHEN p.insures THEN c.amount ELSE 0 END,
         CASE WHEN p.insures THEN
           pgcredit._cover_value(greatest(least(coalesce(e.receivables + e.open_orders, 0)
                                                - coalesce(sum(c.amount) FILTER (WHERE p.insures)
                                                    OVER (PARTITION BY c.customer ORDER BY c.id
                                                          ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0),
                                                c.amount), 0),
                                 c.share_pct, c.deductible)
         ELSE 0 END
  FROM pgcredit.cover c
  JOIN pgcredit.cover_policy_in_force p ON p.kind = c.kind
  LEFT JOIN ' || exposure_source || ' e ON e.customer = c.customer
  WHERE c.decision IN (''granted'', ''reduced'') AND c.ended_at IS NULL
    AND c.valid_from <= $1 AND (c.valid_until IS NULL OR c.valid_until >= $1)
    AND ($2 IS NULL OR c.customer = $2)
  ORDER BY c.customer, c.id'
  USING day, for_customer;
END
$$;
COMMENT ON FUNCTION pgcredit.cover_at(date, text) IS
  'the covers (of one customer; every customer''s when NULL) in force on a day (granted or reduced, valid, not ended), each with what it adds to the limit (counted), its insured limit and the part of the customer''s current exposure it insures';
REVOKE EXECUTE ON FUNCTION pgcredit.cover_at(date, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.cover_at(date, text) TO pgcredit_reader;

CREATE FUNCTION pgcredit.cover_at(day date)
RETURNS TABLE (cover bigint, customer text, kind text, issuer text, amount numeric, share_pct numeric,
               deductible numeric, valid_from date, valid_until date, decision text,
               counted numeric, insured_limit numeric, insured_exposure numeric)
LANGUAGE sql STABLE
SUPPORT pgcredit._customer_support
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$ SELECT * FROM pgcredit.cover_at($1, NULL) $$;
COMMENT ON FUNCTION pgcredit.cover_at(date) IS
  'the covers in force on a day (granted or reduced, valid, not ended), each with what it adds to the limit (counted), its insured limit and the part of the customer''s current exposure it insures: cover_at(day, NULL)';
REVOKE EXECUTE ON FUNCTION pgcredit.cover_at(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.cover_at(date) TO pgcredit_reader;

CREATE FUNCTION pgcredit.customer_cover_at(day date)
RETURNS TABLE (customer text, exposure numeric, credit_limit numeric, cover_counted numeric,
               effective_limit numeric, insured_limit numeric, insured_exposure numeric,
               uninsured_exposure numeric, above_insured_limit numeric)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  WITH c AS (SELECT x.customer, sum(x.counted) AS counted, sum(x.insured_limit) AS insured_limit,
                    sum(x.insured_exposure) AS insured_exposure
             FROM pgcredit.cover_at($1) x GROUP BY x.customer),
  k AS (SELECT a.customer FROM pgcredit.account a UNION SELECT c.customer FROM c),
  f AS (SELECT k.customer, coalesce(e.receivables + e.open_orders, 0) AS exposure,
               -- pgcredit._effective_limit(), inlined: a call a customer otherwise
               CASE WHEN a.temporary_limit IS NOT NULL AND $1 <= a.temporary_until
                         AND (a.temporary_from IS NULL OR $1 >= a.temporary_from)
                    THEN a.temporary_limit ELSE a.credit_limit END AS credit_limit,
               coalesce(c.counted, 0) AS counted, coalesce(c.insured_limit, 0) AS insured_limit,
               coalesce(c.insured_exposure, 0) AS insured_exposure
        FROM k LEFT JOIN pgcredit.account a ON a.customer = k.customer
        -- the exposure: this node's, the workers' on the coordinator of a
        -- Citus cluster with distributed tables attached (doc/citus.md)
        LEFT JOIN (SELECT x.customer, x.receivables, x.open_orders FROM pgcredit.exposure x
                   WHERE cardinality(pgcredit._citus_shells()) = 0
                   UNION ALL
                   SELECT w.customer, w.receivables, w.open_orders FROM pgcredit._citus_exposure_at(current_date, NULL) w
                   WHERE cardinality(pgcredit._citus_shells()) > 0) e ON e.customer = k.customer
        LEFT JOIN c ON c.customer = k.customer)
  SELECT f.customer, f.exposure, f.credit_limit, f.counted, f.credit_limit + f.counted, f.insured_limit,
         f.insured_exposure, f.exposure - f.insured_exposure,
         CASE WHEN f.insured_limit > 0 THEN greatest(f.exposure - f.insured_limit, 0) END
  FROM f
  ORDER BY f.customer
$$;
COMMENT ON FUNCTION pgcredit.customer_cover_at(date) IS
  'per customer with an account or cover, on a day: exposure, limit in force, cover counted, effective limit, insured limit, insured and uninsured exposure, and the exposure above the insured limit';
REVOKE EXECUTE ON FUNCTION pgcredit.customer_cover_at(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.customer_cover_at(date) TO pgcredit_reader;

CREATE VIEW pgcredit.customer_cover AS
  SELECT x.customer, x.exposure, x.credit_limit, x.cover_counted, x.effective_limit, x.insured_limit,
         x.insured_exposure, x.uninsured_exposure, x.above_insured_limit, pgcredit.as_of() AS day
  FROM pgcredit.customer_cover_at(pgcredit.as_of()) x;
COMMENT ON VIEW pgcredit.customer_cover IS
  'per customer, on pgcredit.as_of(): exposure, limit, cover counted and effective limit; insured limit, insured and uninsured exposure (see doc/accounts.md, "Cover")';
COMMENT ON COLUMN pgcredit.customer_cover.customer IS 'customer key';
COMMENT ON COLUMN pgcredit.customer_cover.exposure IS 'receivables + open orders, now';
COMMENT ON COLUMN pgcredit.customer_cover.credit_limit IS 'the account''s own limit in force that day (temporary limit within its window); NULL: none';
COMMENT ON COLUMN pgcredit.customer_cover.cover_counted IS 'the cover that counts towards the limit that day (cover_policy)';
COMMENT ON COLUMN pgcredit.customer_cover.effective_limit IS 'credit_limit + cover_counted, the limit the guard applies; NULL without an own limit';
COMMENT ON COLUMN pgcredit.customer_cover.insured_limit IS 'the sum of the insuring covers'' amounts (the limits the insurers grant)';
COMMENT ON COLUMN pgcredit.customer_cover.insured_exposure IS 'what the insurers would pay on the exposure: of each layer up to its limit, its share less its deductible';
COMMENT ON COLUMN pgcredit.customer_cover.uninsured_exposure IS 'exposure - insured_exposure';
COMMENT ON COLUMN pgcredit.customer_cover.above_insured_limit IS 'the exposure above the insured limit, which no insurer covers; NULL for a customer without insurance';
COMMENT ON COLUMN pgcredit.customer_cover.day IS 'the day the row describes: pgcredit.as_of(), today unless set';
REVOKE ALL ON pgcredit.customer_cover FROM PUBLIC;
GRANT SELECT ON pgcredit.customer_cover TO pgcredit_reader;

-- the book's covers on any day; plain SQL, so that it is planned inline
CREATE FUNCTION pgcredit.cover_book_at(as_of date)
RETURNS TABLE (kind text, issuer text, covers bigint, customers bigint, amount numeric, counted numeric,
               insured_exposure numeric, day date)
LANGUAGE sql STABLE
AS $$
  SELECT x.kind, x.issuer, count(*), count(DISTINCT x.customer), sum(x.amount), sum(x.counted),
         sum(x.insured_exposure), $1
  FROM pgcredit.cover_at($1) x
  GROUP BY x.kind, x.issuer
  ORDER BY x.kind, x.issuer
$$;
COMMENT ON FUNCTION pgcredit.cover_book_at(date) IS 'the rows of cover_book on any day';
REVOKE EXECUTE ON FUNCTION pgcredit.cover_book_at(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.cover_book_at(date) TO pgcredit_reader;

CREATE VIEW pgcredit.cover_book AS
  SELECT * FROM pgcredit.cover_book_at(pgcredit.as_of());
COMMENT ON VIEW pgcredit.cover_book IS 'the covers in force on pgcredit.as_of(), by kind and issuer: how many, for how many customers, their amounts, what counts towards limits and the exposure insured';
COMMENT ON COLUMN pgcredit.cover_book.kind IS 'kind of cover';
COMMENT ON COLUMN pgcredit.cover_book.issuer IS 'insurer, bank or holder';
COMMENT ON COLUMN pgcredit.cover_book.covers IS 'covers in force';
COMMENT ON COLUMN pgcredit.cover_book.customers IS 'customers they cover';
COMMENT ON COLUMN pgcredit.cover_book.amount IS 'sum of their amounts (insured limits for credit insurance)';
COMMENT ON COLUMN pgcredit.cover_book.counted IS 'sum of what they add to the customers'' limits';
COMMENT ON COLUMN pgcredit.cover_book.insured_exposure IS 'sum of the exposure they insure (share less deductible)';
COMMENT ON COLUMN pgcredit.cover_book.day IS 'the day the row describes: pgcredit.as_of(), today unless set';
REVOKE ALL ON pgcredit.cover_book FROM PUBLIC;
GRANT SELECT ON pgcredit.cover_book TO pgcredit_reader;

-- refresh_scores() raises them with its own alerts
CREATE FUNCTION pgcredit._cover_alerts(as_of date)
RETURNS bigint LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  raised bigint;
BEGIN
  -- without a cover, nothing ends and nothing is insured
  IF NOT EXISTS (SELECT FROM pgcredit.cover) THEN
    RETURN 0;
  END IF;
  WITH ev AS (
    -- a cover ending within its kind's notice, once per cover and last day
    SELECT 'cover_expiring' AS kind, x.customer,
           jsonb_build_object('cover', x.cover, 'cover_kind', x.kind, 'issuer', x.issuer, 'amount', x.amount,
                              'valid_until', x.valid_until) AS details
    FROM pgcredit.cover_at(_cover_alerts.as_of) x JOIN pgcredit.cover_policy_in_force p ON p.kind = x.kind
    WHERE x.valid_until <= _cover_alerts.as_of + p.notice_days
      AND NOT EXISTS (SELECT FROM pgcredit.alert a
                      WHERE a.kind = 'cover_expiring' AND a.customer = x.customer
                        AND (a.details ->> 'cover')::bigint = x.cover
                        AND (a.details ->> 'valid_until')::date = x.valid_until)
    UNION ALL
    -- exposure above the insured limit, once a day while it lasts
    SELECT 'exposure_uninsured', c.customer,
           jsonb_build_object('exposure', c.exposure, 'insured_limit', c.insured_limit,
                              'above_insured_limit', c.above_insured_limit)
    FROM pgcredit.customer_cover_at(_cover_alerts.as_of) c
    WHERE c.above_insured_limit > 0
      AND NOT EXISTS (SELECT FROM pgcredit.alert a
                      WHERE a.kind = 'exposure_uninsured' AND a.customer = c.customer
                        AND (a.details ->> 'as_of')::date = _cover_alerts.as_of))
  INSERT INTO pgcredit.alert (kind, customer, details)
  SELECT ev.kind, ev.customer, ev.details || jsonb_build_object('as_of', _cover_alerts.as_of)
  FROM ev ORDER BY ev.customer, ev.kind, ev.details ->> 'cover';
  GET DIAGNOSTICS raised = ROW_COUNT;
  RETURN raised;
END
$$;
COMMENT ON FUNCTION pgcredit._cover_alerts(date) IS
  'for refresh_scores(): alerts for covers ending within their kind''s notice_days (cover_expiring, once per cover and last day) and for exposure above the insured limit (exposure_uninsured, once a day while it lasts); returns how many';
REVOKE EXECUTE ON FUNCTION pgcredit._cover_alerts(date) FROM PUBLIC;
