-- exposure_over_limit: how far exposure exceeds the limit plus tolerance.

SELECT exposure, credit_limit, tolerance_pct,
       pgcredit.exposure_over_limit(exposure, credit_limit, tolerance_pct) AS over
FROM (VALUES (1000.00, 1000.00, 0),      -- at the limit: within it
             (1000.01, 1000.00, 0),      -- one cent over
             (1100, 1000, 10),           -- at limit + 10 %: within it
             (1100.01, 1000, 10),        -- one cent over limit + 10 %
             (1500, 1000, 12.5),         -- 1500 - 1125
             (-200, 1000, 0),            -- a customer in credit
             (50, 0, 0),                 -- a zero limit allows nothing
             (0, 0, 0)) AS t(exposure, credit_limit, tolerance_pct);

-- Without a tolerance; NULL limit (none set) gives NULL.
SELECT pgcredit.exposure_over_limit(2500, 2000) AS over,
       pgcredit.exposure_over_limit(2500, NULL) IS NULL AS no_limit,
       pgcredit.exposure_over_limit(NULL, 2000) IS NULL AS no_exposure,
       pgcredit.exposure_over_limit(2500, 2000, NULL) IS NULL AS no_tolerance;

-- Large amounts keep every cent.
SELECT pgcredit.exposure_over_limit(123456789012345678901234.56, 123456789012345678901234.55) AS one_cent;

-- Bad input.
SELECT pgcredit.exposure_over_limit(100, -1);
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.exposure_over_limit(100, 1000, -5);
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.exposure_over_limit('NaN', 1000);
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.exposure_over_limit(100, 'Infinity');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.exposure_over_limit(100, 1000, 'NaN');
\echo :LAST_ERROR_SQLSTATE
