#!/usr/bin/env bash
# Two-phase commit: an INSERT ... ON CONFLICT straight into a partition of
# an attached table leaves a row that was counted but never stored; it is
# settled when the transaction is prepared (PREPARE TRANSACTION), so that
# exposure equals the tables once COMMIT PREPARED is done.  A cluster of
# its own, with max_prepared_transactions set.
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/common.sh
sql=$(mktemp)
trap 'rm -f "$sql"' EXIT
chmod a+r "$sql"
cat >"$sql" <<'SQL'
\set ON_ERROR_STOP on
SET client_min_messages = warning;
CREATE EXTENSION pgcredit;
CREATE TABLE p_part (id int, region text, customer text, amount numeric NOT NULL,
                     PRIMARY KEY (id, region)) PARTITION BY LIST (region);
CREATE TABLE p_north PARTITION OF p_part FOR VALUES IN ('north');
SELECT count(*) FROM pgcredit.attach_orders('p_part', 'customer', 'amount');
INSERT INTO p_north VALUES (1, 'north', 'P', 100);
BEGIN;
INSERT INTO p_north VALUES (1, 'north', 'P', 700) ON CONFLICT DO NOTHING;
PREPARE TRANSACTION 't1';
COMMIT PREPARED 't1';
SELECT 'exposure ' || open_orders FROM pgcredit.exposure WHERE customer = 'P';
SELECT 'mismatches ' || count(*) FROM pgcredit.verify_exposure();
SQL

out=$(env -u PGHOST -u PGPORT -u PGUSER -u PGPASSWORD -u PGDATABASE \
	pg_virtualenv -t -v "$PGVER" -c "--locale=C.UTF-8" -o "max_prepared_transactions=5" \
	psql -X -At -d postgres -f "$sql" 2>/dev/null)
echo "$out"
echo "$out" | grep -qx "exposure 100" || { echo "exposure should be 100"; exit 1; }
echo "$out" | grep -qx "mismatches 0" || { echo "verify_exposure() should be empty"; exit 1; }
echo "a row never stored was settled at PREPARE TRANSACTION"
