# Shared helpers of pgcredit's TAP tests (test/t/*.pl).
#
# Every TAP test runs on a node of its own, made by node(): a fresh
# cluster (C.UTF-8 locale when the system has it, so output never depends
# on the machine's language), started, that finds pgcredit wherever it was
# installed: in the server's own directories, or under the DESTDIR named
# by the environment variable PGCREDIT_DESTDIR (Debian's extension_destdir
# setting), so that a build installed with "make install DESTDIR=..." is
# tested without touching the system.
#
#   use PgCreditTest;
#   my $node = PgCreditTest::node('crash');
#   my $node = PgCreditTest::node('cron',
#       conf => "shared_preload_libraries = 'pg_cron'");
#
# Run by test/suites.sh (make test) and by make prove, with PERL5LIB
# holding PostgreSQL's test modules and this directory.
package PgCreditTest;

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use Test::More;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;

# The top of the source tree: this file is in test/perl/.
our $REPO = abs_path(dirname(__FILE__) . '/../..');

# The path of a file of the source tree, from the top: repo('test/stress').
sub repo
{
	my ($path) = @_;
	return defined $path ? "$REPO/$path" : $REPO;
}

# The shared sample ledger (the IBM accounts-receivable file): SHARED_DATA
# when set, else beside this checkout, else beside the repository it was
# cloned from.  Returns the first candidate even when it does not exist,
# so that a test can say where it looked.
sub shared_data
{
	return $ENV{SHARED_DATA} if $ENV{SHARED_DATA};
	my $beside = abs_path("$REPO/..") . '/shared/data/ibm-ar';
	return $beside if -d $beside;
	my $origin = `git -C '$REPO' config --get remote.origin.url 2>/dev/null`;
	chomp $origin;
	return "$origin/../shared/data/ibm-ar"
	  if $origin ne '' && -d "$origin/../shared/data/ibm-ar";
	return $beside;
}

# The locale of every node: C.UTF-8 when the system has it.
sub _locale
{
	my $all = `locale -a 2>/dev/null` // '';
	return $all =~ /^C\.utf-?8$/mi ? 'C.UTF-8' : 'C';
}

# A new node named $name, initialised and started.  Options:
#   conf  => extra postgresql.conf lines (a string, or a reference to a
#            list of lines), e.g. shared_preload_libraries
#   init  => a reference to a hash of extra options for Cluster's init()
#   start => 0 to leave the node stopped (more conf can then be added)
sub node
{
	my ($name, %opts) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	my %init = %{ $opts{init} // {} };
	$init{extra} = [ '--locale=' . _locale(), @{ $init{extra} // [] } ];
	$node->init(%init);

	if (my $destdir = $ENV{PGCREDIT_DESTDIR})
	{
		$destdir =~ s/'/''/g;
		$node->append_conf('postgresql.conf',
			"extension_destdir = '$destdir'");
	}
	if (defined $opts{conf})
	{
		my $conf = $opts{conf};
		$conf = join("\n", @$conf) if ref $conf eq 'ARRAY';
		$node->append_conf('postgresql.conf', $conf);
	}
	$node->start unless defined $opts{start} && !$opts{start};
	return $node;
}

# Run $sql in database $db of $node and return its output (unaligned,
# tuples only); dies with psql's standard error when a statement fails.
# Optional psql variables: sql($node, $db, $sql, customers => 50).
sub sql
{
	my ($node, $db, $sql, %vars) = @_;
	my @vars = map { ('-v', "$_=$vars{$_}") } sort keys %vars;
	my ($stdout, $stderr);
	my $rc = $node->psql(
		$db, $sql,
		stdout => \$stdout,
		stderr => \$stderr,
		on_error_stop => 1,
		extra_params => \@vars);
	die "psql failed in database $db (exit $rc): $stderr\n" if $rc != 0;
	return $stdout;
}

# Run the SQL file $path (from the top of the source tree) like sql().
sub sql_file
{
	my ($node, $db, $path, %vars) = @_;
	return sql($node, $db, slurp_file(repo($path)), %vars);
}

# Wait until the boolean SQL expression $expr is true in $db, checking
# every half second for up to $seconds (default 180); true when it came
# true.  Gentler on a busy machine than Cluster's poll_query_until, which
# starts a psql ten times a second.
sub wait_until
{
	my ($node, $db, $expr, $seconds) = @_;
	my $tries = 2 * ($seconds // 180);
	for (1 .. $tries)
	{
		my $got = eval { sql($node, $db, "SELECT ($expr)::text") } // '';
		return 1 if $got eq 'true';
		select(undef, undef, undef, 0.5);
	}
	diag("still not true after ${\($tries / 2)} seconds: $expr");
	return 0;
}

# Pass when the boolean SQL expression $expr is true in $db; on failure
# the expression is shown.
sub sql_true
{
	my ($node, $db, $expr, $name) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	my $got = sql($node, $db, "SELECT coalesce(($expr)::text, 'null')");
	return is($got, 'true', $name) || diag("false: $expr");
}

1;
