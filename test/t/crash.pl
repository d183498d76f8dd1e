# A short stress run with an immediate stop of the server in the middle
# (make stress runs the long version, test/stress/run.sh): many pgbench
# clients place orders and payments for customers with tight limits; the
# server is stopped in "immediate" mode halfway, goes through crash
# recovery, and the run goes on.  Then exposure still matches the tables
# and no customer ever went past its limit.
#   STRESS_SECONDS (default 12), STRESS_CLIENTS (8), STRESS_CUSTOMERS (50)
use strict;
use warnings;

use IPC::Run;
use Test::More;
use PostgreSQL::Test::Utils;
use PgCreditTest;

my $seconds   = $ENV{STRESS_SECONDS}   // 12;
my $clients   = $ENV{STRESS_CLIENTS}   // 8;
my $customers = $ENV{STRESS_CUSTOMERS} // 50;
my $half      = int($seconds / 2);
my $db        = 'regress_crash';

my $node = PgCreditTest::node('crash');
PgCreditTest::sql($node, 'postgres', "CREATE DATABASE $db");
PgCreditTest::sql_file($node, $db, 'test/stress/setup.sql',
	customers => $customers);

# pgbench with the stress workload for $secs seconds, started in the
# background; returns the harness and the references to its output.
sub start_pgbench
{
	my ($secs) = @_;
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start(
		[
			'pgbench', '-n',
			'-h', $node->host, '-p', $node->port,
			'-c', $clients, '-j', 2, '-T', $secs,
			'-D', "customers=$customers",
			'-f', PgCreditTest::repo('test/stress/workload.pgbench'),
			$db
		],
		'>', \$out, '2>', \$err);
	return ($h, \$out, \$err);
}

sub count_orders
{
	return PgCreditTest::sql($node, $db,
		'SELECT count(*) FROM stress_order');
}

# First half, then an immediate stop while the clients are busy.
my ($bench, $out, $err) = start_pgbench($seconds);
sleep $half;
my $before = count_orders();
cmp_ok($before, '>', 0, 'orders were placed before the stop');
$node->stop('immediate');
$bench->finish;    # its clients lose their connection: expected
note "pgbench before the stop:\n$$out$$err";
like($$err, qr/client \d+ aborted/,
	'the stop cut off clients in the middle of their work');

# Recovery: the server replays its WAL and exposure matches the tables
# at once, before any new order.
my $log_offset = -s $node->logfile;
$node->start;
ok( $node->log_contains(
		qr/database system was not properly shut down; automatic recovery in progress/,
		$log_offset),
	'the restart went through crash recovery');
is(PgCreditTest::sql($node, $db, 'SELECT count(*) FROM pgcredit.verify_exposure()'),
	'0', 'exposure matches the tables right after recovery');

# Second half: the run goes on against the recovered server.
($bench, $out, $err) = start_pgbench($half);
my $bench_ok = $bench->finish;
note "pgbench after the restart:\n$$out$$err";
ok($bench_ok, 'pgbench runs to its end after recovery')
  or diag("pgbench exit $?:\n$$err");
unlike($$out . $$err, qr/number of failed transactions: [1-9]|aborted/,
	'no client transaction failed after recovery (no deadlock, no error)');
cmp_ok(count_orders(), '>', $before, 'orders were accepted after recovery');

# check.sql's verdict, each part as an assertion of its own.
my $check = PgCreditTest::sql($node, $db,
	slurp_file(PgCreditTest::repo('test/stress/check.sql')) . q{
SELECT 'figures ' || over_limit || ' ' || unlogged || ' '
       || other_refusals || ' ' || mismatches FROM verdict;
SELECT 'refused ' || count(*) FROM stress_refusal;
});
note $check;
my ($over, $unlogged, $other, $mismatches) =
  $check =~ /^figures (\d+) (\d+) (\d+) (\d+)$/m;
is($over,       0, 'no accepted order took its customer past limit plus tolerance');
is($unlogged,   0, 'every accepted order went through the order function');
is($other,      0, 'every refusal carries SQLSTATE PC001');
is($mismatches, 0, 'verify_exposure() finds no mismatch at the end');
my ($refused) = $check =~ /^refused (\d+)$/m;
cmp_ok($refused, '>', 0, 'the guard was exercised: some orders were refused');
like($check, qr/^stress check passed$/m, 'check.sql passes');

$node->stop;
done_testing();
