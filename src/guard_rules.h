/*-------------------------------------------------------------------------
 *
 * guard_rules.h
 *	  The credit rules of pgcredit.credit_rule, kept in each backend, and
 *	  the judgement of one raise of a customer's exposure by them
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGCREDIT_GUARD_RULES_H
#define PGCREDIT_GUARD_RULES_H

#include "guard_exposure.h"

/* pgcredit's own SQLSTATEs, class PC: credit control */
#define ERRCODE_PGC_CREDIT_LIMIT_EXCEEDED	MAKE_SQLSTATE('P','C','0','0','1')
#define ERRCODE_PGC_ACCOUNT_ON_HOLD			MAKE_SQLSTATE('P','C','0','0','2')
#define ERRCODE_PGC_NO_CREDIT_ACCOUNT		MAKE_SQLSTATE('P','C','0','0','3')
#define ERRCODE_PGC_ITEMS_PAST_DUE			MAKE_SQLSTATE('P','C','0','0','4')
#define ERRCODE_PGC_OVERDUE_AMOUNT			MAKE_SQLSTATE('P','C','0','0','5')
#define ERRCODE_PGC_LARGEST_ORDER			MAKE_SQLSTATE('P','C','0','0','6')
#define ERRCODE_PGC_UTILISATION				MAKE_SQLSTATE('P','C','0','0','7')
#define ERRCODE_PGC_LIMIT_EXPIRED			MAKE_SQLSTATE('P','C','0','0','8')
#define ERRCODE_PGC_GROUP_LIMIT_EXCEEDED	MAKE_SQLSTATE('P','C','0','1','4')
#define ERRCODE_PGC_CATEGORY_LIMIT_EXCEEDED	MAKE_SQLSTATE('P','C','0','1','8')

/* The outcome of the check of one raise of exposure */
typedef struct PgcVerdict
{
	int			sqlstate;		/* 0 when the order passes */
	bool		refuse;			/* the rule's action is refuse: never held */
	int64		rule_id;		/* 0: the no-account setting decided */
	const char *kind;			/* the rule's kind */
	bool		blocked;		/* account_status: blocked, not just on hold */
	const char *status;			/* account_status: the status */
	const char *reason;			/* why an order is held, for its hold record */
	char	   *exposure;
	char	   *limit;			/* the limit in force; days for days_past_due */
	char	   *cover;			/* credit limit: the cover counted on top of
								 * limit; NULL when none */
	bool		tolerant;		/* credit limit: a tolerance allows more */
	char	   *allowed;
	char	   *available;
	char	   *figure;			/* the figure the rule judged */
	char	   *threshold;		/* the most the rule allows of it */
	char	   *usual;			/* largest_order: the customer's average order */
	const char *group;			/* group limit: the group over its limit */
	char	   *group_exposure; /* its exposure with the order */
	char	   *group_limit;
	char	   *group_allowed;	/* its limit with tolerance */
	char	   *group_available;	/* its limit less its exposure before */
	const char *category;		/* category sub-limit: the category */
	char	   *category_exposure;	/* the customer's exposure in it with the
									 * order */
	char	   *category_limit; /* its sub-limit */
	char	   *category_allowed;	/* the sub-limit with tolerance */
	char	   *category_available; /* the sub-limit less the exposure before */
} PgcVerdict;

extern void pgc_groups_judge(const char *customer, const PgcExposureRow *x, Numeric delta,
							 PgcVerdict *v);

/* Facts about a customer that need a query, asked only when a rule needs them */
typedef struct PgcRuleQueries
{
	bool		(*items_past_due) (const char *customer, int32 days);
	Numeric		(*overdue_amount) (const char *customer, int32 days);
}			PgcRuleQueries;

/* Called for each shadow rule that would have stopped the order */
typedef void (*PgcShadowSink) (void *arg, const PgcVerdict *v);

extern void pgc_rules_judge(const char *customer, const PgcExposureRow *x, Numeric delta,
							Numeric order_amount, const PgcRuleQueries * q, PgcVerdict *v,
							PgcShadowSink sink, void *sink_arg);
extern Numeric pgc_rules_limit_in_force(const PgcExposureRow *x, Numeric *tolerance,
										Numeric *cover);
extern Numeric pgc_rules_allowed(Numeric limit, Numeric tolerance, Numeric cover);
extern DateADT pgc_rules_today(void);
extern Numeric pgc_rules_available(const PgcExposureRow *x, Numeric delta);

#endif
