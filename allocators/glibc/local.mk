## The glibc malloc (ptmalloc) plugin, built into libcoreheap.a.
libcoreheap_a_SOURCES += \
	allocators/glibc/glibc.c allocators/glibc/glibc.h \
	allocators/glibc/layout.c allocators/glibc/layout.h \
	allocators/glibc/libcfile.c allocators/glibc/libcfile.h \
	allocators/glibc/locate.c \
	allocators/glibc/heaps.c \
	allocators/glibc/runs.c \
	allocators/glibc/tcache.c \
	allocators/glibc/lists.c \
	allocators/glibc/chunks.c \
	allocators/glibc/mallinfo.c allocators/glibc/mmapped.c \
	allocators/glibc/owned.c \
	allocators/glibc/checks.c \
	allocators/glibc/reader.c allocators/glibc/reader.h \
	allocators/glibc/addrset.c allocators/glibc/addrset.h
