/*-------------------------------------------------------------------------
 *
 * fx.h
 *	  Currencies: the exchange rates and account currencies each backend
 *	  keeps, and the conversion of a row's amount into its account's
 *	  currency.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGCREDIT_FX_H
#define PGCREDIT_FX_H

#include "utils/date.h"
#include "utils/numeric.h"

extern Numeric pgc_fx_convert_amount(Numeric amount, const char *from, const char *to,
									 DateADT rate_date);
extern char *pgc_fx_account_currency(const char *customer);
extern char *pgc_fx_currency_code(Datum currency, Oid currency_type);
extern Numeric pgc_fx_row_amount(const char *customer, Numeric amount,
								 Datum currency, bool currency_null, Oid currency_type,
								 Datum rate_date, bool rate_date_null, bool remember);
extern void pgc_fx_confirm(void);
extern void pgc_fx_forget(void);

#endif							/* PGCREDIT_FX_H */
