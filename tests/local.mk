## Exactness tests: coreheap must list exactly the live set each fixture
## recorded (tests/exact_harness.h), plus tests of the recorder and of the
## harness itself. Included by the top Makefile.am, after fixtures/local.mk.

check_PROGRAMS += \
	tests/test_recorder \
	tests/test_liveset_selfcheck \
	tests/test_glibc_exact \
	tests/test_jemalloc_exact

TESTS += \
	tests/test_recorder \
	tests/test_liveset_selfcheck \
	tests/test_glibc_exact \
	tests/test_jemalloc_exact \
	tests/selfcheck-fake-coreheap.sh

# The recorder replaces malloc here too: fixture flags, no sanitizers.
tests_test_recorder_SOURCES = tests/test_recorder.c \
	tests/liveset.c tests/liveset.h $(FIXTURE_COMMON)
tests_test_recorder_CFLAGS = $(FIXTURE_CFLAGS) $(CRITERION_CFLAGS)
tests_test_recorder_LDFLAGS = $(FIXTURE_LINK_FLAGS)
tests_test_recorder_LDADD = $(CRITERION_LIBS) $(FIXTURE_LIBS)

tests_test_liveset_selfcheck_SOURCES = tests/test_liveset_selfcheck.c \
	tests/liveset.c tests/liveset.h
tests_test_liveset_selfcheck_CFLAGS = $(TEST_CFLAGS)
tests_test_liveset_selfcheck_LDADD = $(CRITERION_LIBS)
tests_test_liveset_selfcheck_LDFLAGS = $(CH_TEST_LINK_FLAGS)

tests_test_glibc_exact_SOURCES = tests/test_glibc_exact.c \
	tests/exact_harness.c tests/exact_harness.h \
	tests/liveset.c tests/liveset.h
tests_test_glibc_exact_CFLAGS = $(TEST_CFLAGS)
tests_test_glibc_exact_LDADD = $(CRITERION_LIBS)
tests_test_glibc_exact_LDFLAGS = $(CH_TEST_LINK_FLAGS)

tests_test_jemalloc_exact_SOURCES = tests/test_jemalloc_exact.c \
	tests/exact_harness.c tests/exact_harness.h \
	tests/liveset.c tests/liveset.h
tests_test_jemalloc_exact_CFLAGS = $(TEST_CFLAGS)
tests_test_jemalloc_exact_LDADD = $(CRITERION_LIBS)
tests_test_jemalloc_exact_LDFLAGS = $(CH_TEST_LINK_FLAGS)

# Run from the source tree at test time (not built): lib.sh is what the
# shell tests share, make-core.sh makes the cores, gdb-heap-oracle.sh
# explains mismatches, fake-coreheap.sh stands in for coreheap in
# selfcheck-fake-coreheap.sh.
EXTRA_DIST += \
	tests/lib.sh \
	tests/make-core.sh \
	tests/gdb-heap-oracle.sh \
	tests/fake-coreheap.sh \
	tests/selfcheck-fake-coreheap.sh

# The stages of src/ include only downwards (src/README).
TESTS += tests/check-layers.sh
EXTRA_DIST += tests/check-layers.sh

# The glibc fixtures built and run in Debian 11, 13, unstable and
# experimental roots
# (debootstrap, cached in debian-roots/ of the build tree; the first run
# takes minutes), their cores read here with --sysroot; glibc_layout prints
# the plugin's struct offsets for comparison with each root's libc6-dbg.
check_PROGRAMS += tests/glibc_layout
tests_glibc_layout_SOURCES = tests/glibc_layout.c
tests_glibc_layout_CFLAGS = $(TEST_CFLAGS)
tests_glibc_layout_LDADD = libcoreheap.a
tests_glibc_layout_LDFLAGS = $(CH_TEST_LINK_FLAGS)
TESTS += \
	tests/glibc-bullseye.sh \
	tests/glibc-trixie.sh \
	tests/glibc-sid.sh \
	tests/glibc-experimental.sh \
	tests/glibc-2.42-layout.sh
# The jemalloc fixtures built against Debian 11's libjemalloc2 5.2.1 in the
# bullseye root, their cores read here with --sysroot.
TESTS += tests/jemalloc-bullseye.sh
EXTRA_DIST += tests/jemalloc-bullseye.sh
EXTRA_DIST += \
	tests/glibc-bullseye.sh \
	tests/glibc-trixie.sh \
	tests/glibc-sid.sh \
	tests/glibc-experimental.sh \
	tests/glibc-2.42-layout.sh \
	tests/glibc-debian.sh \
	tests/debian-fixtures.sh \
	tests/debian-root.sh

# Debian's redis-server, unmodified, with the recorder preloaded: every
# allocation it holds, exactly. liveset_diff is exact_harness.c's
# comparison for shell tests.
check_PROGRAMS += tests/liveset_diff
tests_liveset_diff_SOURCES = tests/liveset_diff.c tests/liveset.c tests/liveset.h
tests_liveset_diff_CFLAGS = $(TEST_CFLAGS)
tests_liveset_diff_LDFLAGS = $(CH_TEST_LINK_FLAGS)
TESTS += tests/jemalloc-redis.sh
EXTRA_DIST += tests/jemalloc-redis.sh tests/recorded-liveset.py tests/drop-thread-notes.py

# summary's totals against mallinfo2(), the core's mappings, kernel cores
# that leave memory out or are cut short, and Debian's cc1plus.
TESTS += tests/summary-totals.sh
EXTRA_DIST += tests/summary-totals.sh tests/core-mappings.py

# Healthy Debian programs (perl, mawk, bash, tclsh, gdb with its Python):
# glibc's own malloc_stats() against the arenas walked, every command clean.
TESTS += tests/real-programs.sh
EXTRA_DIST += tests/real-programs.sh
