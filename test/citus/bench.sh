#!/usr/bin/env bash
# make bench-citus: the same work on one node and on a Citus cluster of a
# coordinator and two workers, all on this 2-core machine, so that what
# it shows is the shape (where time goes, what moves between nodes), not
# the speed real workers on their own machines would give.
#
# One node is a database of the coordinator's server without Citus
# tables; the cluster is the database postgres, its tables distributed by
# customer over 8 shards a table (4 a worker).  Both hold the same ledger:
# BENCH_INVOICES invoices (1,000,000 by default) of 10,000 customers.
#   - analytics over the whole ledger: PostgreSQL's sum() as the baseline,
#     pgcredit's amount_sum, aging, credit_score, dso_report, and aging
#     grouped by customer; the best of 3 runs each, in ms and us a row
#   - orders: pgbench inserting orders for 1,000 customers with room
#     under their limits, into an order table without pgcredit and into
#     one attached (the guard judging every order), BENCH_CLIENTS clients
#     (4) for BENCH_SECONDS seconds (15): orders a second, and the mean
#     latency of one order as a client waits for it (clients / rate)
#   - reads on the coordinator of what the workers keep (check_order,
#     credit_status, customer_risk, exposure_breakdown, customer_cover),
#     one client for 5 seconds each, against the same read on one node
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/common.sh
NAME=bench-citus
. test/citus/cluster.sh
n=${BENCH_INVOICES:-1000000}
clients=${BENCH_CLIENTS:-4}
seconds=${BENCH_SECONDS:-15}
q() { as_pg "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$top" -p "$port" "$@"; }
q -d postgres -c "SET client_min_messages = warning" -c "CREATE DATABASE single"
setup() { # $1 database, $2 1 to distribute
	q -d "$1" -o /dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION pgcredit;
CREATE TABLE inv (id bigint NOT NULL, customer text NOT NULL, amount numeric(12,2) NOT NULL,
  open_amount numeric(12,2) NOT NULL, invoiced_on date NOT NULL, due date NOT NULL, paid_on date,
  PRIMARY KEY (customer, id));
CREATE TABLE ord_plain (id bigserial, customer text NOT NULL, amount numeric(12,2) NOT NULL, PRIMARY KEY (customer, id));
CREATE TABLE ord (id bigserial, customer text NOT NULL, amount numeric(12,2) NOT NULL, PRIMARY KEY (customer, id));
\\if $2
SELECT create_distributed_table('inv', 'customer');
SELECT create_distributed_table('ord_plain', 'customer', colocate_with => 'inv');
SELECT create_distributed_table('ord', 'customer', colocate_with => 'inv');
\\endif
INSERT INTO inv
SELECT g, 'C' || (g % 10000), (g::bigint * 7919 % 100000) / 100.0 + 1,
       CASE WHEN g % 3 = 0 THEN (g::bigint * 7919 % 100000) / 100.0 + 1 ELSE 0 END,
       '2025-01-01'::date + (g % 360), '2025-01-31'::date + (g % 360),
       CASE WHEN g % 3 = 0 THEN NULL ELSE '2025-01-31'::date + (g % 360) + (g % 41) - 20 END
FROM generate_series(1, $n) g;
ANALYZE inv;
SELECT count(*) FROM (SELECT pgcredit.open_account('O' || g, 1e12) FROM generate_series(1, 1000) g) a;
SELECT (a).kind FROM (SELECT pgcredit.attach_orders('ord', 'customer', 'amount') a) x;
CREATE FUNCTION bench_ms(query text) RETURNS numeric LANGUAGE plpgsql AS \$\$
DECLARE
  best numeric; t timestamptz; ms numeric;
BEGIN
  FOR i IN 1..3 LOOP
    t := clock_timestamp();
    EXECUTE query;
    ms := extract(epoch FROM clock_timestamp() - t) * 1000;
    best := least(best, ms);
  END LOOP;
  RETURN round(best, 1);
END
\$\$;
SQL
}
setup single 0
setup postgres 1
echo "ledger: $n invoices of 10,000 customers; cluster: coordinator + 2 workers, 8 shards a table, one 2-core machine"
echo
printf '%-34s %12s %12s %8s %10s %10s\n' "analytics (best of 3)" "one node ms" "cluster ms" "ratio" "us/row 1" "us/row C"
while IFS='|' read -r label query; do
	a=$(q -d single -At -c "SELECT bench_ms(\$q\$$query\$q\$)")
	b=$(q -d postgres -At -c "SELECT bench_ms(\$q\$$query\$q\$)")
	awk -v l="$label" -v a="$a" -v b="$b" -v n="$n" \
		'BEGIN { printf "%-34s %12.1f %12.1f %8.2f %10.3f %10.3f\n", l, a, b, b / a, a * 1000 / n, b * 1000 / n }'
done <<'QUERIES'
sum(amount) (PostgreSQL)|SELECT sum(amount) FROM inv
pgcredit.amount_sum(amount)|SELECT pgcredit.amount_sum(amount) FROM inv
aging(open_amount, due)|SELECT pgcredit.aging(open_amount, due, '2025-12-31') FROM inv
credit_score(amount, due, paid_on)|SELECT pgcredit.credit_score(amount, due, paid_on, '2025-12-31') FROM inv
dso_report(...)|SELECT pgcredit.dso_report(amount, invoiced_on, due, paid_on, '2025-12-31') FROM inv
aging by customer (10,000 groups)|SELECT count(*) FROM (SELECT customer, pgcredit.aging(open_amount, due, '2025-12-31') FROM inv GROUP BY customer) x
QUERIES
echo
echo "plans over the cluster (whole table): each shard aggregates, the coordinator combines"
q -d postgres -At -c "EXPLAIN (COSTS OFF, VERBOSE) SELECT pgcredit.aging(open_amount, due, '2025-12-31') FROM inv" |
	grep -E 'Aggregate|Output|Task|Node|Scan' | cut -c1-150 | sed 's/^/  /'
echo
work=$(mktemp -d /tmp/pgcredit-bench.XXXXXX)
chmod 755 "$work"
cat >"$work/plain.sql" <<'SQL'
\set c random(1, 1000)
INSERT INTO ord_plain (customer, amount) VALUES ('O' || :c, 10);
SQL
sed 's/ord_plain/ord/' "$work/plain.sql" >"$work/guarded.sql"
printf '%-34s %12s %12s %8s %10s %10s\n' "orders ($clients clients, ${seconds}s)" "one node /s" "cluster /s" "ratio" "lat us 1" "lat us C"
for kind in plain guarded; do
	rate() {
		as_pg "$bindir/pgbench" -n -h "$top" -p "$port" -d "$1" -c "$clients" -j 2 -T "$seconds" \
			-f "$work/$kind.sql" 2>/dev/null | sed -n 's/^tps = \([0-9.]*\).*/\1/p'
	}
	a=$(rate single)
	b=$(rate postgres)
	label=$([ "$kind" = plain ] && echo "insert, no pgcredit (baseline)" || echo "insert, judged by the guard")
	awk -v l="$label" -v a="$a" -v b="$b" -v c="$clients" \
		'BEGIN { printf "%-34s %12.0f %12.0f %8.2f %10.1f %10.1f\n", l, a, b, b / a, c * 1e6 / a, c * 1e6 / b }'
done
echo
# the coordinator's reads of what the workers keep, one client, against
# the same read on one node: a statement on each worker (one for
# check_order) against none
cat >"$work/reads.txt" <<'READS'
check_order('O1', 1)|SELECT * FROM pgcredit.check_order('O1', 1)
credit_status('O1')|SELECT * FROM pgcredit.credit_status('O1')
customer_risk, one customer|SELECT * FROM pgcredit.customer_risk WHERE customer = 'O1'
exposure_breakdown, 1,000 customers|SELECT count(*) FROM pgcredit.exposure_breakdown
customer_cover, 1,000 customers|SELECT count(*) FROM pgcredit.customer_cover
READS
printf '%-34s %12s %12s %8s %10s %10s\n' "reads (1 client, 5 s)" "one node /s" "cluster /s" "ratio" "lat us 1" "lat us C"
while IFS='|' read -r label query; do
	echo "$query;" >"$work/read.sql"
	rate() {
		as_pg "$bindir/pgbench" -n -h "$top" -p "$port" -d "$1" -c 1 -T 5 \
			-f "$work/read.sql" 2>/dev/null | sed -n 's/^tps = \([0-9.]*\).*/\1/p'
	}
	a=$(rate single)
	b=$(rate postgres)
	awk -v l="$label" -v a="$a" -v b="$b" \
		'BEGIN { printf "%-34s %12.0f %12.0f %8.2f %10.1f %10.1f\n", l, a, b, b / a, 1e6 / a, 1e6 / b }'
done <"$work/reads.txt"
rm -rf "$work"
