# The pg_cron recipes of the documentation, run for real: a node with
# pg_cron preloaded, each recipe scheduled as documented, and beside each
# the same command every minute, which must do its job: refresh_scores()
# leaves today's scores (doc/risk.md), reevaluate_held_orders() releases
# a held order that fits now and expire_requests() expires a request past
# its expiry (the recipes of doc/approvals.md, read from that file), and
# advance_horizon() moves an order whose day came into exposure (the
# recipe of doc/guard.md).  All
# every-minute jobs run in the same minute: pg_cron 1.4, as Debian 12
# ships it, runs jobs at most once a minute, so this takes up to about 70
# seconds.
use strict;
use warnings;

use Test::More;
use PgCreditTest;
use PostgreSQL::Test::Utils qw(slurp_file);

my $pkglibdir = `pg_config --pkglibdir`;
chomp $pkglibdir;
if (!-f "$pkglibdir/pg_cron.so")
{
	fail('pg_cron is installed (Debian package postgresql-15-cron)');
	done_testing();
	exit;
}

# The pg_cron recipes of a documentation file: its ```sql blocks that
# call cron.schedule(), as written.
sub doc_recipes
{
	my ($file) = @_;
	my $text = slurp_file(PgCreditTest::repo($file));
	return grep { /cron\.schedule\(/ } ($text =~ /^```sql\n(.*?)^```$/msg);
}

my $node = PgCreditTest::node(
	'cron',
	conf => [
		"shared_preload_libraries = 'pg_cron'",
		"cron.database_name = 'postgres'",
		# jobs in background workers: the node listens on no TCP port
		'cron.use_background_workers = on'
	]);

PgCreditTest::sql($node, 'postgres', q{
SET client_min_messages = warning;
CREATE EXTENSION pgcredit;
CREATE EXTENSION pg_cron;
CREATE TABLE invoice (id int PRIMARY KEY, customer text NOT NULL, amount numeric NOT NULL,
                      open_amount numeric NOT NULL, invoiced_on date NOT NULL, due date NOT NULL, paid_on date);
INSERT INTO invoice VALUES (1, 'C1', 100, 100, current_date - 40, current_date - 10, NULL),
                           (2, 'C2', 200, 0, current_date - 60, current_date - 30, current_date - 31);
SELECT pgcredit.attach_receivables('invoice', 'customer', 'open_amount', 'due',
  invoice_amount_column => 'amount', invoiced_column => 'invoiced_on', paid_column => 'paid_on');
-- the recipe, as the README gives it
SELECT cron.schedule('pgcredit-nightly', '15 2 * * *', 'SELECT pgcredit.refresh_scores()');
-- and the same job every minute, to see it run
SELECT cron.schedule('pgcredit-now', '* * * * *', 'SELECT pgcredit.refresh_scores()');
});
like(slurp_file(PgCreditTest::repo('doc/risk.md')),
	qr/^\QSELECT cron.schedule('pgcredit-nightly', '15 2 * * *', 'SELECT pgcredit.refresh_scores()');\E$/m,
	'doc/risk.md still gives the nightly recipe run here');

# A held order that fits once the limit is raised, and two limit
# requests, one of them past its expiry
PgCreditTest::sql($node, 'postgres', q{
SET client_min_messages = warning;
CREATE TABLE web_order (id int PRIMARY KEY, customer text NOT NULL, amount numeric NOT NULL,
                        held boolean NOT NULL DEFAULT false);
SELECT pgcredit.attach_orders('web_order', 'customer', 'amount', mode => 'hold', hold_column => 'held');
SELECT pgcredit.open_account('H1', 100);
INSERT INTO web_order VALUES (1, 'H1', 150);
SELECT pgcredit.set_credit_limit('H1', 200, 'payment posted');
SELECT pgcredit.request_limit('H1', 300, 'more room');
SELECT pgcredit.request_limit('H1', 400, 'even more room');
UPDATE pgcredit.approval_request SET expires_at = now() - interval '1 minute' WHERE new_limit = 300;
});
is( PgCreditTest::sql($node, 'postgres',
		"SELECT (SELECT count(*) FROM pgcredit.held_orders) || ' ' || (SELECT held FROM web_order)"),
	'1 true', 'one order held');

# The recipes of doc/approvals.md as written, and each command every minute
my @recipes = doc_recipes('doc/approvals.md');
is(scalar(@recipes), 2, 'doc/approvals.md gives two pg_cron recipes');
PgCreditTest::sql($node, 'postgres', $_) foreach @recipes;
PgCreditTest::sql($node, 'postgres', q{
SELECT cron.schedule(jobname || '-now', '* * * * *', command) FROM cron.job
WHERE jobname IN ('pgcredit-reevaluate-held', 'pgcredit-expire-requests');
});

# The recipe of doc/guard.md ("Horizon") as written, and its command
# every minute.  Days pass for the jobs' sessions: the database's
# pgcredit.horizon_today (a superuser's setting) is 40 days on, so an
# order placed today 45 days ahead of delivery, beyond a 30-day
# horizon, has come within it.
my @horizon = doc_recipes('doc/guard.md');
is(scalar(@horizon), 1, 'doc/guard.md gives one pg_cron recipe');
PgCreditTest::sql($node, 'postgres', q{
SET client_min_messages = warning;
CREATE TABLE forward_order (id int PRIMARY KEY, customer text NOT NULL, amount numeric NOT NULL,
                            deliver_on date);
SELECT pgcredit.attach_orders('forward_order', 'customer', 'amount',
                              delivery_column => 'deliver_on', horizon_days => 30);
SELECT pgcredit.open_account('F1', 100);
INSERT INTO forward_order VALUES (1, 'F1', 250, current_date + 45);
});
PgCreditTest::sql($node, 'postgres', $_) foreach @horizon;
PgCreditTest::sql($node, 'postgres', q{
SELECT cron.schedule(jobname || '-now', '* * * * *', command) FROM cron.job
WHERE jobname = 'pgcredit-horizon';
DO $$BEGIN
  EXECUTE format('ALTER DATABASE postgres SET pgcredit.horizon_today = %L', current_date + 40);
END$$;
});
is( PgCreditTest::sql($node, 'postgres', q{
SELECT (SELECT open_orders FROM pgcredit.exposure WHERE customer = 'F1') || ' '
       || (SELECT sum(amount) FROM pgcredit.order_horizon WHERE customer = 'F1')}),
	'0 250', 'the order beyond the horizon waits in its bucket');

is( PgCreditTest::sql($node, 'postgres',
		"SELECT string_agg(jobname || ' ' || schedule || ' ' || command, E'\\n' ORDER BY jobname) FROM cron.job"),
	"pgcredit-expire-requests 0 * * * * SELECT pgcredit.expire_requests()\n"
	  . "pgcredit-expire-requests-now * * * * * SELECT pgcredit.expire_requests()\n"
	  . "pgcredit-horizon 5 0 * * * SELECT count(*) FROM pgcredit.advance_horizon()\n"
	  . "pgcredit-horizon-now * * * * * SELECT count(*) FROM pgcredit.advance_horizon()\n"
	  . "pgcredit-nightly 15 2 * * * SELECT pgcredit.refresh_scores()\n"
	  . "pgcredit-now * * * * * SELECT pgcredit.refresh_scores()\n"
	  . "pgcredit-reevaluate-held 30 6 * * * SELECT count(*) FILTER (WHERE outcome = 'released') FROM pgcredit.reevaluate_held_orders()\n"
	  . "pgcredit-reevaluate-held-now * * * * * SELECT count(*) FILTER (WHERE outcome = 'released') FROM pgcredit.reevaluate_held_orders()",
	'the documented jobs and the every-minute jobs are scheduled');

# Wait for the first run of each every-minute job to finish.
ok( PgCreditTest::wait_until(
		$node, 'postgres', q{
SELECT count(DISTINCT j.jobname) = 4 FROM cron.job_run_details d JOIN cron.job j USING (jobid)
WHERE j.jobname LIKE '%-now' AND d.status IN ('succeeded', 'failed')}, 120),
	'pg_cron ran the every-minute jobs');
note PgCreditTest::sql($node, 'postgres',
	'SELECT status, return_message FROM cron.job_run_details ORDER BY runid');
is( PgCreditTest::sql($node, 'postgres', q{
SELECT d.status || ' ' || d.return_message
FROM cron.job_run_details d JOIN cron.job j USING (jobid)
WHERE j.jobname = 'pgcredit-now' ORDER BY d.runid LIMIT 1}),
	'succeeded SELECT 1', 'the job ran refresh_scores() without error');
is( PgCreditTest::sql($node, 'postgres',
		"SELECT string_agg(customer, ',' ORDER BY customer) FROM pgcredit.score_history WHERE as_of = current_date"),
	'C1,C2,F1,H1', "refresh_scores() left today's scores of every customer");
is( PgCreditTest::sql($node, 'postgres', q{
SELECT string_agg(j.jobname || ': ' || d.status || ' ' || d.return_message, E'\n' ORDER BY j.jobname)
FROM cron.job_run_details d JOIN cron.job j USING (jobid)
WHERE j.jobname IN ('pgcredit-reevaluate-held-now', 'pgcredit-expire-requests-now')}),
	"pgcredit-expire-requests-now: succeeded SELECT 1\n"
	  . 'pgcredit-reevaluate-held-now: succeeded SELECT 1',
	'the recipes of doc/approvals.md ran without error');
is( PgCreditTest::sql($node, 'postgres', q{
SELECT (SELECT count(*) FROM pgcredit.held_orders) || ' ' || (SELECT held FROM web_order) || ' '
       || (SELECT open_orders FROM pgcredit.exposure WHERE customer = 'H1') || ' '
       || (SELECT release_reason FROM pgcredit.held_order)}),
	"0 false 150 hold mark cleared; the order fit the customer's credit",
	'the reevaluate_held_orders() job released the order that fits');
is( PgCreditTest::sql($node, 'postgres',
		"SELECT string_agg(new_limit || ' ' || status, ', ' ORDER BY id) FROM pgcredit.approval_request"),
	'300 expired, 400 pending',
	'the expire_requests() job expired the request past its expiry, and only it');
is( PgCreditTest::sql($node, 'postgres', q{
SELECT d.status || ' ' || d.return_message
FROM cron.job_run_details d JOIN cron.job j USING (jobid)
WHERE j.jobname = 'pgcredit-horizon-now' ORDER BY d.runid LIMIT 1}),
	'succeeded SELECT 1', 'the recipe of doc/guard.md ran advance_horizon() without error');
is( PgCreditTest::sql($node, 'postgres', q{
SELECT (SELECT open_orders FROM pgcredit.exposure WHERE customer = 'F1') || ' '
       || (SELECT count(*) FROM pgcredit.order_horizon WHERE customer = 'F1') || ' '
       || (SELECT string_agg(kind, ',') FROM pgcredit.alert WHERE customer = 'F1') || ' '
       || (SELECT count(*) FROM pgcredit.verify_exposure())}),
	'250 0 horizon_over_limit 0',
	'the advance_horizon() job moved the order into exposure and alerted the customer over its limit');

$node->stop;
done_testing();
