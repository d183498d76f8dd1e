# The approvals tell by NOTIFY: a request that waits for someone goes
# out on pgcredit_requests, a held order rejected on
# pgcredit_rejected_orders, each at commit and as JSON of the number
# only (any role may LISTEN); an auto-approved request, which waits for
# nobody, is not announced, nor is anything rolled back.
use strict;
use warnings;

use Test::More;
use PgCreditTest;

my $db = 'regress_approvals_notify';
my $node = PgCreditTest::node('approvals_notify');
PgCreditTest::sql($node, 'postgres', "CREATE DATABASE $db");
PgCreditTest::sql($node, $db, q{
SET client_min_messages = warning;
CREATE EXTENSION pgcredit;
CREATE TABLE web_order (id int PRIMARY KEY, customer text NOT NULL, amount numeric NOT NULL,
                        on_hold boolean NOT NULL DEFAULT false);
SELECT pgcredit.attach_orders('web_order', 'customer', 'amount', mode => 'hold', hold_column => 'on_hold');
SELECT pgcredit.open_account('N1', 100, risk_tier => 'A');
INSERT INTO web_order VALUES (1, 'N1', 250);
INSERT INTO pgcredit.approval_authority (kind, risk_tier, max_increase, auto_approve)
VALUES ('limit', 'A', 50, true);
});

my $notice = qr/^Asynchronous notification "(pgcredit_requests|pgcredit_rejected_orders)" with payload "(.*)" received from server process with PID \d+\./m;

my $listener = $node->background_psql($db);
$listener->query_safe('LISTEN pgcredit_requests');
$listener->query_safe('LISTEN pgcredit_rejected_orders');

my $writer = $node->background_psql($db);
$writer->query_safe('SET client_min_messages = warning');
$writer->query_safe('BEGIN');
my $request = $writer->query_safe(q{SELECT id FROM pgcredit.request_limit('N1', 1000, 'big season')});
my $auto = $writer->query_safe(q{SELECT id FROM pgcredit.request_limit('N1', 120, 'a little more')});
my $held = $writer->query_safe(q{SELECT id FROM pgcredit.held_order WHERE customer = 'N1'});
$writer->query_safe(q{SELECT pgcredit.reject_held_order(} . $held . q{, 'too big')});

unlike($listener->query_safe('SELECT 1'), qr/Asynchronous notification/,
	'nothing reaches the listener before the commit');
$writer->query_safe('COMMIT');

# a request rolled back is not announced
$writer->query_safe('BEGIN');
$writer->query_safe(q{SELECT pgcredit.request_limit('N1', 2000, 'never mind')});
$writer->query_safe('ROLLBACK');

my $got = '';
for (1 .. 50)
{
	$got .= $listener->query_safe('SELECT 1');
	last if ($got =~ s/$notice/$&/g) >= 2;
	select(undef, undef, undef, 0.1);
}
# a moment more, for anything that should not come
select(undef, undef, undef, 0.3);
$got .= $listener->query_safe('SELECT 1');
note "listener received:\n$got";
my @notes;
push @notes, "$1 $2" while $got =~ /$notice/g;
is_deeply(\@notes,
	[ qq{pgcredit_requests {"id" : $request}}, qq{pgcredit_rejected_orders {"id" : $held}} ],
	'the waiting request and the rejected order were announced, by number only, in order');
is(PgCreditTest::sql($node, $db, "SELECT status FROM pgcredit.approval_request WHERE id = $auto"),
	'approved', 'the small raise approved itself, unannounced');
is(PgCreditTest::sql($node, $db, "SELECT count(*) FROM pgcredit.approval_request"),
	'2', 'the request rolled back left nothing');

$listener->quit;
$writer->quit;
$node->stop;
done_testing();
