## The object graph (issue 4): roots, references, retention paths, leaks,
## dominators and retained sizes, and their commands.
libcoreheap_a_SOURCES += \
	src/graph/roots.c src/graph/roots.h \
	src/graph/graph.c src/graph/graph.h \
	src/graph/dominators.c src/graph/dominators.h

# Unit tests: the block index, dominators against a naive computation, the
# scan, roots and paths on synthetic cores.
check_PROGRAMS += tests/test_graph
TESTS += tests/test_graph
tests_test_graph_SOURCES = tests/test_graph.c tests/error_assertions.h tests/rng.h tests/synthetic_core.c tests/synthetic_core.h
tests_test_graph_CFLAGS = $(TEST_CFLAGS)
tests_test_graph_LDADD = $(TEST_LIBS)
tests_test_graph_LDFLAGS = $(CH_TEST_LINK_FLAGS)

# The retention tests' fixture. Not linked with the live-set recorder: its
# table of every live block would itself be a root of all of them.
check_PROGRAMS += fixtures/graph_heap
fixtures_graph_heap_SOURCES = fixtures/graph_heap.c fixtures/fixture.h \
	fixtures/graph_common.h
fixtures_graph_heap_CFLAGS = -std=gnu11 $(WARN_CFLAGS) -g -O0 -fno-builtin
fixtures_graph_heap_LDFLAGS =
fixtures_graph_heap_LDADD = -lpthread

# why, leaks, refs and top on a core of it: exact answers.
TESTS += tests/graph-cli.sh
EXTRA_DIST += tests/graph-cli.sh

# More allocations than top searches beside its dominator tree: the path
# of large heaps, in top and in report.
check_PROGRAMS += fixtures/graph_bulk
fixtures_graph_bulk_SOURCES = fixtures/graph_bulk.c fixtures/fixture.h \
	fixtures/graph_common.h
fixtures_graph_bulk_CFLAGS = -std=gnu11 $(WARN_CFLAGS) -g -O0 -fno-builtin
fixtures_graph_bulk_LDFLAGS =
fixtures_graph_bulk_LDADD =
TESTS += tests/graph-bulk.sh
EXTRA_DIST += tests/graph-bulk.sh

# Owners with names (issue 10): a named local and an unnamed stack word
# holding one block, a C++ static local, a chain through struct members.
check_PROGRAMS += fixtures/graph_owner
fixtures_graph_owner_SOURCES = fixtures/graph_owner.cc fixtures/fixture.h \
	fixtures/graph_common.h
fixtures_graph_owner_CXXFLAGS = -g -O0 -fno-builtin
fixtures_graph_owner_LDFLAGS =
fixtures_graph_owner_LDADD =
TESTS += tests/graph-owner.sh
EXTRA_DIST += tests/graph-owner.sh

# Roots: pools the program mapped next to malloc's memory, merged with it by
# the kernel, and a dead stack slot (issue 10).
check_PROGRAMS += fixtures/graph_pools
fixtures_graph_pools_SOURCES = fixtures/graph_pools.c fixtures/fixture.h \
	fixtures/graph_common.h
fixtures_graph_pools_CFLAGS = -std=gnu11 $(WARN_CFLAGS) -g -O0 -fno-builtin
fixtures_graph_pools_LDFLAGS =
fixtures_graph_pools_LDADD = -lpthread
TESTS += tests/graph-pools.sh
EXTRA_DIST += tests/graph-pools.sh

# A real program: Debian's python3 on a workload, against an independent
# reachability count.
TESTS += tests/python-leaks.sh
EXTRA_DIST += tests/python-leaks.sh tests/python-reach.py tests/python_workload.py

# A real C++ program: Debian's g++ (cc1plus) mid-compile, against the same
# independent count.
TESTS += tests/real-cxx.sh
EXTRA_DIST += tests/real-cxx.sh
