# A real listener receives the dunning actions: sessions LISTEN on
# pgcredit_collections while a controller runs the day's collections in
# a transaction.  Nothing arrives before it commits; then each listener
# gets exactly one notification per action written, sent by the run's
# backend, each payload JSON of the action's id only, the ids those of
# pgcredit.collection_action for the day, in order.  Running the day
# again sends nothing, nor does a run rolled back.  A role with no
# pgcredit rights may LISTEN too: it gets the ids and cannot read the
# actions.
use strict;
use warnings;

use Test::More;
use PgCreditTest;

my $db = 'regress_collections_notify';
my $node = PgCreditTest::node('collections_notify');
PgCreditTest::sql($node, 'postgres', "CREATE DATABASE $db");
PgCreditTest::sql($node, $db, q{
SET client_min_messages = warning;
CREATE EXTENSION pgcredit;
CREATE ROLE regress_controller LOGIN IN ROLE pgcredit_controller;
CREATE ROLE regress_outsider LOGIN;
CREATE TABLE inv (id int PRIMARY KEY, customer text NOT NULL, amount numeric(12,2) NOT NULL, due date NOT NULL);
-- on 2024-03-01: N1 level 3 (hold), N2 level 2, N3 and N6 level 1; N4
-- under the minimum, N5 not yet past due; on 2024-03-02 after that: N2
-- level 3, N3 level 2, N5 level 1
INSERT INTO inv VALUES (1, 'N1', 100, '2024-01-15'), (2, 'N2', 200, '2024-02-01'),
                       (3, 'N3', 50, '2024-02-17'), (4, 'N3', 30, '2024-02-25'),
                       (5, 'N4', 5, '2024-02-01'), (6, 'N5', 70, '2024-03-01'),
                       (7, 'N6', 40, '2024-02-20'), (8, 'N6', 60, '2024-02-27');
SELECT pgcredit.attach_receivables('inv', 'customer', 'amount', 'due');
SELECT pgcredit.open_account('N1', 1000);
SELECT pgcredit.create_dunning_policy('std', 'notify test', min_amount => 10);
SELECT pgcredit.set_dunning_level('std', 1, 1, 'email', 'reminder', 'notify test');
SELECT pgcredit.set_dunning_level('std', 2, 14, 'letter', 'second', 'notify test');
SELECT pgcredit.set_dunning_level('std', 3, 30, 'phone', 'final', 'notify test', 'hold');
SELECT pgcredit.set_tier_dunning_policy('default', 'std', 'notify test');
});

# psql prints the notifications that arrived after each command it runs.
my $notice = qr/^Asynchronous notification "pgcredit_collections" with payload "(.*)" received from server process with PID (\d+)\.$/m;

# The notifications a listener has received by now: its next command
# prints them.  Polls until $want have come, or for 5 seconds, then waits
# half a second more for any that should not; returns a list of
# [payload, pid].
sub received
{
	my ($session, $want) = @_;
	my $got = '';
	for (1 .. 50)
	{
		$got .= $session->query_safe('SELECT 1') . "\n";
		last if ($got =~ s/$notice/$&/g) >= $want;
		select(undef, undef, undef, 0.1);
	}
	select(undef, undef, undef, 0.5);
	$got .= $session->query_safe('SELECT 1') . "\n";
	note "received:\n$got";
	my @notes;
	push @notes, [ $1, $2 ] while $got =~ /$notice/g;
	return @notes;
}

# The ids of the actions of a day, in order.
sub action_ids
{
	my ($day) = @_;
	return split /\n/,
	  PgCreditTest::sql($node, $db,
		"SELECT id FROM pgcredit.collection_action WHERE as_of = '$day' ORDER BY id");
}

my $listener = $node->background_psql($db);
$listener->query_safe('LISTEN pgcredit_collections');
my $outsider = $node->background_psql($db, extra_params => [ '-U', 'regress_outsider' ]);
$outsider->query_safe('LISTEN pgcredit_collections');

my $writer = $node->background_psql($db, extra_params => [ '-U', 'regress_controller' ]);
$writer->query_safe('SET client_min_messages = warning');
my $writer_pid = $writer->query_safe('SELECT pg_backend_pid()');

# The day's run, in a transaction: nothing goes out before the commit.
$writer->query_safe('BEGIN');
my @run_ids = split /\n/,
  $writer->query_safe(q{SELECT action_id FROM pgcredit.run_collections('2024-03-01') ORDER BY action_id});
is(scalar @run_ids, 4, 'the run wrote four actions');
is_deeply([ map { $_->[0] } received($listener, 0) ], [], 'nothing reaches the listener before the commit');
$writer->query_safe('COMMIT');

my @ids = action_ids('2024-03-01');
is_deeply(\@ids, \@run_ids, 'the actions of the day are those the run returned');
is( PgCreditTest::sql($node, $db,
		q{SELECT string_agg(customer || ' ' || level, ', ' ORDER BY id) FROM pgcredit.collection_action}),
	'N1 3, N2 2, N3 1, N6 1',
	'one action each for N1, N2, N3 and N6, in customer order');

my @notes = received($listener, scalar @ids);
is(scalar @notes, scalar @ids, 'the listener received one notification per action');
is_deeply([ map { $_->[0] } @notes ], [ map { qq({"id" : $_}) } @ids ],
	'each payload is JSON of an action id, the ids of the day in order');
is_deeply([ map { $_->[1] } @notes ], [ ($writer_pid) x @ids ], "all sent by the run's backend");
for my $n (@notes)
{
	is( $writer->query_safe(
			'SELECT array_agg(k ORDER BY k)::text FROM json_object_keys(' . quote_literal($n->[0]) . '::json) k'),
		'{id}',
		"payload $n->[0] holds the id, nothing more");
}

# A role with no pgcredit rights hears the same, and reads nothing more.
is_deeply([ map { $_->[0] } received($outsider, scalar @ids) ],
	[ map { qq({"id" : $_}) } @ids ], 'the role with no rights received the same ids');
my ($stdout, $stderr);
$node->psql(
	$db, "SELECT * FROM pgcredit.collection_action WHERE id = $ids[0]",
	stdout => \$stdout,
	stderr => \$stderr,
	extra_params => [ '-U', 'regress_outsider' ]);
like($stderr, qr/permission denied for table collection_action/, 'but cannot read the action');
is($stdout, '', 'and is shown nothing of it');

# The same day again writes nothing and says nothing; a run rolled back
# says nothing either, though it wrote actions before its rollback.
is($writer->query_safe(q{SELECT count(*) FROM pgcredit.run_collections('2024-03-01')}),
	'0', 'running the day again writes no action');
$writer->query_safe('BEGIN');
is($writer->query_safe(q{SELECT count(*) FROM pgcredit.run_collections('2024-03-02')}),
	'3', 'the next day, in a transaction, writes three actions');
$writer->query_safe('ROLLBACK');
is_deeply([ action_ids('2024-03-02') ], [], 'the rollback left none of them');
is_deeply([ map { $_->[0] } received($listener, 0) ],
	[], 'neither the second run nor the rolled-back one was announced');

# The next day committed: the listener hears exactly its actions (and
# so would have heard anything the runs before had sent).
is($writer->query_safe(q{SELECT count(*) FROM pgcredit.run_collections('2024-03-02')}),
	'3', 'the next day, committed, writes three actions');
my @next = action_ids('2024-03-02');
cmp_ok($next[0], '>', $ids[-1], "the next day's actions come after the first day's");
is_deeply([ map { $_->[0] } received($listener, 3) ],
	[ map { qq({"id" : $_}) } @next ], "the listener received the next day's actions, and nothing else");
is_deeply([ map { $_->[0] } received($outsider, 3) ],
	[ map { qq({"id" : $_}) } @next ], 'so did the role with no rights');

$listener->quit;
$outsider->quit;
$writer->quit;
$node->stop;
done_testing();

# A string as an SQL literal.
sub quote_literal
{
	my ($s) = @_;
	$s =~ s/'/''/g;
	return "'$s'";
}
