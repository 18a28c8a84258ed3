## The jemalloc plugin, built into libcoreheap.a.
libcoreheap_a_SOURCES += \
	allocators/jemalloc/jemalloc.c allocators/jemalloc/jemalloc.h \
	allocators/jemalloc/layout.h allocators/jemalloc/layouts.c \
	allocators/jemalloc/locate.c \
	allocators/jemalloc/tcache.c \
	allocators/jemalloc/extents.c \
	allocators/jemalloc/prof.c \
	allocators/jemalloc/hpa.c \
	allocators/jemalloc/profmeta.c \
	allocators/jemalloc/ptrset.c allocators/jemalloc/ptrset.h
