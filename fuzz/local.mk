## libFuzzer targets (./configure CC=clang --enable-fuzzing) and `make fuzz'.
## Included by the top Makefile.am, after fixtures/local.mk.
FUZZ_TARGETS = fuzz/fuzz_core fuzz/fuzz_address_space fuzz/fuzz_modules \
	fuzz/fuzz_glibc fuzz/fuzz_jemalloc fuzz/fuzz_cpython fuzz/fuzz_pipeline
FUZZ_COMMON = fuzz/fuzz_common.c fuzz/fuzz_common.h
# The allocator targets: one source, built once per plugin, over the one
# host that serves a snapshot.
FUZZ_ALLOCATOR_SOURCES = fuzz/fuzz_allocator.c fuzz/fuzz_host.c fuzz/fuzz_host.h \
	fuzz/snapshot.h
FUZZ_LIBS = libcoreheap.a $(LIBDW_LIBS) $(LIBELF_LIBS) $(PCRE2_LIBS) $(CORE_READ_LIBS) $(LIBS)
EXTRA_DIST += fuzz/run.sh fuzz/python_seed.py

if ENABLE_FUZZING
noinst_PROGRAMS = $(FUZZ_TARGETS) fuzz/fuzz_seeds

fuzz_fuzz_core_SOURCES = fuzz/fuzz_core.c $(FUZZ_COMMON)
fuzz_fuzz_core_CFLAGS = $(CH_CFLAGS)
fuzz_fuzz_core_LDFLAGS = $(FUZZ_LDFLAGS)
fuzz_fuzz_core_LDADD = $(FUZZ_LIBS)

fuzz_fuzz_address_space_SOURCES = fuzz/fuzz_address_space.c $(FUZZ_COMMON)
fuzz_fuzz_address_space_CFLAGS = $(CH_CFLAGS)
fuzz_fuzz_address_space_LDFLAGS = $(FUZZ_LDFLAGS)
fuzz_fuzz_address_space_LDADD = $(FUZZ_LIBS)

fuzz_fuzz_modules_SOURCES = fuzz/fuzz_modules.c $(FUZZ_COMMON)
fuzz_fuzz_modules_CFLAGS = $(CH_CFLAGS)
fuzz_fuzz_modules_LDFLAGS = $(FUZZ_LDFLAGS)
fuzz_fuzz_modules_LDADD = $(FUZZ_LIBS)

fuzz_fuzz_glibc_SOURCES = $(FUZZ_ALLOCATOR_SOURCES) $(FUZZ_COMMON)
fuzz_fuzz_glibc_CFLAGS = $(CH_CFLAGS) -DFUZZ_ALLOCATOR='"glibc"'
fuzz_fuzz_glibc_LDFLAGS = $(FUZZ_LDFLAGS)
fuzz_fuzz_glibc_LDADD = $(FUZZ_LIBS)

fuzz_fuzz_jemalloc_SOURCES = $(FUZZ_ALLOCATOR_SOURCES) $(FUZZ_COMMON)
fuzz_fuzz_jemalloc_CFLAGS = $(CH_CFLAGS) -DFUZZ_ALLOCATOR='"jemalloc"'
fuzz_fuzz_jemalloc_LDFLAGS = $(FUZZ_LDFLAGS)
fuzz_fuzz_jemalloc_LDADD = $(FUZZ_LIBS)

fuzz_fuzz_cpython_SOURCES = $(FUZZ_ALLOCATOR_SOURCES) $(FUZZ_COMMON)
fuzz_fuzz_cpython_CFLAGS = $(CH_CFLAGS) -DFUZZ_ALLOCATOR='"cpython"'
fuzz_fuzz_cpython_LDFLAGS = $(FUZZ_LDFLAGS)
fuzz_fuzz_cpython_LDADD = $(FUZZ_LIBS)

fuzz_fuzz_pipeline_SOURCES = fuzz/fuzz_pipeline.c $(FUZZ_COMMON)
fuzz_fuzz_pipeline_CFLAGS = $(CH_CFLAGS)
fuzz_fuzz_pipeline_LDFLAGS = $(FUZZ_LDFLAGS)
fuzz_fuzz_pipeline_LDADD = $(FUZZ_LIBS)

# Writes the seeds; linked like the tool (no libFuzzer main).
fuzz_fuzz_seeds_SOURCES = fuzz/fuzz_seeds.c fuzz/snapshot.h fuzz/fuzz_host.c fuzz/fuzz_host.h
fuzz_fuzz_seeds_CFLAGS = $(CH_CFLAGS)
fuzz_fuzz_seeds_LDFLAGS = $(SANITIZER_LDFLAGS)
fuzz_fuzz_seeds_LDADD = $(FUZZ_LIBS)

# Seconds each target runs for in `make fuzz'; FUZZ_TARGET=fuzz_glibc runs
# that one only.
FUZZ_SECONDS = 20
FUZZ_SEED_FIXTURES = fixtures/glibc_mixed fixtures/damage_fastbin fixtures/glibc_threads \
	fixtures/jemalloc_mixed fixtures/jemalloc_threads

# Seed corpora, made from the fixtures' cores (tests/make-core.sh) when
# the targets are built: fuzz/seeds/<target>/.
fuzz/seeds.stamp: fuzz/fuzz_seeds $(FUZZ_SEED_FIXTURES) $(srcdir)/fuzz/run.sh $(srcdir)/tests/make-core.sh \
		$(srcdir)/tests/make-python-core.sh $(srcdir)/fuzz/python_seed.py
	$(AM_V_GEN)$(SHELL) $(srcdir)/fuzz/run.sh seeds '$(abs_top_srcdir)' '$(abs_top_builddir)' $(FUZZ_SEED_FIXTURES)
	@touch $@
all-local: fuzz/seeds.stamp

fuzz: $(FUZZ_TARGETS) fuzz/seeds.stamp
	$(SHELL) $(srcdir)/fuzz/run.sh run '$(abs_top_srcdir)' '$(abs_top_builddir)' \
		'$(FUZZ_SECONDS)' $(FUZZ_TARGET) $(FUZZ_TARGETS)
else
fuzz:
	@echo "make fuzz: configure with CC=clang --enable-fuzzing first (README, Fuzzing)" >&2; exit 1
endif
.PHONY: fuzz

clean-local: clean-fuzz
clean-fuzz:
	rm -rf fuzz/seeds fuzz/seeds.stamp fuzz/corpus fuzz/artifacts fuzz/cores
.PHONY: clean-fuzz
