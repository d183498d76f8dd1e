# A real listener receives pgcredit's alerts: one session LISTENs on
# pgcredit_alerts while another puts an account on hold and holds an
# order over its limit in one transaction.  Nothing arrives before that
# transaction commits; then the listener gets both, sent by the writer's
# backend, as JSON of the alert's id and kind only (any role may LISTEN);
# the rest is read from pgcredit.alert by id.
use strict;
use warnings;

use Test::More;
use PgCreditTest;

my $db = 'regress_notify';
my $node = PgCreditTest::node('notify');
PgCreditTest::sql($node, 'postgres', "CREATE DATABASE $db");
PgCreditTest::sql($node, $db, q{
SET client_min_messages = warning;
CREATE EXTENSION pgcredit;
CREATE TABLE web_order (id int PRIMARY KEY, customer text NOT NULL, amount numeric NOT NULL,
                        on_hold boolean NOT NULL DEFAULT false);
SELECT pgcredit.attach_orders('web_order', 'customer', 'amount', mode => 'hold', hold_column => 'on_hold');
SELECT pgcredit.open_account('N1', 100);
SELECT pgcredit.open_account('N2', 100);
});

# psql prints the notifications that arrived after each command it runs.
my $notice = qr/^Asynchronous notification "pgcredit_alerts" with payload "(.*)" received from server process with PID (\d+)\.$/m;

my $listener = $node->background_psql($db);
$listener->query_safe('LISTEN pgcredit_alerts');

my $writer = $node->background_psql($db);
$writer->query_safe('SET client_min_messages = warning');
my $writer_pid = $writer->query_safe('SELECT pg_backend_pid()');
$writer->query_safe('BEGIN');
$writer->query_safe(q{SELECT pgcredit.place_hold('N1', 'notify test')});
$writer->query_safe(q{INSERT INTO web_order VALUES (1, 'N2', 250)});

unlike($listener->query_safe('SELECT 1'), qr/Asynchronous notification/,
	'nothing reaches the listener before the commit');

$writer->query_safe('COMMIT');
# The notifications were queued at the commit; the listener's next
# command prints them (poll a little: delivery is asynchronous).
my $got = '';
for (1 .. 50)
{
	$got .= $listener->query_safe('SELECT 1');
	last if ($got =~ s/$notice/$&/g) >= 2;
	select(undef, undef, undef, 0.1);
}
note "listener received:\n$got";
my @notes;
push @notes, [ $1, $2 ] while $got =~ /$notice/g;
is(scalar @notes, 2, 'the listener received two notifications');
is_deeply([ map { $_->[1] } @notes ], [ ($writer_pid) x 2 ],
	"both were sent by the writer's backend");

# Each payload is JSON of the alert's id and kind, and names the alert row.
my @seen;
for my $n (@notes)
{
	my $payload = $n->[0];
	is( $writer->query_safe(
			'SELECT array_agg(k ORDER BY k)::text FROM json_object_keys('
			  . quote_literal($payload) . '::json) k'),
		'{id,kind}',
		"payload $payload holds the id and the kind, nothing more");
	push @seen, $writer->query_safe(
		"SELECT (p ->> 'kind') || ' ' || a.customer
		 FROM (SELECT " . quote_literal($payload) . "::json AS p) j
		 JOIN pgcredit.alert a ON a.id = (p ->> 'id')::bigint AND a.kind = p ->> 'kind'");
}
is(join(',', sort @seen), 'account_hold N1,limit_breached N2',
	'the payloads name the hold of N1 and the held order of N2');
is( PgCreditTest::sql($node, $db,
		"SELECT string_agg(kind || ' ' || customer, ',' ORDER BY kind) FROM pgcredit.alert"),
	'account_hold N1,limit_breached N2',
	'the same two alerts are in pgcredit.alert');
is(PgCreditTest::sql($node, $db, 'SELECT on_hold FROM web_order WHERE id = 1'),
	't', 'the order over the limit was held');

$listener->quit;
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
