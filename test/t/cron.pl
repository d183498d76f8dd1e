# The README's recipe for refreshing scores nightly with pg_cron, run for
# real: a node with pg_cron preloaded, the nightly job scheduled as
# documented, and an every-minute job that must run refresh_scores() and
# leave today's scores behind.  pg_cron 1.4, as Debian 12 ships it, runs
# jobs at most once a minute: this takes up to about 70 seconds.
use strict;
use warnings;

use Test::More;
use PgCreditTest;

my $pkglibdir = `pg_config --pkglibdir`;
chomp $pkglibdir;
if (!-f "$pkglibdir/pg_cron.so")
{
	fail('pg_cron is installed (Debian package postgresql-15-cron)');
	done_testing();
	exit;
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

is( PgCreditTest::sql($node, 'postgres',
		"SELECT string_agg(jobname || ' ' || schedule || ' ' || command, E'\\n' ORDER BY jobname) FROM cron.job"),
	"pgcredit-nightly 15 2 * * * SELECT pgcredit.refresh_scores()\n"
	  . 'pgcredit-now * * * * * SELECT pgcredit.refresh_scores()',
	'the nightly job and the every-minute job are scheduled');

# Wait for the first run of the every-minute job to finish.
ok( PgCreditTest::wait_until(
		$node, 'postgres', q{
SELECT count(*) > 0 FROM cron.job_run_details d JOIN cron.job j USING (jobid)
WHERE j.jobname = 'pgcredit-now' AND d.status IN ('succeeded', 'failed')}, 120),
	'pg_cron ran the every-minute job');
note PgCreditTest::sql($node, 'postgres',
	'SELECT status, return_message FROM cron.job_run_details ORDER BY runid');
is( PgCreditTest::sql($node, 'postgres', q{
SELECT d.status || ' ' || d.return_message
FROM cron.job_run_details d JOIN cron.job j USING (jobid)
WHERE j.jobname = 'pgcredit-now' ORDER BY d.runid LIMIT 1}),
	'succeeded SELECT 1', 'the job ran refresh_scores() without error');
is( PgCreditTest::sql($node, 'postgres',
		"SELECT string_agg(customer, ',' ORDER BY customer) FROM pgcredit.score_history WHERE as_of = current_date"),
	'C1,C2', "refresh_scores() left today's scores of both customers");

$node->stop;
done_testing();
