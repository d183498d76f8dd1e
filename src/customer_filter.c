/*-------------------------------------------------------------------------
 *
 * customer_filter.c
 *	  A customer filter on a per-customer function reaches the function.
 *
 * The risk views are set-returning functions under a view: customer_risk
 * is SELECT * FROM customer_risk_at(as_of()).  PostgreSQL cannot push a
 * WHERE clause into a function, so
 *
 *		SELECT * FROM pgcredit.customer_risk WHERE customer = '42'
 *
 * would compute every customer and throw all but one away.  Each such
 * function has a twin taking one more argument, the customer, that reads
 * only that customer's rows (through the attached tables' customer
 * indexes).  When the planner has a base relation that calls one of the
 * functions listed below and a restriction "customer = <expression>"
 * whose expression is known before the scan starts (a constant, a bind
 * parameter, a stable function of those), this hook makes the scan call
 * the twin with that expression.  The restriction stays on the scan as a
 * filter, so the result is the same rows whatever the twin returns.
 *
 * The hook is PostgreSQL's set_rel_pathlist_hook; the functions carry a
 * planner support function (pgcredit._customer_support), which loads this
 * library while the query is planned, before the hook is needed, and
 * gives the planner a row estimate of 1 for a twin.  The setting
 * pgcredit.customer_filter_pushdown (on by default) turns the rewrite off,
 * for comparison and as an escape hatch.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "nodes/supportnodes.h"
#include "optimizer/optimizer.h"
#include "optimizer/paths.h"
#include "parser/parse_func.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/pg_locale.h"
#include "utils/syscache.h"

#include "pgcredit.h"

PG_FUNCTION_INFO_V1(pgc_customer_support);

/* pgcredit.customer_filter_pushdown */
bool		pgc_customer_filter_pushdown = true;

static set_rel_pathlist_hook_type prev_set_rel_pathlist_hook = NULL;

/*
 * The functions whose twin, the same name with one more text argument,
 * returns exactly their rows of one customer (none for NULL).  Each has a
 * result column named customer.
 */
static const char *const customer_functions[] = {
	"customer_risk_at",
	"receivable_stats",
	"external_score_now",
	"cover_at",
	NULL
};

/* Whether the function is one of pgcredit's listed ones */
static bool
IsCustomerFunction(Oid funcid, char **name)
{
	Oid			nsp = get_namespace_oid("pgcredit", true);
	char	   *fname;

	if (!OidIsValid(nsp) || get_func_namespace(funcid) != nsp)
		return false;
	fname = get_func_name(funcid);
	for (int i = 0; customer_functions[i] != NULL; i++)
		if (fname != NULL && strcmp(fname, customer_functions[i]) == 0)
		{
			*name = fname;
			return true;
		}
	return false;
}

/* The twin of a listed function: one more text argument, or InvalidOid */
static Oid
FindTwin(Oid funcid, const char *name)
{
	HeapTuple	tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(funcid));
	Form_pg_proc proc;
	Oid			argtypes[FUNC_MAX_ARGS];
	int			nargs;

	if (!HeapTupleIsValid(tup))
		return InvalidOid;
	proc = (Form_pg_proc) GETSTRUCT(tup);
	nargs = proc->pronargs;
	if (nargs + 1 > FUNC_MAX_ARGS)
	{
		ReleaseSysCache(tup);
		return InvalidOid;
	}
	memcpy(argtypes, proc->proargtypes.values, nargs * sizeof(Oid));
	ReleaseSysCache(tup);
	argtypes[nargs] = TEXTOID;
	return LookupFuncName(list_make2(makeString("pgcredit"), makeString(pstrdup(name))),
						  nargs + 1, argtypes, true);
}

/*
 * Whether an expression's value is known when the scan starts: no column
 * of any relation, no parameter set during the query, no subquery, no
 * aggregate, nothing volatile.
 */
static bool
UnknownAtScanStart(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, Var) || IsA(node, PlaceHolderVar) || IsA(node, SubLink) ||
		IsA(node, SubPlan) || IsA(node, AlternativeSubPlan) || IsA(node, Aggref) ||
		IsA(node, WindowFunc) || IsA(node, GroupingFunc) || IsA(node, CurrentOfExpr))
		return true;
	if (IsA(node, Param) && ((Param *) node)->paramkind != PARAM_EXTERN)
		return true;
	return expression_tree_walker(node, UnknownAtScanStart, context);
}

/*
 * The expression a restriction compares the customer column with, when it
 * is "customer = x" with text equality under a deterministic collation
 * (bytewise, as pgcredit compares keys) and x known at scan start.
 */
static Expr *
CustomerValue(RestrictInfo *ri, Index rti, AttrNumber customer_att)
{
	OpExpr	   *op;
	Node	   *l,
			   *r;

	if (!IsA(ri->clause, OpExpr))
		return NULL;
	op = (OpExpr *) ri->clause;
	if (op->opno != TextEqualOperator || list_length(op->args) != 2)
		return NULL;
	if (OidIsValid(op->inputcollid) && !get_collation_isdeterministic(op->inputcollid))
		return NULL;
	l = strip_implicit_coercions(linitial(op->args));
	r = strip_implicit_coercions(lsecond(op->args));
	for (int side = 0; side < 2; side++)
	{
		Node	   *col = side == 0 ? l : r;
		Node	   *val = side == 0 ? r : l;

		if (IsA(col, Var) && ((Var *) col)->varno == (int) rti &&
			((Var *) col)->varattno == customer_att && ((Var *) col)->varlevelsup == 0 &&
			exprType(val) == TEXTOID && !UnknownAtScanStart(val, NULL) &&
			!contain_volatile_functions(val))
			return (Expr *) (side == 0 ? lsecond(op->args) : linitial(op->args));
	}
	return NULL;
}

/* The number of the result column named customer, or 0 */
static AttrNumber
CustomerColumn(RangeTblFunction *rtfunc)
{
	TupleDesc	desc;

	if (get_expr_result_type(rtfunc->funcexpr, NULL, &desc) != TYPEFUNC_COMPOSITE)
		return 0;
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute a = TupleDescAttr(desc, i);

		if (!a->attisdropped && a->atttypid == TEXTOID && strcmp(NameStr(a->attname), "customer") == 0)
			return i + 1;
	}
	return 0;
}

static void
PushCustomerFilter(PlannerInfo *root, RelOptInfo *rel, Index rti, RangeTblEntry *rte)
{
	RangeTblFunction *rtfunc;
	FuncExpr   *call;
	char	   *name;
	AttrNumber	customer_att;
	Oid			twin;
	ListCell   *lc;
	ListCell   *pc;

	if (prev_set_rel_pathlist_hook)
		prev_set_rel_pathlist_hook(root, rel, rti, rte);

	if (!pgc_customer_filter_pushdown || rte->rtekind != RTE_FUNCTION ||
		rel->reloptkind != RELOPT_BASEREL || rel->baserestrictinfo == NIL ||
		list_length(rte->functions) != 1 || rte->funcordinality)
		return;
	rtfunc = linitial_node(RangeTblFunction, rte->functions);
	if (!IsA(rtfunc->funcexpr, FuncExpr))
		return;
	call = (FuncExpr *) rtfunc->funcexpr;
	if (!call->funcretset || !IsCustomerFunction(call->funcid, &name))
		return;
	customer_att = CustomerColumn(rtfunc);
	if (customer_att == 0)
		return;
	foreach(lc, rel->baserestrictinfo)
	{
		Expr	   *value = CustomerValue(lfirst_node(RestrictInfo, lc), rti, customer_att);
		FuncExpr   *twin_call;

		if (value == NULL)
			continue;
		twin = FindTwin(call->funcid, name);
		if (!OidIsValid(twin))
			return;
		twin_call = (FuncExpr *) copyObject(call);
		twin_call->funcid = twin;
		twin_call->args = lappend(twin_call->args, copyObject(value));
		rtfunc->funcexpr = (Node *) twin_call;
		/* one customer's rows: the estimate the twin's support gives */
		rel->rows = 1;
		foreach(pc, rel->pathlist)
			((Path *) lfirst(pc))->rows = 1;
		return;
	}
}

void
pgc_customer_filter_init(void)
{
	prev_set_rel_pathlist_hook = set_rel_pathlist_hook;
	set_rel_pathlist_hook = PushCustomerFilter;
}

/*
 * SQL: pgcredit._customer_support(internal): the planner support of the
 * listed functions and their twins.  Being called while a query is
 * planned is what loads this library, and so the hook, in time; for a
 * twin (the call with one more argument than the listed form has) the
 * row estimate is one customer's.
 */
Datum
pgc_customer_support(PG_FUNCTION_ARGS)
{
	Node	   *req = (Node *) PG_GETARG_POINTER(0);

	if (IsA(req, SupportRequestRows))
	{
		SupportRequestRows *rows = (SupportRequestRows *) req;
		FuncExpr   *call = (FuncExpr *) rows->node;
		char	   *name;

		if (call != NULL && IsA(call, FuncExpr) && IsCustomerFunction(call->funcid, &name))
		{
			HeapTuple	tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(call->funcid));

			if (HeapTupleIsValid(tup))
			{
				Form_pg_proc proc = (Form_pg_proc) GETSTRUCT(tup);
				bool		twin = proc->pronargs > 0 &&
				proc->proargtypes.values[proc->pronargs - 1] == TEXTOID &&
				strcmp(NameStr(proc->proname), name) == 0 &&
				proc->pronargdefaults == 0 && proc->proisstrict;

				ReleaseSysCache(tup);
				if (twin)
				{
					rows->rows = 1;
					PG_RETURN_POINTER(rows);
				}
			}
		}
	}
	PG_RETURN_POINTER(NULL);
}
