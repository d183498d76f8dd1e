-- concentration_hhi and concentration_top_share: how concentrated the
-- exposure is across customers (one row per customer).

-- Four customers holding 50 %, 30 %, 10 %, 10 %:
-- HHI = 50^2 + 30^2 + 10^2 + 10^2 = 3600; the top 2 hold 80 %.
CREATE TEMP TABLE exposure (customer text, amount numeric);
INSERT INTO exposure VALUES ('a', 5000), ('b', 3000), ('c', 1000), ('d', 1000);
SELECT pgcredit.concentration_hhi(amount) AS hhi,
       pgcredit.concentration_top_share(amount, 1) AS top_1,
       pgcredit.concentration_top_share(amount, 2) AS top_2,
       pgcredit.concentration_top_share(amount, 10) AS top_10
FROM exposure;

-- Customers in credit, zero and NULL exposure hold no share.
INSERT INTO exposure VALUES ('e', -2000), ('f', 0), ('g', NULL);
SELECT pgcredit.concentration_hhi(amount) AS hhi,
       pgcredit.concentration_top_share(amount, 2) AS top_2
FROM exposure;

-- One customer: 10000; n equal customers: 10000 / n.
SELECT pgcredit.concentration_hhi(amount) AS one_customer FROM (VALUES (42.0)) AS t(amount);
SELECT n, pgcredit.concentration_hhi(100) AS hhi
FROM generate_series(1, 4) AS n, generate_series(1, n) AS i GROUP BY n ORDER BY n;

-- Against plain SQL on 1000 uneven customers, and exact for huge amounts.
SELECT pgcredit.concentration_hhi(amount) = round(10000 * sum(amount ^ 2) / sum(amount) ^ 2, 2) AS hhi_agrees,
       pgcredit.concentration_top_share(amount, 10)
         = (SELECT round(100 * sum(amount) / (SELECT sum(amount) FROM (SELECT (g * 7919 % 1000) + 0.5 AS amount FROM generate_series(1, 1000) AS g) s), 2)
            FROM (SELECT (g * 7919 % 1000) + 0.5 AS amount FROM generate_series(1, 1000) AS g
                  ORDER BY amount DESC LIMIT 10) AS top) AS top_agrees
FROM (SELECT (g * 7919 % 1000) + 0.5 AS amount FROM generate_series(1, 1000) AS g) AS t;
SELECT pgcredit.concentration_hhi(amount) AS hhi_huge,
       pgcredit.concentration_top_share(amount, 1) AS top_1_huge
FROM (VALUES (1e30), (1e30), (2e30)) AS t(amount);

-- No positive amount: NULL.
SELECT pgcredit.concentration_hhi(amount) IS NULL AS hhi_null,
       pgcredit.concentration_top_share(amount, 3) IS NULL AS top_null
FROM (VALUES (-1.0), (NULL)) AS t(amount);

-- All zero, or positive and negative amounts that cancel: the zero and
-- negative ones hold no share, so all zero is NULL and the positive one
-- of a cancelling pair holds everything.
SELECT pgcredit.concentration_hhi(amount) IS NULL AS all_zero
FROM (VALUES (0.0), (0.00)) AS t(amount);
SELECT pgcredit.concentration_hhi(amount) AS cancelling,
       pgcredit.concentration_top_share(amount, 1) AS top_1_cancelling
FROM (VALUES (5.0), (-5.0)) AS t(amount);

-- The index squares amounts: from 1e-8000 to below 1e65000 numeric holds
-- every square exactly; beyond, an amount is refused (22003) rather than
-- overflowing, or rounding its square to zero and dividing by zero.
SELECT pgcredit.concentration_hhi(amount) AS tiny_ends
FROM (VALUES ('1e-8000'::numeric), ('3e-8000')) AS t(amount);
SELECT pgcredit.concentration_hhi(amount) AS huge_ends
FROM (VALUES ('9e64999'::numeric), ('9e64999')) AS t(amount);
SELECT pgcredit.concentration_hhi(amount) FROM (VALUES ('1e-9000'::numeric)) AS t(amount);
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.concentration_hhi(amount) FROM (VALUES (1.0), ('1e70000'::numeric)) AS t(amount);
\echo :LAST_ERROR_SQLSTATE

-- Bad input.
SELECT pgcredit.concentration_top_share(amount, 0) FROM exposure;
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.concentration_top_share(amount, 10001) FROM exposure;
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.concentration_top_share(amount, NULL) FROM exposure;
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.concentration_hhi(amount) FROM (VALUES ('NaN'::numeric)) AS t(amount);
\echo :LAST_ERROR_SQLSTATE

-- concentration_top_share's state as pgcredit.agg_state (the form it
-- leaves the node in): one written by hand (top 2: 3 and 5, in heap
-- order) is read; amounts out of heap order, an amount of 0, or more
-- amounts than top_n are refused
SELECT length('\x0500000002000000020000000000000000000000000000000000000000000000000000000a280000000000000003000000000a28000000000000000500'::pgcredit.agg_state::text) AS state_text_length;
SELECT '\x0500000002000000020000000000000000000000000000000000000000000000000000000a280000000000000005000000000a28000000000000000300'::pgcredit.agg_state;
SELECT '\x050000000200000001000000000000000000000000000000000000000000000000000000082000000000000000'::pgcredit.agg_state;
SELECT '\x050000000100000002000000000000000000000000000000000000000000000000'::pgcredit.agg_state;
