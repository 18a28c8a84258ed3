## The process a core came from, as summary and triage tell it: the signal
## of NT_SIGINFO decoded (kernel cores of a fault, of kill, of raise; a
## gcore core) and the whole command line. fixtures/signal_death dies as
## the test asks and writes down what the core must say.
check_PROGRAMS += fixtures/signal_death
fixtures_signal_death_SOURCES = fixtures/signal_death.c $(FIXTURE_COMMON)
fixtures_signal_death_CFLAGS = $(FIXTURE_CFLAGS)
fixtures_signal_death_LDFLAGS = $(FIXTURE_LINK_FLAGS)
fixtures_signal_death_LDADD = $(FIXTURE_LIBS)

TESTS += tests/signals-cli.sh
EXTRA_DIST += tests/signals-cli.sh
