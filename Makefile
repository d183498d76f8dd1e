# pgcredit: customer credit control inside PostgreSQL (PGXS build)

EXTENSION  = pgcredit
EXTVERSION = 1.0

MODULE_big = pgcredit
OBJS       = $(patsubst %.c,%.o,$(wildcard src/*.c))

DATA       = $(wildcard sql/$(EXTENSION)--*.sql)

# One regression file a feature: every sql/*.sql except the install and
# upgrade scripts.
TESTS      = $(filter-out sql/$(EXTENSION)--%,$(wildcard sql/*.sql))
REGRESS    = $(patsubst sql/%.sql,%,$(TESTS))
REGRESS_OPTS = --inputdir=. --load-extension=$(EXTENSION)

ISOLATION  = $(patsubst test/isolation/specs/%.spec,%,$(wildcard test/isolation/specs/*.spec))
ISOLATION_OPTS = --inputdir=test/isolation --load-extension=$(EXTENSION)

PG_CPPFLAGS = -I$(srcdir)/src
SHLIB_LINK  = -lcsv

EXTRA_CLEAN = results output_iso regression.diffs regression.out \
              test/isolation/results test/out

# The shared sample ledger read by the tests and the demo: beside this
# checkout, or beside the repository it was cloned from.  It is not part
# of the repository: without it, csv_sample and ibm_sample skip (their
# expected/*_1.out) and the rest of installcheck runs as usual.
SHARED_CANDIDATES := $(abspath $(CURDIR)/../shared/data/ibm-ar) \
	$(abspath $(shell git -C $(CURDIR) config --get remote.origin.url 2>/dev/null)/../shared/data/ibm-ar)
SHARED_DATA ?= $(firstword $(wildcard $(SHARED_CANDIDATES)) $(SHARED_CANDIDATES))
export SHARED_DATA

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# Every object is rebuilt when a header changes (PGXS tracks no dependencies)
$(OBJS): $(wildcard src/*.h)

# As root, pg_regress would connect as role "root", which a server rarely
# has: say what to do instead of failing on that.  (make test runs
# pg_regress itself inside pg_virtualenv, which sets PGUSER.)
.PHONY: installcheck-user
installcheck: installcheck-user
installcheck-user:
	@if [ "$$(id -u)" = 0 ] && [ -z "$${PGUSER:-}" ]; then \
		echo 'make installcheck: as root, the tests would connect as role "root", which PostgreSQL does not create' >&2; \
		echo 'Run it as the postgres user (sudo -u postgres make installcheck, in a copy of the tree it can write) or set PGUSER.' >&2; \
		exit 1; \
	fi

# Project targets: thin wrappers over the scripts in test/.
.PHONY: demo test deps bench stress fuzz fuzz-sql

deps:
	@bash test/setup.sh

demo:
	@bash test/demo/run.sh

bench:
	@bash test/bench/run.sh

stress:
	@bash test/stress/make_stress.sh

fuzz:
	@bash test/setup.sh
	@FUZZ_SECONDS=$${FUZZ_SECONDS:-300} bash test/fuzz/run.sh

fuzz-sql:
	@bash test/fuzz_sql/make_fuzz_sql.sh

test:
	@bash test/run.sh

# Print a make variable, for the test scripts: make -s print-REGRESS
print-%:
	@echo $($*)
