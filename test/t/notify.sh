#!/usr/bin/env bash
# A real listener receives pgcredit's alerts: one session LISTENs on
# pgcredit_alerts while another puts an account on hold and holds an
# order over its limit in one transaction; the listener gets both, as
# JSON of the alert's id and kind (nothing more: any role may LISTEN), when
# that transaction commits; the rest is read from pgcredit.alert by id.
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/common.sh
db=pgcredit_notify
out=$(mktemp)
trap 'rm -f "$out"; dropdb --if-exists "$db" 2>/dev/null' EXIT
dropdb --if-exists "$db" 2>/dev/null
createdb "$db"
psql -X -q -v ON_ERROR_STOP=1 -d "$db" >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION pgcredit;
CREATE TABLE web_order (id int PRIMARY KEY, customer text NOT NULL, amount numeric NOT NULL,
                        on_hold boolean NOT NULL DEFAULT false);
SELECT pgcredit.attach_orders('web_order', 'customer', 'amount', mode => 'hold', hold_column => 'on_hold');
SELECT pgcredit.open_account('N1', 100);
SELECT pgcredit.open_account('N2', 100);
SQL

# The listener: LISTEN, then wait; psql prints what arrived after each command.
psql -X -d "$db" -c "LISTEN pgcredit_alerts" -c "SELECT pg_sleep(3)" -c "SELECT 'listener done'" >"$out" 2>&1 &
listener=$!
sleep 1
# The writer: nothing reaches the listener before the commit.
psql -X -q -v ON_ERROR_STOP=1 -d "$db" >/dev/null <<'SQL'
SET client_min_messages = warning;
BEGIN;
SELECT pgcredit.place_hold('N1', 'notify test');
INSERT INTO web_order VALUES (1, 'N2', 250);
SELECT pg_sleep(0.5);
COMMIT;
SQL
wait "$listener"

cat "$out"
n=$(grep -c 'Asynchronous notification "pgcredit_alerts" with payload' "$out" || true)
[ "$n" -eq 2 ] || { echo "expected 2 notifications, got $n"; exit 1; }
# The payloads parse as JSON and name what happened.
payloads=$(sed -n 's/^Asynchronous notification "pgcredit_alerts" with payload "\(.*\)" received from server process with PID [0-9]*\.$/\1/p' "$out")
kinds=$(printf '%s\n' "$payloads" | while IFS= read -r p; do
	echo "SELECT (:'p'::json ->> 'kind') || ' ' || a.customer
	      FROM pgcredit.alert a WHERE a.id = (:'p'::json ->> 'id')::bigint
	        AND (SELECT array_agg(k ORDER BY k) FROM json_object_keys(:'p'::json) k) = '{id,kind}'" |
		psql -X -At -v ON_ERROR_STOP=1 -d "$db" -v p="$p"
done | sort | tr '\n' ',')
[ "$kinds" = "account_hold N1,limit_breached N2," ] || { echo "unexpected alerts: $kinds"; exit 1; }
# The same alerts are in the table.
rows=$(psql -X -At -d "$db" -c "SELECT string_agg(kind || ' ' || customer, ',' ORDER BY kind) FROM pgcredit.alert")
[ "$rows" = "account_hold N1,limit_breached N2" ] || { echo "alert table: $rows"; exit 1; }
echo "the listener received both alerts as JSON"
