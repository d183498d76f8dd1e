-- Foresight: customers' financial statements, their ratios and the
-- Altman Z'' score (doc/foresight.md, "Financial statements")

CREATE TABLE pgcredit.financial_statement (
  customer             text NOT NULL CONSTRAINT customer_key_length CHECK (octet_length(customer) <= 1000),
  fiscal_year_end      date NOT NULL
                       CONSTRAINT financial_year_end CHECK (fiscal_year_end > '-infinity' AND fiscal_year_end < 'infinity'),
  currency             text CONSTRAINT financial_currency CHECK (currency ~ '^[A-Z]{3}$'),
  revenue              numeric CONSTRAINT financial_revenue CHECK (revenue >= 0 AND revenue < 'Infinity'),
  ebit                 numeric NOT NULL CONSTRAINT financial_ebit CHECK (ebit > '-Infinity' AND ebit < 'Infinity'),
  net_income           numeric CONSTRAINT financial_net_income CHECK (net_income > '-Infinity' AND net_income < 'Infinity'),
  current_assets       numeric NOT NULL CONSTRAINT financial_current_assets CHECK (current_assets >= 0 AND current_assets < 'Infinity'),
  current_liabilities  numeric NOT NULL
                       CONSTRAINT financial_current_liabilities CHECK (current_liabilities >= 0 AND current_liabilities < 'Infinity'),
  total_assets         numeric NOT NULL CONSTRAINT financial_total_assets CHECK (total_assets > 0 AND total_assets < 'Infinity'),
  total_liabilities    numeric NOT NULL
                       CONSTRAINT financial_total_liabilities CHECK (total_liabilities >= 0 AND total_liabilities < 'Infinity'),
  retained_earnings    numeric NOT NULL
                       CONSTRAINT financial_retained_earnings CHECK (retained_earnings > '-Infinity' AND retained_earnings < 'Infinity'),
  equity               numeric NOT NULL CONSTRAINT financial_equity CHECK (equity > '-Infinity' AND equity < 'Infinity'),
  import_run           bigint DEFAULT NULLIF(pg_catalog.current_setting('pgcredit.import_run', true), '')::bigint,
  loaded_at            timestamptz NOT NULL DEFAULT pg_catalog.now(),
  PRIMARY KEY (customer, fiscal_year_end),
  CONSTRAINT financial_current_within_total CHECK (current_assets <= total_assets AND current_liabilities <= total_liabilities)
);
COMMENT ON TABLE pgcredit.financial_statement IS 'customers'' yearly figures (balance sheet and income statement), one row per customer and fiscal year end; loaded with load_csv by controllers';
COMMENT ON COLUMN pgcredit.financial_statement.customer IS 'customer key as text, as in pgcredit.account';
COMMENT ON COLUMN pgcredit.financial_statement.fiscal_year_end IS 'the last day of the fiscal year the figures are of';
COMMENT ON COLUMN pgcredit.financial_statement.currency IS 'the currency of the figures (ISO 4217), for the reader: ratios do not depend on it';
COMMENT ON COLUMN pgcredit.financial_statement.revenue IS 'revenue (sales) of the year';
COMMENT ON COLUMN pgcredit.financial_statement.ebit IS 'earnings before interest and taxes of the year';
COMMENT ON COLUMN pgcredit.financial_statement.net_income IS 'net income of the year';
COMMENT ON COLUMN pgcredit.financial_statement.current_assets IS 'current assets at the year end';
COMMENT ON COLUMN pgcredit.financial_statement.current_liabilities IS 'current liabilities at the year end';
COMMENT ON COLUMN pgcredit.financial_statement.total_assets IS 'total assets at the year end, above zero';
COMMENT ON COLUMN pgcredit.financial_statement.total_liabilities IS 'total liabilities at the year end';
COMMENT ON COLUMN pgcredit.financial_statement.retained_earnings IS 'retained earnings at the year end';
COMMENT ON COLUMN pgcredit.financial_statement.equity IS 'book value of equity at the year end';
COMMENT ON COLUMN pgcredit.financial_statement.import_run IS 'the CSV load that brought the row, if any';
COMMENT ON COLUMN pgcredit.financial_statement.loaded_at IS 'when the row was stored';
REVOKE ALL ON pgcredit.financial_statement FROM PUBLIC;
GRANT SELECT ON pgcredit.financial_statement TO pgcredit_reader;
GRANT INSERT, UPDATE, DELETE ON pgcredit.financial_statement TO pgcredit_controller;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.financial_statement', '');

-- Altman's Z'' for private firms (Altman 1995): 6.56 X1 + 3.26 X2 +
-- 6.72 X3 + 1.05 X4, with X1 working capital, X2 retained earnings and X3
-- EBIT over total assets, X4 book equity over total liabilities
CREATE FUNCTION pgcredit.altman_z2(current_assets numeric, current_liabilities numeric, retained_earnings numeric,
                                   ebit numeric, equity numeric, total_assets numeric, total_liabilities numeric)
RETURNS numeric LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT CASE WHEN $6 > 0 AND $7 > 0 THEN
    round(6.56 * ($1 - $2) / $6 + 3.26 * $3 / $6 + 6.72 * $4 / $6 + 1.05 * $5 / $7, 4) END
$$;
COMMENT ON FUNCTION pgcredit.altman_z2(numeric, numeric, numeric, numeric, numeric, numeric, numeric) IS
  'Altman''s Z'''' score for private firms, 6.56 X1 + 3.26 X2 + 6.72 X3 + 1.05 X4 (X1 = (current assets - current liabilities) / total assets, X2 = retained earnings / total assets, X3 = EBIT / total assets, X4 = equity / total liabilities), to 4 decimals; NULL without total assets or liabilities above zero';
REVOKE EXECUTE ON FUNCTION pgcredit.altman_z2(numeric, numeric, numeric, numeric, numeric, numeric, numeric) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.altman_z2(numeric, numeric, numeric, numeric, numeric, numeric, numeric) TO pgcredit_reader;

CREATE FUNCTION pgcredit.altman_zone(z numeric)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT CASE WHEN $1 IS NULL THEN NULL WHEN $1 > 2.60 THEN 'safe' WHEN $1 < 1.10 THEN 'distress' ELSE 'grey' END $$;
COMMENT ON FUNCTION pgcredit.altman_zone(numeric) IS
  'the zone of a Z'''' score: safe above 2.60, distress below 1.10, grey between';
REVOKE EXECUTE ON FUNCTION pgcredit.altman_zone(numeric) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.altman_zone(numeric) TO pgcredit_reader;

-- The usual ratios of every statement, and Z''
CREATE VIEW pgcredit.financial_ratios AS
SELECT f.customer, f.fiscal_year_end,
       round(f.current_assets / nullif(f.current_liabilities, 0), 4) AS current_ratio,
       round(f.total_liabilities / f.total_assets, 4) AS debt_ratio,
       CASE WHEN f.equity > 0 THEN round(f.total_liabilities / f.equity, 4) END AS debt_to_equity,
       round(f.net_income / f.total_assets, 4) AS return_on_assets,
       CASE WHEN f.equity > 0 THEN round(f.net_income / f.equity, 4) END AS return_on_equity,
       round(f.ebit / nullif(f.revenue, 0), 4) AS ebit_margin,
       round((f.current_assets - f.current_liabilities) / f.total_assets, 4) AS x1_working_capital,
       round(f.retained_earnings / f.total_assets, 4) AS x2_retained_earnings,
       round(f.ebit / f.total_assets, 4) AS x3_ebit,
       round(f.equity / nullif(f.total_liabilities, 0), 4) AS x4_equity_to_liabilities,
       z.z AS z_score, pgcredit.altman_zone(z.z) AS zone
FROM pgcredit.financial_statement f
CROSS JOIN LATERAL (SELECT pgcredit.altman_z2(f.current_assets, f.current_liabilities, f.retained_earnings, f.ebit,
                                              f.equity, f.total_assets, f.total_liabilities) AS z) z;
COMMENT ON VIEW pgcredit.financial_ratios IS 'per customer and fiscal year: liquidity (current ratio), leverage (debt ratio, debt to equity), profitability (return on assets and equity, EBIT margin), the four parts of Altman''s Z'''' and the score with its zone';
COMMENT ON COLUMN pgcredit.financial_ratios.customer IS 'customer key';
COMMENT ON COLUMN pgcredit.financial_ratios.fiscal_year_end IS 'the fiscal year end of the statement';
COMMENT ON COLUMN pgcredit.financial_ratios.current_ratio IS 'current assets / current liabilities (NULL without current liabilities)';
COMMENT ON COLUMN pgcredit.financial_ratios.debt_ratio IS 'total liabilities / total assets';
COMMENT ON COLUMN pgcredit.financial_ratios.debt_to_equity IS 'total liabilities / equity (NULL when equity is not above zero)';
COMMENT ON COLUMN pgcredit.financial_ratios.return_on_assets IS 'net income / total assets';
COMMENT ON COLUMN pgcredit.financial_ratios.return_on_equity IS 'net income / equity (NULL when equity is not above zero)';
COMMENT ON COLUMN pgcredit.financial_ratios.ebit_margin IS 'EBIT / revenue (NULL without revenue)';
COMMENT ON COLUMN pgcredit.financial_ratios.x1_working_capital IS 'Z'''' X1: (current assets - current liabilities) / total assets';
COMMENT ON COLUMN pgcredit.financial_ratios.x2_retained_earnings IS 'Z'''' X2: retained earnings / total assets';
COMMENT ON COLUMN pgcredit.financial_ratios.x3_ebit IS 'Z'''' X3: EBIT / total assets';
COMMENT ON COLUMN pgcredit.financial_ratios.x4_equity_to_liabilities IS 'Z'''' X4: equity / total liabilities (NULL without liabilities)';
COMMENT ON COLUMN pgcredit.financial_ratios.z_score IS 'Altman''s Z'''' = 6.56 X1 + 3.26 X2 + 6.72 X3 + 1.05 X4, computed from the figures (not from the rounded parts), to 4 decimals';
COMMENT ON COLUMN pgcredit.financial_ratios.zone IS 'safe (above 2.60), grey, or distress (below 1.10)';
REVOKE ALL ON pgcredit.financial_ratios FROM PUBLIC;
GRANT SELECT ON pgcredit.financial_ratios TO pgcredit_reader;

-- Each customer's financial score on a day: the Z'' of its latest
-- statement of the 24 months before, 25 points a unit from 0 to 100 (the
-- distress line of 1.10 is 27.5, the safe line of 2.60 65)
CREATE FUNCTION pgcredit.financial_score_now(as_of date, for_customer text)
RETURNS TABLE (customer text, fiscal_year_end date, z_score numeric, zone text, scaled_score numeric)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT DISTINCT ON (f.customer) f.customer, f.fiscal_year_end, z.z, pgcredit.altman_zone(z.z),
         greatest(0, least(100, round(z.z * 25, 2)))
  FROM pgcredit.financial_statement f
  CROSS JOIN LATERAL (SELECT pgcredit.altman_z2(f.current_assets, f.current_liabilities, f.retained_earnings,
                                                f.ebit, f.equity, f.total_assets, f.total_liabilities) AS z) z
  WHERE f.fiscal_year_end <= $1 AND f.fiscal_year_end > ($1 - interval '24 months')::date
    AND ($2 IS NULL OR f.customer = $2) AND z.z IS NOT NULL
  ORDER BY f.customer, f.fiscal_year_end DESC
$$;
COMMENT ON FUNCTION pgcredit.financial_score_now(date, text) IS
  'each customer''s (one customer''s; every customer''s when NULL) financial score on a day: Altman''s Z'''' of its latest financial statement with a fiscal year end in the 24 months up to the day, its zone, and the score brought to 0-100 (25 points a unit)';
REVOKE EXECUTE ON FUNCTION pgcredit.financial_score_now(date, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.financial_score_now(date, text) TO pgcredit_reader;

CREATE FUNCTION pgcredit._combine(behavioural numeric, external numeric, utilisation_pct numeric, financial numeric,
                                  w_behaviour numeric, w_external numeric, w_utilisation numeric,
                                  w_financial numeric)
RETURNS numeric LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  -- the weighted parts over the weights of the parts that are known, as
  -- _combine() of three parts, with the financial score a fourth
  SELECT CASE WHEN (CASE WHEN $1 IS NULL THEN 0 ELSE $5 END + CASE WHEN $2 IS NULL THEN 0 ELSE $6 END
                    + CASE WHEN $3 IS NULL THEN 0 ELSE $7 END + CASE WHEN $4 IS NULL THEN 0 ELSE $8 END) > 0
              THEN round((CASE WHEN $1 IS NULL THEN 0 ELSE $5 * $1 END
                          + CASE WHEN $2 IS NULL THEN 0 ELSE $6 * $2 END
                          + CASE WHEN $3 IS NULL THEN 0 ELSE $7 * greatest(0, least(100, 100 - $3)) END
                          + CASE WHEN $4 IS NULL THEN 0 ELSE $8 * $4 END)
                         / (CASE WHEN $1 IS NULL THEN 0 ELSE $5 END + CASE WHEN $2 IS NULL THEN 0 ELSE $6 END
                            + CASE WHEN $3 IS NULL THEN 0 ELSE $7 END + CASE WHEN $4 IS NULL THEN 0 ELSE $8 END), 2) END
$$;
COMMENT ON FUNCTION pgcredit._combine(numeric, numeric, numeric, numeric, numeric, numeric, numeric, numeric) IS
  'the combined score with the weights given, the financial score a fourth part: inlined where a view scores many customers';
REVOKE EXECUTE ON FUNCTION pgcredit._combine(numeric, numeric, numeric, numeric, numeric, numeric, numeric, numeric) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit._combine(numeric, numeric, numeric, numeric, numeric, numeric, numeric, numeric) TO pgcredit_reader;

CREATE FUNCTION pgcredit.combined_score(behavioural numeric, external numeric, utilisation_pct numeric, financial numeric)
RETURNS numeric LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT pgcredit._combine($1, $2, $3, $4, s.weight_behaviour, s.weight_external, s.weight_utilisation,
                           s.weight_financial)
  FROM pgcredit._settings_or_default() s
$$;
COMMENT ON FUNCTION pgcredit.combined_score(numeric, numeric, numeric, numeric) IS
  'the combined score of the views and refresh_scores(): the weighted mean of the behavioural score, the external score, 100 minus utilisation (capped to 0-100) and the financial score, over the parts known, with risk_settings weights';
REVOKE EXECUTE ON FUNCTION pgcredit.combined_score(numeric, numeric, numeric, numeric) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.combined_score(numeric, numeric, numeric, numeric) TO pgcredit_reader;
