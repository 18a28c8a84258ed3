## The hostile-core corpus (tests/hostile-cores.sh): mutants of a fixture's
## core, and of a python3 core (tests/hostile-python.sh), made at test time
## by tests/hostile_mutate, every command run on each. Included by the top Makefile.am, after fixtures/local.mk.
check_PROGRAMS += tests/hostile_mutate
# Built like the tests, sanitizers included: it parses the base core too.
tests_hostile_mutate_SOURCES = tests/hostile_mutate.c
tests_hostile_mutate_CFLAGS = $(AM_CFLAGS) $(SANITIZER_CFLAGS)
tests_hostile_mutate_LDFLAGS = $(SANITIZER_LDFLAGS)

TESTS += tests/hostile-cores.sh tests/hostile-python.sh
EXTRA_DIST += tests/hostile-cores.sh tests/hostile-python.sh tests/hostile_python.py \
	tests/make-python-core.sh
# Cores that once broke a command: every command runs on each.
EXTRA_DIST += tests/hostile-regressions
