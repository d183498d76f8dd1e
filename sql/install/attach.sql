-- Credit control: attaching pgcredit to the company's tables (pgcredit_admin)

----------------------------------------------------------------------
-- Credit control: attaching to the company's tables (pgcredit_admin)
----------------------------------------------------------------------

CREATE TABLE pgcredit.attachment (
  relid            regclass PRIMARY KEY,
  kind             text NOT NULL CHECK (kind IN ('orders', 'receivables')),
  customer_column  name NOT NULL,
  amount_column    name NOT NULL,
  due_column       name,
  open_column      name,
  open_values      text[],
  mode             text NOT NULL CHECK (mode IN ('block', 'hold', 'track')),
  hold_column      name,
  invoice_amount_column name,
  invoiced_column  name,
  paid_column      name,
  attached_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  attached_by      name NOT NULL DEFAULT session_user,
  prepaid_column   name,
  delivery_column  name,
  horizon_days     integer CONSTRAINT horizon_days_range CHECK (horizon_days BETWEEN 0 AND 3660),
  category         text NOT NULL REFERENCES pgcredit.exposure_category,
  currency_column  name,
  rate_date_column name,
  CONSTRAINT horizon_both CHECK ((delivery_column IS NULL) = (horizon_days IS NULL)),
  order_date_column name CONSTRAINT order_date_of_orders CHECK (order_date_column IS NULL OR kind = 'orders'),
  citus_shard_of   regclass
);
COMMENT ON TABLE pgcredit.attachment IS 'tables pgcredit is attached to, with the columns its triggers read';
COMMENT ON COLUMN pgcredit.attachment.relid IS 'the attached table';
COMMENT ON COLUMN pgcredit.attachment.kind IS 'orders (checked) or receivables (kept in exposure)';
COMMENT ON COLUMN pgcredit.attachment.customer_column IS 'column holding the customer key';
COMMENT ON COLUMN pgcredit.attachment.amount_column IS 'order amount, or open amount of a receivable';
COMMENT ON COLUMN pgcredit.attachment.due_column IS 'due date of a receivable';
COMMENT ON COLUMN pgcredit.attachment.open_column IS 'column saying whether a row is open; NULL = every row is open';
COMMENT ON COLUMN pgcredit.attachment.open_values IS 'values of open_column that count as open, as the column type prints them (numbers without trailing fractional zeros)';
COMMENT ON COLUMN pgcredit.attachment.mode IS 'block (refuse with an error), hold (let in marked held) or track (receivables)';
COMMENT ON COLUMN pgcredit.attachment.hold_column IS 'boolean column marking held orders';
COMMENT ON COLUMN pgcredit.attachment.invoice_amount_column IS 'receivables: the invoiced amount, for payment behaviour and DSO; NULL = the open amount column';
COMMENT ON COLUMN pgcredit.attachment.invoiced_column IS 'receivables: the invoice date, for DSO';
COMMENT ON COLUMN pgcredit.attachment.paid_column IS 'receivables: the date the item was paid (NULL while open), for payment behaviour and DSO';
COMMENT ON COLUMN pgcredit.attachment.attached_at IS 'when the table was attached';
COMMENT ON COLUMN pgcredit.attachment.attached_by IS 'who attached it';
COMMENT ON COLUMN pgcredit.attachment.category IS 'the exposure category the table feeds: orders or invoices (built in), or a company category of pgcredit.exposure_category of the same kind';
COMMENT ON COLUMN pgcredit.attachment.prepaid_column IS 'orders: the prepaid or secured part of an order, which uses no credit (the order counts amount - prepaid, never below 0); NULL = none';
COMMENT ON COLUMN pgcredit.attachment.delivery_column IS 'orders: the delivery date; an order delivered more than horizon_days after today does not count yet (NULL date: counts now); NULL = no horizon';
COMMENT ON COLUMN pgcredit.attachment.order_date_column IS 'orders: the day each order was placed, for replay_policy(); NULL = not given (the replay judges none of the table''s orders)';
COMMENT ON COLUMN pgcredit.attachment.horizon_days IS 'orders: the horizon in days, with delivery_column: an order counts from its delivery date less this many days';
COMMENT ON COLUMN pgcredit.attachment.currency_column IS 'the currency of each row''s amounts (ISO 4217 code); a row in another currency than its customer''s account is converted with the rate valid on its rate date; NULL = every row is in its account''s currency';
COMMENT ON COLUMN pgcredit.attachment.citus_shard_of IS 'on a Citus worker: the distributed table whose shard this is (attached on the coordinator); NULL otherwise';
COMMENT ON COLUMN pgcredit.attachment.rate_date_column IS 'the date whose exchange rate converts a row in a foreign currency (the order or invoice date); given with currency_column';
REVOKE ALL ON pgcredit.attachment FROM PUBLIC;
GRANT SELECT ON pgcredit.attachment TO pgcredit_reader;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.attachment', '');


CREATE FUNCTION pgcredit._check_attach_column(tbl regclass, col name, role text)
RETURNS void
AS 'MODULE_PATHNAME', 'pgc_check_attach_column'
LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION pgcredit._check_attach_column(regclass, name, text) IS
  'refuse a column pgcredit cannot use in a role: missing, generated, or of a type it does not accept';
REVOKE EXECUTE ON FUNCTION pgcredit._check_attach_column(regclass, name, text) FROM PUBLIC;

CREATE FUNCTION pgcredit._table_triggers(tbl regclass, install boolean)
RETURNS void
AS 'MODULE_PATHNAME', 'pgc_table_triggers'
LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION pgcredit._table_triggers(regclass, boolean) IS
  'create or drop pgcredit''s triggers on an attached table, as the table''s owner';
REVOKE EXECUTE ON FUNCTION pgcredit._table_triggers(regclass, boolean) FROM PUBLIC;


CREATE FUNCTION pgcredit._column_type(tbl regclass, col name, role text)
RETURNS regtype LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  t regtype;
BEGIN
  IF col IS NULL THEN
    RAISE EXCEPTION 'the % column must not be null', role USING ERRCODE = 'null_value_not_allowed';
  END IF;
  SELECT a.atttypid::regtype INTO t FROM pg_attribute a
  WHERE a.attrelid = tbl AND a.attname = col AND a.attnum > 0 AND NOT a.attisdropped;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'column "%" of relation "%" does not exist', col, tbl USING ERRCODE = 'undefined_column',
      DETAIL = format('It was given as the %s column.', role),
      HINT = format('The columns of %s are: %s.', tbl,
                    (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) FROM pg_attribute a
                     WHERE a.attrelid = tbl AND a.attnum > 0 AND NOT a.attisdropped));
  END IF;
  RETURN t;
END
$$;
COMMENT ON FUNCTION pgcredit._column_type(regclass, name, text) IS 'type of a named column, or a clear error';
REVOKE EXECUTE ON FUNCTION pgcredit._column_type(regclass, name, text) FROM PUBLIC;

-- Rows written to an inheritance child or parent of a table fire the
-- triggers of the table they are written to only: the guard would not
-- see them.  (Partitions are not inheritance here.)
CREATE FUNCTION pgcredit._in_inheritance(tbl regclass)
RETURNS boolean LANGUAGE sql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT EXISTS (SELECT FROM pg_catalog.pg_inherits inh
                 JOIN pg_catalog.pg_class child ON child.oid = inh.inhrelid
                 WHERE (inh.inhparent = $1 OR inh.inhrelid = $1) AND NOT child.relispartition)
$$;
COMMENT ON FUNCTION pgcredit._in_inheritance(regclass) IS
  'whether a table is an inheritance parent or child (partitions aside)';
REVOKE EXECUTE ON FUNCTION pgcredit._in_inheritance(regclass) FROM PUBLIC;

-- One customer's rows are read through an index on the customer column
-- (customer_risk and the other per-customer reads filtered by customer,
-- recommend_limit): attaching a table without one says so
CREATE FUNCTION pgcredit._has_customer_index(tbl regclass, customer_column name)
RETURNS boolean LANGUAGE sql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT EXISTS (
    SELECT FROM pg_catalog.pg_index i
    JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
    JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
    JOIN pg_catalog.pg_am m ON m.oid = c.relam
    WHERE i.indrelid = $1 AND a.attname = $2 AND i.indpred IS NULL AND m.amname IN ('btree', 'hash'))
$$;
COMMENT ON FUNCTION pgcredit._has_customer_index(regclass, name) IS
  'whether the table has a B-tree or hash index, not partial, whose first column is its customer column';
REVOKE EXECUTE ON FUNCTION pgcredit._has_customer_index(regclass, name) FROM PUBLIC;
-- create_customer_index() runs as its caller, an administrator
GRANT EXECUTE ON FUNCTION pgcredit._has_customer_index(regclass, name) TO pgcredit_admin;

CREATE FUNCTION pgcredit._note_customer_index(tbl regclass, customer_column name)
RETURNS void LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  IF NOT pgcredit._has_customer_index(tbl, customer_column) THEN
    RAISE NOTICE 'table "%" has no index on its customer column "%"', tbl, customer_column
      USING DETAIL = 'pgcredit reads one customer''s rows (customer_risk and the other per-customer views filtered by customer, recommend_limit) through such an index; without one, each such read scans the whole table.',
            HINT = format('Create one: CREATE INDEX CONCURRENTLY ON %s (%I); or SELECT pgcredit.create_customer_index(%L);',
                          tbl, customer_column, tbl::text);
  END IF;
END
$$;
COMMENT ON FUNCTION pgcredit._note_customer_index(regclass, name) IS
  'for the attach functions: a notice, with the statement that creates one, when the table has no index on its customer column';
REVOKE EXECUTE ON FUNCTION pgcredit._note_customer_index(regclass, name) FROM PUBLIC;

-- Run as the caller, who must own the table: it gives no right
CREATE FUNCTION pgcredit.create_customer_index(tbl regclass)
RETURNS regclass LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  col name;
  idx text;
BEGIN
  IF tbl IS NULL THEN
    RAISE EXCEPTION 'table must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  SELECT a.customer_column INTO col FROM pgcredit.attachment a WHERE a.relid = tbl;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'table "%" is not attached', tbl USING ERRCODE = 'undefined_object';
  END IF;
  IF pgcredit._has_customer_index(tbl, col) THEN
    RAISE EXCEPTION 'table "%" has an index on its customer column "%" already', tbl, col
      USING ERRCODE = 'duplicate_object';
  END IF;
  -- named after the table, in its schema; PostgreSQL shortens a long name
  idx := left((SELECT c.relname FROM pg_catalog.pg_class c WHERE c.oid = tbl), 40) || '_pgcredit_customer';
  EXECUTE format('CREATE INDEX %I ON %s (%I)', idx, tbl, col);
  RETURN (SELECT i.indexrelid::regclass FROM pg_catalog.pg_index i
          JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
          WHERE i.indrelid = tbl AND c.relname = idx);
END
$$;
COMMENT ON FUNCTION pgcredit.create_customer_index(regclass) IS
  'create a B-tree index on an attached table''s customer column, as the caller (who must own the table), and return it; CREATE INDEX CONCURRENTLY does the same without locking out writers, outside a transaction';
REVOKE EXECUTE ON FUNCTION pgcredit.create_customer_index(regclass) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.create_customer_index(regclass) TO pgcredit_admin;

CREATE FUNCTION pgcredit._attach(tbl regclass, kind text, customer_column name, amount_column name,
                                 due_column name, open_column name, open_values text[],
                                 mode text, hold_column name,
                                 invoice_amount_column name DEFAULT NULL, invoiced_column name DEFAULT NULL,
                                 paid_column name DEFAULT NULL, prepaid_column name DEFAULT NULL,
                                 currency_column name DEFAULT NULL, rate_date_column name DEFAULT NULL,
                                 category text DEFAULT NULL,
                                 delivery_column name DEFAULT NULL, horizon_days integer DEFAULT NULL)
RETURNS pgcredit.attachment LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  full_type text;
  canonical text[];
  v text;
  att pgcredit.attachment;
  c record;
  n bigint;
  cat pgcredit.exposure_category;
  managed boolean;
BEGIN
  IF tbl IS NULL THEN
    RAISE EXCEPTION 'table must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF (SELECT relkind FROM pg_catalog.pg_class WHERE oid = tbl) NOT IN ('r', 'p') THEN
    RAISE EXCEPTION '"%" is not a table', tbl USING ERRCODE = 'wrong_object_type',
      HINT = 'pgcredit attaches to tables and partitioned tables.';
  END IF;
  -- attaching installs triggers on the table and lets pgcredit read it:
  -- only its owner may ask for that, as for CREATE TRIGGER by the owner
  IF NOT pg_catalog.pg_has_role(pgcredit._actor(),
                                (SELECT relowner FROM pg_catalog.pg_class WHERE oid = tbl), 'USAGE') THEN
    RAISE EXCEPTION 'must be owner of table %', tbl USING ERRCODE = 'insufficient_privilege',
      DETAIL = format('Role %s is not a member of %s, the owner of the table.', pgcredit._actor(),
                      (SELECT relowner::regrole FROM pg_catalog.pg_class WHERE oid = tbl)),
      HINT = 'Attach the table as its owner (a member of pgcredit_admin too).';
  END IF;
  IF (SELECT relnamespace FROM pg_catalog.pg_class WHERE oid = tbl) = 'pgcredit'::regnamespace THEN
    RAISE EXCEPTION 'cannot attach pgcredit''s own table "%"', tbl USING ERRCODE = 'wrong_object_type';
  END IF;
  IF (SELECT relpersistence FROM pg_catalog.pg_class WHERE oid = tbl) = 't' THEN
    RAISE EXCEPTION 'cannot attach temporary table "%"', tbl USING ERRCODE = 'wrong_object_type';
  END IF;
  IF (SELECT relispartition FROM pg_catalog.pg_class WHERE oid = tbl) THEN
    RAISE EXCEPTION 'table "%" is a partition', tbl USING ERRCODE = 'wrong_object_type',
      HINT = 'Attach the partitioned table it belongs to.';
  END IF;
  -- a table Citus distributes lives in shards on the workers: attached
  -- there, each shard's guard keeping its customers' exposure on its node;
  -- only a table distributed by its customer column can be (citus.sql)
  managed := (pgcredit._citus_table(tbl)).method IS NOT NULL;
  IF managed THEN
    PERFORM pgcredit._citus_check_attach(tbl, customer_column, mode);
  ELSIF cardinality(pgcredit._citus_shells()) > 0 THEN
    RAISE EXCEPTION 'cannot attach table "%" of this node while distributed tables are attached', tbl
      USING ERRCODE = 'feature_not_supported',
      DETAIL = 'A customer''s exposure would be split between this node and a worker; the guard on each would see only its part.',
      HINT = format('Distribute it by its customer column, co-located with them: SELECT create_distributed_table(%L, %L, colocate_with => %L);',
                    tbl::text, customer_column, (pgcredit._citus_shells())[1]::regclass::text);
  END IF;
  -- rows of inheritance children would escape the guard, which fires on
  -- the table the row is written to
  IF pgcredit._in_inheritance(tbl) THEN
    RAISE EXCEPTION 'table "%" takes part in table inheritance', tbl USING ERRCODE = 'feature_not_supported',
      DETAIL = 'Rows written to an inheritance child or parent would not be guarded.',
      HINT = 'Attach each table on its own, or use declarative partitioning.';
  END IF;
  IF EXISTS (SELECT FROM pgcredit.attachment a WHERE a.relid = tbl) THEN
    RAISE EXCEPTION 'table "%" is already attached', tbl USING ERRCODE = 'duplicate_object',
      HINT = 'Detach it first with pgcredit.detach().';
  END IF;

  PERFORM pgcredit._column_type(tbl, customer_column, 'customer');
  PERFORM pgcredit._check_attach_column(tbl, customer_column, 'customer');
  PERFORM pgcredit._column_type(tbl, amount_column, 'amount');
  PERFORM pgcredit._check_attach_column(tbl, amount_column, 'amount');
  IF due_column IS NOT NULL THEN
    PERFORM pgcredit._column_type(tbl, due_column, 'due date');
    PERFORM pgcredit._check_attach_column(tbl, due_column, 'date');
  END IF;

  IF open_column IS NOT NULL THEN
    PERFORM pgcredit._column_type(tbl, open_column, 'open-state');
    PERFORM pgcredit._check_attach_column(tbl, open_column, 'open-state');
    IF open_values IS NULL OR cardinality(open_values) = 0 THEN
      RAISE EXCEPTION 'open_values must list the values of "%" that count as open', open_column
        USING ERRCODE = 'invalid_parameter_value', HINT = 'For example ARRAY[''open'', ''confirmed''].';
    END IF;
    -- keep the values as the column's type, with its modifier, prints
    -- them (character(6) pads, numeric(5,2) shows two decimals), refusing
    -- invalid ones; the types allowed have built-in input functions only
    SELECT pg_catalog.format_type(a.atttypid, a.atttypmod) INTO full_type FROM pg_catalog.pg_attribute a
    WHERE a.attrelid = tbl AND a.attname = open_column;
    FOREACH v IN ARRAY open_values LOOP
      -- numbers without their trailing fractional zeros, as the guard compares them
      EXECUTE format(CASE WHEN full_type LIKE 'numeric%%'
                          THEN 'SELECT pg_catalog.trim_scale($1::%s)::text'
                          ELSE 'SELECT pg_catalog.format(''%%s'', $1::%s)' END, full_type) INTO v USING v;
      canonical := canonical || v;
    END LOOP;
    open_values := canonical;
  ELSIF open_values IS NOT NULL THEN
    RAISE EXCEPTION 'open_values need an open_column' USING ERRCODE = 'invalid_parameter_value';
  END IF;

  IF hold_column IS NOT NULL THEN
    PERFORM pgcredit._column_type(tbl, hold_column, 'hold');
    PERFORM pgcredit._check_attach_column(tbl, hold_column, 'hold');
  END IF;
  IF prepaid_column IS NOT NULL THEN
    IF prepaid_column = amount_column THEN
      RAISE EXCEPTION 'the prepaid column must not be the amount column' USING ERRCODE = 'invalid_parameter_value',
        DETAIL = 'An order paid in full in advance has its amount in both; name the column that holds the prepaid part.';
    END IF;
    PERFORM pgcredit._column_type(tbl, prepaid_column, 'amount');
    PERFORM pgcredit._check_attach_column(tbl, prepaid_column, 'amount');
  END IF;
  -- the horizon: both or neither, a date column, a sensible number of days
  IF delivery_column IS NOT NULL OR horizon_days IS NOT NULL THEN
    IF delivery_column IS NULL OR horizon_days IS NULL THEN
      RAISE EXCEPTION 'a horizon needs both a delivery column and horizon_days'
        USING ERRCODE = 'null_value_not_allowed',
        HINT = 'Name the delivery date column and the number of days ahead from which orders count, for example delivery_column => ''deliver_on'', horizon_days => 30.';
    END IF;
    IF horizon_days < 0 OR horizon_days > 3660 THEN
      RAISE EXCEPTION 'horizon_days must be between 0 and 3660' USING ERRCODE = 'invalid_parameter_value',
        DETAIL = format('The value given is %s.', horizon_days);
    END IF;
    PERFORM pgcredit._column_type(tbl, delivery_column, 'delivery date');
    PERFORM pgcredit._check_attach_column(tbl, delivery_column, 'date');
  END IF;
  -- currencies: rows converted into their account's currency
  IF currency_column IS NOT NULL THEN
    PERFORM pgcredit._check_currency_columns(tbl, currency_column, rate_date_column, mode);
  ELSIF rate_date_column IS NOT NULL THEN
    RAISE EXCEPTION 'rate_date_column needs a currency_column' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF mode = 'hold' THEN
    IF hold_column IS NULL THEN
      RAISE EXCEPTION 'hold mode needs a hold column' USING ERRCODE = 'invalid_parameter_value',
        HINT = 'Name a boolean column that pgcredit sets to true on held orders.';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_index i WHERE i.indrelid = tbl AND i.indisprimary) THEN
      RAISE EXCEPTION 'table "%" has no primary key', tbl USING ERRCODE = 'object_not_in_prerequisite_state',
        HINT = 'Held orders are found again by primary key for release.';
    END IF;
  END IF;

  -- the exposure category: the built-in one of the table's kind unless
  -- a category of that kind is named
  cat := pgcredit._category_exists(coalesce(category, CASE kind WHEN 'orders' THEN 'orders' ELSE 'invoices' END));
  IF cat.kind <> kind THEN
    RAISE EXCEPTION 'exposure category "%" is of kind %', cat.name, cat.kind USING ERRCODE = 'invalid_parameter_value',
      DETAIL = format('Table %s is attached as %s.', tbl, kind),
      HINT = format('Name a category of kind %s.', kind);
  END IF;

  -- disputes of the table's items (from an earlier attachment) take turns
  -- with this: none is opened or closed until it commits (see open_dispute)
  IF kind = 'receivables' THEN
    LOCK TABLE pgcredit.collection_dispute IN SHARE MODE;
  END IF;
  INSERT INTO pgcredit.attachment (relid, kind, customer_column, amount_column, due_column,
                                   open_column, open_values, mode, hold_column,
                                   invoice_amount_column, invoiced_column, paid_column, prepaid_column,
                                   delivery_column, horizon_days, category, currency_column, rate_date_column)
  VALUES (tbl, kind, customer_column, amount_column, due_column, open_column, open_values, mode, hold_column,
          invoice_amount_column, invoiced_column, paid_column, prepaid_column,
          delivery_column, horizon_days, cat.name, currency_column, rate_date_column)
  RETURNING * INTO att;
  -- a distributed table: its shards attached on their nodes, where its
  -- exposure is kept
  IF managed THEN
    PERFORM pgcredit._citus_attach(att);
    PERFORM pgcredit._audit('attach_' || kind, NULL, NULL, to_jsonb(att), NULL);
    RETURN att;
  END IF;
  -- the triggers, created as the table's owner (which locks the table
  -- against writers until the end of the transaction)
  PERFORM pgcredit._table_triggers(tbl, true);

  -- what the table holds already, read as its owner
  SELECT count(*) INTO n FROM pgcredit._attached_items(NULL, NULL, tbl, true) i
  WHERE i.amount = 'NaN' OR i.amount IN ('Infinity', '-Infinity');
  IF n > 0 THEN
    RAISE EXCEPTION 'table "%" has amounts that are NaN or infinite', tbl
      USING ERRCODE = 'invalid_parameter_value',
      DETAIL = CASE WHEN n = 1 THEN format('One row has such a value in column %I.', amount_column)
                    ELSE format('%s rows have such a value in column %I.', n, amount_column) END,
      HINT = format('Correct them first: SELECT * FROM %s WHERE %I IN (''NaN'', ''Infinity'', ''-Infinity'').', tbl, amount_column);
  END IF;
  -- credit groups: no group order runs while the members' exposure
  -- changes here; the groups are recomputed from it below
  LOCK TABLE pgcredit.group_exposure IN SHARE ROW EXCLUSIVE MODE;
  FOR c IN SELECT i.customer, sum(i.amount) AS amount FROM pgcredit._attached_items(NULL, NULL, tbl) i
           WHERE i.counts GROUP BY i.customer LOOP
    INSERT INTO pgcredit.exposure AS e (customer, receivables, open_orders)
    VALUES (c.customer, CASE WHEN kind = 'receivables' THEN c.amount ELSE 0 END,
            CASE WHEN kind = 'orders' THEN c.amount ELSE 0 END)
    ON CONFLICT (customer) DO UPDATE SET receivables = e.receivables + EXCLUDED.receivables,
                                         open_orders = e.open_orders + EXCLUDED.open_orders;
    -- a company category, under the exposure row lock just taken
    IF NOT cat.built_in THEN
      INSERT INTO pgcredit.category_exposure AS x (customer, category, amount)
      VALUES (c.customer, cat.name, c.amount)
      ON CONFLICT ON CONSTRAINT category_exposure_pkey DO UPDATE SET amount = x.amount + EXCLUDED.amount;
    END IF;
  END LOOP;
  -- and its receivables by due date, under the exposure row locks just taken
  IF kind = 'receivables' AND due_column IS NOT NULL THEN
    INSERT INTO pgcredit.receivable_due AS d (customer, due, amount, items)
    SELECT i.customer, i.due, sum(i.amount), count(*) FROM pgcredit._attached_items(NULL, NULL, tbl) i
    WHERE i.counts AND i.amount > 0 AND i.due IS NOT NULL
    GROUP BY i.customer, i.due
    ON CONFLICT (customer, due) DO UPDATE SET amount = d.amount + EXCLUDED.amount,
                                              items = d.items + EXCLUDED.items;
    -- and the items with a dispute still open among them
    PERFORM pgcredit._dispute_shares(tbl, 1);
  END IF;
  -- and its orders beyond the horizon, under the same locks (every
  -- customer of the table has its exposure row now)
  IF delivery_column IS NOT NULL THEN
    INSERT INTO pgcredit.exposure AS e (customer)
    SELECT DISTINCT i.customer FROM pgcredit._attached_items(NULL, NULL, tbl) i WHERE i.counts_from IS NOT NULL
    ON CONFLICT (customer) DO NOTHING;
    PERFORM FROM pgcredit.exposure e
    WHERE e.customer IN (SELECT i.customer FROM pgcredit._attached_items(NULL, NULL, tbl) i
                         WHERE i.counts_from IS NOT NULL)
    ORDER BY e.customer FOR NO KEY UPDATE;
    INSERT INTO pgcredit.order_horizon AS h (customer, counts_from, amount, items)
    SELECT i.customer, i.counts_from, sum(i.amount), count(*) FROM pgcredit._attached_items(NULL, NULL, tbl) i
    WHERE i.counts_from IS NOT NULL
    GROUP BY i.customer, i.counts_from
    ON CONFLICT (customer, counts_from) DO UPDATE SET amount = h.amount + EXCLUDED.amount,
                                                      items = h.items + EXCLUDED.items;
  END IF;

  PERFORM pgcredit._rebuild_group_exposure();
  PERFORM pgcredit._audit('attach_' || kind, NULL, NULL, to_jsonb(att), NULL);
  PERFORM pgcredit._note_customer_index(tbl, customer_column);
  RETURN att;
END
$$;
COMMENT ON FUNCTION pgcredit._attach(regclass, text, name, name, name, name, text[], text, name, name, name, name, name, name, name, text, name, integer) IS
  'validate a table and its columns, install pgcredit''s triggers and add what the table holds to exposure';
REVOKE EXECUTE ON FUNCTION pgcredit._attach(regclass, text, name, name, name, name, text[], text, name, name, name, name, name, name, name, text, name, integer) FROM PUBLIC;

-- The day each order was placed, for replay_policy(): given to
-- attach_orders() or afterwards (a table attached before version 1.1).
-- Nothing of exposure depends on it, so it changes without a rebuild.
CREATE FUNCTION pgcredit.set_order_date_column(tbl regclass, order_date_column name)
RETURNS pgcredit.attachment LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  before pgcredit.attachment;
  att pgcredit.attachment;
BEGIN
  IF tbl IS NULL THEN
    RAISE EXCEPTION 'table must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  SELECT * INTO before FROM pgcredit.attachment a WHERE a.relid = tbl FOR UPDATE;
  IF before.relid IS NULL THEN
    RAISE EXCEPTION 'table "%" is not attached', tbl USING ERRCODE = 'undefined_object',
      HINT = 'Attach it with pgcredit.attach_orders() first.';
  ELSIF before.kind <> 'orders' THEN
    RAISE EXCEPTION 'table "%" is attached as receivables', tbl USING ERRCODE = 'wrong_object_type',
      DETAIL = 'Only an order table has an order date column; receivables have their invoice date.';
  END IF;
  IF order_date_column IS NOT NULL THEN
    PERFORM pgcredit._column_type(tbl, order_date_column, 'order date');
    PERFORM pgcredit._check_attach_column(tbl, order_date_column, 'date');
  END IF;
  UPDATE pgcredit.attachment a SET order_date_column = set_order_date_column.order_date_column
  WHERE a.relid = tbl RETURNING * INTO att;
  PERFORM pgcredit._audit('set_order_date_column', NULL, to_jsonb(before), to_jsonb(att), NULL);
  RETURN att;
END
$$;
COMMENT ON FUNCTION pgcredit.set_order_date_column(regclass, name) IS
  'name (or, with NULL, forget) the date column of an attached order table that says when each order was placed, which replay_policy() walks; audited';
REVOKE EXECUTE ON FUNCTION pgcredit.set_order_date_column(regclass, name) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.set_order_date_column(regclass, name) TO pgcredit_admin;

CREATE FUNCTION pgcredit.attach_orders(tbl regclass, customer_column name, amount_column name,
                                       open_column name DEFAULT NULL, open_values text[] DEFAULT NULL,
                                       mode text DEFAULT 'block', hold_column name DEFAULT NULL,
                                       prepaid_column name DEFAULT NULL,
                                       currency_column name DEFAULT NULL, rate_date_column name DEFAULT NULL,
                                       category text DEFAULT NULL,
                                       delivery_column name DEFAULT NULL, horizon_days integer DEFAULT NULL,
                                       order_date_column name DEFAULT NULL)
RETURNS pgcredit.attachment LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  att pgcredit.attachment;
BEGIN
  IF order_date_column IS NOT NULL THEN
    PERFORM pgcredit._column_type(tbl, order_date_column, 'order date');
    PERFORM pgcredit._check_attach_column(tbl, order_date_column, 'date');
  END IF;
  IF mode IS NULL OR mode NOT IN ('block', 'hold') THEN
    RAISE EXCEPTION 'invalid mode "%"', mode USING ERRCODE = 'invalid_parameter_value',
      HINT = 'block refuses an order over the limit with an error; hold lets it in marked held.';
  END IF;
  att := pgcredit._attach(tbl, 'orders', customer_column, amount_column, NULL,
                          open_column, open_values, mode, hold_column,
                          prepaid_column => prepaid_column,
                          currency_column => currency_column, rate_date_column => rate_date_column,
                          category => category,
                          delivery_column => delivery_column, horizon_days => horizon_days);
  IF order_date_column IS NOT NULL THEN
    att := pgcredit.set_order_date_column(tbl, order_date_column);
  END IF;
  RETURN att;
END
$$;
COMMENT ON FUNCTION pgcredit.attach_orders(regclass, name, name, name, text[], text, name, name, name, name, text, name, integer, name) IS
  'attach an order table: its open orders count in exposure (less a prepaid or secured part, when prepaid_column names it; converted into the account''s currency, when currency_column and rate_date_column name them; from horizon_days before their delivery date, when delivery_column names it; order_date_column names the day each order was placed, for replay_policy()) and in its exposure category (orders unless category names a company one), and an order the customer''s credit cannot carry is refused (block) or held (hold)';
REVOKE EXECUTE ON FUNCTION pgcredit.attach_orders(regclass, name, name, name, text[], text, name, name, name, name, text, name, integer, name) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.attach_orders(regclass, name, name, name, text[], text, name, name, name, name, text, name, integer, name) TO pgcredit_admin;

CREATE FUNCTION pgcredit.attach_receivables(tbl regclass, customer_column name, open_amount_column name,
                                            due_column name DEFAULT NULL, open_column name DEFAULT NULL,
                                            open_values text[] DEFAULT NULL,
                                            invoice_amount_column name DEFAULT NULL,
                                            invoiced_column name DEFAULT NULL,
                                            paid_column name DEFAULT NULL,
                                            currency_column name DEFAULT NULL,
                                            rate_date_column name DEFAULT NULL,
                                            category text DEFAULT NULL)
RETURNS pgcredit.attachment LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  -- the history columns, for payment behaviour and DSO, checked first
  IF invoice_amount_column IS NOT NULL THEN
    PERFORM pgcredit._column_type(tbl, invoice_amount_column, 'invoice amount');
    PERFORM pgcredit._check_attach_column(tbl, invoice_amount_column, 'amount');
  END IF;
  IF invoiced_column IS NOT NULL THEN
    PERFORM pgcredit._column_type(tbl, invoiced_column, 'invoice date');
    PERFORM pgcredit._check_attach_column(tbl, invoiced_column, 'date');
  END IF;
  IF paid_column IS NOT NULL THEN
    PERFORM pgcredit._column_type(tbl, paid_column, 'payment date');
    PERFORM pgcredit._check_attach_column(tbl, paid_column, 'date');
  END IF;
  RETURN pgcredit._attach(tbl, 'receivables', customer_column, open_amount_column, due_column,
                          open_column, open_values, 'track', NULL,
                          invoice_amount_column, invoiced_column, paid_column,
                          currency_column => currency_column, rate_date_column => rate_date_column,
                          category => category);
END
$$;
COMMENT ON FUNCTION pgcredit.attach_receivables(regclass, name, name, name, name, text[], name, name, name, name, name, text) IS
  'attach an invoice or open-item table: its open amounts count in exposure (receivables are never refused; converted into the account''s currency, when currency_column and rate_date_column name them) and in its exposure category (invoices unless category names a company one); invoice amount, invoice date and payment date columns feed payment behaviour, DSO and the risk views';
REVOKE EXECUTE ON FUNCTION pgcredit.attach_receivables(regclass, name, name, name, name, text[], name, name, name, name, name, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.attach_receivables(regclass, name, name, name, name, text[], name, name, name, name, name, text) TO pgcredit_admin;

CREATE FUNCTION pgcredit.detach(tbl regclass)
RETURNS pgcredit.attachment LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  att pgcredit.attachment;
  c record;
BEGIN
  -- no dispute is opened or closed until this commits (see open_dispute);
  -- its open disputes stay, and count again once the table is attached
  LOCK TABLE pgcredit.collection_dispute IN SHARE MODE;
  SELECT * INTO att FROM pgcredit.attachment a WHERE a.relid = tbl FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'table "%" is not attached', tbl USING ERRCODE = 'undefined_object';
  END IF;
  -- a distributed table: its shards detached on their nodes
  IF tbl::oid = ANY (pgcredit._citus_shells()) THEN
    PERFORM pgcredit._citus_detach(tbl);
    DELETE FROM pgcredit.attachment a WHERE a.relid = tbl;
    PERFORM pgcredit._audit('detach', NULL, to_jsonb(att), NULL, NULL);
    RETURN att;
  END IF;
  -- dropping the triggers (as the table's owner) locks out writers first
  PERFORM pgcredit._table_triggers(tbl, false);
  -- credit groups: no group order runs while the members' exposure
  -- changes here; the groups are recomputed from it below
  LOCK TABLE pgcredit.group_exposure IN SHARE ROW EXCLUSIVE MODE;
  FOR c IN SELECT i.customer, sum(i.amount) AS amount FROM pgcredit._attached_items(NULL, NULL, tbl) i
           WHERE i.counts GROUP BY i.customer LOOP
    UPDATE pgcredit.exposure e SET
      receivables = e.receivables - CASE WHEN att.kind = 'receivables' THEN c.amount ELSE 0 END,
      open_orders = e.open_orders - CASE WHEN att.kind = 'orders' THEN c.amount ELSE 0 END
    WHERE e.customer = c.customer;
    -- a company category, under the exposure row lock just taken
    UPDATE pgcredit.category_exposure x SET amount = x.amount - c.amount
    WHERE x.customer = c.customer AND x.category = att.category
      AND NOT (SELECT k.built_in FROM pgcredit.exposure_category k WHERE k.name = att.category);
  END LOOP;
  -- and its receivables by due date, under the exposure row locks just taken
  IF att.kind = 'receivables' AND att.due_column IS NOT NULL THEN
    -- the disputed ones first, while the table is attached
    PERFORM pgcredit._dispute_shares(tbl, -1);
    UPDATE pgcredit.receivable_due d SET amount = d.amount - x.amount, items = d.items - x.items
    FROM (SELECT i.customer, i.due, sum(i.amount) AS amount, count(*) AS items
          FROM pgcredit._attached_items(NULL, NULL, tbl) i
          WHERE i.counts AND i.amount > 0 AND i.due IS NOT NULL
          GROUP BY i.customer, i.due) x
    WHERE d.customer = x.customer AND d.due = x.due;
    -- a bucket whose last item left goes
    DELETE FROM pgcredit.receivable_due d WHERE d.items <= 0;
  END IF;
  -- and its orders beyond the horizon
  IF att.delivery_column IS NOT NULL THEN
    PERFORM FROM pgcredit.exposure e
    WHERE e.customer IN (SELECT i.customer FROM pgcredit._attached_items(NULL, NULL, tbl) i
                         WHERE i.counts_from IS NOT NULL)
    ORDER BY e.customer FOR NO KEY UPDATE;
    UPDATE pgcredit.order_horizon h SET amount = h.amount - x.amount, items = h.items - x.items
    FROM (SELECT i.customer, i.counts_from, sum(i.amount) AS amount, count(*) AS items
          FROM pgcredit._attached_items(NULL, NULL, tbl) i
          WHERE i.counts_from IS NOT NULL
          GROUP BY i.customer, i.counts_from) x
    WHERE h.customer = x.customer AND h.counts_from = x.counts_from;
    DELETE FROM pgcredit.order_horizon h WHERE h.items <= 0;
  END IF;
  PERFORM pgcredit._rebuild_group_exposure();
  DELETE FROM pgcredit.attachment a WHERE a.relid = tbl;
  PERFORM pgcredit._audit('detach', NULL, to_jsonb(att), NULL, NULL);
  RETURN att;
END
$$;
COMMENT ON FUNCTION pgcredit.detach(regclass) IS
  'remove pgcredit''s triggers from a table and take what it holds out of exposure';
REVOKE EXECUTE ON FUNCTION pgcredit.detach(regclass) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.detach(regclass) TO pgcredit_admin;
