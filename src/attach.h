/*-------------------------------------------------------------------------
 *
 * attach.h
 *	  What pgcredit knows of an attached table, and how it touches one.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGCREDIT_ATTACH_H
#define PGCREDIT_ATTACH_H

#include "fmgr.h"
#include "utils/numeric.h"
#include "utils/relcache.h"

/* An attached table as pgcredit.attachment records it */
typedef struct PgcAttachment
{
	Oid			relid;			/* attached table, a partition tree's root */
	bool		is_orders;
	bool		hold_mode;
	char	   *customer_column;
	char	   *amount_column;
	char	   *due_column;		/* NULL when not given */
	char	   *open_column;
	int			n_open_values;
	char	  **open_values;
	char	   *hold_column;
	char	   *invoice_amount_column;
	char	   *invoiced_column;
	char	   *paid_column;
	char	   *prepaid_column; /* orders: the prepaid or secured part */
	char	   *delivery_column;	/* orders: the delivery date, for the
									 * horizon */
	int32		horizon_days;	/* with delivery_column */
	char	   *category;		/* exposure category; NULL before 1.1 */
	char	   *currency_column;	/* NULL: rows in the account's currency */
	char	   *rate_date_column;	/* given with currency_column */
} PgcAttachment;

/* Whether an attachment feeds a company category, kept apart by the guard */
#define PGC_COMPANY_CATEGORY(att) \
	((att)->category != NULL && strcmp((att)->category, "orders") != 0 && \
	 strcmp((att)->category, "invoices") != 0)

/* What a column is to pgcredit: decides which types it may have */
typedef enum PgcColumnRole
{
	PGC_COL_CUSTOMER,
	PGC_COL_AMOUNT,
	PGC_COL_OPEN,
	PGC_COL_HOLD,
	PGC_COL_DATE,
	PGC_COL_CURRENCY
} PgcColumnRole;

extern bool pgc_attachment_find(Oid relid, PgcAttachment *att);

/*
 * Called with each row of pgc_scan_attached_items(): the first eleven
 * columns of _attached_items() (relid, kind, customer, amount, counts,
 * held, due, invoice amount, invoiced on, paid on, counts from)
 */
typedef void (*PgcItemSink) (void *arg, const Datum *values, const bool *nulls);
extern void pgc_scan_attached_items(const char *kind, PgcItemSink sink, void *arg);
extern AttrNumber pgc_attached_column(Relation rel, const char *name, PgcColumnRole role);
extern AttrNumber pgc_check_column(Relation rel, const char *name, PgcColumnRole role,
								   bool attaching);
extern char *pgc_customer_key(Datum value, Oid typid);
extern int	pgc_row_key_load(Relation rel, int max, AttrNumber *atts, char **names,
							 FmgrInfo *outs, MemoryContext cxt);
extern char *pgc_row_key_json(int nkeys, char **names, FmgrInfo *outs, const Datum *values,
							  const bool *nulls);
extern Datum pgc_amount_numeric(Datum value, Oid typid);
extern Numeric pgc_credit_part(Numeric amount, Datum prepaid, bool prepaid_null,
							   Oid prepaid_type);
extern bool pgc_is_open_value(Datum value, Oid typid, FmgrInfo *out,
							  char **open_values, int n_open_values);

#endif							/* PGCREDIT_ATTACH_H */
