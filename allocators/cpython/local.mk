## The CPython plugin (a managed runtime), built into libcoreheap.a.
libcoreheap_a_SOURCES += \
	allocators/cpython/cpython.c allocators/cpython/cpython.h \
	allocators/cpython/pymalloc.c \
	allocators/cpython/types.c \
	allocators/cpython/owned.c \
	allocators/cpython/layout.c \
	allocators/cpython/frames.c

# Debian's python3, unmodified, on designed objects that it records.
TESTS += tests/python-objects.sh
EXTRA_DIST += tests/python-objects.sh tests/python_objects.py
