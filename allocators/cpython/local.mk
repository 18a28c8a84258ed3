## The CPython plugin (a managed runtime), built into libcoreheap.a.
libcoreheap_a_SOURCES += \
	allocators/cpython/cpython.c allocators/cpython/cpython.h \
	allocators/cpython/pymalloc.c \
	allocators/cpython/types.c \
	allocators/cpython/owned.c \
	allocators/cpython/layout.c \
	allocators/cpython/frames.c

# Debian's python3, unmodified, on designed objects that it records: here
# (3.11) and in a Debian 13 root (3.13; debootstrap, cached in
# debian-roots/ of the build tree).
TESTS += tests/python-objects.sh tests/python-trixie.sh
EXTRA_DIST += tests/python-objects.sh tests/python_objects.py \
	tests/python-trixie.sh
