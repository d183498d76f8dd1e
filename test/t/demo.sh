#!/usr/bin/env bash
# The demo keeps working and its figures add up: the sample ledger loads
# from the shared accounts-receivable file, the report runs, and the aging
# it prints agrees with the ledger and with an independent computation.
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/common.sh

db=pgcredit_demo_test
csv="$SHARED_DATA/accounts-receivable.csv"
dropdb --if-exists "$db"
createdb "$db"
trap 'dropdb --if-exists "$db"' EXIT

psql -X -q -v ON_ERROR_STOP=1 -d "$db" -f test/demo/ledger.sql < "$csv"
report=$(psql -X -v ON_ERROR_STOP=1 -d "$db" -f test/demo/report.sql)
echo "$report"

# The report shows its sections.
for section in 'morning report of 31 January 2013' 'Your book' 'Receivables by age' \
	'Customers by risk tier' 'The watchlist' 'most at risk' 'Orders waiting for your decision' \
	'How this was produced' '1. The ledger' '2. Aging' '3. Scores' '4. The guard'; do
	grep -q "$section" <<<"$report" || { echo "report lacks section: $section"; exit 1; }
done

# The file again, read independently of the ledger script: here an
# invoice is open at the closing date when its invoice date plus the
# file's DaysToSettle column lies after it.
psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c "CREATE TABLE export (
	country_code int, customer_id text, paperless_date text,
	invoice_number bigint, invoice_date text, due_date text,
	invoice_amount numeric, disputed text, settled_date text,
	paperless_bill text, days_to_settle int, days_late int)"
psql -X -q -v ON_ERROR_STOP=1 -d "$db" \
	-c '\copy export FROM pstdin WITH (FORMAT csv, HEADER true)' < "$csv"

# The refused order shows pgcredit's SQLSTATE.
grep -qE 'code +│ PC001' <<<"$report" || { echo "no refused order with PC001 in the report"; exit 1; }

# Checks that must all be true; each prints its name when it fails.
failed=$(psql -X -At -v ON_ERROR_STOP=1 -d "$db" <<'SQL'
SELECT name FROM (VALUES
  -- every invoice of the file dated by the closing date is in the ledger
  ('file rows', (SELECT count(*) FROM ledger.invoice)
                = (SELECT count(*) FROM export
                   WHERE to_date(invoice_date, 'MM/DD/YYYY') <= '2013-01-31')),
  -- what was invoiced was either paid or is still open
  ('invoice = paid + open',
   (SELECT sum(amount) FROM ledger.invoice)
   = (SELECT sum(amount) FROM ledger.payment) + (SELECT sum(open_amount) FROM ledger.invoice)),
  -- aging bands partition the open receivables
  ('bands cover receivables',
   (SELECT sum(open_amount) FROM ledger.invoice)
   = (SELECT sum(i.open_amount) FROM pgcredit.aging_bands() b
      JOIN ledger.invoice i ON pgcredit.aging_bucket(i.due_on, '2013-01-31') = b.label
      WHERE i.open_amount > 0)),
  -- aging_bucket agrees with a plain CASE over days past due
  ('aging agrees with CASE',
   NOT EXISTS (SELECT 1 FROM ledger.invoice
               WHERE pgcredit.aging_bucket(due_on, '2013-01-31')
                     <> CASE WHEN due_on >= '2013-01-31' THEN 'current'
                             WHEN '2013-01-31'::date - due_on <= 30 THEN '1-30'
                             WHEN '2013-01-31'::date - due_on <= 60 THEN '31-60'
                             WHEN '2013-01-31'::date - due_on <= 90 THEN '61-90'
                             ELSE '90+' END)),
  -- open receivables, recomputed from the file's DaysToSettle column
  ('open receivables',
   (SELECT sum(open_amount) FROM ledger.invoice)
   = (SELECT sum(invoice_amount) FROM export
      WHERE to_date(invoice_date, 'MM/DD/YYYY') <= '2013-01-31'
        AND to_date(invoice_date, 'MM/DD/YYYY') + days_to_settle > '2013-01-31')),
  -- credit control left exposure equal to what the tables hold
  ('exposure verified', NOT EXISTS (SELECT FROM pgcredit.verify_exposure())),
  -- two web orders wait for a decision, one passed
  ('held orders', (SELECT count(*) FROM pgcredit.held_order WHERE released_at IS NULL) = 2
                  AND (SELECT count(*) FROM ledger.web_order WHERE on_hold) = 2
                  AND (SELECT count(*) FROM ledger.web_order) = 3),
  -- the demo has something to show in more than one band
  ('several bands', (SELECT count(DISTINCT pgcredit.aging_bucket(due_on, '2013-01-31'))
                     FROM ledger.invoice WHERE open_amount > 0) >= 3)
) AS c(name, ok)
WHERE NOT ok;
SQL
)
if [ -n "$failed" ]; then
	echo "demo checks failed: $failed"
	exit 1
fi
echo "demo checks passed"

# The morning report: the risk views, the two scoring runs (the close of
# December during the ledger's build, the close of January in the
# report) and their alerts, against figures recomputed here from the
# ledger's tables and from the file.
failed=$(psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" <<'SQL'
SET pgcredit.as_of = '2013-01-31';
CREATE TEMP TABLE f AS
SELECT customer_id, invoice_amount AS amount,
       to_date(invoice_date, 'MM/DD/YYYY') AS invoiced_on,
       to_date(due_date, 'MM/DD/YYYY') AS due_on,
       to_date(settled_date, 'MM/DD/YYYY') AS settled_on
FROM export;
-- each customer's exposure from the ledger's own tables
CREATE TEMP TABLE x AS
SELECT c.customer_id AS customer, a.credit_limit, a.tolerance_pct,
       coalesce((SELECT sum(open_amount) FROM ledger.invoice i WHERE i.customer_id = c.customer_id), 0)
       + coalesce((SELECT sum(amount) FROM ledger.sales_order o
                   WHERE o.customer_id = c.customer_id AND o.status = 'open'), 0)
       + coalesce((SELECT sum(amount) FROM ledger.web_order w
                   WHERE w.customer_id = c.customer_id AND NOT w.on_hold), 0) AS exposure
FROM ledger.customer c LEFT JOIN pgcredit.account a ON a.customer = c.customer_id;
-- the oldest open item's days past due at each close, from the file:
-- open at a close means invoiced by then and settled after it
CREATE TEMP TABLE oldest AS
SELECT d.as_of, f.customer_id AS customer, max(d.as_of - f.due_on) AS days
FROM (VALUES (date '2012-12-31'), (date '2013-01-31')) AS d(as_of)
JOIN f ON f.invoiced_on <= d.as_of AND f.settled_on > d.as_of AND f.due_on < d.as_of
GROUP BY d.as_of, f.customer_id;
CREATE TEMP TABLE h AS SELECT * FROM pgcredit.score_history;

SELECT name FROM (VALUES
  -- each invoice carries the date the file says it was settled, while
  -- that date is by the close; an open invoice has none
  ('paid_on from the file',
   NOT EXISTS (SELECT FROM ledger.invoice i JOIN export e ON e.invoice_number = i.invoice_no
               WHERE i.paid_on IS DISTINCT FROM
                     CASE WHEN to_date(e.settled_date, 'MM/DD/YYYY') <= '2013-01-31'
                          THEN to_date(e.settled_date, 'MM/DD/YYYY') END
                  OR (i.paid_on IS NULL) <> (i.open_amount > 0))),
  -- the portfolio's receivables, exposure and bands, from the tables
  ('portfolio receivables', (SELECT receivables FROM pgcredit.portfolio)
                            = (SELECT sum(open_amount) FROM ledger.invoice)),
  ('portfolio exposure', (SELECT total_exposure FROM pgcredit.portfolio) = (SELECT sum(exposure) FROM x)),
  ('portfolio bands',
   (SELECT ARRAY[aging_current, aging_1_30, aging_31_60, aging_61_90, aging_over_90] FROM pgcredit.portfolio)
   = (SELECT ARRAY[coalesce(sum(open_amount) FILTER (WHERE due_on >= '2013-01-31'), 0),
                   coalesce(sum(open_amount) FILTER (WHERE '2013-01-31' - due_on BETWEEN 1 AND 30), 0),
                   coalesce(sum(open_amount) FILTER (WHERE '2013-01-31' - due_on BETWEEN 31 AND 60), 0),
                   coalesce(sum(open_amount) FILTER (WHERE '2013-01-31' - due_on BETWEEN 61 AND 90), 0),
                   coalesce(sum(open_amount) FILTER (WHERE '2013-01-31' - due_on > 90), 0)]
      FROM ledger.invoice)),
  -- DSO over 90 days from the file: what was open at the close against
  -- what was invoiced in the 90 days up to it
  ('portfolio dso',
   (SELECT dso FROM pgcredit.portfolio)
   = (SELECT round(sum(amount) FILTER (WHERE invoiced_on <= '2013-01-31' AND settled_on > '2013-01-31') * 90
                   / sum(amount) FILTER (WHERE invoiced_on > date '2013-01-31' - 90
                                           AND invoiced_on <= '2013-01-31'), 2)
      FROM f)),
  ('customers over limit',
   (SELECT customers_over_limit FROM pgcredit.portfolio)
   = (SELECT count(*) FROM x WHERE exposure > credit_limit * (1 + tolerance_pct / 100))),
  -- one row a customer, every customer of the ledger
  ('customer_risk customers',
   (SELECT array_agg(customer ORDER BY customer) FROM pgcredit.customer_risk)
   = (SELECT array_agg(customer_id ORDER BY customer_id) FROM ledger.customer)),
  ('customer_risk exposure',
   NOT EXISTS (SELECT FROM pgcredit.customer_risk r JOIN x USING (customer) WHERE r.exposure <> x.exposure)),
  ('aging_by_customer totals',
   NOT EXISTS (SELECT customer, total FROM pgcredit.aging_by_customer
               EXCEPT SELECT customer_id, sum(open_amount) FROM ledger.invoice GROUP BY customer_id)
   AND (SELECT count(*) FROM pgcredit.aging_by_customer) = (SELECT count(DISTINCT customer_id) FROM ledger.invoice)),
  -- the watchlist's utilisation rows are exactly the customers whose
  -- exposure is above 90 % of their limit
  ('watchlist utilisation',
   (SELECT coalesce(array_agg(customer ORDER BY customer), '{}') FROM pgcredit.watchlist WHERE rule = 'utilisation')
   = (SELECT coalesce(array_agg(customer ORDER BY customer), '{}') FROM x
      WHERE round(exposure * 100 / credit_limit, 2) > 90)),
  ('watchlist new overdue items',
   (SELECT coalesce(array_agg(customer ORDER BY customer), '{}') FROM pgcredit.watchlist WHERE rule = 'new_overdue_item')
   = (SELECT coalesce(array_agg(DISTINCT customer_id ORDER BY customer_id), '{}') FROM ledger.invoice
      WHERE open_amount > 0 AND '2013-01-31' - due_on BETWEEN 31 AND 37)),
  ('watchlist score drops',
   (SELECT coalesce(array_agg(customer ORDER BY customer), '{}') FROM pgcredit.watchlist WHERE rule = 'score_drop')
   = (SELECT coalesce(array_agg(b.customer ORDER BY b.customer), '{}')
      FROM h b JOIN h n ON n.customer = b.customer AND n.as_of = '2013-01-31'
      WHERE b.as_of = '2012-12-31' AND b.combined_score - n.combined_score > 10)),
  -- two runs, one row a customer each
  ('two scoring runs',
   (SELECT array_agg(as_of::text || ':' || n ORDER BY as_of)
    FROM (SELECT as_of, count(*) AS n FROM h GROUP BY as_of) r)
   = (SELECT ARRAY['2012-12-31:' || count(*), '2013-01-31:' || count(*)] FROM ledger.customer)),
  -- the month-end run saw the ledger of the close of December
  ('december receivables',
   NOT EXISTS (SELECT h.customer, h.receivables FROM h WHERE h.as_of = '2012-12-31'
               EXCEPT
               SELECT c.customer_id, coalesce(sum(f.amount), 0)
               FROM ledger.customer c
               LEFT JOIN f ON f.customer_id = c.customer_id
                          AND f.invoiced_on <= '2012-12-31' AND f.settled_on > '2012-12-31'
               GROUP BY c.customer_id)),
  -- behavioural scores are credit_score() over what had been invoiced by
  -- each close
  ('behavioural scores',
   NOT EXISTS (SELECT h.customer, h.as_of, h.behavioural_score FROM h
               EXCEPT
               SELECT i.customer_id, d.as_of, pgcredit.credit_score(i.amount, i.due_on, i.paid_on, d.as_of)
               FROM (VALUES (date '2012-12-31'), (date '2013-01-31')) AS d(as_of)
               JOIN ledger.invoice i ON i.invoiced_on <= d.as_of
               GROUP BY i.customer_id, d.as_of)),
  -- combined score: 0.5 behaviour and 0.2 utilisation score (100 minus
  -- utilisation, within 0-100) over the weights of the parts present
  -- (the demo has no external scores)
  ('combined scores',
   NOT EXISTS (SELECT FROM h
               WHERE h.external_score IS NOT NULL
                  OR h.combined_score IS DISTINCT FROM
                     round((coalesce(0.5 * h.behavioural_score, 0)
                            + coalesce(0.2 * greatest(0, least(100, 100 - h.utilisation_pct)), 0))
                           / nullif(CASE WHEN h.behavioural_score IS NULL THEN 0 ELSE 0.5 END
                                    + CASE WHEN h.utilisation_pct IS NULL THEN 0 ELSE 0.2 END, 0), 2))),
  ('utilisation',
   NOT EXISTS (SELECT FROM h JOIN x USING (customer)
               WHERE h.as_of = '2013-01-31'
                 AND h.utilisation_pct IS DISTINCT FROM round(x.exposure * 100 / x.credit_limit, 2))),
  -- tiers: A from 80, B from 65, C from 50, D from 35, else E
  ('tiers',
   NOT EXISTS (SELECT FROM h
               WHERE h.tier IS DISTINCT FROM pgcredit.risk_tier(h.combined_score)
                  OR h.tier IS DISTINCT FROM CASE WHEN h.combined_score >= 80 THEN 'A'
                                                  WHEN h.combined_score >= 65 THEN 'B'
                                                  WHEN h.combined_score >= 50 THEN 'C'
                                                  WHEN h.combined_score >= 35 THEN 'D'
                                                  WHEN h.combined_score IS NOT NULL THEN 'E' END)),
  ('portfolio tiers',
   (SELECT ARRAY[tier_a, tier_b, tier_c, tier_d, tier_e] FROM pgcredit.portfolio)
   = (SELECT ARRAY[count(*) FILTER (WHERE tier = 'A'), count(*) FILTER (WHERE tier = 'B'),
                   count(*) FILTER (WHERE tier = 'C'), count(*) FILTER (WHERE tier = 'D'),
                   count(*) FILTER (WHERE tier = 'E')]
      FROM h WHERE as_of = '2013-01-31')),
  -- alerts of each run: the oldest open item crossing 30, 60 or 90 days
  -- past due since the run before (the first run has none before it)
  ('overdue alerts',
   (SELECT coalesce(array_agg(details ->> 'as_of' || ' ' || customer || ' ' || kind ORDER BY 1), '{}')
    FROM pgcredit.alert WHERE kind LIKE 'overdue%')
   = (SELECT coalesce(array_agg(k ORDER BY k), '{}')
      FROM (SELECT n.as_of || ' ' || n.customer || ' overdue_' || max(t) AS k
            FROM oldest n
            LEFT JOIN oldest p ON p.customer = n.customer AND p.as_of = '2012-12-31' AND n.as_of = '2013-01-31',
                 unnest('{30,60,90}'::int[]) AS t
            WHERE n.days > t AND coalesce(p.days, 0) <= t
            GROUP BY n.as_of, n.customer) a)),
  ('score downgrade alerts',
   (SELECT coalesce(array_agg(customer ORDER BY customer), '{}') FROM pgcredit.alert WHERE kind = 'score_downgrade')
   = (SELECT coalesce(array_agg(customer ORDER BY customer), '{}') FROM pgcredit.watchlist WHERE rule = 'score_drop')),
  ('tier change alerts',
   (SELECT coalesce(array_agg(customer || (details ->> 'from') || (details ->> 'to') ORDER BY customer), '{}')
    FROM pgcredit.alert WHERE kind = 'tier_change')
   = (SELECT coalesce(array_agg(b.customer || b.tier || n.tier ORDER BY b.customer), '{}')
      FROM h b JOIN h n ON n.customer = b.customer AND n.as_of = '2013-01-31'
      WHERE b.as_of = '2012-12-31' AND b.tier <> n.tier)),
  ('hold alerts',
   (SELECT array_agg(kind || ' ' || customer ORDER BY id) FROM pgcredit.alert
    WHERE kind IN ('account_hold', 'order_held', 'limit_breached'))
   = (SELECT array_agg(k ORDER BY n, k)
      FROM (SELECT 0 AS n, 'account_hold ' || customer AS k FROM pgcredit.account WHERE status = 'hold'
            UNION ALL
            SELECT w.order_id, CASE WHEN a.status = 'hold' THEN 'order_held ' ELSE 'limit_breached ' END
                               || w.customer_id
            FROM ledger.web_order w JOIN pgcredit.account a ON a.customer = w.customer_id
            WHERE w.on_hold) k)),
  -- recommend_limit: the tier's months of the last 12 months' average
  -- monthly invoicing, halved below a behavioural score of 50, nothing
  -- with an item over 90 days past due, rounded up to 100
  ('recommended limits',
   NOT EXISTS (SELECT FROM (
     SELECT c.customer_id, (pgcredit.recommend_limit(c.customer_id)).recommended_limit AS got,
            ceil(CASE WHEN coalesce(o.days, 0) > 90 THEN 0
                      ELSE round(coalesce(s.invoiced, 0) / 12, 2) * p.limit_months
                           / CASE WHEN n.behavioural_score < 50 THEN 2 ELSE 1 END END / 100) * 100 AS expected
     FROM ledger.customer c
     JOIN h n ON n.customer = c.customer_id AND n.as_of = '2013-01-31'
     JOIN pgcredit.tier_policy p ON p.tier = n.tier
     LEFT JOIN oldest o ON o.customer = c.customer_id AND o.as_of = '2013-01-31'
     LEFT JOIN (SELECT customer_id, sum(amount) AS invoiced FROM ledger.invoice
                WHERE invoiced_on > date '2013-01-31' - 365 AND invoiced_on <= '2013-01-31'
                GROUP BY customer_id) s ON s.customer_id = c.customer_id) r
     WHERE got IS DISTINCT FROM expected))
) AS c(name, ok)
WHERE NOT ok;
SQL
)
if [ -n "$failed" ]; then
	echo "morning report checks failed: $failed"
	exit 1
fi

# A second run for the same day replaces that day's rows and raises no
# alert the first one raised.
again=$(psql -X -At -v ON_ERROR_STOP=1 -d "$db" -c "SELECT customers || ' ' || alerts FROM pgcredit.refresh_scores('2013-01-31')")
rows=$(psql -X -At -v ON_ERROR_STOP=1 -d "$db" -c "SELECT count(*) FROM pgcredit.score_history WHERE as_of = '2013-01-31'")
customers=$(psql -X -At -v ON_ERROR_STOP=1 -d "$db" -c "SELECT count(*) FROM ledger.customer")
[ "$again" = "$customers 0" ] && [ "$rows" = "$customers" ] ||
	{ echo "second run of the day: $again, $rows rows for the day"; exit 1; }
echo "morning report checks passed"
