/* SPDX-License-Identifier: MIT */
/*
 * glibc_layout MAJOR MINOR: the struct offsets the glibc plugin uses for
 * that glibc version, one "struct.field offset" a line, named as in glibc's
 * malloc.c, for tests/glibc-debian.sh to compare with what gdb reads from
 * that glibc's own debug info (ptype /o): the layouts are checked against
 * each release's DWARF, not against themselves.
 */
#include <stdio.h>
#include <stdlib.h>

#include "../allocators/glibc/layout.h"

int main(int argc, char **argv)
{
	struct ptm_layout l;
	int major, minor;
	bool v2_42;

	if (argc != 3) {
		fprintf(stderr, "usage: %s MAJOR MINOR\n", argv[0]);
		return 64;
	}
	major = atoi(argv[1]);
	minor = atoi(argv[2]);
	v2_42 = major > 2 || (major == 2 && minor >= 42);
	ptm_layout_for_version(major, minor, &l);

	printf("malloc_state.flags %u\n", l.ms_flags);
	if (l.ms_num_fastbins)
		printf("malloc_state.fastbinsY %u\n", l.ms_fastbins);
	printf("malloc_state.top %u\n", l.ms_top);
	printf("malloc_state.last_remainder %u\n", l.ms_last_remainder);
	printf("malloc_state.bins %u\n", l.ms_bins);
	printf("malloc_state.next %u\n", l.ms_next);
	printf("malloc_state.attached_threads %u\n", l.ms_attached_threads);
	printf("malloc_state.system_mem %u\n", l.ms_system_mem);
	printf("malloc_state.sizeof %u\n", l.ms_size);

	printf("malloc_par.mmap_threshold %u\n", l.mp_mmap_threshold);
	if (l.mp_hp_pagesize)
		printf("malloc_par.hp_pagesize %u\n", l.mp_hp_pagesize);
	printf("malloc_par.n_mmaps %u\n", l.mp_n_mmaps);
	printf("malloc_par.mmapped_mem %u\n", l.mp_mmapped_mem);
	printf("malloc_par.sbrk_base %u\n", l.mp_sbrk_base);
	printf("malloc_par.%s %u\n", v2_42 ? "tcache_small_bins" : "tcache_bins",
	       l.mp_tcache_bins);
	printf("malloc_par.tcache_max_bytes %u\n", l.mp_tcache_max_bytes);
	printf("malloc_par.tcache_count %u\n", l.mp_tcache_count);
	printf("malloc_par.sizeof %u\n", l.mp_size);

	printf("_heap_info.sizeof %u\n", l.hi_size);

	printf("tcache_perthread_struct.%s 0\n", v2_42 ? "num_slots" : "counts");
	printf("tcache_perthread_struct.%s.bytes %u\n",
	       v2_42 ? "num_slots" : "counts", l.tc_count_width * l.tc_bins);
	printf("tcache_perthread_struct.entries %u\n", l.tc_entries);
	printf("tcache_perthread_struct.entries.bytes %u\n", 8 * l.tc_bins);
	printf("tcache_perthread_struct.sizeof %u\n",
	       l.tc_entries + 8 * l.tc_bins);
	return 0;
}
