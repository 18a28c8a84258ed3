## Types (issue 3): every live allocation named by a C++ vtable, by DWARF
## types propagated from the program's variables, or by a guess; the
## types and describe commands.
libcoreheap_a_SOURCES += \
	src/types/vtables.c src/types/vtables.h \
	src/types/dwarf_types.c src/types/dwarf_types.h \
	src/types/types.c src/types/types.h

# Fixtures: heaps with known counts per type. The recorder replaces malloc,
# so no sanitizer flags (see fixtures/local.mk). The C++ fixture is built
# twice; the second copy has its debug sections stripped at link time
# (configure's CXXFLAGS would add -g back), keeping .symtab: classes with a
# vtable must still be named.
TYPES_FIXTURE_COMMON = fixtures/recorder.c fixtures/recorder.h fixtures/fixture.h
check_PROGRAMS += fixtures/types_c fixtures/types_cxx fixtures/types_cxx_nodebug
fixtures_types_c_SOURCES = fixtures/types_c.c $(TYPES_FIXTURE_COMMON)
fixtures_types_c_CFLAGS = -std=gnu11 $(WARN_CFLAGS) -g -O0 -fno-builtin
fixtures_types_c_LDFLAGS =
fixtures_types_cxx_SOURCES = fixtures/types_cxx.cc $(TYPES_FIXTURE_COMMON)
fixtures_types_cxx_CXXFLAGS = -g -O0
fixtures_types_cxx_CFLAGS = -std=gnu11 -g -O0 -fno-builtin
fixtures_types_cxx_LDFLAGS =
fixtures_types_cxx_nodebug_SOURCES = fixtures/types_cxx.cc $(TYPES_FIXTURE_COMMON)
fixtures_types_cxx_nodebug_CXXFLAGS = -O0
fixtures_types_cxx_nodebug_CFLAGS = -std=gnu11 -O0 -fno-builtin
fixtures_types_cxx_nodebug_LDFLAGS = -Wl,--strip-debug
# More typed pointers in a level than a batch of the propagation holds; no
# recorder (it holds fewer blocks).
check_PROGRAMS += fixtures/types_bulk
fixtures_types_bulk_SOURCES = fixtures/types_bulk.c fixtures/fixture.h
fixtures_types_bulk_CFLAGS = -std=gnu11 $(WARN_CFLAGS) -g -O0 -fno-builtin
fixtures_types_bulk_LDFLAGS =
fixtures_types_bulk_LDADD =

# Unit tests on synthetic data, and the exact counts per type on cores of
# the fixtures above.
check_PROGRAMS += tests/test_types
TESTS += tests/test_types tests/types-c.sh tests/types-cxx.sh \
	tests/types-bulk.sh
tests_test_types_SOURCES = tests/test_types.c tests/error_assertions.h tests/synthetic_core.c tests/synthetic_core.h
tests_test_types_CFLAGS = $(TEST_CFLAGS)
tests_test_types_LDADD = $(TEST_LIBS)
tests_test_types_LDFLAGS = $(CH_TEST_LINK_FLAGS)
EXTRA_DIST += tests/types-c.sh tests/types-cxx.sh tests/types-lib.sh \
	tests/types-bulk.sh
