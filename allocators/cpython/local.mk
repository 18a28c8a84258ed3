## The CPython plugin (a managed runtime), built into libcoreheap.a.
libcoreheap_a_SOURCES += \
	allocators/cpython/cpython.c allocators/cpython/cpython.h \
	allocators/cpython/pymalloc.c \
	allocators/cpython/types.c
