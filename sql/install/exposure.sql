-- Credit control: live exposure per customer, read from the attached tables

----------------------------------------------------------------------
-- Credit control: exposure from the attached tables
----------------------------------------------------------------------

CREATE TABLE pgcredit.exposure (
  customer       text PRIMARY KEY
                 CONSTRAINT customer_key_length CHECK (octet_length(customer) <= 1000),
  receivables    numeric NOT NULL DEFAULT 0,
  open_orders    numeric NOT NULL DEFAULT 0,
  has_account    boolean NOT NULL DEFAULT false,
  credit_limit   numeric,
  tolerance_pct  numeric NOT NULL DEFAULT 0,
  status         text NOT NULL DEFAULT 'ok',
  risk_tier      text,
  next_review    date,
  temporary_limit numeric,
  temporary_from date,
  temporary_until date,
  order_count    bigint NOT NULL DEFAULT 0,
  order_sum      numeric NOT NULL DEFAULT 0,
  credit_group   text,
  cover_counted  numeric,
  cover_from     date,
  cover_until    date,
  currency       text,
  book_version   bigint
) WITH (fillfactor = 50);   -- room for the frequent updates to stay on their page
COMMENT ON TABLE pgcredit.exposure IS 'live exposure per customer, kept current by pgcredit''s triggers on the attached tables';
COMMENT ON COLUMN pgcredit.exposure.customer IS 'customer key as text';
COMMENT ON COLUMN pgcredit.exposure.receivables IS 'sum of open amounts in the attached receivables tables';
COMMENT ON COLUMN pgcredit.exposure.open_orders IS 'sum of open, not held, order amounts in the attached order tables';
COMMENT ON COLUMN pgcredit.exposure.has_account IS 'whether the customer has a credit account (copy kept by the account functions)';
COMMENT ON COLUMN pgcredit.exposure.credit_limit IS 'the account''s credit limit, copied here so that the guard reads it with the row lock it takes';
COMMENT ON COLUMN pgcredit.exposure.tolerance_pct IS 'the account''s tolerance, copied like credit_limit';
COMMENT ON COLUMN pgcredit.exposure.status IS 'the account''s status, copied like credit_limit';
COMMENT ON COLUMN pgcredit.exposure.risk_tier IS 'the account''s risk tier, copied like credit_limit (rules scoped to a tier read it)';
COMMENT ON COLUMN pgcredit.exposure.next_review IS 'the account''s next review date, copied like credit_limit (limit_expired rules read it)';
COMMENT ON COLUMN pgcredit.exposure.temporary_limit IS 'the account''s temporary limit, copied like credit_limit; the guard uses it within its window';
COMMENT ON COLUMN pgcredit.exposure.temporary_from IS 'first day of the temporary limit, copied like credit_limit';
COMMENT ON COLUMN pgcredit.exposure.temporary_until IS 'last day of the temporary limit, copied like credit_limit';
COMMENT ON COLUMN pgcredit.exposure.order_count IS 'orders the guard let in for the customer (largest_order rules compare an order with the average)';
COMMENT ON COLUMN pgcredit.exposure.order_sum IS 'sum of the amounts of those orders';
COMMENT ON COLUMN pgcredit.exposure.credit_group IS 'the customer''s credit group, copied by join_group and leave_group: the guard adds every change of the exposure to that group and the groups above it';
COMMENT ON COLUMN pgcredit.exposure.cover_counted IS 'the cover that counts towards the customer''s limit from cover_from to cover_until (NULL: none), copied by the cover functions so that the guard adds it without a query';
COMMENT ON COLUMN pgcredit.exposure.cover_from IS 'first day cover_counted holds (NULL: since ever)';
COMMENT ON COLUMN pgcredit.exposure.cover_until IS 'last day cover_counted holds (NULL: for ever); on another day the guard makes the copy again first';
COMMENT ON COLUMN pgcredit.exposure.currency IS 'the account''s currency, copied like credit_limit: receivables and open_orders are in it (NULL = the book''s base currency)';
COMMENT ON COLUMN pgcredit.exposure.book_version IS 'set from book_version_seq by the guard at every change of a row of the customer''s in an attached receivables table (NULL: none since the row was made): the kept book (book_cache) holds a customer''s figures while it has the same';
REVOKE ALL ON pgcredit.exposure FROM PUBLIC;
GRANT SELECT ON pgcredit.exposure TO pgcredit_reader;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.exposure', '');

-- A customer's ledger versions, never given twice: dumped with the
-- exposure rows, so that a restored database goes on from the versions
-- they hold
CREATE SEQUENCE pgcredit.book_version_seq OWNED BY pgcredit.exposure.book_version;
COMMENT ON SEQUENCE pgcredit.book_version_seq IS 'the versions the guard gives exposure.book_version';
REVOKE ALL ON SEQUENCE pgcredit.book_version_seq FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.book_version_seq', '');

CREATE TABLE pgcredit.receivable_due (
  customer       text NOT NULL
                 CONSTRAINT customer_key_length CHECK (octet_length(customer) <= 1000),
  due            date NOT NULL,
  amount         numeric NOT NULL,
  items          integer NOT NULL,
  PRIMARY KEY (customer, due)
) WITH (fillfactor = 50);   -- room for the frequent updates to stay on their page
COMMENT ON TABLE pgcredit.receivable_due IS 'open receivables per customer and due date, kept current by pgcredit''s triggers on the attached receivables tables; the days_past_due and overdue_amount rules read it';
COMMENT ON COLUMN pgcredit.receivable_due.customer IS 'customer key as text';
COMMENT ON COLUMN pgcredit.receivable_due.due IS 'due date';
COMMENT ON COLUMN pgcredit.receivable_due.amount IS 'sum of the open amounts above 0 due that day (the rows that count in exposure)';
COMMENT ON COLUMN pgcredit.receivable_due.items IS 'number of those rows';
REVOKE ALL ON pgcredit.receivable_due FROM PUBLIC;
GRANT SELECT ON pgcredit.receivable_due TO pgcredit_reader;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.receivable_due', '');

-- Orders beyond the horizon (issue #13): orders whose delivery date lies
-- further ahead than the attachment's horizon_days wait here, by the day
-- they start to count, instead of in exposure.open_orders
CREATE TABLE pgcredit.order_horizon (
  customer       text NOT NULL
                 CONSTRAINT customer_key_length CHECK (octet_length(customer) <= 1000),
  counts_from    date NOT NULL,
  amount         numeric NOT NULL,
  items          integer NOT NULL,
  PRIMARY KEY (customer, counts_from)
) WITH (fillfactor = 50);   -- room for the frequent updates to stay on their page
COMMENT ON TABLE pgcredit.order_horizon IS 'open orders beyond the horizon per customer and the day they start to count (delivery date less the table''s horizon_days), kept by pgcredit''s triggers; advance_horizon() moves the days that came into exposure';
COMMENT ON COLUMN pgcredit.order_horizon.customer IS 'customer key as text';
COMMENT ON COLUMN pgcredit.order_horizon.counts_from IS 'the first day these orders count in exposure: their delivery date less the horizon_days of their table';
COMMENT ON COLUMN pgcredit.order_horizon.amount IS 'sum of the amounts of those orders that use credit (as they would count in open_orders)';
COMMENT ON COLUMN pgcredit.order_horizon.items IS 'number of those orders';
REVOKE ALL ON pgcredit.order_horizon FROM PUBLIC;
GRANT SELECT ON pgcredit.order_horizon TO pgcredit_reader;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.order_horizon', '');

CREATE FUNCTION pgcredit._horizon_today()
RETURNS date
AS 'MODULE_PATHNAME', 'pgc_horizon_today'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgcredit._horizon_today() IS
  'the day the guard measures the horizon from: the date in the book''s time zone (settings.time_zone), else current_date; or the superuser-only setting pgcredit.horizon_today when set (for tests)';
REVOKE EXECUTE ON FUNCTION pgcredit._horizon_today() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit._horizon_today() TO pgcredit_reader;



CREATE FUNCTION pgcredit._attached_items(kind text DEFAULT NULL, customer text DEFAULT NULL,
                                         relid regclass DEFAULT NULL, lock_tables boolean DEFAULT false)
RETURNS TABLE (relid oid, kind text, customer text, amount numeric, counts boolean, held boolean,
               due date, invoice_amount numeric, invoiced_on date, paid_on date, counts_from date)
AS 'MODULE_PATHNAME', 'pgc_attached_items_v2'
LANGUAGE C VOLATILE ROWS 100000;
COMMENT ON FUNCTION pgcredit._attached_items(text, text, regclass, boolean) IS
  'the rows of the attached tables (of one kind, of one customer, of one table), each table read as its owner in a security-restricted operation; counts says whether the row counts in exposure; counts_from, for an open order beyond its table''s horizon, the day it starts to count (it does not count before)';
REVOKE EXECUTE ON FUNCTION pgcredit._attached_items(text, text, regclass, boolean) FROM PUBLIC;

CREATE FUNCTION pgcredit._actual_exposure(lock_tables boolean DEFAULT false)
RETURNS TABLE (customer text, receivables numeric, open_orders numeric)
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT i.customer,
         coalesce(sum(i.amount) FILTER (WHERE i.kind = 'receivables'), 0),
         coalesce(sum(i.amount) FILTER (WHERE i.kind = 'orders'), 0)
  FROM pgcredit._attached_items(NULL, NULL, NULL, lock_tables) i
  WHERE i.counts AND i.relid <> ALL (CAST((SELECT pgcredit._citus_shells()) AS oid[]))
  GROUP BY i.customer
$$;
COMMENT ON FUNCTION pgcredit._actual_exposure(boolean) IS 'exposure per customer recomputed from every attached table';
REVOKE EXECUTE ON FUNCTION pgcredit._actual_exposure(boolean) FROM PUBLIC;

CREATE FUNCTION pgcredit._actual_receivable_due(lock_tables boolean DEFAULT false)
RETURNS TABLE (customer text, due date, amount numeric, items integer)
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT i.customer, i.due, sum(i.amount), count(*)::integer
  FROM pgcredit._attached_items('receivables', NULL, NULL, lock_tables) i
  WHERE i.counts AND i.amount > 0 AND i.due IS NOT NULL AND i.relid <> ALL (CAST((SELECT pgcredit._citus_shells()) AS oid[]))
  GROUP BY i.customer, i.due
$$;
COMMENT ON FUNCTION pgcredit._actual_receivable_due(boolean) IS
  'receivables per customer and due date recomputed from every attached receivables table, as pgcredit.receivable_due keeps them';
REVOKE EXECUTE ON FUNCTION pgcredit._actual_receivable_due(boolean) FROM PUBLIC;

CREATE FUNCTION pgcredit._actual_order_horizon(lock_tables boolean DEFAULT false)
RETURNS TABLE (customer text, counts_from date, amount numeric, items integer)
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT i.customer, i.counts_from, sum(i.amount), count(*)::integer
  FROM pgcredit._attached_items('orders', NULL, NULL, lock_tables) i
  WHERE i.counts_from IS NOT NULL AND i.relid <> ALL (CAST((SELECT pgcredit._citus_shells()) AS oid[]))
  GROUP BY i.customer, i.counts_from
$$;
COMMENT ON FUNCTION pgcredit._actual_order_horizon(boolean) IS
  'orders beyond the horizon per customer and first day they count, recomputed from every attached order table, as pgcredit.order_horizon keeps them';
REVOKE EXECUTE ON FUNCTION pgcredit._actual_order_horizon(boolean) FROM PUBLIC;

CREATE FUNCTION pgcredit.verify_exposure()
RETURNS TABLE (customer text, stored_receivables numeric, actual_receivables numeric,
               stored_orders numeric, actual_orders numeric)
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  -- orders beyond the horizon whose day has come count in exposure
  -- already, also while advance_horizon() has not yet moved them there
  WITH stored AS (
    SELECT coalesce(x.customer, h.customer) AS customer, coalesce(x.receivables, 0) AS receivables,
           coalesce(x.open_orders, 0) + coalesce(h.amount, 0) AS open_orders
    FROM pgcredit.exposure x
    FULL JOIN (SELECT h0.customer, sum(h0.amount) AS amount FROM pgcredit.order_horizon h0
               WHERE h0.counts_from <= pgcredit._horizon_today() GROUP BY h0.customer) h
      ON h.customer = x.customer)
  SELECT coalesce(e.customer, a.customer),
         coalesce(e.receivables, 0), coalesce(a.receivables, 0),
         coalesce(e.open_orders, 0), coalesce(a.open_orders, 0)
  FROM stored e
  FULL JOIN pgcredit._actual_exposure() a ON a.customer = e.customer
  WHERE coalesce(e.receivables, 0) <> coalesce(a.receivables, 0)
     OR coalesce(e.open_orders, 0) <> coalesce(a.open_orders, 0)
  -- on the coordinator of a Citus cluster, the workers' exposure too
  UNION ALL
  SELECT * FROM pgcredit._citus_verify_exposure()
  ORDER BY 1
$$;
COMMENT ON FUNCTION pgcredit.verify_exposure() IS
  'recompute exposure from the attached tables and list the customers whose stored exposure differs (none when all is well)';
REVOKE EXECUTE ON FUNCTION pgcredit.verify_exposure() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.verify_exposure() TO pgcredit_reader;

CREATE FUNCTION pgcredit.verify_receivable_due()
RETURNS TABLE (customer text, due date, stored_amount numeric, actual_amount numeric,
               stored_items integer, actual_items integer)
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT coalesce(d.customer, a.customer), coalesce(d.due, a.due),
         coalesce(d.amount, 0), coalesce(a.amount, 0),
         coalesce(d.items, 0), coalesce(a.items, 0)
  FROM pgcredit.receivable_due d
  FULL JOIN pgcredit._actual_receivable_due() a ON a.customer = d.customer AND a.due = d.due
  WHERE coalesce(d.amount, 0) <> coalesce(a.amount, 0)
     OR coalesce(d.items, 0) <> coalesce(a.items, 0)
  -- on the coordinator of a Citus cluster, the workers' too
  UNION ALL
  SELECT r.* FROM pgcredit._citus_verify('verify_receivable_due') j
  CROSS JOIN LATERAL jsonb_to_record(j)
    AS r(customer text, due date, stored_amount numeric, actual_amount numeric, stored_items integer,
         actual_items integer)
  ORDER BY 1, 2
$$;
COMMENT ON FUNCTION pgcredit.verify_receivable_due() IS
  'recompute the receivables per customer and due date from the attached tables and list the buckets whose stored figures differ (none when all is well)';
REVOKE EXECUTE ON FUNCTION pgcredit.verify_receivable_due() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.verify_receivable_due() TO pgcredit_reader;

CREATE FUNCTION pgcredit.verify_order_horizon()
RETURNS TABLE (customer text, counts_from date, stored_amount numeric, actual_amount numeric,
               stored_items integer, actual_items integer)
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  -- the days that have come count in exposure: verify_exposure() checks them
  SELECT coalesce(d.customer, a.customer), coalesce(d.counts_from, a.counts_from),
         coalesce(d.amount, 0), coalesce(a.amount, 0),
         coalesce(d.items, 0), coalesce(a.items, 0)
  FROM (SELECT * FROM pgcredit.order_horizon h WHERE h.counts_from > pgcredit._horizon_today()) d
  FULL JOIN pgcredit._actual_order_horizon() a ON a.customer = d.customer AND a.counts_from = d.counts_from
  WHERE coalesce(d.amount, 0) <> coalesce(a.amount, 0)
     OR coalesce(d.items, 0) <> coalesce(a.items, 0)
  -- on the coordinator of a Citus cluster, the workers' too
  UNION ALL
  SELECT r.* FROM pgcredit._citus_verify('verify_order_horizon') j
  CROSS JOIN LATERAL jsonb_to_record(j)
    AS r(customer text, counts_from date, stored_amount numeric, actual_amount numeric,
         stored_items integer, actual_items integer)
  ORDER BY 1, 2
$$;
COMMENT ON FUNCTION pgcredit.verify_order_horizon() IS
  'recompute the orders beyond the horizon per customer and day from the attached tables and list the buckets whose stored figures differ (none when all is well)';
REVOKE EXECUTE ON FUNCTION pgcredit.verify_order_horizon() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.verify_order_horizon() TO pgcredit_reader;

CREATE FUNCTION pgcredit.rebuild_exposure()
RETURNS bigint LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  fixed bigint;
  fixed_customers text[];
BEGIN
  -- no change of an account in flight, nor after: the copies of the
  -- accounts made below read them once, and a change that committed while
  -- the copy waited for its exposure row would be undone (a lowered limit
  -- raised again)
  LOCK TABLE pgcredit.account IN SHARE MODE;
  -- no dispute opened or closed meanwhile (they take turns with this, see
  -- open_dispute), before any exposure row is locked
  LOCK TABLE pgcredit.collection_dispute IN SHARE MODE;
  -- the attached tables are read under a SHARE lock, holding their
  -- writers while exposure is recomputed
  WITH actual AS (SELECT * FROM pgcredit._actual_exposure(true)),
  fix AS (
    INSERT INTO pgcredit.exposure AS e (customer, receivables, open_orders)
    SELECT coalesce(x.customer, e0.customer), coalesce(x.receivables, 0), coalesce(x.open_orders, 0)
    FROM actual x FULL JOIN pgcredit.exposure e0 ON e0.customer = x.customer
    WHERE coalesce(e0.receivables, 0) <> coalesce(x.receivables, 0)
       OR coalesce(e0.open_orders, 0) <> coalesce(x.open_orders, 0)
       OR e0.customer IS NULL
    ON CONFLICT (customer) DO UPDATE SET receivables = EXCLUDED.receivables,
                                         open_orders = EXCLUDED.open_orders
    RETURNING e.customer)
  SELECT array_agg(f.customer) INTO fixed_customers FROM fix f;
  -- and the receivables by due date (the tables are locked already)
  WITH actual AS (SELECT * FROM pgcredit._actual_receivable_due()),
  diff AS (
    SELECT coalesce(x.customer, d.customer) AS customer, coalesce(x.due, d.due) AS due, x.amount, x.items
    FROM actual x FULL JOIN pgcredit.receivable_due d ON d.customer = x.customer AND d.due = x.due
    WHERE x.customer IS NULL OR d.customer IS NULL OR x.amount <> d.amount OR x.items <> d.items),
  gone AS (
    DELETE FROM pgcredit.receivable_due d USING diff x
    WHERE x.items IS NULL AND d.customer = x.customer AND d.due = x.due
    RETURNING d.customer),
  put AS (
    INSERT INTO pgcredit.receivable_due AS d (customer, due, amount, items)
    SELECT x.customer, x.due, x.amount, x.items FROM diff x WHERE x.items IS NOT NULL
    ON CONFLICT (customer, due) DO UPDATE SET amount = EXCLUDED.amount, items = EXCLUDED.items
    RETURNING d.customer)
  SELECT fixed_customers || array_agg(f.customer) INTO fixed_customers
  FROM (SELECT g.customer FROM gone g UNION ALL SELECT p.customer FROM put p) f;
  -- and the disputed ones among them (collections_disputes.sql)
  fixed_customers := fixed_customers || pgcredit._rebuild_dispute_due();
  -- and the orders beyond the horizon: the days to come as the tables
  -- hold them; a day that has come is in exposure now
  WITH actual AS (SELECT * FROM pgcredit._actual_order_horizon()),
  diff AS (
    SELECT coalesce(x.customer, d.customer) AS customer, coalesce(x.counts_from, d.counts_from) AS counts_from,
           x.amount, x.items
    FROM actual x FULL JOIN pgcredit.order_horizon d ON d.customer = x.customer AND d.counts_from = x.counts_from
    WHERE x.customer IS NULL OR d.customer IS NULL OR x.amount <> d.amount OR x.items <> d.items),
  gone AS (
    DELETE FROM pgcredit.order_horizon d USING diff x
    WHERE x.items IS NULL AND d.customer = x.customer AND d.counts_from = x.counts_from
    RETURNING d.customer),
  put AS (
    INSERT INTO pgcredit.order_horizon AS d (customer, counts_from, amount, items)
    SELECT x.customer, x.counts_from, x.amount, x.items FROM diff x WHERE x.items IS NOT NULL
    ON CONFLICT (customer, counts_from) DO UPDATE SET amount = EXCLUDED.amount, items = EXCLUDED.items
    RETURNING d.customer)
  SELECT fixed_customers || array_agg(f.customer) INTO fixed_customers
  FROM (SELECT g.customer FROM gone g UNION ALL SELECT p.customer FROM put p) f;
  -- and the company categories, under the same table locks
  fixed_customers := fixed_customers || pgcredit._rebuild_category_exposure();
  SELECT count(DISTINCT c) INTO fixed FROM unnest(fixed_customers) c;
  -- and the copies of the accounts on the exposure rows
  UPDATE pgcredit.exposure e SET has_account = x.has_account, credit_limit = x.credit_limit,
                                 tolerance_pct = x.tolerance_pct, status = x.status,
                                 risk_tier = x.risk_tier, next_review = x.next_review,
                                 temporary_limit = x.temporary_limit, temporary_from = x.temporary_from,
                                 temporary_until = x.temporary_until, currency = x.currency
  FROM (SELECT e2.customer, acc.customer IS NOT NULL AS has_account, acc.credit_limit,
               coalesce(acc.tolerance_pct, 0) AS tolerance_pct, coalesce(acc.status, 'ok') AS status,
               acc.risk_tier, acc.next_review, acc.temporary_limit, acc.temporary_from, acc.temporary_until,
               acc.currency
        FROM pgcredit.exposure e2 LEFT JOIN pgcredit.account acc ON acc.customer = e2.customer) x
  WHERE x.customer = e.customer
    AND (e.has_account, e.credit_limit, e.tolerance_pct, e.status, e.risk_tier, e.next_review,
         e.temporary_limit, e.temporary_from, e.temporary_until, e.currency)
        IS DISTINCT FROM (x.has_account, x.credit_limit, x.tolerance_pct, x.status, x.risk_tier, x.next_review,
                          x.temporary_limit, x.temporary_from, x.temporary_until, x.currency);
  -- and the credit groups, from the customers' repaired exposure
  fixed := fixed + pgcredit._rebuild_group_exposure();
  -- and the copies of the customers' cover
  fixed := fixed + pgcredit._rebuild_cover();
  -- the kept book (book_cache.sql) no longer holds: the rows may have
  -- changed without the guard
  UPDATE pgcredit.book_state SET generation = generation + 1;
  IF fixed > 0 THEN
    PERFORM pgcredit._audit('rebuild_exposure', NULL, NULL, jsonb_build_object('customers_fixed', fixed), NULL);
  END IF;
  RETURN fixed;
END
$$;
COMMENT ON FUNCTION pgcredit.rebuild_exposure() IS
  'recompute exposure, the company categories'' exposure, the receivables by due date (and the disputed ones among them) and the orders beyond the horizon from the attached tables and repair them, and the credit groups'' exposure; returns the number of customers and groups corrected';
REVOKE EXECUTE ON FUNCTION pgcredit.rebuild_exposure() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.rebuild_exposure() TO pgcredit_admin;

CREATE FUNCTION pgcredit.items_past_due(customer text, days int)
RETURNS boolean LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT EXISTS (SELECT FROM pgcredit._attached_items('receivables', $1) i
                 WHERE i.counts AND i.amount > 0 AND i.due < current_date - $2)
$$;
COMMENT ON FUNCTION pgcredit.items_past_due(text, int) IS
  'whether a customer has open receivables more than "days" past due in any attached receivables table';
REVOKE EXECUTE ON FUNCTION pgcredit.items_past_due(text, int) FROM PUBLIC;

-- One customer's exposure now (receivables plus open orders), as the
-- guard judges by it: this node's row, the worker's on the coordinator of
-- a Citus cluster with distributed tables attached (doc/citus.md)
CREATE FUNCTION pgcredit._exposure_now(customer text)
RETURNS numeric LANGUAGE sql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT CASE WHEN cardinality(pgcredit._citus_shells()) > 0
              THEN (SELECT coalesce(sum(w.receivables + w.open_orders), 0)
                    FROM pgcredit._citus_exposure_at(current_date, $1) w)
              ELSE (SELECT coalesce(sum(e.receivables + e.open_orders), 0)
                    FROM pgcredit.exposure e WHERE e.customer = $1) END
$$;
COMMENT ON FUNCTION pgcredit._exposure_now(text) IS
  'one customer''s exposure now (receivables plus open orders; 0 without a row), on the coordinator of a Citus cluster as its worker keeps it';
REVOKE EXECUTE ON FUNCTION pgcredit._exposure_now(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit._exposure_now(text) TO pgcredit_reader;
