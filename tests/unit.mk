## Unit tests of the library (Criterion), on synthetic cores.
UNIT_TEST_SOURCES = tests/synthetic_core.c tests/synthetic_core.h \
	tests/error_assertions.h

check_PROGRAMS += tests/test_core tests/test_plugins tests/test_output tests/test_cli
TESTS += tests/test_core tests/test_plugins tests/test_output tests/test_cli
check_PROGRAMS += tests/test_vector tests/test_sort tests/test_page_pool \
	tests/test_page_release tests/test_threads
TESTS += tests/test_vector tests/test_sort tests/test_page_pool \
	tests/test_page_release tests/test_threads

# The threads' stacks, unwound once per program.
check_PROGRAMS += tests/test_stacks
TESTS += tests/test_stacks
tests_test_stacks_SOURCES = tests/test_stacks.c $(UNIT_TEST_SOURCES)
tests_test_stacks_CFLAGS = $(TEST_CFLAGS)
tests_test_stacks_LDADD = $(TEST_LIBS)
tests_test_stacks_LDFLAGS = $(CH_TEST_LINK_FLAGS)

# The jemalloc plugin's decoding, against values built as jemalloc does.
check_PROGRAMS += tests/test_jemalloc
TESTS += tests/test_jemalloc
tests_test_jemalloc_SOURCES = tests/test_jemalloc.c
tests_test_jemalloc_CFLAGS = $(TEST_CFLAGS)
tests_test_jemalloc_LDADD = $(TEST_LIBS)
tests_test_jemalloc_LDFLAGS = $(CH_TEST_LINK_FLAGS)
tests_test_cli_SOURCES = tests/test_cli.c
tests_test_cli_CFLAGS = $(TEST_CFLAGS)
tests_test_cli_LDADD = libcoreheap_cli.a $(TEST_LIBS)
tests_test_cli_LDFLAGS = $(CH_TEST_LINK_FLAGS)
tests_test_core_SOURCES = tests/test_core.c $(UNIT_TEST_SOURCES)
tests_test_core_CFLAGS = $(TEST_CFLAGS)
tests_test_core_LDADD = $(TEST_LIBS)
tests_test_core_LDFLAGS = $(CH_TEST_LINK_FLAGS)
tests_test_plugins_SOURCES = tests/test_plugins.c $(UNIT_TEST_SOURCES)
tests_test_plugins_CFLAGS = $(TEST_CFLAGS)
tests_test_plugins_LDADD = $(TEST_LIBS)
tests_test_plugins_LDFLAGS = $(CH_TEST_LINK_FLAGS)
tests_test_output_SOURCES = tests/test_output.c
tests_test_output_CFLAGS = $(TEST_CFLAGS)
tests_test_output_LDADD = $(TEST_LIBS)
tests_test_output_LDFLAGS = $(CH_TEST_LINK_FLAGS)
tests_test_vector_SOURCES = tests/test_vector.c
tests_test_vector_CFLAGS = $(TEST_CFLAGS)
tests_test_vector_LDADD = $(TEST_LIBS)
tests_test_vector_LDFLAGS = $(CH_TEST_LINK_FLAGS)
tests_test_page_pool_SOURCES = tests/test_page_pool.c tests/all_bytes.h
tests_test_page_pool_CFLAGS = $(TEST_CFLAGS)
tests_test_page_pool_LDADD = $(TEST_LIBS)
tests_test_page_pool_LDFLAGS = $(CH_TEST_LINK_FLAGS)
tests_test_page_release_SOURCES = tests/test_page_release.c tests/all_bytes.h
tests_test_page_release_CFLAGS = $(TEST_CFLAGS)
tests_test_page_release_LDADD = $(TEST_LIBS)
tests_test_page_release_LDFLAGS = $(CH_TEST_LINK_FLAGS)
tests_test_threads_SOURCES = tests/test_threads.c
tests_test_threads_CFLAGS = $(TEST_CFLAGS)
tests_test_threads_LDADD = $(TEST_LIBS)
tests_test_threads_LDFLAGS = $(CH_TEST_LINK_FLAGS)
tests_test_sort_SOURCES = tests/test_sort.c tests/rng.h tests/error_assertions.h
tests_test_sort_CFLAGS = $(TEST_CFLAGS)
tests_test_sort_LDADD = $(TEST_LIBS)
tests_test_sort_LDFLAGS = $(CH_TEST_LINK_FLAGS)

# The plugin test loads this shared object; built without libtool, as a
# user would build a plugin: cc -shared -fPIC -I include plugin.c.
check_DATA = tests/toy_plugin.so
tests/toy_plugin.so: tests/toy_plugin.c include/coreheap/plugin.h
	$(AM_V_CC)$(CC) -std=gnu11 -shared -fPIC -I$(top_srcdir)/include \
		$(CFLAGS) -o $@ $(top_srcdir)/tests/toy_plugin.c
CLEANFILES += tests/toy_plugin.so
EXTRA_DIST += tests/toy_plugin.c

# Command-line behaviour: bad input, usage, exit statuses.
TESTS += tests/cli-errors.sh
EXTRA_DIST += tests/cli-errors.sh
