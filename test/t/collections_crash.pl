# A crash in the middle of run_collections() leaves nothing half done.
# Twenty customers are due an action on 2024-03-01, six of them a level
# that puts the account on hold.  A trigger of the test stops the run
# when it comes to write the action of K10, the tenth in customer order,
# after nine actions and the six holds; then the run's backend is killed
# with SIGKILL (the server goes through crash recovery), and, a second
# time, the whole server is stopped in immediate mode.  After each
# recovery there is no action of the day, no item, no status set by
# dunning and no run counted, as if the run had never begun.  Without
# the trigger the run then writes every action exactly once.
use strict;
use warnings;

use IPC::Run;
use Test::More;
use PgCreditTest;

my $db = 'regress_collections_crash';
# (the test framework turns restart_after_crash off: a killed backend
# would stop the server)
my $node = PgCreditTest::node('collections_crash', conf => 'restart_after_crash = on');
PgCreditTest::sql($node, 'postgres', "CREATE DATABASE $db");

# K01 to K20 each owe 100 due 2024-02-20 (10 days on the day: level 1),
# but K01 to K06 owe it since 2024-01-15 (46 days: level 2, hold), and
# K03 owes both; K01 to K08 have accounts.  K21 owes nothing past due,
# K22 less than the minimum: no action for them.
PgCreditTest::sql($node, $db, q{
SET client_min_messages = warning;
CREATE EXTENSION pgcredit;
CREATE TABLE inv (id int PRIMARY KEY, customer text NOT NULL, amount numeric(12,2) NOT NULL, due date NOT NULL);
INSERT INTO inv
SELECT n, format('K%s', to_char(n, 'FM00')), 100, CASE WHEN n <= 6 THEN date '2024-01-15' ELSE date '2024-02-20' END
FROM generate_series(1, 20) n;
INSERT INTO inv VALUES (21, 'K03', 40, '2024-02-20'), (22, 'K21', 100, '2024-03-15'), (23, 'K22', 5, '2024-01-15');
SELECT pgcredit.attach_receivables('inv', 'customer', 'amount', 'due');
SELECT pgcredit.open_account(format('K%s', to_char(n, 'FM00')), 10000) FROM generate_series(1, 8) n;
SELECT pgcredit.create_dunning_policy('std', 'crash test', min_amount => 10);
SELECT pgcredit.set_dunning_level('std', 1, 1, 'email', 'reminder', 'crash test');
SELECT pgcredit.set_dunning_level('std', 2, 30, 'letter', 'final', 'crash test', 'hold');
SELECT pgcredit.set_tier_dunning_policy('default', 'std', 'crash test');

-- The test's trigger: at K10's action, say how far the run got (in
-- sequences, which no rollback undoes) and sleep until killed.  It runs
-- as the superuser: run_collections() runs as pgcredit_owner.
CREATE SCHEMA crash_test;
CREATE SEQUENCE crash_test.actions_before MINVALUE 0 START 0;
CREATE SEQUENCE crash_test.holds_before MINVALUE 0 START 0;
CREATE FUNCTION crash_test.stall() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF NEW.customer = 'K10' THEN
    PERFORM setval('crash_test.actions_before',
                   (SELECT count(*) FROM pgcredit.collection_action a WHERE a.as_of = NEW.as_of));
    PERFORM setval('crash_test.holds_before', (SELECT count(*) FROM pgcredit.account a WHERE a.status = 'hold'));
    PERFORM pg_sleep(3600);
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER stall BEFORE INSERT ON pgcredit.collection_action
  FOR EACH ROW EXECUTE FUNCTION crash_test.stall();
});

is( PgCreditTest::sql($node, $db,
		q{SELECT count(*) || ' ' || count(*) FILTER (WHERE account_status = 'hold')
		  FROM pgcredit.due_collection_actions('2024-03-01')}),
	'20 6',
	'twenty actions are due, six of them putting the account on hold');

# All that a run could change, as text, to compare before and after.
my $state_sql = q{
SELECT (SELECT count(*) FROM pgcredit.collection_action) AS actions,
       (SELECT count(*) FROM pgcredit.collection_action_item) AS items,
       (SELECT count(*) FROM pgcredit.dunning_status) AS statuses,
       (SELECT string_agg(format('%s %s %s %s', customer, status, hold_reason, updated_at), ', ' ORDER BY customer)
        FROM pgcredit.account) AS accounts,
       (SELECT count(*) FROM pgcredit.audit_log) AS audit,
       (SELECT count(*) FROM pgcredit.alert) AS alerts,
       s.runs, s.last_as_of, s.last_run_at
FROM (SELECT) AS one LEFT JOIN pgcredit.collection_state s ON true};
my $before = PgCreditTest::sql($node, $db, $state_sql);
note "before: $before";

# Start the run and wait until it sleeps in the trigger at K10.
sub start_run
{
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start(
		[
			$node->installed_command('psql'), '-XAtq', '-v', 'ON_ERROR_STOP=1',
			'-d', $node->connstr($db),
			'-c', q{SELECT count(*) FROM pgcredit.run_collections('2024-03-01')}
		],
		'>', \$out, '2>', \$err);
	ok( PgCreditTest::wait_until(
			$node, $db,
			q{EXISTS (SELECT FROM pg_stat_activity WHERE wait_event = 'PgSleep'
			          AND query LIKE '%run_collections(%' AND pid <> pg_backend_pid())},
			20),
		'the run stopped at K10')
	  or die "the run did not stop at K10: no crash in the middle to test\n";
	is( PgCreditTest::sql($node, $db,
			'SELECT last_value FROM crash_test.actions_before; SELECT last_value FROM crash_test.holds_before'),
		"9\n6",
		'it had written nine actions and put six accounts on hold');
	my $pid = PgCreditTest::sql($node, $db,
		q{SELECT pid FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND query LIKE '%run_collections(%'});
	return ($h, \$out, \$err, $pid);
}

# After each crash: nothing of the run is left.
sub nothing_left
{
	my ($how) = @_;
	is(PgCreditTest::sql($node, $db, $state_sql),
		$before, "$how: no action, item, account status, audit row or run is left");
	is( PgCreditTest::sql($node, $db,
			q{SELECT count(*) FROM pgcredit.collection_action WHERE as_of = '2024-03-01'}),
		'0', "$how: the day has no action");
	is(PgCreditTest::sql($node, $db, q{SELECT count(*) FROM pgcredit.account WHERE status <> 'ok'}),
		'0', "$how: every account is as it was, none on hold");
}

# 1. The run's backend is killed.
my ($run, $out, $err, $pid) = start_run();
my $log_offset = -s $node->logfile;
ok(kill('KILL', $pid), "the run's backend ($pid) is killed");
$run->finish;
like($$err, qr/server closed the connection unexpectedly|connection to server was lost/,
	"the run's client lost its connection");
# the postmaster reinitialises and recovers: wait for it to say it is
# ready again (a connection at once could still reach the old server)
my $ready = 0;
for (1 .. 200)
{
	last if $ready = $node->log_contains(qr/database system is ready to accept connections/, $log_offset);
	select(undef, undef, undef, 0.1);
}
ok($ready, 'the server says it is ready again');
ok( $node->log_contains(qr/server process \(PID $pid\) was terminated by signal 9/, $log_offset),
	'the postmaster saw the backend killed');
ok( $node->log_contains(
		qr/database system was not properly shut down; automatic recovery in progress/, $log_offset),
	'the server went through crash recovery');
nothing_left('after the backend was killed');

# 2. The server is stopped in immediate mode in the middle of the run.
PgCreditTest::sql($node, $db,
	q{SELECT setval('crash_test.actions_before', 0); SELECT setval('crash_test.holds_before', 0)});
($run, $out, $err, $pid) = start_run();
$node->stop('immediate');
$run->finish;
$log_offset = -s $node->logfile;
$node->start;
ok( $node->log_contains(
		qr/database system was not properly shut down; automatic recovery in progress/, $log_offset),
	'the restart after the immediate stop went through crash recovery');
nothing_left('after the immediate stop');

# 3. Without the trigger, the run writes every action, once.
PgCreditTest::sql($node, $db, 'DROP TRIGGER stall ON pgcredit.collection_action; DROP SCHEMA crash_test CASCADE');
is(PgCreditTest::sql($node, $db, q{SELECT count(*) FROM pgcredit.run_collections('2024-03-01')}),
	'20', 'the run writes twenty actions');
is( PgCreditTest::sql($node, $db, q{
SELECT count(*) || ' ' || count(DISTINCT customer) || ' '
       || count(*) FILTER (WHERE level = 2 AND account_status = 'hold' AND status_set) || ' '
       || count(*) FILTER (WHERE level = 1 AND account_status IS NULL AND NOT status_set)
FROM pgcredit.collection_action WHERE as_of = '2024-03-01'}),
	'20 20 6 14',
	'one action for each of twenty customers: six at level 2 setting a hold, fourteen at level 1');
is( PgCreditTest::sql($node, $db, q{
SELECT string_agg(customer, ',' ORDER BY customer) FROM pgcredit.collection_action WHERE level = 2}),
	'K01,K02,K03,K04,K05,K06', 'the holds are those of K01 to K06');
is( PgCreditTest::sql($node, $db, q{
SELECT count(*) || ' ' || count(DISTINCT action_id) || ' ' || sum(amount)
FROM pgcredit.collection_action_item}),
	'21 20 2040.00', 'the actions name twenty-one items, all of them');
is( PgCreditTest::sql($node, $db, q{
SELECT string_agg(customer || ' ' || status, ', ' ORDER BY customer) FROM pgcredit.account}),
	'K01 hold, K02 hold, K03 hold, K04 hold, K05 hold, K06 hold, K07 ok, K08 ok',
	'K01 to K06 are on hold, K07 and K08 not');
is( PgCreditTest::sql($node, $db, q{
SELECT (SELECT count(*) FROM pgcredit.dunning_status) || ' '
       || (SELECT count(*) FROM pgcredit.audit_log WHERE action = 'dunning_status') || ' '
       || (SELECT runs FROM pgcredit.collection_state)}),
	'6 6 1', 'six statuses set by dunning, each audited once, one run counted');
is(PgCreditTest::sql($node, $db, q{SELECT count(*) FROM pgcredit.run_collections('2024-03-01')}),
	'0', 'running the day again writes nothing');
is(PgCreditTest::sql($node, $db, q{SELECT count(*) FROM pgcredit.collection_action}),
	'20', 'and the day still has twenty actions');

$node->stop;
done_testing();
