-- aging_bucket: the aging band of one item, and aging_bands: the bands
-- a bounds array describes.

-- Every band edge with the default bounds {30,60,90}: not yet due, due
-- today, and 1, 30, 31, 60, 61, 90, 91 days past due.
SELECT d AS days_past_due,
       pgcredit.aging_bucket(date '2024-06-30' - d, date '2024-06-30') AS bucket
FROM unnest(ARRAY[-10, -1, 0, 1, 30, 31, 60, 61, 90, 91, 365, 10000]) AS d;

-- Leap years: 2024-02-28 to 2024-03-01 is two days, 2023's is one.
SELECT pgcredit.aging_bucket('2024-02-28', '2024-03-01', '{1,2}') AS leap,
       pgcredit.aging_bucket('2023-02-28', '2023-03-01', '{1,2}') AS common,
       pgcredit.aging_bucket('2024-01-30', '2024-02-29', '{29,30}') AS feb29;

-- Custom bounds give their own labels; a one-day band is labelled by its day.
SELECT bounds::text,
       pgcredit.aging_bucket('2024-01-01', '2024-01-08', bounds) AS seven_days,
       pgcredit.aging_bucket('2024-01-01', '2024-03-01', bounds) AS sixty_days
FROM (VALUES ('{7}'::int[]), ('{1,7,8}'), ('{15,45}'), ('{60}'),
             ('{1,2,3,4,5,6,7,8,9,10,11,12}')) AS t(bounds);

-- Bounds that change from row to row in one query: each row uses its own.
SELECT bounds::text, pgcredit.aging_bucket('2024-01-01', '2024-01-21', bounds)
FROM (VALUES ('{10,20}'::int[]), ('{30}'), ('{10,20}'), ('{5,19}')) AS t(bounds);

-- Agreement with an independent definition: for every day count from -5
-- to 400 and several bounds, the label is the band whose range holds it.
WITH bounds(b) AS (VALUES ('{30,60,90}'::int[]), ('{1}'), ('{7,14,21,28}'),
                          ('{1,2,3,4,5,6,7,8,9,10,11,12}'), ('{100,200,300}')),
     days(d) AS (SELECT generate_series(-5, 400)),
     expected AS (
       SELECT b, d,
              CASE WHEN d <= 0 THEN 'current'
                   WHEN d > b[array_upper(b, 1)] THEN b[array_upper(b, 1)] || '+'
                   ELSE (SELECT CASE WHEN lo = hi THEN hi::text ELSE lo || '-' || hi END
                         FROM (SELECT coalesce(b[i - 1] + 1, 1) AS lo, b[i] AS hi
                               FROM generate_subscripts(b, 1) AS i
                               WHERE d <= b[i] AND d > coalesce(b[i - 1], 0)) AS band)
              END AS label
       FROM bounds, days)
SELECT count(*) AS checked,
       count(*) FILTER (WHERE pgcredit.aging_bucket(date '2024-01-01' - d,
                                                    date '2024-01-01', b)
                              IS DISTINCT FROM label) AS mismatches
FROM expected;

-- Infinite dates: nothing is past due at -infinity or when due at
-- +infinity; an item due at -infinity, or seen from +infinity, is in the
-- last band.
SELECT due, as_of, pgcredit.aging_bucket(due, as_of) AS bucket
FROM (VALUES ('-infinity'::date, '2024-01-01'::date),
             ('infinity', '2024-01-01'),
             ('2024-01-01', 'infinity'),
             ('2024-01-01', '-infinity'),
             ('-infinity', 'infinity'),
             ('infinity', 'infinity'),
             ('-infinity', '-infinity')) AS t(due, as_of);

-- The extremes of the date range: the largest possible gap fits.
SELECT date '5874897-12-31' - date '4713-01-01 BC' AS widest_gap,
       pgcredit.aging_bucket('4713-01-01 BC', '5874897-12-31', '{2147483492}') AS widest,
       pgcredit.aging_bucket('4713-01-01 BC', '4713-01-02 BC', '{2147483647}') AS one_day;

-- NULL in, NULL out.
SELECT pgcredit.aging_bucket(NULL, '2024-01-01') IS NULL AS null_due,
       pgcredit.aging_bucket('2024-01-01', NULL) IS NULL AS null_as_of,
       pgcredit.aging_bucket('2024-01-01', '2024-02-01', NULL) IS NULL AS null_bounds;

-- The bands a bounds array describes.
SELECT * FROM pgcredit.aging_bands();
SELECT * FROM pgcredit.aging_bands('{1,7}');
SELECT * FROM pgcredit.aging_bands(NULL);

-- The largest bound, 2147483647: no two finite dates are that many days
-- apart, so only infinite dates lie beyond it.  aging_bucket and aging
-- take it; aging_bands cannot give the first day of the band after it
-- (2147483648 is no int) and says so, a bound below it is described.
SELECT pgcredit.aging_bucket('2023-12-01', '2024-01-01', '{1,2147483647}') AS within,
       pgcredit.aging_bucket('-infinity', '2024-01-01', '{1,2147483647}') AS beyond;
SELECT (pgcredit.aging(amount, due, '5874897-12-31', '{1,2147483647}')).*
FROM (VALUES (1.0, date '4713-01-01 BC'), (2.0, '-infinity')) AS t(amount, due);
SELECT * FROM pgcredit.aging_bands('{1,2147483647}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM pgcredit.aging_bands('{1,2147483646}');

-- Bad bounds: each is refused with invalid_parameter_value (22023).
SELECT pgcredit.aging_bucket('2024-01-01', '2024-02-01', '{}');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.aging_bucket('2024-01-01', '2024-02-01', '{0,30}');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.aging_bucket('2024-01-01', '2024-02-01', '{30,-60}');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.aging_bucket('2024-01-01', '2024-02-01', '{60,30}');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.aging_bucket('2024-01-01', '2024-02-01', '{30,30}');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.aging_bucket('2024-01-01', '2024-02-01', '{1,2,3,4,5,6,7,8,9,10,11,12,13}');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.aging_bucket('2024-01-01', '2024-02-01', '{30,NULL,90}');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.aging_bucket('2024-01-01', '2024-02-01', '{{30,60},{90,120}}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM pgcredit.aging_bands('{5,5}');
\echo :LAST_ERROR_SQLSTATE

-- A bad array is refused even when the item is current, and even after
-- good rows in the same query have filled the cache.
SELECT pgcredit.aging_bucket('2024-02-01', '2024-01-01', '{-1}');
SELECT bounds::text, pgcredit.aging_bucket('2024-01-01', '2024-02-01', bounds)
FROM (VALUES (1, '{30}'::int[]), (2, '{10,5}')) AS t(n, bounds) ORDER BY n;

-- Dates that do not exist never reach the function.
SELECT pgcredit.aging_bucket('2023-02-29', '2024-01-01');
