#!/usr/bin/env bash
# The README's recipe for refreshing scores nightly with pg_cron, run for
# real: a cluster of its own with pg_cron preloaded, the nightly job
# scheduled as documented, and an every-minute job that must run
# refresh_scores() and leave today's scores behind (pg_cron 1.4, as
# Debian 12 ships it, runs jobs at most once a minute: this takes up to
# about 70 seconds).
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/common.sh
[ -f "$("$PG_CONFIG" --pkglibdir)/pg_cron.so" ] || { echo "pg_cron is not installed (postgresql-15-cron)"; exit 1; }

# a cluster of its own: not the one the suite runs against
env -u PGHOST -u PGPORT -u PGUSER -u PGPASSWORD -u PGDATABASE \
	pg_virtualenv -t -v "$PGVER" -c "--locale=C.UTF-8" \
	-o "shared_preload_libraries=pg_cron" -o "cron.database_name=postgres" \
	-o "cron.use_background_workers=on" bash -c '
set -euo pipefail
psql -X -q -v ON_ERROR_STOP=1 -d postgres >/dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION pgcredit;
CREATE EXTENSION pg_cron;
CREATE TABLE invoice (id int PRIMARY KEY, customer text NOT NULL, amount numeric NOT NULL,
                      open_amount numeric NOT NULL, invoiced_on date NOT NULL, due date NOT NULL, paid_on date);
INSERT INTO invoice VALUES (1, '"'"'C1'"'"', 100, 100, current_date - 40, current_date - 10, NULL),
                           (2, '"'"'C2'"'"', 200, 0, current_date - 60, current_date - 30, current_date - 31);
SELECT pgcredit.attach_receivables('"'"'invoice'"'"', '"'"'customer'"'"', '"'"'open_amount'"'"', '"'"'due'"'"',
  invoice_amount_column => '"'"'amount'"'"', invoiced_column => '"'"'invoiced_on'"'"', paid_column => '"'"'paid_on'"'"');
-- the recipe, as the README gives it
SELECT cron.schedule('"'"'pgcredit-nightly'"'"', '"'"'15 2 * * *'"'"', '"'"'SELECT pgcredit.refresh_scores()'"'"');
-- and the same job every minute, to see it run
SELECT cron.schedule('"'"'pgcredit-now'"'"', '"'"'* * * * *'"'"', '"'"'SELECT pgcredit.refresh_scores()'"'"');
SQL
psql -X -At -d postgres -c "SELECT jobname || '"'"' '"'"'|| schedule FROM cron.job ORDER BY jobname"
for i in $(seq 1 90); do
	n=$(psql -X -At -d postgres -c "SELECT count(*) FROM pgcredit.score_history WHERE as_of = current_date")
	[ "$n" -gt 0 ] && break
	sleep 1
done
psql -X -d postgres -c "SELECT status, return_message FROM cron.job_run_details ORDER BY runid"
psql -X -d postgres -c "SELECT customer, as_of = current_date AS today, combined_score, tier FROM pgcredit.score_history ORDER BY customer"
ok=$(psql -X -At -d postgres -c "SELECT count(*) FROM cron.job_run_details WHERE status = '"'"'succeeded'"'"'")
[ "$n" = 2 ] && [ "$ok" -ge 1 ] || { echo "pg_cron did not refresh the scores (rows $n, runs $ok)"; exit 1; }
echo "pg_cron ran refresh_scores(): $n customers scored today"
'
