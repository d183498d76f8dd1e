#!/usr/bin/env bash
# What a BI tool reads on the coordinator equals what it reads on one node.
# The same ledger (accounts, invoices with payments, orders, a company
# exposure category with a sub-limit, cover, a temporary limit, a blocked
# account, a rule, the nightly scoring) is loaded into the cluster, its
# tables distributed by customer, and into a database of the
# coordinator's server without Citus.  Then every view of pgcredit, and
# every function a reader may call that returns rows and takes nothing,
# a day, or a day and a customer, is read on both, today and 30 days ago,
# with the other functions of readers and order screens (exposure_at,
# credit_status, check_order ...), and their rows compared (columns named *_at, when something was done,
# left out).  A view or function added later is compared too: one that
# reads the coordinator's own exposure fails here.
#
# Run by test/citus/run.sh against the coordinator (PGHOST, PGPORT set);
# prints "ok" or "not ok" lines and exits non-zero on a difference.
set -euo pipefail
bindir=$(pg_config --bindir)
psql() { "$bindir/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
# only on the cluster, by design
cluster_only="pgcredit.cluster_exposure pgcredit.citus_exposure()"

load() { # $1 database, $2 1 to distribute
	psql -d "$1" -o /dev/null -v dist="$2" <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION pgcredit;
CREATE TABLE same_order (id bigint NOT NULL, customer text NOT NULL, amount numeric(12,2) NOT NULL,
  PRIMARY KEY (customer, id));
CREATE TABLE same_service (id bigint NOT NULL, customer text NOT NULL, amount numeric(12,2) NOT NULL,
  PRIMARY KEY (customer, id));
CREATE TABLE same_invoice (id bigint NOT NULL, customer text NOT NULL, amount numeric(12,2) NOT NULL,
  open_amount numeric(12,2) NOT NULL, invoiced_on date NOT NULL, due date NOT NULL, paid_on date,
  PRIMARY KEY (customer, id));
\if :dist
SELECT create_distributed_table('same_order', 'customer');
SELECT create_distributed_table('same_service', 'customer', colocate_with => 'same_order');
SELECT create_distributed_table('same_invoice', 'customer', colocate_with => 'same_order');
\endif
SELECT count(*) FROM (SELECT pgcredit.open_account('K' || g, 1000 * g) FROM generate_series(1, 20) g) a;
SELECT name FROM pgcredit.add_category('services', 'orders', 'service contracts');
SELECT category FROM pgcredit.set_category_limit('services', 40, 'sub-limit');
INSERT INTO same_invoice
SELECT g, 'K' || (g % 20 + 1), 10 + g % 97, CASE WHEN g % 3 = 0 THEN 10 + g % 97 ELSE 0 END,
       current_date - 200 + g % 180, current_date - 170 + g % 180,
       CASE WHEN g % 3 = 0 THEN NULL ELSE current_date - 170 + g % 180 + g % 23 - 5 END
FROM generate_series(1, 2000) g;
INSERT INTO same_order SELECT g, 'K' || (g % 25 + 1), 5 + g % 13 FROM generate_series(1, 300) g;
INSERT INTO same_service SELECT g, 'K' || (g % 7 + 1), 3 + g % 5 FROM generate_series(1, 40) g;
SELECT (pgcredit.attach_orders('same_order', 'customer', 'amount')).kind;
SELECT (pgcredit.attach_orders('same_service', 'customer', 'amount', category => 'services')).kind;
SELECT (pgcredit.attach_receivables('same_invoice', 'customer', 'open_amount', 'due', invoice_amount_column => 'amount',
   invoiced_column => 'invoiced_on', paid_column => 'paid_on')).kind;
SELECT kind FROM pgcredit.add_cover('K3', 'credit_insurance', 'Insurer A', 500, 'insured', share_pct => 90);
SELECT kind FROM pgcredit.add_cover('K4', 'bank_guarantee', 'First Bank', 300, 'guarantee', valid_until => current_date + 60);
SELECT customer FROM pgcredit.set_temporary_limit('K5', 9000, current_date + 10, 'season');
SELECT customer FROM pgcredit.block_account('K6', 'unpaid');
SELECT kind FROM pgcredit.add_rule('days_past_due', 'refuse', 'old debt', days => 120);
SELECT customers FROM pgcredit.refresh_scores();
SQL
}
psql -d postgres -o /dev/null -c "SET client_min_messages = warning" -c "CREATE DATABASE same_single"
load same_single 0
load postgres 1

# what is read: every view; every reader's function of rows taking
# nothing, a day, or a day and a customer
reads=$(psql -d same_single -At <<'SQL'
SELECT 'pgcredit.' || quote_ident(c.relname)
FROM pg_class c WHERE c.relnamespace = 'pgcredit'::regnamespace AND c.relkind = 'v'
UNION ALL
SELECT p.proname::text || '|' || array_to_string(p.proargtypes::regtype[], ',')
FROM pg_proc p
WHERE p.pronamespace = 'pgcredit'::regnamespace AND p.proretset AND p.proname !~ '^_'
  AND has_function_privilege('pgcredit_reader', p.oid, 'EXECUTE')
  AND array_to_string(p.proargtypes::regtype[], ',') IN ('', 'date', 'date,text')
ORDER BY 1
SQL
)
failed=0
compared=0
same() { # $1 the read, as SQL; prints ok / not ok
	local q="SELECT count(*) || ' ' || md5(coalesce(string_agg(r, '|' ORDER BY r), ''))
	         FROM (SELECT (SELECT jsonb_object_agg(k, v) FROM jsonb_each(to_jsonb(t)) x(k, v)
	                       WHERE k !~ '_at\$')::text AS r FROM $1 t) s"
	local a b
	a=$(psql -d same_single -At -c "$q" 2>&1) || true
	b=$(psql -d postgres -At -c "$q" 2>&1) || true
	a=${a%%$'\n'*}
	b=${b%%$'\n'*}
	compared=$((compared + 1))
	if [ "$a" = "$b" ] && [ "${a#ERROR}" = "$a" ]; then
		echo "ok - $1 (${a%% *} rows)"
	else
		echo "not ok - $1: one node $a, cluster $b"
		failed=$((failed + 1))
	fi
}
for r in $reads; do
	case "$r" in
	*"|"*)
		f=pgcredit.${r%%|*}
		args=${r#*|}
		case "$cluster_only" in *"$f()"*) continue ;; esac
		case "$args" in
		"") same "$f()" ;;
		*,*)
			same "$f(current_date, 'K3')"
			same "$f(current_date - 30, 'K3')"
			;;
		*)
			same "$f(current_date)"
			same "$f(current_date - 30)"
			;;
		esac
		;;
	*)
		case " $cluster_only " in *" $r "*) continue ;; esac
		same "$r"
		;;
	esac
done
# the reader's functions that take other arguments, asked as a BI tool or
# an order screen would (one customer; a window of days)
while IFS= read -r call; do
	same "$call"
done <<'CALLS'
pgcredit.exposure_at('K3', (current_date + 1)::timestamptz)
pgcredit.credit_status('K3')
pgcredit.credit_status('K6')
pgcredit.credit_status('K25')
pgcredit.check_order('K3', 10)
pgcredit.check_order('K3', 100000)
pgcredit.check_order('K6', 1)
pgcredit.check_order('K9', 10, 'same_service')
pgcredit.check_order('K9', 1000, 'same_service')
pgcredit.check_order('NOBODY', 10)
pgcredit.recommend_limit('K3', current_date)
pgcredit.roll_rates(current_date, 3)
pgcredit.cash_forecast_at(current_date, 30)
pgcredit.discounts_taken_at(current_date, 90)
pgcredit.discount_economics_at(current_date, 90)
CALLS
# and the cluster's own view has every customer with exposure
n=$(psql -d postgres -At -c "SELECT count(DISTINCT customer) FROM pgcredit.cluster_exposure")
m=$(psql -d same_single -At -c "SELECT count(*) FROM pgcredit.exposure WHERE receivables <> 0 OR open_orders <> 0")
if [ "$n" = "$m" ] && [ "$n" -gt 0 ]; then
	echo "ok - cluster_exposure lists the $n customers with exposure"
else
	echo "not ok - cluster_exposure lists $n customers, one node has $m with exposure"
	failed=$((failed + 1))
fi

psql -d postgres -o /dev/null -c "SET client_min_messages = warning" \
	-c "DROP EXTENSION pgcredit CASCADE" -c "DROP TABLE same_order, same_service, same_invoice"
psql -d postgres -o /dev/null -c "SET client_min_messages = warning" -c "DROP DATABASE same_single"
echo "$compared reads compared, $failed different"
[ "$failed" -eq 0 ]
