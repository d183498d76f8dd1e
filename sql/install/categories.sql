-- Credit control: exposure categories (what a customer's exposure is made of)

----------------------------------------------------------------------
-- Credit control: exposure categories and their sub-limits
----------------------------------------------------------------------

-- Every attachment feeds one category.  The built-in ones, orders and
-- invoices, are exposure's own columns (open_orders, receivables) and
-- cost nothing; a company category is kept beside them in
-- category_exposure, per customer, by the guard.  exposure's columns
-- stay the totals: a company category of kind orders counts in
-- open_orders too.
CREATE TABLE pgcredit.exposure_category (
  name           text PRIMARY KEY
                 CONSTRAINT category_name CHECK (name ~ '^[a-z][a-z0-9_]{0,62}$'),
  kind           text NOT NULL CHECK (kind IN ('orders', 'receivables')),
  description    text,
  built_in       boolean NOT NULL DEFAULT false,
  created_at     timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE pgcredit.exposure_category IS 'exposure categories: every attached table feeds one; orders and invoices are built in, a company adds its own with add_category()';
COMMENT ON COLUMN pgcredit.exposure_category.name IS 'category name: lower-case letters, digits and underscores, starting with a letter';
COMMENT ON COLUMN pgcredit.exposure_category.kind IS 'orders (fed by order tables, counted in open_orders) or receivables (fed by receivables tables, counted in receivables)';
COMMENT ON COLUMN pgcredit.exposure_category.description IS 'what the category holds, for people';
COMMENT ON COLUMN pgcredit.exposure_category.built_in IS 'true for orders and invoices, which are the columns of pgcredit.exposure';
COMMENT ON COLUMN pgcredit.exposure_category.created_at IS 'when the category was added';
REVOKE ALL ON pgcredit.exposure_category FROM PUBLIC;
GRANT SELECT ON pgcredit.exposure_category TO pgcredit_reader;
INSERT INTO pgcredit.exposure_category (name, kind, description, built_in) VALUES
  ('orders', 'orders', 'open orders of the order tables attached without a category of their own', true),
  ('invoices', 'receivables', 'open items of the receivables tables attached without a category of their own', true);
-- the built-in categories come with CREATE EXTENSION; only the others are dumped
SELECT pg_catalog.pg_extension_config_dump('pgcredit.exposure_category', 'WHERE NOT built_in');

-- Lock order: a row here is written only under the lock of the
-- customer's exposure row, taken first (the guard, attach, detach,
-- rebuild_exposure), so concurrent orders never deadlock on it.
CREATE TABLE pgcredit.category_exposure (
  customer       text NOT NULL
                 CONSTRAINT customer_key_length CHECK (octet_length(customer) <= 1000),
  category       text NOT NULL,
  amount         numeric NOT NULL DEFAULT 0,
  PRIMARY KEY (customer, category)
) WITH (fillfactor = 50);   -- room for the frequent updates to stay on their page
COMMENT ON TABLE pgcredit.category_exposure IS 'live exposure per customer in each company category (the built-in ones are the columns of pgcredit.exposure), kept current by the guard';
COMMENT ON COLUMN pgcredit.category_exposure.customer IS 'customer key as text';
COMMENT ON COLUMN pgcredit.category_exposure.category IS 'a category of pgcredit.exposure_category that is not built in';
COMMENT ON COLUMN pgcredit.category_exposure.amount IS 'sum of the amounts that count in exposure in the tables attached with this category';
REVOKE ALL ON pgcredit.category_exposure FROM PUBLIC;
GRANT SELECT ON pgcredit.category_exposure TO pgcredit_reader;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.category_exposure', '');

CREATE TABLE pgcredit.category_limit (
  category       text NOT NULL REFERENCES pgcredit.exposure_category,
  customer       text
                 CONSTRAINT customer_key_length CHECK (octet_length(customer) <= 1000),
  credit_limit   numeric NOT NULL CHECK (credit_limit >= 0 AND credit_limit < 'Infinity'),
  tolerance_pct  numeric NOT NULL DEFAULT 0 CHECK (tolerance_pct >= 0 AND tolerance_pct < 'Infinity'),
  set_at         timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CONSTRAINT category_limit_once UNIQUE NULLS NOT DISTINCT (category, customer)
);
COMMENT ON TABLE pgcredit.category_limit IS 'sub-limits on a customer''s exposure in one category of kind orders; changed only through set_category_limit(), audited';
COMMENT ON COLUMN pgcredit.category_limit.category IS 'the category';
COMMENT ON COLUMN pgcredit.category_limit.customer IS 'the customer; NULL = the default for every customer without a sub-limit of its own in the category';
COMMENT ON COLUMN pgcredit.category_limit.credit_limit IS 'the most the customer''s exposure in the category may reach';
COMMENT ON COLUMN pgcredit.category_limit.tolerance_pct IS 'percentage of the sub-limit the category''s exposure may go above it';
COMMENT ON COLUMN pgcredit.category_limit.set_at IS 'when the sub-limit was set';
REVOKE ALL ON pgcredit.category_limit FROM PUBLIC;
GRANT SELECT ON pgcredit.category_limit TO pgcredit_reader;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.category_limit', '');

-- The guard keeps in each backend which categories have sub-limits, so
-- that an order of a category without one runs no statement for them;
-- every change of the table tells every backend to read it again.
CREATE FUNCTION pgcredit._category_limits_changed()
RETURNS trigger
AS 'MODULE_PATHNAME', 'pgc_rules_changed'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pgcredit._category_limits_changed() IS
  'statement trigger on category_limit: invalidates what every backend keeps of it, so that the next order in every session sees the change';
REVOKE EXECUTE ON FUNCTION pgcredit._category_limits_changed() FROM PUBLIC;
CREATE TRIGGER category_limits_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON pgcredit.category_limit
  FOR EACH STATEMENT EXECUTE FUNCTION pgcredit._category_limits_changed();

CREATE FUNCTION pgcredit._category_exists(category text)
RETURNS pgcredit.exposure_category LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  k pgcredit.exposure_category;
BEGIN
  IF category IS NULL THEN
    RAISE EXCEPTION 'category must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  SELECT * INTO k FROM pgcredit.exposure_category c WHERE c.name = _category_exists.category;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'exposure category "%" does not exist', category USING ERRCODE = 'undefined_object',
      HINT = 'Add it with pgcredit.add_category(), or use a built-in category: orders or invoices.';
  END IF;
  RETURN k;
END
$$;
COMMENT ON FUNCTION pgcredit._category_exists(text) IS 'a category by name; refuses a null or unknown one';
REVOKE EXECUTE ON FUNCTION pgcredit._category_exists(text) FROM PUBLIC;

CREATE FUNCTION pgcredit.add_category(name text, kind text, description text DEFAULT NULL)
RETURNS pgcredit.exposure_category LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  k pgcredit.exposure_category;
BEGIN
  IF name IS NULL OR kind IS NULL THEN
    RAISE EXCEPTION 'category name and kind must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF name !~ '^[a-z][a-z0-9_]{0,62}$' THEN
    RAISE EXCEPTION 'invalid category name "%"', name USING ERRCODE = 'invalid_parameter_value',
      DETAIL = 'A category name is 1 to 63 lower-case letters, digits and underscores, starting with a letter.';
  END IF;
  IF kind NOT IN ('orders', 'receivables') THEN
    RAISE EXCEPTION 'invalid category kind "%"', kind USING ERRCODE = 'invalid_parameter_value',
      HINT = 'A category is of kind orders (fed by order tables) or receivables (fed by receivables tables).';
  END IF;
  IF EXISTS (SELECT FROM pgcredit.exposure_category c WHERE c.name = add_category.name) THEN
    RAISE EXCEPTION 'exposure category "%" already exists', name USING ERRCODE = 'duplicate_object';
  END IF;
  INSERT INTO pgcredit.exposure_category (name, kind, description)
  VALUES (add_category.name, add_category.kind, add_category.description)
  RETURNING * INTO k;
  PERFORM pgcredit._audit('add_category', NULL, NULL, to_jsonb(k), NULL);
  RETURN k;
END
$$;
COMMENT ON FUNCTION pgcredit.add_category(text, text, text) IS
  'add a company exposure category of kind orders or receivables, audited; tables attached with it keep their exposure apart';
REVOKE EXECUTE ON FUNCTION pgcredit.add_category(text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.add_category(text, text, text) TO pgcredit_admin;

CREATE FUNCTION pgcredit.set_category_limit(category text, credit_limit numeric, reason text,
                                            customer text DEFAULT NULL, tolerance_pct numeric DEFAULT NULL)
RETURNS pgcredit.category_limit LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  k pgcredit.exposure_category;
  before pgcredit.category_limit;
  after pgcredit.category_limit;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  k := pgcredit._category_exists(category);
  IF k.kind <> 'orders' THEN
    RAISE EXCEPTION 'exposure category "%" is of kind receivables', category USING ERRCODE = 'invalid_parameter_value',
      DETAIL = 'Receivables are never refused: a sub-limit could not be kept.',
      HINT = 'Set sub-limits on categories of kind orders.';
  END IF;
  PERFORM pgcredit._check_amount('credit_limit', credit_limit);
  -- NULL: the tolerance stays as it is (0 for a new sub-limit)
  PERFORM pgcredit._check_amount('tolerance_pct', tolerance_pct);
  IF customer IS NOT NULL AND octet_length(customer) > 1000 THEN
    RAISE EXCEPTION 'customer key of % bytes is too long for pgcredit', octet_length(customer)
      USING ERRCODE = 'program_limit_exceeded';
  END IF;
  -- a customer's exposure row first, as orders lock it: an order in
  -- flight is judged against the sub-limit it started with
  IF customer IS NOT NULL THEN
    PERFORM FROM pgcredit.exposure e WHERE e.customer = set_category_limit.customer FOR UPDATE;
  END IF;
  SELECT * INTO before FROM pgcredit.category_limit l
  WHERE l.category = set_category_limit.category AND l.customer IS NOT DISTINCT FROM set_category_limit.customer
  FOR UPDATE;
  IF credit_limit IS NULL THEN
    DELETE FROM pgcredit.category_limit l
    WHERE l.category = set_category_limit.category AND l.customer IS NOT DISTINCT FROM set_category_limit.customer;
  ELSE
    INSERT INTO pgcredit.category_limit AS l (category, customer, credit_limit, tolerance_pct)
    VALUES (set_category_limit.category, set_category_limit.customer, set_category_limit.credit_limit,
            coalesce(set_category_limit.tolerance_pct, 0))
    ON CONFLICT ON CONSTRAINT category_limit_once DO UPDATE
      SET credit_limit = EXCLUDED.credit_limit,
          tolerance_pct = coalesce(set_category_limit.tolerance_pct, l.tolerance_pct), set_at = pg_catalog.now()
    RETURNING * INTO after;
  END IF;
  PERFORM pgcredit._audit('set_category_limit', customer,
    CASE WHEN before.category IS NOT NULL THEN
      jsonb_build_object('category', before.category, 'credit_limit', before.credit_limit, 'tolerance_pct', before.tolerance_pct) END,
    CASE WHEN after.category IS NOT NULL THEN
      jsonb_build_object('category', after.category, 'credit_limit', after.credit_limit, 'tolerance_pct', after.tolerance_pct) END,
    reason);
  RETURN after;
END
$$;
COMMENT ON FUNCTION pgcredit.set_category_limit(text, numeric, text, text, numeric) IS
  'set the sub-limit of a category of kind orders for one customer, or the default for every customer (customer NULL), with a reason and, when given, a tolerance (else the one it has, 0 for a new sub-limit), audited; credit_limit NULL removes it';
REVOKE EXECUTE ON FUNCTION pgcredit.set_category_limit(text, numeric, text, text, numeric) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.set_category_limit(text, numeric, text, text, numeric) TO pgcredit_controller;

-- A customer's exposure in one category, and the sub-limit in force for
-- it (its own, else the category's default).  A built-in category holds
-- what its column holds less the company categories of its kind.  The
-- guard asks it after its change, under the customer's exposure row
-- lock, only for a category with sub-limits; check_order() asks it always.
-- (PL/pgSQL, whose plan each backend keeps: a function of SQL with a
-- search path of its own is planned again at every call)
CREATE FUNCTION pgcredit._category_standing(customer text, category text)
RETURNS TABLE (amount numeric, credit_limit numeric, tolerance_pct numeric)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  RETURN QUERY
  SELECT CASE WHEN k.built_in THEN
           coalesce((SELECT CASE k.kind WHEN 'orders' THEN e.open_orders ELSE e.receivables END
                     FROM pgcredit.exposure e WHERE e.customer = $1), 0)
           - coalesce((SELECT sum(c.amount) FROM pgcredit.category_exposure c
                       JOIN pgcredit.exposure_category o ON o.name = c.category
                       WHERE c.customer = $1 AND o.kind = k.kind AND NOT o.built_in), 0)
         ELSE coalesce((SELECT c.amount FROM pgcredit.category_exposure c
                        WHERE c.customer = $1 AND c.category = k.name), 0) END,
         l.credit_limit, l.tolerance_pct
  FROM pgcredit.exposure_category k
  LEFT JOIN LATERAL (SELECT l.credit_limit, l.tolerance_pct FROM pgcredit.category_limit l
                     WHERE l.category = k.name AND (l.customer = $1 OR l.customer IS NULL)
                     ORDER BY l.customer NULLS LAST LIMIT 1) l ON true
  WHERE k.name = $2;
END
$$;
COMMENT ON FUNCTION pgcredit._category_standing(text, text) IS
  'a customer''s exposure in one category and the sub-limit in force for it (NULL: none)';
REVOKE EXECUTE ON FUNCTION pgcredit._category_standing(text, text) FROM PUBLIC;

-- On the coordinator of a Citus cluster with distributed tables attached,
-- the exposure is the workers' (doc/citus.md): each source below reads
-- this node's tables on one node, the workers' rows on such a coordinator
-- (the condition is decided once a query, before any row is read)
CREATE VIEW pgcredit.exposure_breakdown AS
  WITH company AS (
    SELECT c.customer, k.kind, sum(c.amount) AS amount
    FROM (SELECT x.customer, x.category, x.amount FROM pgcredit.category_exposure x
          WHERE cardinality(pgcredit._citus_shells()) = 0
          UNION ALL
          SELECT w.customer, w.category, w.amount FROM pgcredit._citus_category_exposure() w
          WHERE cardinality(pgcredit._citus_shells()) > 0) c
    JOIN pgcredit.exposure_category k ON k.name = c.category
    WHERE NOT k.built_in
    GROUP BY c.customer, k.kind),
  parts AS (
    SELECT e.customer, k.name AS category,
           CASE k.kind WHEN 'orders' THEN e.open_orders ELSE e.receivables END
             - coalesce(o.amount, 0) AS amount
    FROM (SELECT x.customer, x.receivables, x.open_orders FROM pgcredit.exposure x
          WHERE cardinality(pgcredit._citus_shells()) = 0
          UNION ALL
          SELECT coalesce(x.customer, w.customer), coalesce(w.receivables, 0), coalesce(w.open_orders, 0)
          FROM pgcredit.exposure x FULL JOIN pgcredit._citus_exposure_at(current_date, NULL) w
            ON w.customer = x.customer
          WHERE cardinality(pgcredit._citus_shells()) > 0) e
    -- the built-in categories, which CREATE EXTENSION makes and nothing
    -- changes, as a list the planner counts right (exposure_category is
    -- too small for autovacuum ever to analyze: a crossing with its
    -- guessed size made every read of this view a compiled (JIT) query)
    CROSS JOIN (VALUES ('orders', 'orders'), ('invoices', 'receivables')) k(name, kind)
    LEFT JOIN company o ON o.customer = e.customer AND o.kind = k.kind
    UNION ALL
    SELECT x.customer, x.category, x.amount FROM pgcredit.category_exposure x
    WHERE cardinality(pgcredit._citus_shells()) = 0
    UNION ALL
    SELECT w.customer, w.category, w.amount FROM pgcredit._citus_category_exposure() w
    WHERE cardinality(pgcredit._citus_shells()) > 0)
  -- the sub-limit in force: the customer's own, else the category's
  -- default (each at most one row: category_limit_once), joined rather
  -- than looked up a row at a time, so that reading the whole book costs
  -- a hash join, not a search per customer and category
  SELECT p.customer, p.category, k.kind, p.amount,
         coalesce(c.credit_limit, d.credit_limit) AS sub_limit,
         CASE WHEN c.category IS NOT NULL THEN c.tolerance_pct ELSE d.tolerance_pct END AS tolerance_pct,
         coalesce(c.credit_limit, d.credit_limit) - p.amount AS headroom, current_date AS day
  FROM parts p
  JOIN pgcredit.exposure_category k ON k.name = p.category
  LEFT JOIN pgcredit.category_limit c ON c.category = p.category AND c.customer = p.customer
  LEFT JOIN pgcredit.category_limit d ON d.category = p.category AND d.customer IS NULL;
COMMENT ON VIEW pgcredit.exposure_breakdown IS 'what each customer''s exposure is made of: one row per customer and category (the built-in ones always, a company one once it had exposure); the amounts of a customer add up to its exposure';
COMMENT ON COLUMN pgcredit.exposure_breakdown.customer IS 'customer key';
COMMENT ON COLUMN pgcredit.exposure_breakdown.category IS 'exposure category';
COMMENT ON COLUMN pgcredit.exposure_breakdown.kind IS 'orders or receivables';
COMMENT ON COLUMN pgcredit.exposure_breakdown.amount IS 'the customer''s exposure in the category';
COMMENT ON COLUMN pgcredit.exposure_breakdown.sub_limit IS 'the sub-limit in force (the customer''s own, else the category''s default); NULL = none';
COMMENT ON COLUMN pgcredit.exposure_breakdown.tolerance_pct IS 'the tolerance of that sub-limit';
COMMENT ON COLUMN pgcredit.exposure_breakdown.headroom IS 'sub_limit - amount (negative when over it); NULL without a sub-limit';
COMMENT ON COLUMN pgcredit.exposure_breakdown.day IS 'the day the view is read: the figures are today''s';
REVOKE ALL ON pgcredit.exposure_breakdown FROM PUBLIC;
GRANT SELECT ON pgcredit.exposure_breakdown TO pgcredit_reader;

CREATE VIEW pgcredit.category_totals AS
  SELECT k.name AS category, k.kind, k.built_in,
         coalesce(sum(b.amount), 0) AS amount,
         count(b.customer) FILTER (WHERE b.amount <> 0) AS customers,
         count(b.customer) FILTER (WHERE b.amount > b.sub_limit) AS customers_over_sub_limit,
         current_date AS day
  FROM pgcredit.exposure_category k
  LEFT JOIN pgcredit.exposure_breakdown b ON b.category = k.name
  GROUP BY k.name, k.kind, k.built_in;
COMMENT ON VIEW pgcredit.category_totals IS 'the book''s exposure by category';
COMMENT ON COLUMN pgcredit.category_totals.category IS 'exposure category';
COMMENT ON COLUMN pgcredit.category_totals.kind IS 'orders or receivables';
COMMENT ON COLUMN pgcredit.category_totals.built_in IS 'whether it is a built-in category (orders, invoices)';
COMMENT ON COLUMN pgcredit.category_totals.amount IS 'exposure of every customer in the category';
COMMENT ON COLUMN pgcredit.category_totals.customers IS 'customers with exposure in the category';
COMMENT ON COLUMN pgcredit.category_totals.customers_over_sub_limit IS 'customers whose exposure in the category is above its sub-limit (tolerance aside)';
COMMENT ON COLUMN pgcredit.category_totals.day IS 'the day the view is read: the figures are today''s';
REVOKE ALL ON pgcredit.category_totals FROM PUBLIC;
GRANT SELECT ON pgcredit.category_totals TO pgcredit_reader;

-- The company categories' exposure recomputed from the attached tables.
-- (plpgsql: pgcredit.attachment is created after this file)
CREATE FUNCTION pgcredit._actual_category_exposure(lock_tables boolean DEFAULT false)
RETURNS TABLE (customer text, category text, amount numeric)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  RETURN QUERY
    SELECT i.customer, a.category, sum(i.amount)
    FROM pgcredit._attached_items(NULL, NULL, NULL, lock_tables) i
    JOIN pgcredit.attachment a ON a.relid = i.relid
    JOIN pgcredit.exposure_category k ON k.name = a.category
    -- (a distributed table's rows are kept on the workers: doc/citus.md)
    WHERE i.counts AND NOT k.built_in AND i.relid <> ALL (CAST((SELECT pgcredit._citus_shells()) AS oid[]))
    GROUP BY i.customer, a.category;
END
$$;
COMMENT ON FUNCTION pgcredit._actual_category_exposure(boolean) IS
  'exposure per customer in each company category, recomputed from the attached tables';
REVOKE EXECUTE ON FUNCTION pgcredit._actual_category_exposure(boolean) FROM PUBLIC;

CREATE FUNCTION pgcredit.verify_category_exposure()
RETURNS TABLE (customer text, category text, stored_amount numeric, actual_amount numeric)
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT coalesce(c.customer, a.customer), coalesce(c.category, a.category),
         coalesce(c.amount, 0), coalesce(a.amount, 0)
  FROM pgcredit.category_exposure c
  FULL JOIN pgcredit._actual_category_exposure() a ON a.customer = c.customer AND a.category = c.category
  WHERE coalesce(c.amount, 0) <> coalesce(a.amount, 0)
  -- on the coordinator of a Citus cluster, the workers' too
  UNION ALL
  SELECT r.* FROM pgcredit._citus_verify('verify_category_exposure') j
  CROSS JOIN LATERAL jsonb_to_record(j)
    AS r(customer text, category text, stored_amount numeric, actual_amount numeric)
  ORDER BY 1, 2
$$;
COMMENT ON FUNCTION pgcredit.verify_category_exposure() IS
  'recompute the company categories'' exposure from the attached tables and list the customers and categories whose stored amount differs (none when all is well)';
REVOKE EXECUTE ON FUNCTION pgcredit.verify_category_exposure() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.verify_category_exposure() TO pgcredit_reader;

-- Called by rebuild_exposure() with the attached tables locked, after
-- the customers' exposure rows: returns the customers corrected.
CREATE FUNCTION pgcredit._rebuild_category_exposure()
RETURNS text[] LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  fixed text[];
BEGIN
  WITH actual AS (SELECT * FROM pgcredit._actual_category_exposure()),
  diff AS (
    SELECT coalesce(x.customer, c.customer) AS customer, coalesce(x.category, c.category) AS category,
           coalesce(x.amount, 0) AS amount
    FROM actual x FULL JOIN pgcredit.category_exposure c ON c.customer = x.customer AND c.category = x.category
    WHERE coalesce(x.amount, 0) <> coalesce(c.amount, 0)),
  put AS (
    INSERT INTO pgcredit.category_exposure AS c (customer, category, amount)
    SELECT d.customer, d.category, d.amount FROM diff d
    ON CONFLICT (customer, category) DO UPDATE SET amount = EXCLUDED.amount
    RETURNING c.customer)
  SELECT array_agg(p.customer) INTO fixed FROM put p;
  RETURN coalesce(fixed, '{}');
END
$$;
COMMENT ON FUNCTION pgcredit._rebuild_category_exposure() IS
  'repair the company categories'' exposure from the attached tables (locked by the caller); returns the customers corrected';
REVOKE EXECUTE ON FUNCTION pgcredit._rebuild_category_exposure() FROM PUBLIC;
