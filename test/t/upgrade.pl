# Upgrade: the oldest released version, holding data, updated script by
# script to the newest, must hold the same catalog as the newest installed
# fresh, keep its data and go on guarding orders.
#
# The catalog is described by test/upgrade/catalog.sql (functions with
# their bodies, tables, columns, constraints, views, comments, grants,
# triggers, config-dump registration...).  The test proves it can fail:
# a fresh 1.0 must differ from a fresh newest, and removing one comment
# or one grant after the update must show in the comparison.  It also
# checks that every C symbol a released or upgrade script names is
# exported by the library, since a database still at an old version
# calls the new library through the old script's symbols.
#
# Run by prove as the postgres user (initdb refuses root); with
# PGCREDIT_DESTDIR set, the node finds pgcredit under that DESTDIR.

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname basename);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $repo = abs_path(dirname(__FILE__) . '/../..');
my $catalog_sql = slurp_file("$repo/test/upgrade/catalog.sql");

# The versions: the oldest released one has a committed install script,
# the newest is the control file's default_version, and the upgrade
# scripts pgcredit--A--B.sql lead from one to the other.
my ($newest) = slurp_file("$repo/pgcredit.control") =~ /^default_version\s*=\s*'([^']+)'/m;
my %step;
for my $f (glob "$repo/sql/pgcredit--*--*.sql")
{
	my ($from, $to) = basename($f) =~ /^pgcredit--(.+)--(.+)\.sql$/;
	$step{$from} = $to;
}
my $oldest = '1.0';
my @path = ($oldest);
push @path, $step{ $path[-1] } while exists $step{ $path[-1] } && @path < 100;
is($path[-1], $newest, "upgrade scripts lead from $oldest to $newest: @path");

my $node = PostgreSQL::Test::Cluster->new('upgrade');
$node->init(extra => [ '--locale=C.UTF-8' ]);
$node->append_conf('postgresql.conf',
	"extension_destdir = '$ENV{PGCREDIT_DESTDIR}'")
  if $ENV{PGCREDIT_DESTDIR};
$node->start;

# The catalog description of a database, as test/upgrade/catalog.sql prints it
sub describe
{
	my ($db) = @_;
	return $node->safe_psql($db, $catalog_sql) . "\n";
}

# The difference of two descriptions, as diff -u shows it ('' when none)
sub difference
{
	my ($a, $b) = @_;
	my $dir = PostgreSQL::Test::Utils::tempdir();
	for ([ 'updated', $a ], [ 'fresh', $b ])
	{
		open my $fh, '>', "$dir/$_->[0]" or die "cannot write $dir/$_->[0]: $!";
		print $fh $_->[1];
		close $fh;
	}
	# diff exits with 1 when the files differ, 2 when it could not compare
	my $diff = `cd '$dir' && diff -u updated fresh`;
	die "diff could not compare the descriptions" if $? >> 8 > 1;
	return $diff;
}

#
# The oldest release, with data in it
#
$node->safe_psql('postgres', 'CREATE DATABASE regress_updated');
$node->safe_psql('regress_updated', "CREATE EXTENSION pgcredit VERSION '$oldest'");
$node->safe_psql('regress_updated', q{
SELECT customer FROM pgcredit.open_account('C1', 1000, reason => 'opened before the update');
SELECT customer FROM pgcredit.open_account('C2', 500);
CREATE TABLE web_order (id int PRIMARY KEY, customer text NOT NULL, amount numeric NOT NULL,
                        on_hold boolean NOT NULL DEFAULT false);
CREATE TABLE erp_order (id int PRIMARY KEY, customer text NOT NULL, amount numeric NOT NULL);
SELECT relid FROM pgcredit.attach_orders('web_order', 'customer', 'amount',
                                         mode => 'hold', hold_column => 'on_hold');
SELECT relid FROM pgcredit.attach_orders('erp_order', 'customer', 'amount');
INSERT INTO web_order VALUES (1, 'C1', 600);
INSERT INTO web_order VALUES (2, 'C1', 700);   -- over the limit: held
INSERT INTO erp_order VALUES (1, 'C2', 200);
UPDATE pgcredit.tier_policy SET payment_terms_days = 40 WHERE tier = 'B';
INSERT INTO pgcredit.external_score_scale VALUES ('bureau', 0, 999);
});
my $before = $node->safe_psql('regress_updated', q{
SELECT string_agg(format('%s %s %s', customer, credit_limit, status), ', ' ORDER BY customer)
FROM pgcredit.account;
SELECT string_agg(format('%s %s %s', customer, amount, released_at IS NULL), ', ' ORDER BY id)
FROM pgcredit.held_order;
SELECT string_agg(format('%s %s', customer, open_orders), ', ' ORDER BY customer)
FROM pgcredit.exposure;
});
is($before, "C1 1000 ok, C2 500 ok\nC1 700 t\nC1 600, C2 200",
	"$oldest holds accounts, a held order and exposure");

#
# Update script by script
#
for my $to (@path[ 1 .. $#path ])
{
	$node->safe_psql('regress_updated', "ALTER EXTENSION pgcredit UPDATE TO '$to'");
	is($node->safe_psql('regress_updated',
			"SELECT extversion FROM pg_extension WHERE extname = 'pgcredit'"),
		$to, "updated to $to");
}

#
# The newest, fresh; and the oldest, fresh, for the control
#
$node->safe_psql('postgres', 'CREATE DATABASE regress_fresh');
$node->safe_psql('regress_fresh', 'CREATE EXTENSION pgcredit');
$node->safe_psql('postgres', 'CREATE DATABASE regress_oldest');
$node->safe_psql('regress_oldest', "CREATE EXTENSION pgcredit VERSION '$oldest'");

my $fresh = describe('regress_fresh');
my $updated = describe('regress_updated');
my $fresh_oldest = describe('regress_oldest');

cmp_ok(scalar(() = $fresh =~ /^function /mg), '>', 100, 'the description lists the functions');
like($fresh, qr/^config dump pgcredit\.account condition ''$/m,
	'the description lists the config-dump registration');

# control (a): the description sees what the upgrade scripts change (the
# version line aside)
SKIP:
{
	skip "no release after $oldest", 1 if $oldest eq $newest;
	my $strip = sub { my $d = shift; $d =~ s/^extension pgcredit version .*\n//m; $d };
	isnt(difference($strip->($fresh_oldest), $strip->($fresh)),
		'', "a fresh $oldest and a fresh $newest differ beyond their version");
}

my $diff = difference($updated, $fresh);
ok($diff eq '', "$oldest updated to $newest has the catalog of a fresh $newest")
  or diag("lines only in the updated database (-) or only in the fresh one (+):\n"
	  . substr($diff, 0, 20000));

#
# The data survived, and the guard still guards
#
is($node->safe_psql('regress_updated', q{
SELECT string_agg(format('%s %s %s', customer, credit_limit, status), ', ' ORDER BY customer)
FROM pgcredit.account;
SELECT string_agg(format('%s %s %s', customer, amount, released_at IS NULL), ', ' ORDER BY id)
FROM pgcredit.held_order;
SELECT string_agg(format('%s %s', customer, open_orders), ', ' ORDER BY customer)
FROM pgcredit.exposure;
}), $before, 'accounts, the held order and exposure survived the update');
is($node->safe_psql('regress_updated',
		"SELECT payment_terms_days FROM pgcredit.tier_policy WHERE tier = 'B'"),
	'40', 'the tier_policy change survived the update');
is($node->safe_psql('regress_updated', 'SELECT count(*) FROM pgcredit.verify_exposure()'),
	'0', 'stored exposure matches the attached tables');

my ($rc, $out, $err) = $node->psql('regress_updated',
	"INSERT INTO erp_order VALUES (2, 'C2', 400)", on_error_stop => 0);
like($err, qr/order for customer "C2" exceeds its credit limit/,
	'the guard refuses an order over the limit after the update');
$node->safe_psql('regress_updated', "INSERT INTO web_order VALUES (3, 'C1', 450)");
is($node->safe_psql('regress_updated', q{
SELECT string_agg(format('%s %s', id, on_hold), ', ' ORDER BY id) FROM web_order;
SELECT count(*) FROM pgcredit.held_order WHERE released_at IS NULL;
SELECT open_orders FROM pgcredit.exposure WHERE customer = 'C1';
}), "1 f, 2 t, 3 t\n2\n600", 'the guard holds an order after the update');
($rc, $out, $err) = $node->psql('regress_updated',
	'DROP TABLE erp_order', on_error_stop => 0);
like($err, qr/cannot drop table public\.erp_order, which is attached to pgcredit/,
	'the DDL guard still refuses dropping an attached table');

# control (b): one comment or one grant missing shows
$node->safe_psql('regress_updated',
	'COMMENT ON COLUMN pgcredit.tier_policy.limit_months IS NULL');
like(difference(describe('regress_updated'), $fresh),
	qr/^\+comment on column limit_months of table pgcredit\.tier_policy: /m,
	'a missing column comment shows in the comparison');
$node->safe_psql('regress_updated',
	'REVOKE SELECT ON pgcredit.watchlist FROM pgcredit_reader');
like(difference(describe('regress_updated'), $fresh),
	qr/^\+relation pgcredit\.watchlist .*pgcredit_reader=SELECT\/pgcredit_owner/m,
	'a missing grant shows in the comparison');

#
# 1.1: an update does not silently change policy values it now refuses
#
SKIP:
{
	skip 'no update to 1.1', 3 unless grep { $_ eq '1.1' } @path;
	$node->safe_psql('postgres', 'CREATE DATABASE regress_nan');
	$node->safe_psql('regress_nan', "CREATE EXTENSION pgcredit VERSION '1.0'");
	$node->safe_psql('regress_nan',
		"UPDATE pgcredit.tier_policy SET limit_months = 'NaN' WHERE tier = 'C'");
	($rc, $out, $err) = $node->psql('regress_nan',
		"ALTER EXTENSION pgcredit UPDATE TO '1.1'", on_error_stop => 0);
	like($err, qr/cannot update pgcredit while tier_policy or external_score_scale holds NaN or infinity/,
		'the update to 1.1 stops on a NaN policy value');
	like($err, qr/DETAIL:  These rows hold such values: tier_policy tier C \(tolerance_pct 0, limit_months NaN\)\./,
		'the error names the row');
	$node->safe_psql('regress_nan',
		"UPDATE pgcredit.tier_policy SET limit_months = 1.5 WHERE tier = 'C'");
	$node->safe_psql('regress_nan', "ALTER EXTENSION pgcredit UPDATE TO '1.1'");
	is($node->safe_psql('regress_nan',
			"SELECT extversion FROM pg_extension WHERE extname = 'pgcredit'"),
		'1.1', 'once corrected, the update goes through');
}

#
# Every C symbol a released or upgrade script names is in the library
#
my $libdir = $node->config_data('--pkglibdir');
my $so = ($ENV{PGCREDIT_DESTDIR} // '') . "$libdir/pgcredit.so";
ok(-f $so, "the library is at $so");
my %exported = map { (split ' ')[-1] => 1 } split /\n/, `nm -D --defined-only '$so'`;
my (%named, @bare);
for my $f (glob("$repo/sql/pgcredit--*.sql"), glob("$repo/sql/install/*.sql"))
{
	my $text = slurp_file($f);
	# a bare 'MODULE_PATHNAME' would tie the C symbol to the SQL name
	push @bare, basename($f) if $text =~ /'MODULE_PATHNAME'(?!\s*,)/;
	$named{$1}{ basename($f) } = 1 while $text =~ /'MODULE_PATHNAME'\s*,\s*'(\w+)'/g;
}
is("@bare", '', 'every C function names its C symbol');
cmp_ok(scalar(keys %named), '>', 50, 'the scripts name C symbols');
my @missing = grep { !$exported{$_} || !$exported{"pg_finfo_$_"} } sort keys %named;
is("@missing", '', 'every symbol named by a script is exported with its pg_finfo_ record')
  or diag(join "\n", map { "$_ (" . join(', ', sort keys %{ $named{$_} }) . ')' } @missing);

$node->stop;
done_testing();
