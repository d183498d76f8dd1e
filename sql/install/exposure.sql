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
  currency       text
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
COMMENT ON COLUMN pgcredit.exposure.currency IS 'the account''s currency, copied like credit_limit: receivables and open_orders are in it (NULL = the book''s base currency)';
REVOKE ALL ON pgcredit.exposure FROM PUBLIC;
GRANT SELECT ON pgcredit.exposure TO pgcredit_reader;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.exposure', '');

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



CREATE FUNCTION pgcredit._attached_items(kind text DEFAULT NULL, customer text DEFAULT NULL,
                                         relid regclass DEFAULT NULL, lock_tables boolean DEFAULT false)
RETURNS TABLE (relid oid, kind text, customer text, amount numeric, counts boolean, held boolean,
               due date, invoice_amount numeric, invoiced_on date, paid_on date)
AS 'MODULE_PATHNAME', 'pgc_attached_items'
LANGUAGE C VOLATILE ROWS 100000;
COMMENT ON FUNCTION pgcredit._attached_items(text, text, regclass, boolean) IS
  'the rows of the attached tables (of one kind, of one customer, of one table), each table read as its owner in a security-restricted operation; counts says whether the row counts in exposure';
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
  WHERE i.counts
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
  WHERE i.counts AND i.amount > 0 AND i.due IS NOT NULL
  GROUP BY i.customer, i.due
$$;
COMMENT ON FUNCTION pgcredit._actual_receivable_due(boolean) IS
  'receivables per customer and due date recomputed from every attached receivables table, as pgcredit.receivable_due keeps them';
REVOKE EXECUTE ON FUNCTION pgcredit._actual_receivable_due(boolean) FROM PUBLIC;

CREATE FUNCTION pgcredit.verify_exposure()
RETURNS TABLE (customer text, stored_receivables numeric, actual_receivables numeric,
               stored_orders numeric, actual_orders numeric)
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT coalesce(e.customer, a.customer),
         coalesce(e.receivables, 0), coalesce(a.receivables, 0),
         coalesce(e.open_orders, 0), coalesce(a.open_orders, 0)
  FROM pgcredit.exposure e
  FULL JOIN pgcredit._actual_exposure() a ON a.customer = e.customer
  WHERE coalesce(e.receivables, 0) <> coalesce(a.receivables, 0)
     OR coalesce(e.open_orders, 0) <> coalesce(a.open_orders, 0)
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
  ORDER BY 1, 2
$$;
COMMENT ON FUNCTION pgcredit.verify_receivable_due() IS
  'recompute the receivables per customer and due date from the attached tables and list the buckets whose stored figures differ (none when all is well)';
REVOKE EXECUTE ON FUNCTION pgcredit.verify_receivable_due() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.verify_receivable_due() TO pgcredit_reader;

CREATE FUNCTION pgcredit.rebuild_exposure()
RETURNS bigint LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  fixed bigint;
  fixed_customers text[];
BEGIN
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
  IF fixed > 0 THEN
    PERFORM pgcredit._audit('rebuild_exposure', NULL, NULL, jsonb_build_object('customers_fixed', fixed), NULL);
  END IF;
  RETURN fixed;
END
$$;
COMMENT ON FUNCTION pgcredit.rebuild_exposure() IS
  'recompute exposure and the receivables by due date from the attached tables and repair them, and the credit groups'' exposure; returns the number of customers and groups corrected';
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
