-- amount_sum: exact sums of amounts on integers, equal to sum(numeric) in
-- value and display scale, with NaN and infinity refused.

-- Small amounts, credit notes, NULLs skipped.
SELECT pgcredit.amount_sum(x), sum(x)
FROM (VALUES (1.5), (2.25), (-0.75), (NULL), (100)) AS t(x);

-- No rows, or only NULLs: NULL, as sum() gives.
SELECT pgcredit.amount_sum(x) IS NULL AS no_rows FROM (SELECT 1.0 WHERE false) AS t(x);
SELECT pgcredit.amount_sum(x) IS NULL AS only_nulls FROM (VALUES (NULL::numeric)) AS t(x);

-- Amounts the integer path cannot hold (huge, tiny, very precise) still
-- sum exactly: the result equals sum() digit for digit.
SELECT v::text AS amounts, pgcredit.amount_sum(x)::text AS amount_sum,
       pgcredit.amount_sum(x)::text = sum(x)::text AS same_as_sum
FROM (VALUES
  ('{1e30,1}'::numeric[]),
  ('{0.00000000000000000001,1}'),
  ('{-123456789012345678.12,99999999999999999.99,5}'),
  ('{999999999999999999,999999999999999999,999999999999999999}'),
  ('{0.1234567890123456,0.00000000000000001}'),
  ('{12345678901234567890123456789012345678.5,-12345678901234567890123456789012345678}'),
  ('{0,0.00,-0.000}'),
  ('{1e-30,-1e-30}')) AS t(v), unnest(v) AS x
GROUP BY v ORDER BY v::text;

-- Amounts too large for the integer path take numeric's, exactly.
SELECT pgcredit.amount_sum(x)::text = sum(x)::text AS exact_when_large, sum(x)
FROM (SELECT 900000000000000000.99::numeric AS x FROM generate_series(1, 2000)) AS t;

-- A large integer sum meeting an amount with 16 decimals must be rescaled
-- past 128 bits; in either order the result stays exact.
SELECT pgcredit.amount_sum(x ORDER BY g)::text = sum(x)::text AS small_last,
       pgcredit.amount_sum(x ORDER BY g DESC)::text = sum(x)::text AS small_first,
       sum(x)
FROM (SELECT g, CASE WHEN g = 0 THEN 0.0000000000000001
                     ELSE 999999999999999999 END AS x
      FROM generate_series(0, 200000) AS g) AS t;

-- Mixed scales in any order give the display scale sum() gives.
SELECT pgcredit.amount_sum(x)::text, sum(x)::text
FROM (VALUES (1), (2.5), (3.125), (4.10)) AS t(x);

-- Every amount from -10.00 to 10.00 by cents, in two orders: same result.
SELECT pgcredit.amount_sum(x ORDER BY x) = pgcredit.amount_sum(x ORDER BY x DESC) AS order_free,
       pgcredit.amount_sum(x) = sum(x) AS same_as_sum
FROM (SELECT g / 100.0 AS x FROM generate_series(-1000, 1000) AS g) AS t;

-- NaN and infinity are not amounts.
SELECT pgcredit.amount_sum(x) FROM (VALUES (1), ('NaN'::numeric)) AS t(x);
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.amount_sum(x) FROM (VALUES (1), ('Infinity'::numeric)) AS t(x);
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.amount_sum(x) FROM (VALUES (1), ('-Infinity'::numeric)) AS t(x);
\echo :LAST_ERROR_SQLSTATE

-- As a window function, with a frame that grows and one that moves (the
-- state restarts for each row): the same as sum()
SELECT count(*) AS rows,
       count(*) FILTER (WHERE running = running_sum AND moving IS NOT DISTINCT FROM moving_sum) AS same
FROM (SELECT pgcredit.amount_sum(x) OVER (ORDER BY g) AS running, sum(x) OVER (ORDER BY g) AS running_sum,
             pgcredit.amount_sum(x) OVER (ORDER BY g ROWS BETWEEN 3 PRECEDING AND 1 PRECEDING) AS moving,
             sum(x) OVER (ORDER BY g ROWS BETWEEN 3 PRECEDING AND 1 PRECEDING) AS moving_sum
      FROM (SELECT g, g / 7.0 AS x FROM generate_series(1, 500) AS g) AS t) AS w;

-- The state type (agg_state) takes text from anyone: what is not a state
-- of one of pgcredit's aggregates is refused, whatever its bytes
SELECT 'zz'::pgcredit.agg_state;
SELECT '\x'::pgcredit.agg_state;
SELECT '\x99'::pgcredit.agg_state;
SELECT '\x01'::pgcredit.agg_state;
SELECT '\x01ffffffffffffffffffffffffffffffffffffffffff'::pgcredit.agg_state;
SELECT '\x0g'::pgcredit.agg_state;
-- its support functions run only inside an aggregate
SELECT pgcredit.amount_sum_state_final(NULL);
SELECT pgcredit.amount_sum_state_trans(NULL, 1);
-- A state written by hand (tag 01, one amount, the integer sum 200 at
-- scale 2, no numeric part) is read and printed back as it was; a scale
-- out of range, and numeric parts that are short, whose length disagrees
-- with their header, NaN, or a special value with stray bits, are refused
-- (the varlena headers are little-endian, as on the machines pgcredit is
-- tested on)
SELECT '\x010000000000000001000000000000000000000000000000c80000000200000000'::pgcredit.agg_state::text;
-- with a numeric part (5, written in numeric's long form): accepted, the
-- part checked by reading it back through its text
SELECT '\x010000000000000001000000000000000000000000000000c8000000020000000a28000000000000000500'::pgcredit.agg_state::text;
SELECT '\x010000000000000001000000000000000000000000000000c80000006300000000'::pgcredit.agg_state;
SELECT '\x010000000000000001000000000000000000000000000000c80000000200000003aabbcc'::pgcredit.agg_state;
SELECT '\x010000000000000001000000000000000000000000000000c80000000200000008001000000000000000'::pgcredit.agg_state;
SELECT ('\x010000000000000001000000000000000000000000000000c800000002000000082000000000c00000')::pgcredit.agg_state;
SELECT ('\x010000000000000001000000000000000000000000000000c800000002000000082000000000e00000')::pgcredit.agg_state;
