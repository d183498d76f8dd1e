# make demo keeps working and its figures add up.  The demo's two steps
# run as run.sh runs them (the ledger built from the shared accounts-
# receivable file, then the report), and every figure of the morning
# report is checked against queries of its own on the ledger's tables and
# on the file: the book, the aging, the tiers, the watchlist, the
# customers most at risk, the orders waiting for a decision.  Then the
# risk views, scores, alerts and limit proposals behind them, each
# recomputed here.  Skipped when the shared sample ledger is absent.
use strict;
use warnings;

use IPC::Run;
use Test::More;
use PgCreditTest;

my $csv = PgCreditTest::shared_data() . '/accounts-receivable.csv';
plan skip_all => "the sample ledger $csv is missing (set SHARED_DATA)"
  unless -r $csv;

my $db = 'regress_demo';
my $node = PgCreditTest::node('demo');
PgCreditTest::sql($node, 'postgres', "CREATE DATABASE $db");

# psql on a file of the demo as run.sh runs it; returns its standard
# output and error.
sub demo_psql
{
	my ($file, @opts) = @_;
	my ($out, $err) = ('', '');
	my $ok = IPC::Run::run(
		[
			'psql', '-X', @opts, '-v', 'ON_ERROR_STOP=1',
			'-d', $node->connstr($db),
			'-f', PgCreditTest::repo("test/demo/$file")
		],
		'<', ($file eq 'ledger.sql' ? $csv : \''),
		'>', \$out, '2>', \$err);
	return ($ok, $out, $err);
}

# A query on the demo's database; its rows as PgCreditTest::sql prints them.
sub query { return PgCreditTest::sql($node, $db, @_) }

my ($ok, $out, $err) = demo_psql('ledger.sql', '-q');
ok($ok, 'the ledger loads from the accounts-receivable file') or diag($err);
($ok, my $report, $err) = demo_psql('report.sql');
ok($ok, 'the report runs') or diag($err);
is($err, '', 'the report prints no warning');
note($report);

# The rows of the table printed under a heading of the report (a line
# matching $heading), as lists of cells; the first row is the header.
sub table_under
{
	my ($heading) = @_;
	my @lines = split /\n/, $report;
	my $i = 0;
	$i++ while $i < @lines && $lines[$i] !~ $heading;
	$i++ while $i < @lines && $lines[$i] !~ /^┌/;
	my @rows;
	for ($i++; $i < @lines && $lines[$i] !~ /^└/; $i++)
	{
		next if $lines[$i] =~ /^├/;
		my @cells = split /│/, $lines[$i];
		shift @cells;
		s/^\s+|\s+$//g for @cells;
		push @rows, \@cells;
	}
	return \@rows;
}

# Rows as one line each, cells split by "|" as PgCreditTest::sql prints
# query results, with numbers written without trailing fractional zeros:
# the figures are compared, not how many decimals a column shows.
sub figures
{
	my ($text) = @_;
	return join("\n",
		map {
			join('|',
				map { /^-?\d+\.\d+$/ ? s/\.?0+$//r : $_ } split /\|/, $_, -1)
		} split /\n/, $text);
}

# The rows of the table under a heading, as figures(); the header row is
# left out.
sub rows_under
{
	my ($heading) = @_;
	my $t = table_under($heading);
	shift @$t;
	return figures(join("\n", map { join('|', @$_) } @$t));
}

for my $section (
	'the morning report of 31 January 2013', 'Your book',
	'Receivables by age', 'Customers by risk tier',
	'The watchlist', 'The customers most at risk',
	'Orders waiting for your decision', 'The collectors\' worklist',
	'How this was produced',
	'1. The ledger', '2. Aging', '3. Scores', '4. The guard')
{
	like($report, qr/\Q$section\E/, "the report has the section \"$section\"");
}

# The file again, read independently of the ledger script: here an
# invoice is open at the closing date when its invoice date plus the
# file's DaysToSettle column lies after it.  And each customer's
# exposure from the ledger's own tables: open invoices, open sales
# orders and web orders not held.
(my $csv_sql = $csv) =~ s/'/''/g;
query(qq{
CREATE TABLE export (
	country_code int, customer_id text, paperless_date text,
	invoice_number bigint, invoice_date text, due_date text,
	invoice_amount numeric, disputed text, settled_date text,
	paperless_bill text, days_to_settle int, days_late int);
\\copy export FROM '$csv_sql' WITH (FORMAT csv, HEADER true)
CREATE TABLE f AS
SELECT customer_id, invoice_amount AS amount,
       to_date(invoice_date, 'MM/DD/YYYY') AS invoiced_on,
       to_date(due_date, 'MM/DD/YYYY') AS due_on,
       to_date(settled_date, 'MM/DD/YYYY') AS settled_on
FROM export;
CREATE TABLE x AS
SELECT c.customer_id AS customer, a.credit_limit, a.tolerance_pct, a.status,
       round(a.credit_limit * (1 + a.tolerance_pct / 100), 2) AS allowed,
       coalesce((SELECT sum(open_amount) FROM ledger.invoice i WHERE i.customer_id = c.customer_id), 0)
       + coalesce((SELECT sum(amount) FROM ledger.sales_order o
                   WHERE o.customer_id = c.customer_id AND o.status = 'open'), 0)
       + coalesce((SELECT sum(amount) FROM ledger.web_order w
                   WHERE w.customer_id = c.customer_id AND NOT w.on_hold), 0) AS exposure
FROM ledger.customer c LEFT JOIN pgcredit.account a ON a.customer = c.customer_id;
-- the oldest open item's days past due at each close, from the file:
-- open at a close means invoiced by then and settled after it
CREATE TABLE oldest AS
SELECT d.as_of, f.customer_id AS customer, max(d.as_of - f.due_on) AS days
FROM (VALUES (date '2012-12-31'), (date '2013-01-31')) AS d(as_of)
JOIN f ON f.invoiced_on <= d.as_of AND f.settled_on > d.as_of AND f.due_on < d.as_of
GROUP BY d.as_of, f.customer_id;
-- what was past due at each close, from the file
CREATE TABLE overdue_at AS
SELECT d.as_of, c.customer_id AS customer,
       coalesce(sum(f.amount) FILTER (WHERE f.invoiced_on <= d.as_of AND f.settled_on > d.as_of
                                        AND f.due_on < d.as_of), 0) AS amount
FROM (VALUES (date '2012-12-31'), (date '2013-01-31')) AS d(as_of)
CROSS JOIN ledger.customer c LEFT JOIN f ON f.customer_id = c.customer_id
GROUP BY d.as_of, c.customer_id;
CREATE TABLE h AS SELECT * FROM pgcredit.score_history;
-- the signs of the watchlist, each rule recomputed: utilisation over
-- 90 %, an item that passed 30 days past due in the last 7 days, a score
-- 10 points down since December, receivables up by more than open
-- orders fell with more past due, a review date passed
CREATE TABLE signs AS
SELECT customer, 'utilisation' AS rule FROM x WHERE round(exposure * 100 / credit_limit, 2) > 90
UNION ALL
SELECT DISTINCT customer_id, 'new_overdue_item' FROM ledger.invoice
WHERE open_amount > 0 AND '2013-01-31' - due_on BETWEEN 31 AND 37
UNION ALL
SELECT b.customer, 'score_drop' FROM h b JOIN h n ON n.customer = b.customer AND n.as_of = '2013-01-31'
WHERE b.as_of = '2012-12-31' AND b.combined_score - n.combined_score > 10
UNION ALL
SELECT b.customer, 'receivables_up_orders_down'
FROM h b JOIN h n ON n.customer = b.customer AND n.as_of = '2013-01-31'
JOIN overdue_at ob ON ob.customer = b.customer AND ob.as_of = '2012-12-31'
JOIN overdue_at o ON o.customer = b.customer AND o.as_of = '2013-01-31'
WHERE b.as_of = '2012-12-31' AND n.open_orders < b.open_orders
  AND n.receivables - b.receivables > b.open_orders - n.open_orders AND o.amount > ob.amount
UNION ALL
SELECT customer, 'review_overdue' FROM pgcredit.account WHERE next_review < '2013-01-31';
});

# The morning report, figure by figure.
is( rows_under(qr/^Your book/),
	figures(query(q{
SELECT count(*), sum(credit_limit), sum(exposure), (SELECT sum(open_amount) FROM ledger.invoice),
       sum(exposure) - (SELECT sum(open_amount) FROM ledger.invoice),
       round(100 * sum(exposure) / sum(credit_limit), 1),
       count(*) FILTER (WHERE exposure > allowed),
       coalesce(sum(exposure - allowed) FILTER (WHERE exposure > allowed), 0),
       count(*) FILTER (WHERE status IN ('hold', 'blocked'))
FROM x})),
	'the book: customers, limits, exposure, receivables, open orders, over limit, on hold');

is( rows_under(qr/^Receivables by age/),
	figures(query(q{
SELECT coalesce(sum(open_amount) FILTER (WHERE due_on >= '2013-01-31'), 0),
       coalesce(sum(open_amount) FILTER (WHERE '2013-01-31' - due_on BETWEEN 1 AND 30), 0),
       coalesce(sum(open_amount) FILTER (WHERE '2013-01-31' - due_on BETWEEN 31 AND 60), 0),
       coalesce(sum(open_amount) FILTER (WHERE '2013-01-31' - due_on BETWEEN 61 AND 90), 0),
       coalesce(sum(open_amount) FILTER (WHERE '2013-01-31' - due_on > 90), 0),
       round(100 * sum(open_amount) FILTER (WHERE due_on < '2013-01-31') / sum(open_amount), 2),
       -- DSO over 90 days from the file: what was open at the close
       -- against what was invoiced in the 90 days up to it, in days
       (SELECT round(sum(amount) FILTER (WHERE invoiced_on <= '2013-01-31' AND settled_on > '2013-01-31') * 90
                     / sum(amount) FILTER (WHERE invoiced_on > date '2013-01-31' - 90
                                             AND invoiced_on <= '2013-01-31'), 2) FROM f),
       -- and what was open but not yet due against the same sales
       (SELECT round(sum(amount) FILTER (WHERE invoiced_on <= '2013-01-31' AND settled_on > '2013-01-31'
                                           AND due_on >= '2013-01-31') * 90
                     / sum(amount) FILTER (WHERE invoiced_on > date '2013-01-31' - 90
                                             AND invoiced_on <= '2013-01-31'), 2) FROM f)
FROM ledger.invoice})),
	'receivables by age, overdue share and DSO');

is( rows_under(qr/^Customers by risk tier/),
	figures(query(q{
SELECT count(*) FILTER (WHERE tier = 'A'), count(*) FILTER (WHERE tier = 'B'),
       count(*) FILTER (WHERE tier = 'C'), count(*) FILTER (WHERE tier = 'D'),
       count(*) FILTER (WHERE tier = 'E')
FROM h WHERE as_of = '2013-01-31'})),
	'customers by tier, from the January run');

is( rows_under(qr/^Moves between tiers/),
	figures(query(q{
SELECT b.tier, n.tier, count(*)
FROM h b JOIN h n ON n.customer = b.customer AND n.as_of = '2013-01-31'
WHERE b.as_of = '2012-12-31' AND b.tier <> n.tier
GROUP BY b.tier, n.tier ORDER BY b.tier, n.tier})),
	'the moves between tiers since December');

my $watched = query('SELECT count(DISTINCT customer) FROM signs');
like($report, qr/The watchlist: $watched customers show warning signs/,
	"the watchlist counts the $watched customers with a sign");
is( join(',', map { $_->[0] } @{ table_under(qr/^The watchlist/) }[ 1 .. 10 ]),
	query(q{
SELECT string_agg(customer, ',' ORDER BY n DESC, score, customer)
FROM (SELECT s.customer, count(*) AS n, h.combined_score AS score
      FROM signs s JOIN h ON h.customer = s.customer AND h.as_of = '2013-01-31'
      GROUP BY s.customer, h.combined_score
      ORDER BY n DESC, score, s.customer LIMIT 10) w}),
	'the watchlist shows the 10 customers with the most signs, lowest score first');

is( rows_under(qr/^The customers most at risk/),
	figures(query(q{
SELECT n.customer, n.tier, n.combined_score, b.combined_score, x.exposure, x.credit_limit,
       x.allowed - x.exposure, coalesce(o.days, 0), x.status,
       (SELECT recommended_limit FROM pgcredit.recommend_limit(n.customer, '2013-01-31'))
FROM h n
JOIN h b ON b.customer = n.customer AND b.as_of = '2012-12-31'
JOIN x ON x.customer = n.customer
LEFT JOIN oldest o ON o.customer = n.customer AND o.as_of = '2013-01-31'
WHERE n.as_of = '2013-01-31'
ORDER BY n.combined_score, n.customer LIMIT 8})),
	'the customers most at risk: scores now and in December, exposure, limit, days overdue');

# The orders waiting: the web orders of a customer on hold, or that took
# their customer over its limit, and only those, each with the built-in
# rule that held it.
is( rows_under(qr/^Orders waiting for your decision/),
	figures(query(q{
SELECT w.order_id, w.customer_id, w.amount, w.ordered_on, '2013-01-31' - w.ordered_on,
       CASE WHEN x.status = 'hold' THEN 'customer on hold (rule 1, account_status)'
            ELSE 'customer over its credit limit (rule 2, credit_limit)' END,
       x.allowed - x.exposure, h.tier
FROM ledger.web_order w
JOIN x ON x.customer = w.customer_id
JOIN h ON h.customer = w.customer_id AND h.as_of = '2013-01-31'
WHERE x.status = 'hold' OR x.exposure + w.amount > x.allowed
ORDER BY w.ordered_on, w.order_id})),
	'the orders waiting for a decision: who, how much, since when, why');
is( query(q{
SELECT count(*) FILTER (WHERE on_hold), count(*) FILTER (WHERE NOT on_hold),
       count(*) FILTER (WHERE on_hold <> (x.status = 'hold' OR x.exposure + w.amount > x.allowed))
FROM ledger.web_order w JOIN x ON x.customer = w.customer_id}),
	'2|1|0', 'the guard held the two web orders over the line and let the third pass');

# The worklist: the 10 customers with the highest priority, recomputed
# from the file (what was past due at the close, and the oldest item's
# days), the tier of the January scoring and the collectors' territories
# (the first half of the customers north, the rest south); the columns
# from dunning (level, today's action, the next) are checked against the
# run of the day.
my $worklist = table_under(qr/^The collectors' worklist/);
shift @$worklist;
is( figures(join("\n", map { join('|', @{$_}[ 0 .. 5 ]) } @$worklist)),
	figures(query(q{
WITH terr AS (SELECT customer, CASE ntile(2) OVER (ORDER BY customer) WHEN 1 THEN 'demo_collector_north'
                                                                      ELSE 'demo_collector_south' END AS collector
              FROM pgcredit.account),
p AS (
SELECT o.customer, t.collector, o.amount AS overdue, d.days, n.tier,
       round(o.amount * CASE n.tier WHEN 'A' THEN 1 WHEN 'B' THEN 1.25 WHEN 'C' THEN 1.5 WHEN 'D' THEN 2
                                    WHEN 'E' THEN 3 ELSE 1.5 END
                      * round(1 + least(d.days, 180) / 30.0, 4), 2) AS priority
FROM overdue_at o
JOIN oldest d ON d.customer = o.customer AND d.as_of = o.as_of
JOIN terr t ON t.customer = o.customer
LEFT JOIN h n ON n.customer = o.customer AND n.as_of = '2013-01-31'
WHERE o.as_of = '2013-01-31' AND o.amount > 0)
SELECT customer, collector, priority, overdue, days, tier FROM p
ORDER BY priority DESC, customer COLLATE "C" LIMIT 10})),
	'the worklist: the 10 customers with the highest overdue x tier weight x age weight');
is( join(',', map { $_->[7] } grep { $_->[7] ne '' } @$worklist),
	query(q{
SELECT coalesce(string_agg(a.channel || ': ' || a.template, ',' ORDER BY w.priority DESC, w.customer COLLATE "C"), '')
FROM (SELECT * FROM pgcredit.collection_worklist_at('2013-01-31') LIMIT 10) w
JOIN pgcredit.collection_action a ON a.customer = w.customer AND a.as_of = '2013-01-31'}),
	'the worklist shows the action of the day where there is one');
like($report, qr/worklist, the 10 customers that matter most today; \d+ dunning actions went out today/,
	'the worklist says how many dunning actions went out today');

# The second part shows the refusal an application gets, and leaves
# nothing behind: the report only reads.
like($report, qr/code +│ PC001/, 'the refused sales order shows SQLSTATE PC001');
my ($ok2, $again) = demo_psql('report.sql');
ok($ok2 && $again eq $report, 'the report prints the same when run again');

# The ledger and the risk views behind the report, each recomputed.
my @checks = (
	# every invoice of the file dated by the closing date is in the ledger
	'every invoice of the file up to the close is in the ledger' => q{
(SELECT count(*) FROM ledger.invoice)
= (SELECT count(*) FROM export WHERE to_date(invoice_date, 'MM/DD/YYYY') <= '2013-01-31')},
	'what was invoiced was paid or is open' => q{
(SELECT sum(amount) FROM ledger.invoice)
= (SELECT sum(amount) FROM ledger.payment) + (SELECT sum(open_amount) FROM ledger.invoice)},
	'open receivables agree with the file\'s DaysToSettle' => q{
(SELECT sum(open_amount) FROM ledger.invoice)
= (SELECT sum(invoice_amount) FROM export
   WHERE to_date(invoice_date, 'MM/DD/YYYY') <= '2013-01-31'
     AND to_date(invoice_date, 'MM/DD/YYYY') + days_to_settle > '2013-01-31')},
	'paid_on is the settled date of the file, while by the close' => q{
NOT EXISTS (SELECT FROM ledger.invoice i JOIN export e ON e.invoice_number = i.invoice_no
            WHERE i.paid_on IS DISTINCT FROM
                  CASE WHEN to_date(e.settled_date, 'MM/DD/YYYY') <= '2013-01-31'
                       THEN to_date(e.settled_date, 'MM/DD/YYYY') END
               OR (i.paid_on IS NULL) <> (i.open_amount > 0))},
	'aging_bucket agrees with a plain CASE over days past due' => q{
NOT EXISTS (SELECT 1 FROM ledger.invoice
            WHERE pgcredit.aging_bucket(due_on, '2013-01-31')
                  <> CASE WHEN due_on >= '2013-01-31' THEN 'current'
                          WHEN '2013-01-31'::date - due_on <= 30 THEN '1-30'
                          WHEN '2013-01-31'::date - due_on <= 60 THEN '31-60'
                          WHEN '2013-01-31'::date - due_on <= 90 THEN '61-90'
                          ELSE '90+' END)},
	'open receivables lie in at least three bands' => q{
(SELECT count(DISTINCT pgcredit.aging_bucket(due_on, '2013-01-31'))
 FROM ledger.invoice WHERE open_amount > 0) >= 3},
	'exposure kept by the triggers matches the tables' => q{
NOT EXISTS (SELECT FROM pgcredit.verify_exposure())},
	'customer_risk has one row for each customer of the ledger' => q{
(SELECT array_agg(customer ORDER BY customer) FROM pgcredit.customer_risk_at('2013-01-31'))
= (SELECT array_agg(customer_id ORDER BY customer_id) FROM ledger.customer)},
	'customer_risk exposure is each customer\'s exposure from the tables' => q{
NOT EXISTS (SELECT FROM pgcredit.customer_risk_at('2013-01-31') r JOIN x USING (customer)
            WHERE r.exposure <> x.exposure)},
	'aging by customer totals each customer\'s open invoices' => q{
NOT EXISTS (SELECT customer, receivables FROM pgcredit.receivable_stats('2013-01-31')
            EXCEPT SELECT customer_id, sum(open_amount) FROM ledger.invoice GROUP BY customer_id)
AND (SELECT count(*) FROM pgcredit.receivable_stats('2013-01-31'))
    = (SELECT count(DISTINCT customer_id) FROM ledger.invoice)},
	'the watchlist view shows the signs recomputed here' => q{
(SELECT array_agg(customer || ' ' || rule ORDER BY customer, rule) FROM signs)
= (SELECT array_agg(customer || ' ' || rule ORDER BY customer, rule) FROM pgcredit.watchlist)},
	'two scoring runs, each with one row a customer' => q{
(SELECT array_agg(as_of::text || ':' || n ORDER BY as_of)
 FROM (SELECT as_of, count(*) AS n FROM h GROUP BY as_of) r)
= (SELECT ARRAY['2012-12-31:' || count(*), '2013-01-31:' || count(*)] FROM ledger.customer)},
	'the December run saw the receivables open at the December close' => q{
NOT EXISTS (SELECT h.customer, h.receivables FROM h WHERE h.as_of = '2012-12-31'
            EXCEPT
            SELECT c.customer_id, coalesce(sum(f.amount), 0)
            FROM ledger.customer c
            LEFT JOIN f ON f.customer_id = c.customer_id
                       AND f.invoiced_on <= '2012-12-31' AND f.settled_on > '2012-12-31'
            GROUP BY c.customer_id)},
	# behavioural scores are credit_score() over what had been invoiced
	# by each close
	'behaviour scores are credit_score() of the invoices by each close' => q{
NOT EXISTS (SELECT h.customer, h.as_of, h.behavioural_score FROM h
            EXCEPT
            SELECT i.customer_id, d.as_of, pgcredit.credit_score(i.amount, i.due_on, i.paid_on, d.as_of)
            FROM (VALUES (date '2012-12-31'), (date '2013-01-31')) AS d(as_of)
            JOIN ledger.invoice i ON i.invoiced_on <= d.as_of
            GROUP BY i.customer_id, d.as_of)},
	# 0.5 behaviour and 0.2 utilisation score (100 minus utilisation,
	# within 0-100) over the weights of the parts present (the demo has
	# no external scores)
	'combined scores weigh behaviour and utilisation' => q{
NOT EXISTS (SELECT FROM h
            WHERE h.external_score IS NOT NULL
               OR h.combined_score IS DISTINCT FROM
                  round((coalesce(0.5 * h.behavioural_score, 0)
                         + coalesce(0.2 * greatest(0, least(100, 100 - h.utilisation_pct)), 0))
                        / nullif(CASE WHEN h.behavioural_score IS NULL THEN 0 ELSE 0.5 END
                                 + CASE WHEN h.utilisation_pct IS NULL THEN 0 ELSE 0.2 END, 0), 2))},
	'January utilisation is exposure over the limit' => q{
NOT EXISTS (SELECT FROM h JOIN x USING (customer)
            WHERE h.as_of = '2013-01-31'
              AND h.utilisation_pct IS DISTINCT FROM round(x.exposure * 100 / x.credit_limit, 2))},
	'score tiers: A from 80, B from 65, C from 50, D from 35, else E' => q{
NOT EXISTS (SELECT FROM h
            WHERE h.score_tier IS DISTINCT FROM CASE WHEN h.combined_score >= 80 THEN 'A'
                                                     WHEN h.combined_score >= 65 THEN 'B'
                                                     WHEN h.combined_score >= 50 THEN 'C'
                                                     WHEN h.combined_score >= 35 THEN 'D'
                                                     WHEN h.combined_score IS NOT NULL THEN 'E' END)},
	# December is the first scoring; in January a customer keeps its
	# December tier while its score stays within 5 points of that tier's
	# band, else it takes the tier of its score
	'tiers: the score tier, but December\'s kept within 5 points of its band' => q{
NOT EXISTS (SELECT FROM h n LEFT JOIN h b ON b.customer = n.customer AND b.as_of = '2012-12-31'
            WHERE n.tier IS DISTINCT FROM
                  CASE WHEN n.as_of = '2013-01-31' AND b.tier IS NOT NULL AND n.combined_score IS NOT NULL
                            AND n.combined_score >= CASE b.tier WHEN 'A' THEN 75 WHEN 'B' THEN 60 WHEN 'C' THEN 45
                                                                WHEN 'D' THEN 30 ELSE '-Infinity'::numeric END
                            AND n.combined_score < CASE b.tier WHEN 'B' THEN 85 WHEN 'C' THEN 70 WHEN 'D' THEN 55
                                                               WHEN 'E' THEN 40 ELSE 'Infinity'::numeric END
                       THEN b.tier ELSE n.score_tier END)},
	'overdue in the scores is what was past due at each close' => q{
NOT EXISTS (SELECT h.customer, h.as_of, h.overdue FROM h
            EXCEPT SELECT customer, as_of, amount FROM overdue_at)},
	# the oldest open item crossing 30, 60 or 90 days past due since the
	# run before (the first run has none before it)
	'overdue alerts: the oldest item crossed 30, 60 or 90 days' => q{
(SELECT coalesce(array_agg(details ->> 'as_of' || ' ' || customer || ' ' || kind ORDER BY 1), '{}')
 FROM pgcredit.alert WHERE kind LIKE 'overdue%')
= (SELECT coalesce(array_agg(k ORDER BY k), '{}')
   FROM (SELECT n.as_of || ' ' || n.customer || ' overdue_' || max(t) AS k
         FROM oldest n
         LEFT JOIN oldest p ON p.customer = n.customer AND p.as_of = '2012-12-31' AND n.as_of = '2013-01-31',
              unnest('{30,60,90}'::int[]) AS t
         WHERE n.days > t AND coalesce(p.days, 0) <= t
         GROUP BY n.as_of, n.customer) a)},
	'score downgrade alerts for the scores 10 points down' => q{
(SELECT coalesce(array_agg(customer ORDER BY customer), '{}') FROM pgcredit.alert WHERE kind = 'score_downgrade')
= (SELECT coalesce(array_agg(customer ORDER BY customer), '{}') FROM signs WHERE rule = 'score_drop')},
	'tier change alerts for the tiers changed since December' => q{
(SELECT coalesce(array_agg(customer || (details ->> 'from') || (details ->> 'to') ORDER BY customer), '{}')
 FROM pgcredit.alert WHERE kind = 'tier_change')
= (SELECT coalesce(array_agg(b.customer || b.tier || n.tier ORDER BY b.customer), '{}')
   FROM h b JOIN h n ON n.customer = b.customer AND n.as_of = '2013-01-31'
   WHERE b.as_of = '2012-12-31' AND b.tier <> n.tier)},
	'hold alerts: the account put on hold, then each held order' => q{
(SELECT array_agg(kind || ' ' || customer ORDER BY id) FROM pgcredit.alert
 WHERE kind IN ('account_hold', 'order_held', 'limit_breached'))
= (SELECT array_agg(k ORDER BY n, k)
   FROM (SELECT 0 AS n, 'account_hold ' || customer AS k FROM x WHERE status = 'hold'
         UNION ALL
         SELECT w.order_id, CASE WHEN x.status = 'hold' THEN 'order_held ' ELSE 'limit_breached ' END
                            || w.customer_id
         FROM ledger.web_order w JOIN x ON x.customer = w.customer_id
         WHERE w.on_hold) k)},
	# the tier's months of the last 12 months' average monthly invoicing,
	# halved below a behavioural score of 50, nothing with an item over 90
	# days past due, rounded up to 100
	'limit proposals follow the tier, the invoicing and the overdue items' => q{
NOT EXISTS (SELECT FROM (
  SELECT c.customer_id,
         (SELECT recommended_limit FROM pgcredit.recommend_limit(c.customer_id, '2013-01-31')) AS got,
         ceil(CASE WHEN coalesce(o.days, 0) > 90 THEN 0
                   ELSE round(coalesce(s.invoiced, 0) / 12, 2) * p.limit_months
                        / CASE WHEN n.behavioural_score < 50 THEN 2 ELSE 1 END END / 100) * 100 AS expected
  FROM ledger.customer c
  JOIN h n ON n.customer = c.customer_id AND n.as_of = '2013-01-31'
  JOIN pgcredit.tier_policy p ON p.tier = n.tier
  LEFT JOIN oldest o ON o.customer = c.customer_id AND o.as_of = '2013-01-31'
  LEFT JOIN (SELECT customer_id, sum(amount) AS invoiced FROM ledger.invoice
             WHERE invoiced_on > date '2013-01-31' - 365 AND invoiced_on <= '2013-01-31'
             GROUP BY customer_id) s ON s.customer_id = c.customer_id) r
  WHERE got IS DISTINCT FROM expected)});
while (my ($name, $expr) = splice(@checks, 0, 2))
{
	is(query("SELECT coalesce(($expr)::text, 'null')"), 'true', $name);
}

# refresh_scores() computes the combined score and the tiers of every
# customer with inlined expressions over the settings it read once: on the
# sample ledger they are what combined_score() and risk_tier(), the
# functions a reader calls, give for each row scored (December and
# January), the tier with the customer's previous tier.
is( query(q{
SELECT count(*) || ' ' || count(*) FILTER (
         WHERE h.combined_score IS NOT DISTINCT FROM
                 pgcredit.combined_score(h.behavioural_score, h.external_score, h.utilisation_pct)
           AND h.tier IS NOT DISTINCT FROM pgcredit.risk_tier(h.combined_score, p.tier)
           AND h.score_tier IS NOT DISTINCT FROM pgcredit.risk_tier(h.combined_score))
FROM pgcredit.score_history h
LEFT JOIN LATERAL (SELECT x.tier FROM pgcredit.score_history x
                   WHERE x.customer = h.customer AND x.as_of < h.as_of
                   ORDER BY x.as_of DESC LIMIT 1) p ON true}),
	2 * query('SELECT count(*) FROM ledger.customer') . ' '
	  . 2 * query('SELECT count(*) FROM ledger.customer'),
	'every score and tier of refresh_scores() is the one combined_score() and risk_tier() give');

# A second run for the same day replaces that day's rows and raises no
# alert the first one raised.
is( query(q{SELECT customers || ' ' || alerts FROM pgcredit.refresh_scores('2013-01-31')}),
	query('SELECT count(*) FROM ledger.customer') . ' 0',
	'a second scoring run of the day raises no alert again');
is( query(q{SELECT count(*) FROM pgcredit.score_history WHERE as_of = '2013-01-31'}),
	query('SELECT count(*) FROM ledger.customer'),
	'and keeps one row a customer for the day');

done_testing();
