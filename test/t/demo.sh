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
for section in 'The ledger' 'Aging profile' 'Days sales outstanding' 'Concentration' \
	'Aging of open receivables' 'weekly bands' 'Worst payment behaviour' 'Credit control: the largest exposures' \
	'A web order from a customer on hold' 'releases it' 'Customers with overdue items'; do
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

# The refused order shows pgcredit's SQLSTATE, the accepted one went in.
grep -qE 'error_code +\| PC001' <<<"$report" || { echo "no refused order with PC001 in the report"; exit 1; }
grep -qE 'result +\| accepted' <<<"$report" || { echo "no accepted order in the report"; exit 1; }

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
  -- the held web order was released and counts in exposure
  ('hold released', (SELECT count(*) FROM pgcredit.held_order WHERE released_at IS NOT NULL) = 1),
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
