/*-------------------------------------------------------------------------
 *
 * check_order.c
 *	  pgcredit.check_order(customer, amount, order_table, prepaid): the
 *	  verdict the guard would give an order, without writing anything
 *
 * It reads the customer's account, exposure, receivables by due date and
 * the settings with the calling statement's snapshot, adds the amount,
 * and judges the result with the guard's own code (guard_rules.c).  Nothing is locked: a concurrent order may
 * change the answer before the real order arrives, which the guard then
 * judges again under its row lock.  Shadow rules are not recorded.
 * With an order table, the key is first read as that table's customer
 * column reads it and put in the guard's canonical form (1.00 is "1").
 * A prepaid part is taken off the amount as the guard takes an order's
 * prepaid column off it (pgc_credit_part), so the verdict is the insert's.
 * The order counts in the order table's exposure category (orders without
 * a table), judged against the category's sub-limit as the guard judges
 * it (guard_category.c).  On the coordinator of a Citus cluster with
 * distributed tables attached, the worker holding the customer's shard
 * answers instead (CitusAnswer), once the arguments are checked here.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/snapmgr.h"

#include "pgcredit.h"
#include "amount.h"
#include "attach.h"
#include "guard_category.h"
#include "guard_cover.h"
#include "guard_due.h"
#include "guard_horizon.h"
#include "fx.h"
#include "guard_rules.h"

PG_FUNCTION_INFO_V1(pgc_check_order);

/*
 * Its statements, prepared once a backend (pgc_keep_plan) and run with the
 * calling statement's snapshot: parsing and planning them at every call
 * cost more than running them
 */
static SPIPlanPtr citus_plan = NULL;
static SPIPlanPtr account_plan = NULL;
static SPIPlanPtr groups_plan = NULL;
static SPIPlanPtr cover_plan = NULL;
static SPIPlanPtr category_plan = NULL;

/*
 * The facts the guard reads from the customer's buckets by due date
 * (guard_due.c), less the disputed items, read here with the snapshot of
 * the calling statement, as the account and exposure are read.  A database still at version 1.0
 * has no buckets: its tables are read with SQL, as 1.0 did.
 */
static bool
CheckPastDue(const char *customer, int32 days)
{
	Oid			types[2] = {TEXTOID, INT4OID};
	Datum		values[2];
	bool		isnull;
	Datum		d;

	if (pgc_due_available())
	{
		bool		any;

		pgc_due_overdue(customer, pgc_due_cutoff(days), GetActiveSnapshot(), true, &any, NULL);
		return any;
	}
	values[0] = CStringGetTextDatum(customer);
	values[1] = Int32GetDatum(days);
	if (SPI_execute_with_args("SELECT pgcredit.items_past_due($1, $2)", 2, types, values,
							  NULL, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "pgcredit: items_past_due failed");
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return !isnull && DatumGetBool(d);
}

static Numeric
CheckOverdue(const char *customer, int32 days)
{
	Oid			types[2] = {TEXTOID, INT4OID};
	Datum		values[2];
	bool		isnull;
	Datum		d;

	if (pgc_due_available())
	{
		bool		any;
		Numeric		sum;

		pgc_due_overdue(customer, pgc_due_cutoff(days), GetActiveSnapshot(), true, &any, &sum);
		return sum;
	}
	values[0] = CStringGetTextDatum(customer);
	values[1] = Int32GetDatum(days);
	if (SPI_execute_with_args("SELECT pgcredit._overdue_amount($1, $2)", 2, types, values,
							  NULL, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "pgcredit: _overdue_amount failed");
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return isnull ? int64_to_numeric(0) : DatumGetNumericCopy(d);
}

static const PgcRuleQueries check_queries = {CheckPastDue, CheckOverdue};

static Numeric
GetNumeric(HeapTuple t, TupleDesc d, int col)
{
	bool		isnull;
	Datum		v = SPI_getbinval(t, d, col, &isnull);

	return isnull ? NULL : DatumGetNumericCopy(v);
}

static char *
GetText(HeapTuple t, TupleDesc d, int col)
{
	bool		isnull;
	Datum		v = SPI_getbinval(t, d, col, &isnull);

	return isnull ? NULL : TextDatumGetCString(v);
}

static bool
GetDate(HeapTuple t, TupleDesc d, int col, DateADT *out)
{
	bool		isnull;
	Datum		v = SPI_getbinval(t, d, col, &isnull);

	*out = isnull ? 0 : DatumGetDateADT(v);
	return !isnull;
}

/*
 * The key as the guard would store it for an order of this table: read by
 * the input function of the customer column's type (with its typmod, as an
 * INSERT would), then made canonical as the guard makes it.  A key the
 * type refuses raises the input function's error (22P02 and the like).
 */
static char *
CanonicalKey(Oid relid, PgcAttachment *att, char *customer)
{
	Relation	rel;
	AttrNumber	attno;
	Form_pg_attribute a;
	Oid			typid,
				typinput,
				typioparam;
	int32		typmod;
	Datum		value;

	rel = table_open(relid, AccessShareLock);
	attno = pgc_attached_column(rel, att->customer_column, PGC_COL_CUSTOMER);
	a = TupleDescAttr(RelationGetDescr(rel), attno - 1);
	typid = a->atttypid;
	typmod = a->atttypmod;
	table_close(rel, AccessShareLock);

	getTypeInputInfo(typid, &typinput, &typioparam);
	value = OidInputFunctionCall(typinput, customer, typioparam, typmod);
	return pgc_customer_key(value, typid);
}

/*
 * On the coordinator of a Citus cluster with distributed tables attached,
 * the customer's exposure, buckets and rules' facts are kept by the worker
 * holding its shards (doc/citus.md): that worker's check_order() answers,
 * asked with the caller's arguments (pgcredit._citus_check_order).  False
 * when this node answers itself: Citus absent (a syscache lookup), or not
 * a coordinator with distributed tables attached.  Called inside SPI.
 */
static bool
CitusAnswer(FunctionCallInfo fcinfo, TupleDesc tupdesc, HeapTuple *res)
{
	Oid			types[7] = {TEXTOID, NUMERICOID, REGCLASSOID, NUMERICOID, TEXTOID, DATEOID, DATEOID};
	Datum		values[7];
	char		nulls[7];
	Datum		out[7];
	bool		outnulls[7];

	if (!pgc_citus_installed())
		return false;
	for (int i = 0; i < 7; i++)
	{
		values[i] = PG_ARGISNULL(i) ? (Datum) 0 : PG_GETARG_DATUM(i);
		nulls[i] = PG_ARGISNULL(i) ? 'n' : ' ';
	}
	if (SPI_execute_plan(pgc_keep_plan(&citus_plan, "SELECT verdict, rule_id, kind, sqlstate, reason, exposure, credit_available "
									   "FROM pgcredit._citus_check_order($1, $2, $3, $4, $5, $6, $7)",
									   7, types), values, nulls, false, 0) != SPI_OK_SELECT ||
		SPI_processed > 1)
		elog(ERROR, "pgcredit: check_order could not ask the customer's Citus worker");
	if (SPI_processed == 0)
		return false;
	for (int i = 0; i < 7; i++)
		out[i] = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, i + 1, &outnulls[i]);
	*res = SPI_copytuple(heap_form_tuple(tupdesc, out, outnulls));
	return true;
}

/*
 * check_order(customer text, amount numeric, order_table regclass DEFAULT NULL,
 *			   prepaid numeric DEFAULT 0)
 * RETURNS (verdict, rule_id, kind, sqlstate, reason, exposure, credit_available)
 */
Datum
pgc_check_order(PG_FUNCTION_ARGS)
{
	char	   *customer;
	Numeric		amount;
	Oid			order_table = PG_ARGISNULL(2) ? InvalidOid : PG_GETARG_OID(2);
	bool		prepaid_null = PG_ARGISNULL(3);
	Numeric		prepaid = prepaid_null ? NULL : PG_GETARG_NUMERIC(3);
	char	   *currency = PG_ARGISNULL(4) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(4));
	bool		rate_date_null = PG_ARGISNULL(5);
	DateADT		rate_date = rate_date_null ? 0 : PG_GETARG_DATEADT(5);
	bool		delivery_null = PG_ARGISNULL(6);
	DateADT		delivery = delivery_null ? 0 : PG_GETARG_DATEADT(6);
	bool		beyond = false; /* delivered beyond the table's horizon */
	DateADT		counts_from = 0;
	bool		hold_mode = true;
	const char *category = "orders";	/* the order's exposure category */
	PgcCategoryStanding cs = {0};
	TupleDesc	tupdesc = pgc_result_tupdesc(fcinfo);
	Oid			types[1] = {TEXTOID};
	Datum		values[1];
	PgcExposureRow x = {0};
	PgcVerdict	v;
	HeapTuple	t;
	TupleDesc	d;
	Numeric		available;
	Datum		out[7];
	bool		nulls[7] = {0};

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("customer and amount must not be null")));
	customer = text_to_cstring(PG_GETARG_TEXT_PP(0));
	amount = PG_GETARG_NUMERIC(1);
	if (OidIsValid(order_table))
	{
		PgcAttachment att;

		if (!pgc_attachment_find(order_table, &att) || !att.is_orders)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("relation \"%s\" is not an attached order table",
							get_rel_name(order_table) ? get_rel_name(order_table) : "?"),
					 errhint("Name a table attached with pgcredit.attach_orders(), or none.")));
		hold_mode = att.hold_mode;
		if (att.category != NULL)
			category = att.category;
		/* the table would not take the part off: the verdict would differ */
		if (att.prepaid_column == NULL && !prepaid_null && pgc_numeric_sign(prepaid) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("order table \"%s\" has no prepaid column",
							get_rel_name(order_table) ? get_rel_name(order_table) : "?"),
					 errdetail("An order inserted into it uses credit for its whole amount."),
					 errhint("Attach the table with prepaid_column, or give no prepaid part.")));
		/* nor would it convert a currency, or keep an order for later */
		if (att.currency_column == NULL && currency != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("order table \"%s\" has no currency column",
							get_rel_name(order_table) ? get_rel_name(order_table) : "?"),
					 errdetail("An order inserted into it counts in its account's currency."),
					 errhint("Attach the table with currency_column, or give no currency.")));
		if (att.delivery_column == NULL && !delivery_null)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("order table \"%s\" has no delivery column",
							get_rel_name(order_table) ? get_rel_name(order_table) : "?"),
					 errdetail("An order inserted into it counts now, whenever it is delivered."),
					 errhint("Attach the table with delivery_column and horizon_days, or give no delivery date.")));
		if (!delivery_null)
			beyond = pgc_horizon_beyond(delivery, att.horizon_days, &counts_from);
		customer = CanonicalKey(order_table, &att, customer);
	}
	else if (!delivery_null)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a delivery date needs the order table"),
				 errdetail("The horizon is a property of the table an order goes into."),
				 errhint("Name the order table, attached with delivery_column and horizon_days.")));
	/* the guard's limit on keys (RowContribution), with its error */
	if (strlen(customer) > PGC_MAX_CUSTOMER_KEY)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("customer key of %d bytes is too long for pgcredit",
						(int) strlen(customer)),
				 errdetail("pgcredit keeps customer keys of up to %d bytes.", PGC_MAX_CUSTOMER_KEY),
				 errhint("Use a shorter key for the customer, such as a customer number.")));
	if (numeric_is_nan(amount) || numeric_is_inf(amount))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("order amount must be a finite number"),
				 numeric_is_nan(amount) ? errdetail("The amount is NaN.") :
				 errdetail("The amount is infinite.")));
	if (pgc_numeric_sign(amount) < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("order amount must not be negative"),
				 errdetail("A negative order is a credit, which the guard never refuses as it arrives.")));

	/*
	 * The part that uses credit, checked and clamped as the guard does it for
	 * a row: NULL is 0, more than the amount leaves 0, and the prepaid part
	 * of an order of 0 is not looked at.
	 */
	amount = pgc_credit_part(amount, prepaid_null ? (Datum) 0 : NumericGetDatum(prepaid),
							 prepaid_null, NUMERICOID);

	/*
	 * In another currency: converted into the account's as the guard converts
	 * a row of a table with a currency column, with its errors (a missing
	 * rate is PC015, never 0)
	 */
	if (currency != NULL)
		amount = pgc_fx_row_amount(customer, amount, CStringGetTextDatum(currency), false, TEXTOID,
								   DateADTGetDatum(rate_date), rate_date_null, false);

	/*
	 * Delivered beyond the horizon: the guard lets the order wait in its
	 * bucket, unjudged and not in exposure, so it passes as an order of 0
	 * would; the reason says from which day it counts
	 */
	if (beyond)
		amount = int64_to_numeric(0);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "pgcredit: SPI_connect failed");
	{
		HeapTuple	res;

		/* the arguments were checked here, with this node's errors */
		if (CitusAnswer(fcinfo, tupdesc, &res))
		{
			SPI_finish();
			PG_RETURN_DATUM(HeapTupleGetDatum(res));
		}
	}
	values[0] = CStringGetTextDatum(customer);
	if (SPI_execute_plan(pgc_keep_plan(&account_plan, "SELECT coalesce(e.receivables, 0) + coalesce(e.open_orders, 0), "
									   "a.customer IS NOT NULL, a.credit_limit, coalesce(a.tolerance_pct, 0), "
									   "coalesce(a.status, 'ok'), a.risk_tier, a.next_review, a.temporary_limit, "
									   "a.temporary_from, a.temporary_until, coalesce(e.order_count, 0)::numeric, "
									   "coalesce(e.order_sum, 0), coalesce(s.no_account_policy, 'allow'), "
									   "s.default_limit, coalesce(s.default_tolerance_pct, 0) "
									   "FROM (SELECT) AS one "
									   "LEFT JOIN pgcredit.exposure e ON e.customer OPERATOR(pg_catalog.=) $1 "
									   "LEFT JOIN pgcredit.account a ON a.customer OPERATOR(pg_catalog.=) $1 "
									   "LEFT JOIN pgcredit.settings s ON true",
									   1, types), values, NULL, true, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "pgcredit: check_order could not read the customer's account");
	t = SPI_tuptable->vals[0];
	d = SPI_tuptable->tupdesc;
	x.exposure = numeric_add_opt_error(GetNumeric(t, d, 1), amount, NULL);
	x.has_account = DatumGetBool(SPI_getbinval(t, d, 2, &nulls[0]));
	x.credit_limit = GetNumeric(t, d, 3);
	x.tolerance = GetNumeric(t, d, 4);
	x.status = GetText(t, d, 5);
	x.risk_tier = GetText(t, d, 6);
	x.has_review = GetDate(t, d, 7, &x.next_review);
	x.temporary_limit = GetNumeric(t, d, 8);
	x.has_temporary_from = GetDate(t, d, 9, &x.temporary_from);
	(void) GetDate(t, d, 10, &x.temporary_until);
	x.order_count = DatumGetInt64(DirectFunctionCall1(numeric_int8,
													  NumericGetDatum(GetNumeric(t, d, 11))));
	x.order_sum = GetNumeric(t, d, 12);
	x.policy = GetText(t, d, 13);
	x.default_limit = GetNumeric(t, d, 14);
	x.default_tolerance = GetNumeric(t, d, 15);
	nulls[0] = false;

	/*
	 * The customer's group chain (version 1.1 on), top group first, each with
	 * the order added, as the guard would leave it
	 */
	if (OidIsValid(get_relname_relid("group_member", get_namespace_oid("pgcredit", false))))
	{
		Oid			gtypes[2] = {TEXTOID, NUMERICOID};
		Datum		gvalues[2];

		gvalues[0] = CStringGetTextDatum(customer);
		gvalues[1] = NumericGetDatum(amount);
		if (SPI_execute_plan(pgc_keep_plan(&groups_plan, "SELECT g.group_id, g.exposure OPERATOR(pg_catalog.+) $2, "
										   "g.credit_limit, g.tolerance_pct "
										   "FROM pgcredit.group_member m, pgcredit._group_chain(m.group_id) c "
										   "JOIN pgcredit.group_exposure g ON g.group_id OPERATOR(pg_catalog.=) c.group_id "
										   "WHERE m.customer OPERATOR(pg_catalog.=) $1 ORDER BY c.depth",
										   2, gtypes), gvalues, NULL, true, 0) != SPI_OK_SELECT ||
			SPI_processed > PGC_MAX_GROUP_DEPTH)
			elog(ERROR, "pgcredit: check_order could not read the customer's groups");
		x.ngroups = (int) SPI_processed;
		for (int i = 0; i < x.ngroups; i++)
		{
			HeapTuple	g = SPI_tuptable->vals[i];
			bool		isnull;

			x.groups[i].group_id = TextDatumGetCString(SPI_getbinval(g, SPI_tuptable->tupdesc, 1, &isnull));
			x.groups[i].exposure = GetNumeric(g, SPI_tuptable->tupdesc, 2);
			x.groups[i].credit_limit = GetNumeric(g, SPI_tuptable->tupdesc, 3);
			x.groups[i].tolerance = GetNumeric(g, SPI_tuptable->tupdesc, 4);
		}
	}

	/*
	 * The cover counted today (version 1.1 on), as the guard's copy would
	 * hold it for today
	 */
	if (OidIsValid(get_relname_relid("cover", get_namespace_oid("pgcredit", false))))
	{
		Oid			ctypes[1] = {TEXTOID};
		Datum		cvalues[1];
		HeapTuple	c;
		DateADT		from;
		DateADT		until;
		bool		has_from;
		bool		has_until;

		cvalues[0] = CStringGetTextDatum(customer);
		if (SPI_execute_plan(pgc_keep_plan(&cover_plan, "SELECT counted, valid_from, valid_until "
										   "FROM pgcredit._cover_window($1, current_date)",
										   1, ctypes), cvalues, NULL, true, 1) != SPI_OK_SELECT ||
			SPI_processed != 1)
			elog(ERROR, "pgcredit: check_order could not read the customer's cover");
		c = SPI_tuptable->vals[0];
		has_from = GetDate(c, SPI_tuptable->tupdesc, 2, &from);
		has_until = GetDate(c, SPI_tuptable->tupdesc, 3, &until);
		pgc_cover_set(&x, GetNumeric(c, SPI_tuptable->tupdesc, 1), has_from, from, has_until, until);
	}

	/*
	 * The customer's exposure in the order's category (version 1.1 on), with
	 * the order, and the sub-limit in force
	 */
	if (OidIsValid(get_relname_relid("category_limit", get_namespace_oid("pgcredit", false))))
	{
		Oid			ctypes[3] = {TEXTOID, TEXTOID, NUMERICOID};
		Datum		cvalues[3];

		cvalues[0] = CStringGetTextDatum(customer);
		cvalues[1] = CStringGetTextDatum(category);
		cvalues[2] = NumericGetDatum(amount);
		if (SPI_execute_plan(pgc_keep_plan(&category_plan, "SELECT amount OPERATOR(pg_catalog.+) $3, credit_limit, tolerance_pct "
										   "FROM pgcredit._category_standing($1, $2)",
										   3, ctypes), cvalues, NULL, true, 0) != SPI_OK_SELECT ||
			SPI_processed > 1)
			elog(ERROR, "pgcredit: check_order could not read the customer's category exposure");
		if (SPI_processed == 1)
		{
			HeapTuple	c = SPI_tuptable->vals[0];

			cs.amount = GetNumeric(c, SPI_tuptable->tupdesc, 1);
			cs.credit_limit = GetNumeric(c, SPI_tuptable->tupdesc, 2);
			cs.tolerance = GetNumeric(c, SPI_tuptable->tupdesc, 3);
			if (cs.tolerance == NULL)
				cs.tolerance = int64_to_numeric(0);
		}
	}

	/* as in the guard, an order of 0 raises nothing and is never judged */
	if (pgc_numeric_sign(amount) > 0)
	{
		pgc_rules_judge(customer, &x, amount, amount, &check_queries, &v, NULL, NULL);
		pgc_groups_judge(customer, &x, amount, &v);
		if (cs.amount != NULL)
			pgc_category_judge(category, &cs, amount, &x, &v);
	}
	else
		memset(&v, 0, sizeof(v));
	available = pgc_rules_available(&x, amount);

	if (v.sqlstate == 0)
		out[0] = CStringGetTextDatum("pass");
	else if (v.refuse || !hold_mode)
		out[0] = CStringGetTextDatum("refuse");
	else
		out[0] = CStringGetTextDatum("hold");
	if (v.sqlstate != 0 && v.rule_id != 0)
		out[1] = Int64GetDatum(v.rule_id);
	else
		nulls[1] = true;
	if (v.sqlstate != 0)
	{
		out[2] = CStringGetTextDatum(v.kind);
		out[3] = CStringGetTextDatum(unpack_sql_state(v.sqlstate));
		out[4] = CStringGetTextDatum(v.reason);
	}
	else if (beyond)
	{
		out[2] = CStringGetTextDatum("horizon");
		nulls[3] = true;
		out[4] = CStringGetTextDatum(psprintf("delivered beyond the horizon: the order counts and is judged from %s",
											  DatumGetCString(DirectFunctionCall1(date_out,
																				  DateADTGetDatum(counts_from)))));
	}
	else
		nulls[2] = nulls[3] = nulls[4] = true;
	out[5] = NumericGetDatum(x.exposure);
	if (available != NULL)
		out[6] = NumericGetDatum(available);
	else
		nulls[6] = true;

	/* the result outlives SPI's memory */
	{
		HeapTuple	res;

		res = heap_form_tuple(tupdesc, out, nulls);
		res = SPI_copytuple(res);
		SPI_finish();
		PG_RETURN_DATUM(HeapTupleGetDatum(res));
	}
}
