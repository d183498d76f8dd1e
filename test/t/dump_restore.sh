#!/usr/bin/env bash
# pg_dump and restore into a new database keep accounts, settings, the
# audit log, attachments, held orders and exposure, and enforcement goes
# on working in the copy.
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/common.sh
src=pgcredit_dump_src
dst=pgcredit_dump_dst
dump=$(mktemp)
trap 'rm -f "$dump"; dropdb --if-exists "$src"; dropdb --if-exists "$dst"' EXIT
dropdb --if-exists "$src"; dropdb --if-exists "$dst"
createdb "$src"

psql -X -q -v ON_ERROR_STOP=1 -d "$src" <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION pgcredit;
CREATE TABLE invoice (id serial PRIMARY KEY, customer text NOT NULL, open_amount numeric NOT NULL, due date NOT NULL);
CREATE TABLE sales_order (id serial PRIMARY KEY, customer text NOT NULL, amount numeric NOT NULL,
                          on_hold boolean NOT NULL DEFAULT false);
INSERT INTO invoice (customer, open_amount, due) VALUES ('A', 300, current_date - 40), ('B', 50, current_date);
SELECT pgcredit.attach_receivables('invoice', 'customer', 'open_amount', 'due');
SELECT pgcredit.attach_orders('sales_order', 'customer', 'amount', mode => 'hold', hold_column => 'on_hold');
SELECT pgcredit.open_account('A', 1000, 5);
SELECT pgcredit.open_account('B', 200);
SELECT pgcredit.place_hold('B', 'documents missing');
SELECT pgcredit.set_no_account_policy('deny', reason => 'accounts required');
INSERT INTO sales_order (customer, amount) VALUES ('A', 600), ('A', 500), ('B', 10);
SELECT pgcredit.load_csv('pgcredit.external_score',
  E'customer,source,score,rating,as_of\nA,dnb,71,2A3,2024-06-30\nB,dnb,NaN,,2024-06-30\n');
SELECT pgcredit.load_csv('pgcredit.account_import', E'customer,credit_limit\nC,300\n');
UPDATE pgcredit.tier_policy SET limit_months = 4 WHERE tier = 'A';
INSERT INTO pgcredit.risk_settings (watch_utilisation_pct) VALUES (75);
SELECT pgcredit.refresh_scores();
SQL

"$PG_BINDIR/pg_dump" -Fc -f "$dump" "$src"
createdb "$dst"
"$PG_BINDIR/pg_restore" -d "$dst" "$dump"

# The same rows on both sides.
for q in \
	"SELECT * FROM pgcredit.account ORDER BY customer" \
	"SELECT * FROM pgcredit.exposure ORDER BY customer" \
	"SELECT * FROM pgcredit.settings" \
	"SELECT relid::text, kind, customer_column, amount_column, due_column, open_column, open_values, mode, hold_column FROM pgcredit.attachment ORDER BY 1" \
	"SELECT * FROM pgcredit.held_order ORDER BY id" \
	"SELECT * FROM pgcredit.audit_log ORDER BY id" \
	"SELECT * FROM pgcredit.import_run ORDER BY id" \
	"SELECT * FROM pgcredit.import_reject ORDER BY run_id, id" \
	"SELECT * FROM pgcredit.external_score ORDER BY customer" \
	"SELECT * FROM pgcredit.tier_policy ORDER BY tier" \
	"SELECT * FROM pgcredit.risk_settings" \
	"SELECT * FROM pgcredit.score_history ORDER BY customer, as_of" \
	"SELECT * FROM pgcredit.alert ORDER BY id" \
	"SELECT tgname, tgrelid::regclass::text FROM pg_trigger WHERE tgname LIKE 'zz_pgcredit%' ORDER BY 1, 2"; do
	a=$(psql -X -At -d "$src" -c "$q")
	b=$(psql -X -At -d "$dst" -c "$q")
	if [ "$a" != "$b" ] || [ -z "$a" ]; then
		echo "differs after restore (or empty): $q"
		diff <(echo "$a") <(echo "$b") || true
		exit 1
	fi
done
echo "accounts, exposure, settings, attachments, held orders, audit log, imports, scores and triggers restored"

# Enforcement works in the copy: exposure matches, orders are held or
# refused, a held order is released, new identities continue.
psql -X -q -v ON_ERROR_STOP=1 -d "$dst" <<'SQL'
SET client_min_messages = warning;
DO $$
DECLARE
  n bigint;
BEGIN
  IF (SELECT count(*) FROM pgcredit.verify_exposure()) <> 0 THEN
    RAISE EXCEPTION 'exposure mismatch after restore';
  END IF;
  INSERT INTO sales_order (customer, amount) VALUES ('A', 1000);
  IF NOT (SELECT on_hold FROM sales_order ORDER BY id DESC LIMIT 1) THEN
    RAISE EXCEPTION 'an order over the limit was not held after restore';
  END IF;
  INSERT INTO sales_order (customer, amount) VALUES ('Z', 1);
  IF NOT EXISTS (SELECT FROM pgcredit.held_order WHERE customer = 'Z' AND why = 'customer without a credit account') THEN
    RAISE EXCEPTION 'the deny policy was lost';
  END IF;
  PERFORM pgcredit.release_held_order((SELECT min(id) FROM pgcredit.held_order WHERE released_at IS NULL), 'restored copy test');
  IF (SELECT count(*) FROM pgcredit.verify_exposure()) <> 0 THEN
    RAISE EXCEPTION 'exposure mismatch after release in the copy';
  END IF;
  SELECT count(*) INTO n FROM pgcredit.audit_log WHERE reason = 'restored copy test';
  IF n = 0 THEN
    RAISE EXCEPTION 'release not audited in the copy';
  END IF;
  -- loading works in the copy, and run numbers continue
  SELECT max(id) INTO n FROM pgcredit.import_run;
  IF (pgcredit.load_csv('pgcredit.account_import', E'customer,credit_limit\nD,400\n')).id <= n THEN
    RAISE EXCEPTION 'import run numbers restarted after restore';
  END IF;
  IF NOT EXISTS (SELECT FROM pgcredit.account WHERE customer = 'D' AND credit_limit = 400) THEN
    RAISE EXCEPTION 'account_import does not work in the copy';
  END IF;
END
$$;
SQL
echo "enforcement, holds, release and audit work in the restored database"
