## The CPython plugin (a managed runtime), built into libcoreheap.a.
libcoreheap_a_SOURCES += \
	allocators/cpython/cpython.c allocators/cpython/cpython.h \
	allocators/cpython/pymalloc.c \
	allocators/cpython/types.c \
	allocators/cpython/owned.c \
	allocators/cpython/refs.c \
	allocators/cpython/layout.c \
	allocators/cpython/frames.c

# Debian's python3, unmodified, on designed objects that it records: here
# (3.11) and in a Debian 13 root (3.13; debootstrap, cached in
# debian-roots/ of the build tree).
TESTS += tests/python-objects.sh tests/python-trixie.sh
EXTRA_DIST += tests/python-objects.sh tests/python_objects.py \
	tests/python-trixie.sh

# The plugin's struct offsets per version (tests/python_layout), compared
# by the tests with the interpreter's own headers
# (tests/python_layout_check.c, compiled at test time against them).
check_PROGRAMS += tests/python_layout
tests_python_layout_SOURCES = tests/python_layout.c
tests_python_layout_CFLAGS = $(TEST_CFLAGS)
tests_python_layout_LDADD = libcoreheap.a
tests_python_layout_LDFLAGS = $(CH_TEST_LINK_FLAGS)
EXTRA_DIST += tests/python_layout_check.c

# The plugin's decoding: location tables, the layout from debug offsets,
# 3.13's exact references (inline values, int keys).
check_PROGRAMS += tests/test_cpython
TESTS += tests/test_cpython
tests_test_cpython_SOURCES = tests/test_cpython.c
tests_test_cpython_CFLAGS = $(TEST_CFLAGS)
tests_test_cpython_LDADD = $(TEST_LIBS)
tests_test_cpython_LDFLAGS = $(CH_TEST_LINK_FLAGS)

# CPython embedded through libpython, with a subinterpreter.
TESTS += tests/python-embed.sh
EXTRA_DIST += tests/python-embed.sh fixtures/python_embed.c
