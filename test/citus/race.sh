#!/usr/bin/env bash
# The race on a Citus cluster: many coordinator sessions order for the same
# few customers at once, with payments (deleted orders) bringing them back
# under their limits, so that orders meet at the limit again and again.
# The guards on the workers must never let two orders together pass a
# limit that one could not.  Checked from the data: a checker among the
# clients records any customer whose orders exceed its limit, the final
# orders are within every limit, and verify_exposure() finds nothing.
#
# Run by test/citus/run.sh against the coordinator (PGHOST, PGPORT set);
# prints "ok" or "not ok" lines and exits non-zero on a failure.
set -euo pipefail
seconds=${RACE_SECONDS:-20}
clients=${RACE_CLIENTS:-8}
bindir=$(pg_config --bindir)
psql() { "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -d postgres "$@"; }
work=$(mktemp -d /tmp/pgcredit-race.XXXXXX)
trap 'rm -rf "$work"' EXIT

psql -o /dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION pgcredit;
CREATE TABLE race_order (id bigserial, customer text NOT NULL, amount numeric(12,2) NOT NULL,
  PRIMARY KEY (customer, id));
SELECT create_distributed_table('race_order', 'customer');
SELECT count(*) FROM (SELECT pgcredit.open_account('R' || g, 500) FROM generate_series(1, 4) g) a;
SELECT (a).kind FROM (SELECT pgcredit.attach_orders('race_order', 'customer', 'amount') a) x;
CREATE TABLE race_violation (seen timestamptz NOT NULL DEFAULT now(), customer text, orders numeric);
-- one order, refused or not (a refused one is counted, nothing else)
CREATE TABLE race_refusal (n bigint);
SELECT create_distributed_table('race_refusal', 'n');
CREATE FUNCTION race_try(c int, a numeric) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO race_order (customer, amount) VALUES ('R' || c, a);
EXCEPTION WHEN SQLSTATE 'PC001' THEN
  INSERT INTO race_refusal VALUES (c);
END
$$;
SQL

cat >"$work/order.sql" <<'SQL'
\set c random(1, 4)
\set a random(1, 120)
SELECT race_try(:c, :a);
SQL
cat >"$work/pay.sql" <<'SQL'
\set c random(1, 4)
DELETE FROM race_order WHERE customer = 'R' || :c
  AND id = (SELECT min(id) FROM race_order WHERE customer = 'R' || :c);
SQL
cat >"$work/check.sql" <<'SQL'
INSERT INTO race_violation (customer, orders)
SELECT o.customer, sum(o.amount) FROM race_order o GROUP BY o.customer HAVING sum(o.amount) > 500;
SQL

"$bindir/pgbench" -n -d postgres -c "$clients" -j 2 -T "$seconds" \
	-f "$work/order.sql@10" -f "$work/pay.sql@3" -f "$work/check.sql@1" >"$work/pgbench.log" 2>&1 || {
	echo "not ok - pgbench ran"
	cat "$work/pgbench.log"
	exit 1
}
tx=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$work/pgbench.log")
failed=0
result=$(psql -At <<'SQL'
SELECT (SELECT count(*) FROM race_violation) || ' ' ||
       (SELECT count(*) FROM race_refusal) || ' ' ||
       (SELECT count(*) FROM race_order) || ' ' ||
       (SELECT count(*) FROM (SELECT customer FROM race_order GROUP BY customer HAVING sum(amount) > 500) x) || ' ' ||
       (SELECT count(*) FROM pgcredit.verify_exposure()) || ' ' ||
       (SELECT coalesce(max(s), 0) FROM (SELECT sum(amount) s FROM race_order GROUP BY customer) x);
SQL
)
read -r violations refusals orders over mismatches highest <<<"$result"
echo "race: $clients clients, ${seconds}s, $tx transactions: $refusals orders refused at a limit, $orders orders standing, highest exposure $highest of 500"
check() { if [ "$1" = "$2" ]; then echo "ok - $3"; else echo "not ok - $3 (got $1, expected $2)"; failed=1; fi; }
check "$violations" 0 "no customer seen over its limit while the race ran"
check "$over" 0 "no customer over its limit at the end"
check "$mismatches" 0 "verify_exposure() finds every worker's exposure right"
[ "$refusals" -gt 100 ] && echo "ok - the orders met the limit ($refusals refused)" ||
	{ echo "not ok - the orders met the limit (only $refusals refused)"; failed=1; }
psql -c "SET client_min_messages = warning" -c "SELECT count(*) > 0 FROM pgcredit.detach('race_order')" \
	-c "DROP TABLE race_order, race_violation, race_refusal" -c "DROP FUNCTION race_try(int, numeric)" \
	-c "DROP EXTENSION pgcredit CASCADE" >/dev/null
exit $failed
