# A real client reads every view: node's pg driver, installed from npm by
# this test (test/client/package.json and its lock), connects as a member
# of pgcredit_reader through a pool and runs test/client/read_views.js,
# which reads every view of pgcredit without setting the day and every
# function form of a view for two days at once, and checks the types and
# values it receives and one customer's figures on each day.  Each of its
# checks is a check here.
use strict;
use warnings;

use File::Copy qw(copy);
use Test::More;
use PostgreSQL::Test::Utils;
use PgCreditTest;

my $node_bin = `command -v node 2>/dev/null`;
chomp $node_bin;
ok($node_bin ne '', 'node is installed (test/setup.sh installs nodejs and npm)')
  or done_testing(), exit;

# the client, with its dependencies from npm, in a directory of its own
my $dir = PostgreSQL::Test::Utils::tempdir('client');
copy(PgCreditTest::repo("test/client/$_"), "$dir/$_") or die "copy $_: $!"
  for qw(package.json package-lock.json read_views.js);
my $npm = `cd '$dir' && HOME='$dir' npm_config_cache='$dir/.npm' npm ci --no-audit --no-fund 2>&1`;
is($?, 0, 'npm ci installs node\'s pg from the lock file') or diag($npm);

my $db = 'regress_client';
my $node = PgCreditTest::node('client');
PgCreditTest::sql($node, 'postgres', "CREATE DATABASE $db");
PgCreditTest::sql($node, $db, q{
SET client_min_messages = warning;
CREATE EXTENSION pgcredit;
CREATE TABLE invoice (id int PRIMARY KEY, customer text NOT NULL, amount numeric(12,2) NOT NULL,
                      open_amount numeric(12,2) NOT NULL, invoiced_on date NOT NULL, due date NOT NULL,
                      paid_on date);
CREATE INDEX ON invoice (customer);
-- BI1 on 2025-02-15: three items 6, 27 and 11 days past due (the third
-- paid on 2025-02-20, so open that day): 350 in 1-30 days, the oldest 27.
-- On 2025-03-01: 100 at 20 days, 200 at 41 days: 100 in 1-30, 200 in
-- 31-60, the oldest 41.
INSERT INTO invoice VALUES
  (1, 'BI1', 100, 100, '2025-01-10', '2025-02-09', NULL),
  (2, 'BI1', 200, 200, '2024-12-20', '2025-01-19', NULL),
  (3, 'BI1', 50, 0, '2025-01-05', '2025-02-04', '2025-02-20'),
  (4, 'BI2', 80, 80, '2025-02-01', '2025-03-03', NULL);
SELECT pgcredit.attach_receivables('invoice', 'customer', 'open_amount', 'due',
  invoice_amount_column => 'amount', invoiced_column => 'invoiced_on', paid_column => 'paid_on');
CREATE TABLE web_order (id int PRIMARY KEY, customer text NOT NULL, amount numeric(12,2) NOT NULL,
                        on_hold boolean NOT NULL DEFAULT false);
CREATE INDEX ON web_order (customer);
SELECT pgcredit.attach_orders('web_order', 'customer', 'amount', mode => 'hold', hold_column => 'on_hold');
SELECT pgcredit.open_account('BI1', 1000, reason => 'client');
SELECT pgcredit.open_account('BI2', 100, reason => 'client');
-- a held order (regclass, jsonb and interval columns in held_orders)
INSERT INTO web_order VALUES (1, 'BI2', 500);
-- a dispute (regclass and jsonb in disputes)
SELECT pgcredit.open_dispute('invoice', '{"id": 4}', 'price disputed');
SELECT pgcredit.add_cover('BI1', 'deposit', 'cash', 100, 'deposit', valid_from => '2025-01-01');
SELECT pgcredit.refresh_scores('2025-02-15');
SELECT pgcredit.refresh_scores('2025-03-01');
CREATE ROLE regress_bi LOGIN IN ROLE pgcredit_reader;
});

my %expected = (
	'2025-02-15' => { aging_1_30 => '350.00', aging_31_60 => '0.00', aging_61_90 => '0.00',
		days_past_due => 27, total => '350.00', day => '2025-02-15' },
	'2025-03-01' => { aging_1_30 => '100.00', aging_31_60 => '200.00', aging_61_90 => '0.00',
		days_past_due => 41, total => '300.00', day => '2025-03-01' });
# the approvers' list of requests is for controllers only, the import
# view for load_csv
my $json = '{"unreadable": "account_import pending_requests", "days": {' . join(', ', map {
	my $d = $_;
	"\"$d\": {" . join(', ', map { "\"$_\": \"$expected{$d}{$_}\"" } sort keys %{ $expected{$d} }) . '}'
} sort keys %expected) . '}}';

local $ENV{PGHOST} = $node->host;
local $ENV{PGPORT} = $node->port;
local $ENV{PGUSER} = 'regress_bi';
local $ENV{PGDATABASE} = $db;
my $out = `cd '$dir' && node read_views.js 2025-02-15 2025-03-01 BI1 '$json' 2>&1`;
my $status = $?;
my $n = 0;
for my $line (split /\n/, $out)
{
	if ($line =~ /^(not )?ok - (.*)$/)
	{
		ok(!defined $1, "client: $2");
		$n++;
	}
	else
	{
		note $line;
	}
}
cmp_ok($n, '>', 60, "the client made $n checks");
is($status, 0, 'the client exits 0');

done_testing();
