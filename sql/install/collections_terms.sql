-- Collections: early-payment terms and their economics; late fees and interest

----------------------------------------------------------------------
-- Early-payment terms (pgcredit_admin defines them and the default,
-- pgcredit_controller gives a customer its own)
--
-- Terms such as 2/10 net 30 are data: a discount of discount_pct per
-- cent for an invoice paid within discount_days of its invoice date, the
-- whole amount due net_days after it.  The terms of an invoice are the
-- customer's terms in force on its invoice date, else the default in
-- force on that day: changing a customer's terms does not change the
-- terms of the invoices it has had.  pgcredit reads the invoice date and
-- the payment date of each item; a table attached without an invoice
-- date column has no discount window and is left out.
----------------------------------------------------------------------

CREATE TABLE pgcredit.payment_terms (
  name           text PRIMARY KEY
                 CONSTRAINT payment_terms_name CHECK (btrim(name) <> '' AND octet_length(name) <= 200),
  discount_pct   numeric NOT NULL CHECK (discount_pct >= 0 AND discount_pct < 100),
  discount_days  int NOT NULL CHECK (discount_days >= 0),
  net_days       int NOT NULL CHECK (net_days BETWEEN 0 AND 3660),
  description    text,
  created_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CONSTRAINT payment_terms_windows CHECK (discount_days <= net_days)
);
COMMENT ON TABLE pgcredit.payment_terms IS 'payment terms such as 2/10 net 30: a discount for paying early and the days to pay net; never changed once created, created and dropped through pgcredit''s functions, audited';
COMMENT ON COLUMN pgcredit.payment_terms.name IS 'the terms'' name, e.g. 2/10 net 30';
COMMENT ON COLUMN pgcredit.payment_terms.discount_pct IS 'the discount, per cent of the invoice amount, for paying within discount_days (0: no discount)';
COMMENT ON COLUMN pgcredit.payment_terms.discount_days IS 'days after the invoice date the discount may be taken, that day included';
COMMENT ON COLUMN pgcredit.payment_terms.net_days IS 'days after the invoice date the whole amount is due';
COMMENT ON COLUMN pgcredit.payment_terms.description IS 'what the terms are for';
COMMENT ON COLUMN pgcredit.payment_terms.created_at IS 'when they were created';
REVOKE ALL ON pgcredit.payment_terms FROM PUBLIC;
GRANT SELECT ON pgcredit.payment_terms TO pgcredit_reader;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.payment_terms', '');

CREATE TABLE pgcredit.default_terms (
  valid_from  date PRIMARY KEY CHECK (valid_from > '-infinity' AND valid_from < 'infinity'),
  terms       text REFERENCES pgcredit.payment_terms,
  reason      text NOT NULL,
  set_at      timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE pgcredit.default_terms IS 'the default payment terms, from a day on: the terms of an invoice of a customer without terms of its own are those in force on its invoice date';
COMMENT ON COLUMN pgcredit.default_terms.valid_from IS 'the first invoice date they apply to';
COMMENT ON COLUMN pgcredit.default_terms.terms IS 'the terms; NULL = no default terms from that day';
COMMENT ON COLUMN pgcredit.default_terms.reason IS 'why';
COMMENT ON COLUMN pgcredit.default_terms.set_at IS 'when it was set';
REVOKE ALL ON pgcredit.default_terms FROM PUBLIC;
GRANT SELECT ON pgcredit.default_terms TO pgcredit_reader;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.default_terms', '');

CREATE TABLE pgcredit.customer_terms (
  customer    text NOT NULL CONSTRAINT customer_key_length CHECK (octet_length(customer) <= 1000),
  valid_from  date NOT NULL CHECK (valid_from > '-infinity' AND valid_from < 'infinity'),
  terms       text REFERENCES pgcredit.payment_terms,
  reason      text NOT NULL,
  set_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  PRIMARY KEY (customer, valid_from)
);
COMMENT ON TABLE pgcredit.customer_terms IS 'each customer''s own payment terms, from a day on: an invoice has the terms in force on its invoice date';
COMMENT ON COLUMN pgcredit.customer_terms.customer IS 'customer key';
COMMENT ON COLUMN pgcredit.customer_terms.valid_from IS 'the first invoice date they apply to';
COMMENT ON COLUMN pgcredit.customer_terms.terms IS 'the terms; NULL = the default terms from that day';
COMMENT ON COLUMN pgcredit.customer_terms.reason IS 'why';
COMMENT ON COLUMN pgcredit.customer_terms.set_at IS 'when it was set';
REVOKE ALL ON pgcredit.customer_terms FROM PUBLIC;
GRANT SELECT ON pgcredit.customer_terms TO pgcredit_reader;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.customer_terms', '');

CREATE TABLE pgcredit.discount_settings (
  only_row             boolean PRIMARY KEY DEFAULT true CHECK (only_row),
  cost_of_capital_pct  numeric CHECK (cost_of_capital_pct >= 0 AND cost_of_capital_pct < 'Infinity')
);
COMMENT ON TABLE pgcredit.discount_settings IS 'what early-payment discounts are weighed against: one row at most, set with set_cost_of_capital(); no row = no cost of capital';
COMMENT ON COLUMN pgcredit.discount_settings.only_row IS 'always true: the table holds one row at most';
COMMENT ON COLUMN pgcredit.discount_settings.cost_of_capital_pct IS 'the book''s cost of capital, per cent a year: a discount whose implied annual rate is above it costs more than the capital it frees; NULL = not set';
REVOKE ALL ON pgcredit.discount_settings FROM PUBLIC;
GRANT SELECT ON pgcredit.discount_settings TO pgcredit_reader;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.discount_settings', '');


-- A customer pgcredit knows: it has an account, exposure or a scoring
CREATE FUNCTION pgcredit._check_known_customer(customer text)
RETURNS void LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  IF customer IS NULL THEN
    RAISE EXCEPTION 'customer must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF NOT EXISTS (SELECT FROM pgcredit.account a WHERE a.customer = _check_known_customer.customer)
     AND NOT EXISTS (SELECT FROM pgcredit.exposure x WHERE x.customer = _check_known_customer.customer)
     AND NOT EXISTS (SELECT FROM pgcredit.score_history h WHERE h.customer = _check_known_customer.customer) THEN
    RAISE EXCEPTION 'customer "%" is unknown to pgcredit', customer USING ERRCODE = 'PC003',
      DETAIL = 'It has no account, no exposure history and no receivables.',
      HINT = 'Open an account for it with pgcredit.open_account() first.';
  END IF;
END
$$;
COMMENT ON FUNCTION pgcredit._check_known_customer(text) IS
  'refuse a NULL customer, or one pgcredit does not know (no account, no exposure, no scoring): PC003';
REVOKE EXECUTE ON FUNCTION pgcredit._check_known_customer(text) FROM PUBLIC;

-- A day terms apply from: finite
CREATE FUNCTION pgcredit._check_valid_from(valid_from date)
RETURNS void LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  IF valid_from IS NULL OR NOT isfinite(valid_from) THEN
    RAISE EXCEPTION 'valid_from must be a finite date' USING ERRCODE = 'invalid_parameter_value',
      DETAIL = format('valid_from is %s.', coalesce(valid_from::text, 'NULL'));
  END IF;
END
$$;
COMMENT ON FUNCTION pgcredit._check_valid_from(date) IS 'refuse a NULL or infinite first day of terms';
REVOKE EXECUTE ON FUNCTION pgcredit._check_valid_from(date) FROM PUBLIC;

CREATE FUNCTION pgcredit._payment_terms_row(terms text)
RETURNS pgcredit.payment_terms LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  t pgcredit.payment_terms;
BEGIN
  PERFORM pgcredit._check_name('terms', terms);
  SELECT * INTO t FROM pgcredit.payment_terms p WHERE p.name = _payment_terms_row.terms FOR SHARE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'payment terms "%" do not exist', terms USING ERRCODE = 'PC026',
      HINT = 'Create them with pgcredit.create_payment_terms(); pgcredit.payment_terms lists those that exist.';
  END IF;
  RETURN t;
END
$$;
COMMENT ON FUNCTION pgcredit._payment_terms_row(text) IS 'payment terms, locked against a drop, or PC026 when there are none of that name';
REVOKE EXECUTE ON FUNCTION pgcredit._payment_terms_row(text) FROM PUBLIC;

CREATE FUNCTION pgcredit.create_payment_terms(name text, discount_pct numeric, discount_days int, net_days int,
                                              reason text, description text DEFAULT NULL)
RETURNS pgcredit.payment_terms LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  t pgcredit.payment_terms;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  PERFORM pgcredit._check_name('name', name);
  IF octet_length(name) > 200 THEN
    RAISE EXCEPTION 'name is too long' USING ERRCODE = 'string_data_right_truncation',
      DETAIL = 'Names of payment terms are at most 200 bytes.';
  END IF;
  IF discount_pct IS NULL OR discount_days IS NULL OR net_days IS NULL THEN
    RAISE EXCEPTION 'discount_pct, discount_days and net_days must not be null' USING ERRCODE = 'null_value_not_allowed',
      HINT = 'Terms without a discount have a discount_pct and discount_days of 0.';
  END IF;
  PERFORM pgcredit._check_amount('discount_pct', discount_pct);
  IF discount_pct >= 100 THEN
    RAISE EXCEPTION 'discount_pct must be below 100' USING ERRCODE = 'invalid_parameter_value',
      DETAIL = format('discount_pct is %s.', discount_pct);
  END IF;
  IF discount_days < 0 OR net_days NOT BETWEEN 0 AND 3660 THEN
    RAISE EXCEPTION 'discount_days must not be negative and net_days must be between 0 and 3660'
      USING ERRCODE = 'invalid_parameter_value',
      DETAIL = format('discount_days is %s, net_days is %s.', discount_days, net_days);
  END IF;
  IF discount_days > net_days THEN
    RAISE EXCEPTION 'discount_days must not be greater than net_days' USING ERRCODE = 'invalid_parameter_value',
      DETAIL = format('discount_days is %s, net_days is %s.', discount_days, net_days),
      HINT = 'The discount is for paying before the net due date: 2/10 net 30 is discount_days 10, net_days 30.';
  END IF;
  INSERT INTO pgcredit.payment_terms AS p (name, discount_pct, discount_days, net_days, description)
  VALUES (create_payment_terms.name, create_payment_terms.discount_pct, create_payment_terms.discount_days,
          create_payment_terms.net_days, create_payment_terms.description)
  ON CONFLICT ON CONSTRAINT payment_terms_pkey DO NOTHING
  RETURNING * INTO t;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'payment terms "%" already exist', name USING ERRCODE = 'duplicate_object',
      HINT = 'Terms never change: create terms of another name and give them to the customers from a day.';
  END IF;
  PERFORM pgcredit._audit('create_payment_terms', NULL, NULL, to_jsonb(t) - 'created_at', reason);
  RETURN t;
END
$$;
COMMENT ON FUNCTION pgcredit.create_payment_terms(text, numeric, int, int, text, text) IS
  'create payment terms such as 2/10 net 30 (discount_pct 2, discount_days 10, net_days 30), audited';
REVOKE EXECUTE ON FUNCTION pgcredit.create_payment_terms(text, numeric, int, int, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.create_payment_terms(text, numeric, int, int, text, text) TO pgcredit_admin;

CREATE FUNCTION pgcredit.drop_payment_terms(name text, reason text)
RETURNS void LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  t pgcredit.payment_terms;
  users text;
  n bigint;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  PERFORM pgcredit._check_name('name', name);
  SELECT * INTO t FROM pgcredit.payment_terms p WHERE p.name = drop_payment_terms.name FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'payment terms "%" do not exist', name USING ERRCODE = 'PC026',
      HINT = 'pgcredit.payment_terms lists those that exist.';
  END IF;
  -- the terms of past invoices are read from these rows: terms once given
  -- stay while any row names them
  SELECT count(*), string_agg(x, ', ' ORDER BY k, x COLLATE "C") FILTER (WHERE rn <= 5) INTO n, users FROM (
    SELECT k, x, row_number() OVER (ORDER BY k, x COLLATE "C") AS rn FROM (
      SELECT 0 AS k, format('the default from %s', d.valid_from) AS x FROM pgcredit.default_terms d
      WHERE d.terms = t.name
      UNION ALL
      SELECT 1, format('customer %s from %s', c.customer, c.valid_from) FROM pgcredit.customer_terms c
      WHERE c.terms = t.name) u) v;
  IF n > 0 THEN
    RAISE EXCEPTION 'payment terms "%" are in use', name USING ERRCODE = 'dependent_objects_still_exist',
      DETAIL = format('They are %s%s.', users, CASE WHEN n > 5 THEN format(' and %s more', n - 5) ELSE '' END),
      HINT = 'Terms given to invoices explain their discounts and stay; give new invoices other terms from a day.';
  END IF;
  PERFORM pgcredit._audit('drop_payment_terms', NULL, to_jsonb(t) - 'created_at', NULL, reason);
  DELETE FROM pgcredit.payment_terms p WHERE p.name = t.name;
END
$$;
COMMENT ON FUNCTION pgcredit.drop_payment_terms(text, text) IS
  'drop payment terms that no customer and no default has ever had, audited';
REVOKE EXECUTE ON FUNCTION pgcredit.drop_payment_terms(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.drop_payment_terms(text, text) TO pgcredit_admin;

CREATE FUNCTION pgcredit.set_default_payment_terms(terms text, reason text,
                                                   valid_from date DEFAULT pgcredit._horizon_today())
RETURNS void LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  before pgcredit.default_terms;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  PERFORM pgcredit._check_valid_from(valid_from);
  IF terms IS NOT NULL THEN
    PERFORM pgcredit._payment_terms_row(terms);
  END IF;
  SELECT * INTO before FROM pgcredit.default_terms d WHERE d.valid_from = set_default_payment_terms.valid_from
  FOR UPDATE;
  INSERT INTO pgcredit.default_terms AS d (valid_from, terms, reason)
  VALUES (set_default_payment_terms.valid_from, set_default_payment_terms.terms, set_default_payment_terms.reason)
  ON CONFLICT ON CONSTRAINT default_terms_pkey DO UPDATE SET terms = EXCLUDED.terms, reason = EXCLUDED.reason,
    set_at = now();
  PERFORM pgcredit._audit('set_default_payment_terms', NULL,
    CASE WHEN before.valid_from IS NOT NULL THEN jsonb_build_object('valid_from', before.valid_from, 'terms', before.terms) END,
    jsonb_build_object('valid_from', valid_from, 'terms', terms), reason);
END
$$;
COMMENT ON FUNCTION pgcredit.set_default_payment_terms(text, text, date) IS
  'the default payment terms of invoices dated from a day (default today) on; NULL: none from that day; audited';
REVOKE EXECUTE ON FUNCTION pgcredit.set_default_payment_terms(text, text, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.set_default_payment_terms(text, text, date) TO pgcredit_admin;

CREATE FUNCTION pgcredit.set_customer_payment_terms(customer text, terms text, reason text,
                                                    valid_from date DEFAULT pgcredit._horizon_today())
RETURNS void LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  before pgcredit.customer_terms;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  PERFORM pgcredit._check_known_customer(customer);
  PERFORM pgcredit._check_valid_from(valid_from);
  IF terms IS NOT NULL THEN
    PERFORM pgcredit._payment_terms_row(terms);
  END IF;
  SELECT * INTO before FROM pgcredit.customer_terms c
  WHERE c.customer = set_customer_payment_terms.customer AND c.valid_from = set_customer_payment_terms.valid_from
  FOR UPDATE;
  INSERT INTO pgcredit.customer_terms AS c (customer, valid_from, terms, reason)
  VALUES (set_customer_payment_terms.customer, set_customer_payment_terms.valid_from,
          set_customer_payment_terms.terms, set_customer_payment_terms.reason)
  ON CONFLICT ON CONSTRAINT customer_terms_pkey DO UPDATE SET terms = EXCLUDED.terms, reason = EXCLUDED.reason,
    set_at = now();
  PERFORM pgcredit._audit('set_customer_payment_terms', customer,
    CASE WHEN before.customer IS NOT NULL THEN jsonb_build_object('valid_from', before.valid_from, 'terms', before.terms) END,
    jsonb_build_object('valid_from', valid_from, 'terms', terms), reason);
END
$$;
COMMENT ON FUNCTION pgcredit.set_customer_payment_terms(text, text, text, date) IS
  'a customer''s own payment terms for its invoices dated from a day (default today) on; NULL: the default terms from that day; audited';
REVOKE EXECUTE ON FUNCTION pgcredit.set_customer_payment_terms(text, text, text, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.set_customer_payment_terms(text, text, text, date) TO pgcredit_controller;

CREATE FUNCTION pgcredit.set_cost_of_capital(cost_of_capital_pct numeric, reason text)
RETURNS pgcredit.discount_settings LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  before pgcredit.discount_settings;
  after pgcredit.discount_settings;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  PERFORM pgcredit._check_amount('cost_of_capital_pct', cost_of_capital_pct);
  SELECT * INTO before FROM pgcredit.discount_settings FOR UPDATE;
  INSERT INTO pgcredit.discount_settings AS s (only_row, cost_of_capital_pct)
  VALUES (true, set_cost_of_capital.cost_of_capital_pct)
  ON CONFLICT ON CONSTRAINT discount_settings_pkey DO UPDATE SET cost_of_capital_pct = EXCLUDED.cost_of_capital_pct
  RETURNING * INTO after;
  PERFORM pgcredit._audit('set_cost_of_capital', NULL, to_jsonb(before) - 'only_row', to_jsonb(after) - 'only_row',
                          reason);
  RETURN after;
END
$$;
COMMENT ON FUNCTION pgcredit.set_cost_of_capital(numeric, text) IS
  'the book''s cost of capital, per cent a year, that discount_economics weighs discounts against; NULL clears it; audited';
REVOKE EXECUTE ON FUNCTION pgcredit.set_cost_of_capital(numeric, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.set_cost_of_capital(numeric, text) TO pgcredit_admin;


----------------------------------------------------------------------
-- Which invoices may take the discount, which took it, what it cost
----------------------------------------------------------------------

-- Every receivable item with an invoice date, with the terms in force
-- for its customer on that date (NULL: none)
CREATE FUNCTION pgcredit._items_with_terms()
RETURNS TABLE (customer text, relid oid, item_key jsonb, amount numeric, counts boolean,
               invoice_amount numeric, invoiced_on date, paid_on date,
               terms text, discount_pct numeric, discount_days int, net_days int)
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT i.customer, i.relid, i.item_key, i.amount, i.counts, i.invoice_amount, i.invoiced_on, i.paid_on,
         t.name, t.discount_pct, t.discount_days, t.net_days
  FROM pgcredit._attached_items_keyed('receivables') i
  LEFT JOIN LATERAL (
    SELECT c.terms FROM pgcredit.customer_terms c
    WHERE c.customer = i.customer AND c.valid_from <= i.invoiced_on
    ORDER BY c.valid_from DESC LIMIT 1) own ON true
  LEFT JOIN LATERAL (
    SELECT d.terms FROM pgcredit.default_terms d
    WHERE d.valid_from <= i.invoiced_on
    ORDER BY d.valid_from DESC LIMIT 1) dflt ON true
  -- a customer's row with no terms gives it the default's again
  LEFT JOIN pgcredit.payment_terms t ON t.name = coalesce(own.terms, dflt.terms)
  WHERE i.invoiced_on IS NOT NULL AND isfinite(i.invoiced_on)
$$;
COMMENT ON FUNCTION pgcredit._items_with_terms() IS
  'the receivable items of every attached table with an invoice date, with the payment terms of each (its customer''s in force on its invoice date, else the default''s; NULL: none)';
REVOKE EXECUTE ON FUNCTION pgcredit._items_with_terms() FROM PUBLIC;

-- The first day of the period of months ending at as_of, excluded
CREATE FUNCTION pgcredit._period_start(as_of date, months int)
RETURNS date LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  PERFORM pgcredit._check_day(as_of);
  IF months IS NULL OR months NOT BETWEEN 1 AND 120 THEN
    RAISE EXCEPTION 'months must be between 1 and 120' USING ERRCODE = 'invalid_parameter_value',
      DETAIL = format('months is %s.', coalesce(months::text, 'NULL'));
  END IF;
  RETURN (as_of - pg_catalog.make_interval(months => months))::date;
END
$$;
COMMENT ON FUNCTION pgcredit._period_start(date, int) IS
  'the day before the first day of the period of months ending at as_of (as_of minus the months, the month''s last day when shorter); refuses a bad day or a months outside 1 to 120';
REVOKE EXECUTE ON FUNCTION pgcredit._period_start(date, int) FROM PUBLIC;

CREATE FUNCTION pgcredit.discount_opportunities_at(as_of date)
RETURNS TABLE (day date, customer text, "table" regclass, item_key jsonb, terms text, invoiced_on date,
               invoice_amount numeric, discount numeric, last_day date, days_left int, net_due date,
               table_text text, item_key_text text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER ROWS 1000
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  PERFORM pgcredit._check_day(as_of);
  RETURN QUERY
  SELECT discount_opportunities_at.as_of, i.customer, i.relid::regclass, i.item_key, i.terms, i.invoiced_on,
         i.invoice_amount, round(i.invoice_amount * i.discount_pct / 100, 2),
         i.invoiced_on + i.discount_days, i.invoiced_on + i.discount_days - discount_opportunities_at.as_of,
         i.invoiced_on + i.net_days, pgcredit._qualified_name(i.relid), i.item_key::text
  FROM pgcredit._items_with_terms() i
  WHERE i.discount_pct > 0 AND i.invoice_amount > 0
    AND i.invoiced_on <= discount_opportunities_at.as_of
    AND discount_opportunities_at.as_of <= i.invoiced_on + i.discount_days
    -- open on the day: paid after it, or not paid and open now
    AND (i.paid_on > discount_opportunities_at.as_of OR i.paid_on IS NULL AND i.counts AND i.amount > 0)
  ORDER BY i.invoiced_on + i.discount_days, i.customer COLLATE "C", i.relid, i.item_key::text COLLATE "C";
END
$$;
COMMENT ON FUNCTION pgcredit.discount_opportunities_at(date) IS
  'the open invoices that may still take their early-payment discount on a day: their terms, invoice amount, the discount (rounded to cents, half away from zero), the last day to take it and the days left';
REVOKE EXECUTE ON FUNCTION pgcredit.discount_opportunities_at(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.discount_opportunities_at(date) TO pgcredit_reader;

CREATE VIEW pgcredit.discount_opportunities AS
  SELECT * FROM pgcredit.discount_opportunities_at(pgcredit.as_of());
COMMENT ON VIEW pgcredit.discount_opportunities IS
  'the open invoices that may still take their early-payment discount on the day pgcredit.as_of(), the last day first';
COMMENT ON COLUMN pgcredit.discount_opportunities.day IS 'the day described';
COMMENT ON COLUMN pgcredit.discount_opportunities.customer IS 'customer key';
COMMENT ON COLUMN pgcredit.discount_opportunities."table" IS 'the attached receivables table';
COMMENT ON COLUMN pgcredit.discount_opportunities.item_key IS 'the invoice''s primary key as a JSON object (NULL for a table without one)';
COMMENT ON COLUMN pgcredit.discount_opportunities.terms IS 'its payment terms';
COMMENT ON COLUMN pgcredit.discount_opportunities.invoiced_on IS 'its invoice date';
COMMENT ON COLUMN pgcredit.discount_opportunities.invoice_amount IS 'its invoice amount, as the table holds it';
COMMENT ON COLUMN pgcredit.discount_opportunities.discount IS 'the discount: invoice amount times discount_pct / 100, rounded to cents half away from zero';
COMMENT ON COLUMN pgcredit.discount_opportunities.last_day IS 'the last day it may be paid with the discount: invoice date + discount_days';
COMMENT ON COLUMN pgcredit.discount_opportunities.days_left IS 'days from the day to the last day (0: the last day is the day)';
COMMENT ON COLUMN pgcredit.discount_opportunities.net_due IS 'the net due date: invoice date + net_days';
COMMENT ON COLUMN pgcredit.discount_opportunities.table_text IS 'table as text, always schema.table';
COMMENT ON COLUMN pgcredit.discount_opportunities.item_key_text IS 'item_key as text';
REVOKE ALL ON pgcredit.discount_opportunities FROM PUBLIC;
GRANT SELECT ON pgcredit.discount_opportunities TO pgcredit_reader;

CREATE FUNCTION pgcredit.discounts_taken_at(as_of date, months int DEFAULT 12)
RETURNS TABLE (day date, customer text, "table" regclass, item_key jsonb, terms text, invoiced_on date,
               paid_on date, last_day date, net_due date, invoice_amount numeric, discount numeric, days_saved int,
               table_text text, item_key_text text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER ROWS 1000
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  since date := pgcredit._period_start(as_of, months);
BEGIN
  RETURN QUERY
  SELECT discounts_taken_at.as_of, i.customer, i.relid::regclass, i.item_key, i.terms, i.invoiced_on, i.paid_on,
         i.invoiced_on + i.discount_days, i.invoiced_on + i.net_days,
         i.invoice_amount, round(i.invoice_amount * i.discount_pct / 100, 2),
         i.invoiced_on + i.net_days - i.paid_on, pgcredit._qualified_name(i.relid), i.item_key::text
  FROM pgcredit._items_with_terms() i
  WHERE i.discount_pct > 0 AND i.invoice_amount > 0
    AND i.invoiced_on > since AND i.invoiced_on <= discounts_taken_at.as_of
    AND i.paid_on <= discounts_taken_at.as_of
    AND i.paid_on >= i.invoiced_on AND i.paid_on <= i.invoiced_on + i.discount_days
  ORDER BY i.paid_on, i.customer COLLATE "C", i.relid, i.item_key::text COLLATE "C";
END
$$;
COMMENT ON FUNCTION pgcredit.discounts_taken_at(date, int) IS
  'the invoices dated in the months (default 12) ending at a day that were paid within their discount window by that day: the discount their terms gave and the days they were paid before the net due date';
REVOKE EXECUTE ON FUNCTION pgcredit.discounts_taken_at(date, int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.discounts_taken_at(date, int) TO pgcredit_reader;

CREATE VIEW pgcredit.discounts_taken AS
  SELECT * FROM pgcredit.discounts_taken_at(pgcredit.as_of(), 12);
COMMENT ON VIEW pgcredit.discounts_taken IS
  'the invoices dated in the 12 months ending at pgcredit.as_of() that were paid within their discount window by that day';
COMMENT ON COLUMN pgcredit.discounts_taken.day IS 'the last day of the period: invoices dated in it and paid by it';
COMMENT ON COLUMN pgcredit.discounts_taken.customer IS 'customer key';
COMMENT ON COLUMN pgcredit.discounts_taken."table" IS 'the attached receivables table';
COMMENT ON COLUMN pgcredit.discounts_taken.item_key IS 'the invoice''s primary key as a JSON object (NULL for a table without one)';
COMMENT ON COLUMN pgcredit.discounts_taken.terms IS 'its payment terms';
COMMENT ON COLUMN pgcredit.discounts_taken.invoiced_on IS 'its invoice date';
COMMENT ON COLUMN pgcredit.discounts_taken.paid_on IS 'its payment date';
COMMENT ON COLUMN pgcredit.discounts_taken.last_day IS 'the last day of its discount window';
COMMENT ON COLUMN pgcredit.discounts_taken.net_due IS 'its net due date: invoice date + net_days';
COMMENT ON COLUMN pgcredit.discounts_taken.invoice_amount IS 'its invoice amount, as the table holds it';
COMMENT ON COLUMN pgcredit.discounts_taken.discount IS 'the discount its terms gave, rounded to cents half away from zero';
COMMENT ON COLUMN pgcredit.discounts_taken.days_saved IS 'days paid before the net due date: the days of DSO the discount bought, on the assumption that the customer would have paid on the net due date';
COMMENT ON COLUMN pgcredit.discounts_taken.table_text IS 'table as text, always schema.table';
COMMENT ON COLUMN pgcredit.discounts_taken.item_key_text IS 'item_key as text';
REVOKE ALL ON pgcredit.discounts_taken FROM PUBLIC;
GRANT SELECT ON pgcredit.discounts_taken TO pgcredit_reader;

CREATE FUNCTION pgcredit.discount_economics_at(as_of date, months int DEFAULT 12)
RETURNS TABLE (day date, period_months int, customer text, terms text, invoices int, paid_early numeric,
               discounts numeric, days_saved numeric, sales numeric, dso_saved numeric,
               annual_rate_pct numeric, effective_rate_pct numeric, cost_of_capital_pct numeric,
               costs_more boolean)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER ROWS 1000
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  since date := pgcredit._period_start(as_of, months);
  coc numeric := (SELECT s.cost_of_capital_pct FROM pgcredit.discount_settings s);
BEGIN
  RETURN QUERY
  WITH items AS MATERIALIZED (
    SELECT * FROM pgcredit._items_with_terms()),
  taken AS (
    SELECT i.customer, i.terms, i.invoice_amount AS amount,
           round(i.invoice_amount * i.discount_pct / 100, 2) AS discount,
           i.invoiced_on + i.net_days - i.paid_on AS days
    FROM items i
    WHERE i.discount_pct > 0 AND i.invoice_amount > 0
      AND i.invoiced_on > since AND i.invoiced_on <= discount_economics_at.as_of
      AND i.paid_on <= discount_economics_at.as_of
      AND i.paid_on >= i.invoiced_on AND i.paid_on <= i.invoiced_on + i.discount_days),
  -- credit sales of the period: every amount invoiced in it, as DSO counts them
  sales AS (
    SELECT i.customer, sum(i.invoice_amount) AS amount FROM items i
    WHERE i.invoiced_on > since AND i.invoiced_on <= discount_economics_at.as_of
    GROUP BY i.customer),
  grouped AS (
    SELECT t.customer, t.terms, GROUPING(t.customer) AS book, count(*)::int AS invoices,
           sum(t.amount) AS amount, sum(t.discount) AS discount,
           sum(t.amount * t.days) AS amount_days,
           sum((t.amount - t.discount) * t.days) AS freed_days
    FROM taken t
    GROUP BY GROUPING SETS ((t.customer, t.terms), (t.terms), ()))
  SELECT discount_economics_at.as_of, discount_economics_at.months, g.customer, g.terms, g.invoices, g.amount,
         g.discount, round(g.amount_days / g.amount, 2), s.amount,
         CASE WHEN s.amount > 0 THEN round(g.amount_days / s.amount, 2) END,
         round(r.rate, 2),
         CASE WHEN g.freed_days > 0 THEN round(100 * g.discount * 365 / g.freed_days, 2) END,
         coc, r.rate > coc
  FROM grouped g
  LEFT JOIN LATERAL (
    SELECT CASE WHEN g.book = 1 THEN (SELECT sum(x.amount) FROM sales x)
                ELSE (SELECT x.amount FROM sales x WHERE x.customer = g.customer) END AS amount) s ON true
  LEFT JOIN pgcredit.payment_terms p ON p.name = g.terms
  LEFT JOIN LATERAL (
    SELECT CASE WHEN p.net_days > p.discount_days
                THEN 100 * p.discount_pct / (100 - p.discount_pct) * 365 / (p.net_days - p.discount_days) END AS rate) r
    ON true
  ORDER BY g.book, g.customer COLLATE "C", g.terms COLLATE "C" NULLS LAST;
END
$$;
COMMENT ON FUNCTION pgcredit.discount_economics_at(date, int) IS
  'what the early-payment discounts taken on the invoices dated in the months (default 12) ending at a day cost against the days of DSO they saved: per customer and terms, per terms for the book, and for the whole book; each terms'' implied annual rate against the cost of capital';
REVOKE EXECUTE ON FUNCTION pgcredit.discount_economics_at(date, int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.discount_economics_at(date, int) TO pgcredit_reader;

CREATE VIEW pgcredit.discount_economics AS
  SELECT * FROM pgcredit.discount_economics_at(pgcredit.as_of(), 12);
COMMENT ON VIEW pgcredit.discount_economics IS
  'dynamic discounting: the early-payment discounts taken on the invoices dated in the 12 months ending at pgcredit.as_of() against the days of DSO they saved, per customer and terms, per terms and for the book (customer NULL)';
COMMENT ON COLUMN pgcredit.discount_economics.day IS 'the last day of the period';
COMMENT ON COLUMN pgcredit.discount_economics.period_months IS 'the months of the period';
COMMENT ON COLUMN pgcredit.discount_economics.customer IS 'customer key; NULL = the whole book';
COMMENT ON COLUMN pgcredit.discount_economics.terms IS 'the payment terms; NULL (with customer NULL) = every terms together';
COMMENT ON COLUMN pgcredit.discount_economics.invoices IS 'invoices dated in the period and paid within their discount window by its last day';
COMMENT ON COLUMN pgcredit.discount_economics.paid_early IS 'their invoice amount';
COMMENT ON COLUMN pgcredit.discount_economics.discounts IS 'the discounts they were given';
COMMENT ON COLUMN pgcredit.discount_economics.days_saved IS 'days paid before the net due date, weighted by amount';
COMMENT ON COLUMN pgcredit.discount_economics.sales IS 'credit sales of the period: the customer''s invoices dated in it (the book''s on a book row)';
COMMENT ON COLUMN pgcredit.discount_economics.dso_saved IS 'days of DSO the early payments saved: sum(amount * days saved) / sales of the period';
COMMENT ON COLUMN pgcredit.discount_economics.annual_rate_pct IS 'the implied annual rate of the terms: pct / (100 - pct) * 365 / (net_days - discount_days), per cent; NULL when the discount lasts until the net due date';
COMMENT ON COLUMN pgcredit.discount_economics.effective_rate_pct IS 'what the discounts given cost a year, per cent of the capital the early payments freed: discounts * 365 / sum((amount - discount) * days saved)';
COMMENT ON COLUMN pgcredit.discount_economics.cost_of_capital_pct IS 'the book''s cost of capital (discount_settings); NULL = not set';
COMMENT ON COLUMN pgcredit.discount_economics.costs_more IS 'whether the terms'' implied annual rate is above the cost of capital: the discount costs more than the capital it frees; NULL without terms or cost of capital';
REVOKE ALL ON pgcredit.discount_economics FROM PUBLIC;
GRANT SELECT ON pgcredit.discount_economics TO pgcredit_reader;


----------------------------------------------------------------------
-- Late fees and interest (pgcredit_admin sets the policies,
-- pgcredit_controller gives a customer its own and records what the
-- application posted or what is waived)
--
-- A policy charges interest at an annual rate on an item's open amount
-- for the days it is late, counted from its due date, once it is more
-- than grace_days late; plus a fixed fee; at least min_fee, at most
-- max_fee for the item.  pgcredit proposes the fee; the application
-- posts it in its own ledger and says so with post_late_fee(), or a
-- controller waives it; either settles the fee up to that day, and only
-- what accrues after it is proposed again.
----------------------------------------------------------------------

CREATE TABLE pgcredit.late_fee_policy (
  name             text PRIMARY KEY
                   CONSTRAINT late_fee_policy_name CHECK (btrim(name) <> '' AND octet_length(name) <= 200),
  annual_rate_pct  numeric NOT NULL CHECK (annual_rate_pct >= 0 AND annual_rate_pct < 'Infinity'),
  grace_days       int NOT NULL DEFAULT 0 CHECK (grace_days BETWEEN 0 AND 366),
  min_fee          numeric NOT NULL DEFAULT 0 CHECK (min_fee >= 0 AND min_fee < 'Infinity'),
  max_fee          numeric CHECK (max_fee > 0 AND max_fee < 'Infinity'),
  fixed_fee        numeric NOT NULL DEFAULT 0 CHECK (fixed_fee >= 0 AND fixed_fee < 'Infinity'),
  description      text,
  created_at       timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CONSTRAINT late_fee_policy_cap CHECK (max_fee >= min_fee),
  CONSTRAINT late_fee_policy_charges CHECK (annual_rate_pct > 0 OR fixed_fee > 0 OR min_fee > 0)
);
COMMENT ON TABLE pgcredit.late_fee_policy IS 'late fee policies: interest at a rate after grace days, a fixed fee, a minimum and a maximum; assigned per risk tier or per customer; created and dropped through pgcredit''s functions, audited';
COMMENT ON COLUMN pgcredit.late_fee_policy.name IS 'the policy''s name';
COMMENT ON COLUMN pgcredit.late_fee_policy.annual_rate_pct IS 'interest per cent a year on the open amount, for each day late counted from the due date (a year of 365 days)';
COMMENT ON COLUMN pgcredit.late_fee_policy.grace_days IS 'days late without a fee: a fee is proposed once an item is more than this many days late';
COMMENT ON COLUMN pgcredit.late_fee_policy.min_fee IS 'the least fee of an item once past the grace days';
COMMENT ON COLUMN pgcredit.late_fee_policy.max_fee IS 'the most an item is charged, in all; NULL = no cap';
COMMENT ON COLUMN pgcredit.late_fee_policy.fixed_fee IS 'a fee charged once per item on top of the interest';
COMMENT ON COLUMN pgcredit.late_fee_policy.description IS 'what the policy is for';
COMMENT ON COLUMN pgcredit.late_fee_policy.created_at IS 'when it was created';
REVOKE ALL ON pgcredit.late_fee_policy FROM PUBLIC;
GRANT SELECT ON pgcredit.late_fee_policy TO pgcredit_reader;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.late_fee_policy', '');

CREATE TABLE pgcredit.late_fee_assignment (
  tier    text PRIMARY KEY CONSTRAINT late_fee_tier CHECK (tier IN ('A', 'B', 'C', 'D', 'E', 'default')),
  policy  text NOT NULL REFERENCES pgcredit.late_fee_policy
);
COMMENT ON TABLE pgcredit.late_fee_assignment IS 'the late fee policy of each risk tier; default: of customers whose tier has none, and of those without a tier';
COMMENT ON COLUMN pgcredit.late_fee_assignment.tier IS 'a risk tier, A to E, or default';
COMMENT ON COLUMN pgcredit.late_fee_assignment.policy IS 'the policy';
REVOKE ALL ON pgcredit.late_fee_assignment FROM PUBLIC;
GRANT SELECT ON pgcredit.late_fee_assignment TO pgcredit_reader;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.late_fee_assignment', '');

CREATE TABLE pgcredit.late_fee_exception (
  customer  text PRIMARY KEY CONSTRAINT customer_key_length CHECK (octet_length(customer) <= 1000),
  policy    text REFERENCES pgcredit.late_fee_policy,
  reason    text NOT NULL,
  set_at    timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE pgcredit.late_fee_exception IS 'customers charged by another late fee policy than their tier''s, or not at all';
COMMENT ON COLUMN pgcredit.late_fee_exception.customer IS 'customer key';
COMMENT ON COLUMN pgcredit.late_fee_exception.policy IS 'the customer''s policy; NULL = no late fees';
COMMENT ON COLUMN pgcredit.late_fee_exception.reason IS 'why';
COMMENT ON COLUMN pgcredit.late_fee_exception.set_at IS 'when';
REVOKE ALL ON pgcredit.late_fee_exception FROM PUBLIC;
GRANT SELECT ON pgcredit.late_fee_exception TO pgcredit_reader;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.late_fee_exception', '');

CREATE TABLE pgcredit.late_fee (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  relid      oid NOT NULL,
  item_key   jsonb NOT NULL,
  n          int NOT NULL CHECK (n >= 1),
  customer   text NOT NULL,
  as_of      date NOT NULL,
  status     text NOT NULL CHECK (status IN ('posted', 'waived')),
  amount     numeric NOT NULL CHECK (amount > 0),
  proposed   numeric NOT NULL CHECK (proposed > 0),
  policy     text NOT NULL,
  days_late  int NOT NULL,
  reason     text NOT NULL,
  role_name  name NOT NULL,
  at         timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
  CONSTRAINT late_fee_item_n UNIQUE (relid, item_key, n),
  CONSTRAINT late_fee_within_proposal CHECK (amount <= proposed)
);
COMMENT ON TABLE pgcredit.late_fee IS 'the late fees the application posted and those waived, each settling the fee proposed for an item up to its day; written by post_late_fee() and waive_late_fee(), audited';
COMMENT ON INDEX pgcredit.late_fee_item_n IS 'the records of an item, numbered: two recorded at once for one item cannot both be its next';
COMMENT ON COLUMN pgcredit.late_fee.id IS 'record number';
COMMENT ON COLUMN pgcredit.late_fee.relid IS 'the attached receivables table (its oid; relid::regclass names it)';
COMMENT ON COLUMN pgcredit.late_fee.item_key IS 'the item''s key as late_fee_proposals gives it';
COMMENT ON COLUMN pgcredit.late_fee.n IS 'the item''s first, second... record';
COMMENT ON COLUMN pgcredit.late_fee.customer IS 'customer key';
COMMENT ON COLUMN pgcredit.late_fee.as_of IS 'the day up to which it settles the item''s fee';
COMMENT ON COLUMN pgcredit.late_fee.status IS 'posted (the application charged it) or waived';
COMMENT ON COLUMN pgcredit.late_fee.amount IS 'posted: what the application charged (at most the proposal); waived: the fee waived';
COMMENT ON COLUMN pgcredit.late_fee.proposed IS 'the fee proposed that day, which the record settles whatever amount was posted';
COMMENT ON COLUMN pgcredit.late_fee.policy IS 'the late fee policy that proposed it';
COMMENT ON COLUMN pgcredit.late_fee.days_late IS 'days the item was late on that day';
COMMENT ON COLUMN pgcredit.late_fee.reason IS 'why';
COMMENT ON COLUMN pgcredit.late_fee.role_name IS 'the role that recorded it';
COMMENT ON COLUMN pgcredit.late_fee.at IS 'when';
REVOKE ALL ON pgcredit.late_fee FROM PUBLIC;
GRANT SELECT ON pgcredit.late_fee TO pgcredit_reader;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.late_fee', '');
SELECT pg_catalog.pg_extension_config_dump('pgcredit.late_fee_id_seq', '');
COMMENT ON SEQUENCE pgcredit.late_fee_id_seq IS 'numbers of late fee records (late_fee.id)';


CREATE FUNCTION pgcredit._late_fee_policy_row(policy text)
RETURNS pgcredit.late_fee_policy LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  p pgcredit.late_fee_policy;
BEGIN
  PERFORM pgcredit._check_name('policy', policy);
  SELECT * INTO p FROM pgcredit.late_fee_policy l WHERE l.name = _late_fee_policy_row.policy FOR SHARE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'late fee policy "%" does not exist', policy USING ERRCODE = 'PC027',
      HINT = 'Create it with pgcredit.create_late_fee_policy(); pgcredit.late_fee_policy lists those that exist.';
  END IF;
  RETURN p;
END
$$;
COMMENT ON FUNCTION pgcredit._late_fee_policy_row(text) IS 'a late fee policy, locked against a drop, or PC027 when there is none of that name';
REVOKE EXECUTE ON FUNCTION pgcredit._late_fee_policy_row(text) FROM PUBLIC;

CREATE FUNCTION pgcredit.create_late_fee_policy(name text, annual_rate_pct numeric, reason text,
                                                grace_days int DEFAULT 0, min_fee numeric DEFAULT 0,
                                                max_fee numeric DEFAULT NULL, fixed_fee numeric DEFAULT 0,
                                                description text DEFAULT NULL)
RETURNS pgcredit.late_fee_policy LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  p pgcredit.late_fee_policy;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  PERFORM pgcredit._check_name('name', name);
  IF octet_length(name) > 200 THEN
    RAISE EXCEPTION 'name is too long' USING ERRCODE = 'string_data_right_truncation',
      DETAIL = 'Names of late fee policies are at most 200 bytes.';
  END IF;
  IF annual_rate_pct IS NULL OR grace_days IS NULL OR min_fee IS NULL OR fixed_fee IS NULL THEN
    RAISE EXCEPTION 'annual_rate_pct, grace_days, min_fee and fixed_fee must not be null'
      USING ERRCODE = 'null_value_not_allowed',
      HINT = 'Give 0 for none; only max_fee may be NULL (no cap).';
  END IF;
  PERFORM pgcredit._check_amount('annual_rate_pct', annual_rate_pct);
  PERFORM pgcredit._check_amount('min_fee', min_fee);
  PERFORM pgcredit._check_amount('max_fee', max_fee);
  PERFORM pgcredit._check_amount('fixed_fee', fixed_fee);
  IF grace_days NOT BETWEEN 0 AND 366 THEN
    RAISE EXCEPTION 'grace_days must be between 0 and 366' USING ERRCODE = 'invalid_parameter_value',
      DETAIL = format('grace_days is %s.', grace_days);
  END IF;
  IF max_fee = 0 OR max_fee < min_fee THEN
    RAISE EXCEPTION 'max_fee must be above 0 and not below min_fee' USING ERRCODE = 'invalid_parameter_value',
      DETAIL = format('max_fee is %s, min_fee is %s.', max_fee, min_fee),
      HINT = 'NULL leaves the fee uncapped; to charge a customer nothing, use pgcredit.exempt_from_late_fees().';
  END IF;
  IF annual_rate_pct = 0 AND fixed_fee = 0 AND min_fee = 0 THEN
    RAISE EXCEPTION 'a late fee policy must charge something' USING ERRCODE = 'invalid_parameter_value',
      DETAIL = 'annual_rate_pct, fixed_fee and min_fee are all 0.',
      HINT = 'To charge a customer nothing, use pgcredit.exempt_from_late_fees().';
  END IF;
  INSERT INTO pgcredit.late_fee_policy AS l (name, annual_rate_pct, grace_days, min_fee, max_fee, fixed_fee, description)
  VALUES (create_late_fee_policy.name, create_late_fee_policy.annual_rate_pct, create_late_fee_policy.grace_days,
          create_late_fee_policy.min_fee, create_late_fee_policy.max_fee, create_late_fee_policy.fixed_fee,
          create_late_fee_policy.description)
  ON CONFLICT ON CONSTRAINT late_fee_policy_pkey DO NOTHING
  RETURNING * INTO p;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'late fee policy "%" already exists', name USING ERRCODE = 'duplicate_object',
      HINT = 'Policies never change: create one of another name and give it to the tiers.';
  END IF;
  PERFORM pgcredit._audit('create_late_fee_policy', NULL, NULL, to_jsonb(p) - 'created_at', reason);
  RETURN p;
END
$$;
COMMENT ON FUNCTION pgcredit.create_late_fee_policy(text, numeric, text, int, numeric, numeric, numeric, text) IS
  'create a late fee policy: annual interest rate, grace days, minimum, maximum (NULL: none) and fixed fee; audited';
REVOKE EXECUTE ON FUNCTION pgcredit.create_late_fee_policy(text, numeric, text, int, numeric, numeric, numeric, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.create_late_fee_policy(text, numeric, text, int, numeric, numeric, numeric, text) TO pgcredit_admin;

CREATE FUNCTION pgcredit.drop_late_fee_policy(name text, reason text)
RETURNS void LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  p pgcredit.late_fee_policy;
  users text;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  PERFORM pgcredit._check_name('name', name);
  SELECT * INTO p FROM pgcredit.late_fee_policy l WHERE l.name = drop_late_fee_policy.name FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'late fee policy "%" does not exist', name USING ERRCODE = 'PC027',
      HINT = 'pgcredit.late_fee_policy lists those that exist.';
  END IF;
  SELECT string_agg(x, ', ' ORDER BY k, x) INTO users FROM (
    SELECT 0 AS k, format('tier %s', a.tier) AS x FROM pgcredit.late_fee_assignment a WHERE a.policy = p.name
    UNION ALL
    SELECT 1, format('customer %s', e.customer) FROM pgcredit.late_fee_exception e WHERE e.policy = p.name) u;
  IF users IS NOT NULL THEN
    RAISE EXCEPTION 'late fee policy "%" is in use', name USING ERRCODE = 'dependent_objects_still_exist',
      DETAIL = format('It is the policy of %s.', users),
      HINT = 'Give those another policy first.';
  END IF;
  PERFORM pgcredit._audit('drop_late_fee_policy', NULL, to_jsonb(p) - 'created_at', NULL, reason);
  DELETE FROM pgcredit.late_fee_policy l WHERE l.name = p.name;
END
$$;
COMMENT ON FUNCTION pgcredit.drop_late_fee_policy(text, text) IS
  'drop a late fee policy, unless a tier or customer has it; audited (the fees recorded under it stay)';
REVOKE EXECUTE ON FUNCTION pgcredit.drop_late_fee_policy(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.drop_late_fee_policy(text, text) TO pgcredit_admin;

CREATE FUNCTION pgcredit.set_tier_late_fee_policy(tier text, policy text, reason text)
RETURNS void LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  before text;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  IF tier IS NULL THEN
    RAISE EXCEPTION 'tier must not be null' USING ERRCODE = 'null_value_not_allowed',
      HINT = 'A tier is one of A, B, C, D and E, or default for customers whose tier has no policy.';
  ELSIF tier NOT IN ('A', 'B', 'C', 'D', 'E', 'default') THEN
    RAISE EXCEPTION 'invalid risk tier "%"', tier USING ERRCODE = 'invalid_parameter_value',
      HINT = 'A tier is one of A, B, C, D and E, or default for customers whose tier has no policy.';
  END IF;
  IF policy IS NOT NULL THEN
    PERFORM pgcredit._late_fee_policy_row(policy);
  END IF;
  SELECT a.policy INTO before FROM pgcredit.late_fee_assignment a WHERE a.tier = set_tier_late_fee_policy.tier
  FOR UPDATE;
  IF policy IS NULL THEN
    DELETE FROM pgcredit.late_fee_assignment a WHERE a.tier = set_tier_late_fee_policy.tier;
  ELSE
    INSERT INTO pgcredit.late_fee_assignment AS a (tier, policy)
    VALUES (set_tier_late_fee_policy.tier, set_tier_late_fee_policy.policy)
    ON CONFLICT ON CONSTRAINT late_fee_assignment_pkey DO UPDATE SET policy = EXCLUDED.policy;
  END IF;
  PERFORM pgcredit._audit('set_tier_late_fee_policy', NULL, jsonb_build_object('tier', tier, 'policy', before),
                          jsonb_build_object('tier', tier, 'policy', policy), reason);
END
$$;
COMMENT ON FUNCTION pgcredit.set_tier_late_fee_policy(text, text, text) IS
  'give a risk tier (A to E, or default) its late fee policy; NULL takes it away; audited';
REVOKE EXECUTE ON FUNCTION pgcredit.set_tier_late_fee_policy(text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.set_tier_late_fee_policy(text, text, text) TO pgcredit_admin;

CREATE FUNCTION pgcredit._set_late_fee_exception(customer text, policy text, exempt boolean, reason text)
RETURNS void LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  before pgcredit.late_fee_exception;
  after pgcredit.late_fee_exception;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  PERFORM pgcredit._check_known_customer(customer);
  IF NOT exempt AND policy IS NOT NULL THEN
    PERFORM pgcredit._late_fee_policy_row(policy);
  END IF;
  SELECT * INTO before FROM pgcredit.late_fee_exception e WHERE e.customer = _set_late_fee_exception.customer
  FOR UPDATE;
  IF NOT exempt AND policy IS NULL THEN
    DELETE FROM pgcredit.late_fee_exception e WHERE e.customer = _set_late_fee_exception.customer;
  ELSE
    INSERT INTO pgcredit.late_fee_exception AS e (customer, policy, reason)
    VALUES (_set_late_fee_exception.customer, _set_late_fee_exception.policy, _set_late_fee_exception.reason)
    ON CONFLICT ON CONSTRAINT late_fee_exception_pkey DO UPDATE SET policy = EXCLUDED.policy, reason = EXCLUDED.reason,
      set_at = now()
    RETURNING * INTO after;
  END IF;
  PERFORM pgcredit._audit('set_customer_late_fee_policy', customer,
    CASE WHEN before.customer IS NOT NULL THEN jsonb_build_object('policy', before.policy, 'exempt', before.policy IS NULL) END,
    CASE WHEN after.customer IS NOT NULL THEN jsonb_build_object('policy', after.policy, 'exempt', after.policy IS NULL) END,
    reason);
END
$$;
COMMENT ON FUNCTION pgcredit._set_late_fee_exception(text, text, boolean, text) IS
  'set, clear (policy NULL) or make exempt a customer''s late fee exception, audited';
REVOKE EXECUTE ON FUNCTION pgcredit._set_late_fee_exception(text, text, boolean, text) FROM PUBLIC;

CREATE FUNCTION pgcredit.set_customer_late_fee_policy(customer text, policy text, reason text)
RETURNS void LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$ SELECT pgcredit._set_late_fee_exception($1, $2, false, $3) $$;
COMMENT ON FUNCTION pgcredit.set_customer_late_fee_policy(text, text, text) IS
  'charge one customer late fees by another policy than its tier''s; NULL: back to its tier''s; audited';
REVOKE EXECUTE ON FUNCTION pgcredit.set_customer_late_fee_policy(text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.set_customer_late_fee_policy(text, text, text) TO pgcredit_controller;

CREATE FUNCTION pgcredit.exempt_from_late_fees(customer text, reason text)
RETURNS void LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$ SELECT pgcredit._set_late_fee_exception($1, NULL, true, $2) $$;
COMMENT ON FUNCTION pgcredit.exempt_from_late_fees(text, text) IS
  'charge one customer no late fees, until set_customer_late_fee_policy gives it a policy again; audited';
REVOKE EXECUTE ON FUNCTION pgcredit.exempt_from_late_fees(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.exempt_from_late_fees(text, text) TO pgcredit_controller;

-- The late fee policy of each of some customers on a day: its own, else
-- its tier's (the tier of its latest scoring on or before the day, else
-- its account's), else the default's
CREATE FUNCTION pgcredit._late_fee_policies(as_of date, customers text[])
RETURNS TABLE (customer text, policy text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT c.customer,
         CASE WHEN x.customer IS NOT NULL THEN x.policy
              ELSE coalesce((SELECT d.policy FROM pgcredit.late_fee_assignment d
                             WHERE d.tier = coalesce(
                               (SELECT h.tier FROM pgcredit.score_history h
                                WHERE h.customer = c.customer AND h.as_of <= $1
                                ORDER BY h.as_of DESC LIMIT 1),
                               (SELECT a.risk_tier FROM pgcredit.account a WHERE a.customer = c.customer))),
                            (SELECT d.policy FROM pgcredit.late_fee_assignment d WHERE d.tier = 'default')) END
  FROM (SELECT DISTINCT u.customer FROM unnest($2) AS u(customer) WHERE u.customer IS NOT NULL) c
  LEFT JOIN pgcredit.late_fee_exception x ON x.customer = c.customer
$$;
COMMENT ON FUNCTION pgcredit._late_fee_policies(date, text[]) IS
  'the late fee policy of each of the customers on a day (NULL: none): its exception, else its tier''s, else the default';
REVOKE EXECUTE ON FUNCTION pgcredit._late_fee_policies(date, text[]) FROM PUBLIC;

-- Every item past due on a day that dunning follows, with its customer's
-- late fee policy, the fee that policy computes up to the day, what is
-- settled already and what is left to propose
CREATE FUNCTION pgcredit._late_fees_at(as_of date)
RETURNS TABLE (customer text, relid oid, item_key jsonb, due date, amount numeric, days_late int,
               policy text, grace_days int, interest numeric, fee numeric, settled numeric,
               settled_until date, records int, proposed numeric)
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  WITH items AS MATERIALIZED (
    SELECT * FROM pgcredit._dunning_items($1) i WHERE i.due < $1),
  pol AS (
    SELECT p.customer, l.* FROM pgcredit._late_fee_policies($1, ARRAY(SELECT DISTINCT i.customer FROM items i)) p
    JOIN pgcredit.late_fee_policy l ON l.name = p.policy),
  done AS (
    SELECT f.relid, f.item_key, sum(f.proposed) FILTER (WHERE f.as_of <= $1) AS settled,
           max(f.as_of) FILTER (WHERE f.as_of <= $1) AS settled_until, count(*)::int AS records
    FROM pgcredit.late_fee f GROUP BY f.relid, f.item_key),
  computed AS (
    SELECT i.customer, i.relid, i.item_key, i.due, i.amount, $1 - i.due AS days_late,
           pol.name AS policy, pol.grace_days,
           round(i.amount * pol.annual_rate_pct / 100 * ($1 - i.due) / 365, 2) AS interest,
           pol.fixed_fee, pol.min_fee, pol.max_fee,
           coalesce(d.settled, 0.00) AS settled, d.settled_until, coalesce(d.records, 0) AS records
    FROM items i
    JOIN pol ON pol.customer = i.customer
    LEFT JOIN done d ON d.relid = i.relid AND d.item_key = i.item_key)
  SELECT c.customer, c.relid, c.item_key, c.due, c.amount, c.days_late, c.policy, c.grace_days, c.interest, f.fee,
         c.settled, c.settled_until, c.records, f.fee - c.settled
  FROM computed c
  CROSS JOIN LATERAL (
    SELECT CASE WHEN c.days_late > c.grace_days
                THEN round(least(greatest(c.interest + c.fixed_fee, c.min_fee), c.max_fee), 2)
                ELSE 0 END AS fee) f
$$;
COMMENT ON FUNCTION pgcredit._late_fees_at(date) IS
  'every item dunning follows that is past due on a day, with its late fee policy, the fee computed up to the day (0 within the grace days), the fees settled up to the day and what is left to propose';
REVOKE EXECUTE ON FUNCTION pgcredit._late_fees_at(date) FROM PUBLIC;

CREATE FUNCTION pgcredit.late_fee_proposals_at(as_of date)
RETURNS TABLE (day date, customer text, "table" regclass, item_key jsonb, due date, amount numeric,
               days_late int, policy text, interest numeric, fee numeric, settled numeric, settled_until date,
               proposed numeric, table_text text, item_key_text text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER ROWS 1000
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  PERFORM pgcredit._check_day(as_of);
  RETURN QUERY
  SELECT late_fee_proposals_at.as_of, f.customer, f.relid::regclass, f.item_key, f.due, f.amount, f.days_late,
         f.policy, f.interest, f.fee, f.settled, f.settled_until, f.proposed,
         pgcredit._qualified_name(f.relid), f.item_key::text
  FROM pgcredit._late_fees_at(as_of) f
  WHERE f.days_late > f.grace_days AND f.proposed > 0
  ORDER BY f.customer COLLATE "C", f.due, f.relid, f.item_key::text COLLATE "C";
END
$$;
COMMENT ON FUNCTION pgcredit.late_fee_proposals_at(date) IS
  'the late fees proposed on a day: per item past due beyond its policy''s grace days, the interest from the due date, the fee (interest plus fixed fee, at least the minimum, at most the maximum), less the fees posted or waived for it up to the day';
REVOKE EXECUTE ON FUNCTION pgcredit.late_fee_proposals_at(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.late_fee_proposals_at(date) TO pgcredit_reader;

CREATE VIEW pgcredit.late_fee_proposals AS
  SELECT * FROM pgcredit.late_fee_proposals_at(pgcredit.as_of());
COMMENT ON VIEW pgcredit.late_fee_proposals IS
  'the late fees proposed on the day pgcredit.as_of(), for the application to post (post_late_fee) or a controller to waive (waive_late_fee)';
COMMENT ON COLUMN pgcredit.late_fee_proposals.day IS 'the day described';
COMMENT ON COLUMN pgcredit.late_fee_proposals.customer IS 'customer key';
COMMENT ON COLUMN pgcredit.late_fee_proposals."table" IS 'the attached receivables table';
COMMENT ON COLUMN pgcredit.late_fee_proposals.item_key IS 'the item''s key: its primary key as a JSON object; for a table without one, {"(due)": date}';
COMMENT ON COLUMN pgcredit.late_fee_proposals.due IS 'its due date';
COMMENT ON COLUMN pgcredit.late_fee_proposals.amount IS 'its open amount on the day, in the account''s currency';
COMMENT ON COLUMN pgcredit.late_fee_proposals.days_late IS 'days from the due date to the day';
COMMENT ON COLUMN pgcredit.late_fee_proposals.policy IS 'its customer''s late fee policy';
COMMENT ON COLUMN pgcredit.late_fee_proposals.interest IS 'amount * annual_rate_pct / 100 * days_late / 365, rounded to cents';
COMMENT ON COLUMN pgcredit.late_fee_proposals.fee IS 'the fee up to the day: interest plus the fixed fee, at least min_fee, at most max_fee';
COMMENT ON COLUMN pgcredit.late_fee_proposals.settled IS 'the fees posted or waived for the item up to the day';
COMMENT ON COLUMN pgcredit.late_fee_proposals.settled_until IS 'the day of the last of them; NULL = none';
COMMENT ON COLUMN pgcredit.late_fee_proposals.proposed IS 'the fee proposed: fee - settled';
COMMENT ON COLUMN pgcredit.late_fee_proposals.table_text IS 'table as text, always schema.table';
COMMENT ON COLUMN pgcredit.late_fee_proposals.item_key_text IS 'item_key as text';
REVOKE ALL ON pgcredit.late_fee_proposals FROM PUBLIC;
GRANT SELECT ON pgcredit.late_fee_proposals TO pgcredit_reader;

-- Record a posting or a waiver of the fee proposed for one item on a day
CREATE FUNCTION pgcredit._settle_late_fee(tbl regclass, item_key jsonb, amount numeric, as_of date,
                                          status text, reason text)
RETURNS pgcredit.late_fee LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  k jsonb;
  f record;
  r pgcredit.late_fee;
  today date := pgcredit._horizon_today();
  latest date;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  PERFORM pgcredit._check_day(as_of);
  IF tbl IS NULL OR item_key IS NULL THEN
    RAISE EXCEPTION 'table and item_key must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF jsonb_typeof(item_key) <> 'object' THEN
    RAISE EXCEPTION 'item_key must be a JSON object' USING ERRCODE = 'invalid_parameter_value',
      DETAIL = format('item_key is %s.', item_key),
      HINT = 'Give the key as late_fee_proposals shows it, e.g. {"invoice_no": "1001"}.';
  END IF;
  IF NOT EXISTS (SELECT FROM pgcredit.attachment a WHERE a.relid = tbl AND a.kind = 'receivables') THEN
    RAISE EXCEPTION 'table "%" is not an attached receivables table', tbl USING ERRCODE = 'undefined_object';
  END IF;
  IF status = 'posted' THEN
    PERFORM pgcredit._check_amount('amount', amount);
    IF amount IS NULL OR amount = 0 THEN
      RAISE EXCEPTION 'amount must be above 0' USING ERRCODE = 'invalid_parameter_value',
        DETAIL = format('amount is %s.', coalesce(amount::text, 'NULL')),
        HINT = 'To charge nothing, waive the fee with pgcredit.waive_late_fee().';
    END IF;
  END IF;
  IF as_of > today THEN
    RAISE EXCEPTION 'cannot settle a late fee for a day to come' USING ERRCODE = 'invalid_parameter_value',
      DETAIL = format('as_of is %s; today is %s.', as_of, today);
  END IF;
  -- the key's values as the proposals print them: text (numbers as strings)
  SELECT jsonb_object_agg(e.key, e.value) INTO k FROM jsonb_each_text(item_key) e;
  k := coalesce(k, '{}');
  SELECT max(l.as_of) INTO latest FROM pgcredit.late_fee l WHERE l.relid = tbl AND l.item_key = k;
  IF latest > as_of THEN
    RAISE EXCEPTION 'the late fee of item % of table % is settled up to %', k, tbl, latest
      USING ERRCODE = 'object_not_in_prerequisite_state',
      DETAIL = format('A fee cannot be settled for %s, an earlier day.', as_of),
      HINT = 'Settle the fee on the latest day: it includes what accrued before.';
  END IF;

  SELECT * INTO f FROM pgcredit._late_fees_at(as_of) x WHERE x.relid = tbl AND x.item_key = k;
  IF NOT FOUND THEN
    IF EXISTS (SELECT FROM pgcredit._open_items_at(as_of) o WHERE o.relid = tbl AND o.item_key = k AND o.due < as_of)
    THEN
      RAISE EXCEPTION 'no late fee is proposed for item % of table % on %', k, tbl, as_of
        USING ERRCODE = 'object_not_in_prerequisite_state',
        DETAIL = 'Its customer has no late fee policy, or the item has left dunning for a while (a dispute, a promise, a plan).';
    END IF;
    RAISE EXCEPTION 'item % of table % is not past due and open on %', k, tbl, as_of USING ERRCODE = 'no_data_found',
      HINT = 'pgcredit.late_fee_proposals_at() lists the items a fee is proposed for, with their keys.';
  END IF;
  IF f.days_late <= f.grace_days OR f.proposed <= 0 THEN
    RAISE EXCEPTION 'no late fee is proposed for item % of table % on %', k, tbl, as_of
      USING ERRCODE = 'object_not_in_prerequisite_state',
      DETAIL = CASE WHEN f.days_late <= f.grace_days
                    THEN format('It is %s days late, within the %s grace days of policy "%s".', f.days_late,
                                f.grace_days, f.policy)
                    ELSE format('Its fee up to the day, %s, is settled (%s, up to %s).', f.fee, f.settled,
                                f.settled_until) END;
  END IF;
  IF status = 'posted' AND amount > f.proposed THEN
    RAISE EXCEPTION 'amount is above the late fee proposed' USING ERRCODE = 'invalid_parameter_value',
      DETAIL = format('amount is %s; the fee proposed for item %s of table %s on %s is %s.', amount, k, tbl,
                      as_of, f.proposed);
  END IF;

  BEGIN
    INSERT INTO pgcredit.late_fee AS l (relid, item_key, n, customer, as_of, status, amount, proposed, policy,
                                        days_late, reason, role_name)
    VALUES (tbl, k, f.records + 1, f.customer, _settle_late_fee.as_of, status,
            CASE WHEN status = 'posted' THEN _settle_late_fee.amount ELSE f.proposed END, f.proposed, f.policy,
            f.days_late, _settle_late_fee.reason, pgcredit._actor())
    RETURNING * INTO r;
  EXCEPTION WHEN unique_violation THEN
    RAISE EXCEPTION 'could not settle the late fee of item % of table %', k, tbl
      USING ERRCODE = 'serialization_failure',
      DETAIL = 'Another late fee of the item was recorded at the same time.',
      HINT = 'Retry: the fee proposed then leaves out what the other settled.';
  END;
  PERFORM pgcredit._audit(CASE status WHEN 'posted' THEN 'post_late_fee' ELSE 'waive_late_fee' END, r.customer,
                          NULL, to_jsonb(r) - 'at' - 'reason' - 'role_name' - 'relid'
                                || jsonb_build_object('table', tbl::text), reason);
  RETURN r;
END
$$;
COMMENT ON FUNCTION pgcredit._settle_late_fee(regclass, jsonb, numeric, date, text, text) IS
  'record that the late fee proposed for an item on a day was posted (amount: what the application charged, at most the proposal) or waived; either settles the fee up to the day; audited';
REVOKE EXECUTE ON FUNCTION pgcredit._settle_late_fee(regclass, jsonb, numeric, date, text, text) FROM PUBLIC;

CREATE FUNCTION pgcredit.post_late_fee(tbl regclass, item_key jsonb, amount numeric, as_of date, reason text)
RETURNS pgcredit.late_fee LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$ SELECT pgcredit._settle_late_fee($1, $2, $3, $4, 'posted', $5) $$;
COMMENT ON FUNCTION pgcredit.post_late_fee(regclass, jsonb, numeric, date, text) IS
  'record that the application posted the late fee proposed for an item on a day (amount: what it charged, at most the proposal); settles the fee up to the day; audited';
REVOKE EXECUTE ON FUNCTION pgcredit.post_late_fee(regclass, jsonb, numeric, date, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.post_late_fee(regclass, jsonb, numeric, date, text) TO pgcredit_controller;

CREATE FUNCTION pgcredit.waive_late_fee(tbl regclass, item_key jsonb, as_of date, reason text)
RETURNS pgcredit.late_fee LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$ SELECT pgcredit._settle_late_fee($1, $2, NULL, $3, 'waived', $4) $$;
COMMENT ON FUNCTION pgcredit.waive_late_fee(regclass, jsonb, date, text) IS
  'waive the late fee proposed for an item on a day, with a reason; settles the fee up to the day; audited';
REVOKE EXECUTE ON FUNCTION pgcredit.waive_late_fee(regclass, jsonb, date, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.waive_late_fee(regclass, jsonb, date, text) TO pgcredit_controller;
