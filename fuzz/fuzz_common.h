/* SPDX-License-Identifier: MIT */
/**
 * @file
 * What the libFuzzer targets share: the fuzzer's bytes as a file, since
 * coreheap opens cores by path and maps them.
 */
#ifndef COREHEAP_FUZZ_COMMON_H
#define COREHEAP_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

/**
 * Put data into the target's one memory file (made on the first call) and
 * return its path ("/proc/self/fd/N"), valid until the next call. The file
 * is a regular file, as a core on disk is. NULL if it cannot be written
 * (then the target skips the input).
 */
const char *fuzz_file(const uint8_t *data, size_t size);

/**
 * Read a little-endian u64 at data[*off] and advance *off; 0 past the end.
 * For targets that take the addresses they read from the input's tail.
 */
uint64_t fuzz_u64(const uint8_t *data, size_t size, size_t *off);

/**
 * libFuzzer's entry points, declared for -Wmissing-prototypes. fuzz_common.c
 * defines LLVMFuzzerInitialize() for every target: it sets libelf up.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#endif /* COREHEAP_FUZZ_COMMON_H */
