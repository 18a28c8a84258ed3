// SPDX-License-Identifier: MIT
#include <errno.h>
#include <inttypes.h>
#include <lz4frame.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "base/large_alloc.h"
#include "base/prefault.h"
#include "base/progress.h"
#include "core/core_image.h"

// Input is read in pieces of this size.
#define INPUT_CHUNK (1024 * 1024)
// The mapping starts at this size and doubles (virtual memory only: pages
// are committed as they are written).
#define INITIAL_MAPPING (64 * 1024 * 1024)
// Room the decoder gets at least per step.
#define MIN_ROOM (1024 * 1024)
// Input the decoder gets at most per step.
#define MAX_STEP_INPUT (16 * 1024)
// xz's decoder allocates its dictionary as the stream's header says: this
// bounds it (xz -9 needs 65 MiB; the format allows 1.5 GiB).
#define XZ_MEMORY_LIMIT (256 * 1024 * 1024)

static const struct {
	const char *name;
	uint8_t magic[CH_CORE_MAGIC_SIZE];
	size_t len;
} magics[] = {
	{ "zstd", { 0x28, 0xb5, 0x2f, 0xfd }, 4 },
	{ "xz", { 0xfd, '7', 'z', 'X', 'Z', 0x00 }, 6 },
	{ "lz4", { 0x04, 0x22, 0x4d, 0x18 }, 4 },
	{ "gzip", { 0x1f, 0x8b }, 2 },
};

const char *ch_core_image_compression(const uint8_t *bytes, size_t len)
{
	for (size_t i = 0; i < sizeof(magics) / sizeof(magics[0]); i++) {
		if (len >= magics[i].len &&
		    memcmp(bytes, magics[i].magic, magics[i].len) == 0)
			return magics[i].name;
	}
	return NULL;
}

uint64_t ch_core_image_limit(void)
{
	const char *value = getenv("COREHEAP_DECOMPRESS_LIMIT");
	long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);

	if (value && *value && *value != '-') {
		char *end;
		uint64_t limit, scale = 1;

		errno = 0;
		limit = strtoull(value, &end, 10);
		switch (*end) {
		case 'K': case 'k': scale = UINT64_C(1) << 10; end++; break;
		case 'M': case 'm': scale = UINT64_C(1) << 20; end++; break;
		case 'G': case 'g': scale = UINT64_C(1) << 30; end++; break;
		case 'T': case 't': scale = UINT64_C(1) << 40; end++; break;
		}
		if (!errno && end != value && *end == '\0' && limit > 0 &&
		    !__builtin_mul_overflow(limit, scale, &limit))
			return limit;
	}
	if (pages <= 0 || page <= 0)
		return UINT64_C(1) << 34;
	return (uint64_t)pages * (uint64_t)page;
}

/*
 * One decoder: decode() takes what it can from *in and writes what it can
 * to *out, advancing both; finish says no input follows. It sets *whole
 * when the input so far ends at the end of a stream (a frame, a member),
 * and returns false with *why on damage.
 */
struct decoder {
	const char *name;
	bool (*init)(void **state);
	bool (*decode)(void *state, const uint8_t **in, size_t *in_left,
		       uint8_t **out, size_t *out_left, bool finish,
		       bool *whole, const char **why);
	void (*end)(void *state);
};

static bool copy_init(void **state)
{
	*state = NULL;
	return true;
}

static bool copy_decode(void *state, const uint8_t **in, size_t *in_left,
			uint8_t **out, size_t *out_left, bool finish,
			bool *whole, const char **why)
{
	size_t n = *in_left < *out_left ? *in_left : *out_left;

	memcpy(*out, *in, n);
	*in += n;
	*in_left -= n;
	*out += n;
	*out_left -= n;
	*whole = true;
	return true;
}

static void copy_end(void *state)
{
}

static bool zstd_init(void **state)
{
	// The decoder's window is bounded by ZSTD_d_windowLogMax's default
	// (128 MiB): a frame asking for more is refused, not allocated.
	*state = ZSTD_createDStream();
	return *state != NULL;
}

static bool zstd_decode(void *state, const uint8_t **in, size_t *in_left,
			uint8_t **out, size_t *out_left, bool finish,
			bool *whole, const char **why)
{
	ZSTD_inBuffer input = { *in, *in_left, 0 };
	ZSTD_outBuffer output = { *out, *out_left, 0 };
	size_t hint = ZSTD_decompressStream(state, &output, &input);

	*in += input.pos;
	*in_left -= input.pos;
	*out += output.pos;
	*out_left -= output.pos;
	if (ZSTD_isError(hint)) {
		*why = ZSTD_getErrorName(hint);
		return false;
	}
	// 0: a frame is decoded and flushed whole. A call that did nothing
	// (no input left) says nothing of where the stream stands.
	if (input.pos || output.pos)
		*whole = hint == 0;
	return true;
}

static void zstd_end(void *state)
{
	ZSTD_freeDStream(state);
}

static bool xz_init(void **state)
{
	lzma_stream *stream = malloc(sizeof(*stream));

	if (!stream)
		return false;
	*stream = (lzma_stream)LZMA_STREAM_INIT;
	if (lzma_stream_decoder(stream, XZ_MEMORY_LIMIT, LZMA_CONCATENATED) !=
	    LZMA_OK) {
		free(stream);
		return false;
	}
	*state = stream;
	return true;
}

static bool xz_decode(void *state, const uint8_t **in, size_t *in_left,
		      uint8_t **out, size_t *out_left, bool finish,
		      bool *whole, const char **why)
{
	lzma_stream *stream = state;
	lzma_ret ret;

	stream->next_in = *in;
	stream->avail_in = *in_left;
	stream->next_out = *out;
	stream->avail_out = *out_left;
	ret = lzma_code(stream, finish ? LZMA_FINISH : LZMA_RUN);
	*in = stream->next_in;
	*in_left = stream->avail_in;
	*out = stream->next_out;
	*out_left = stream->avail_out;
	switch (ret) {
	case LZMA_OK:
		return true;
	case LZMA_BUF_ERROR:
		// No progress possible: at the input's end, a stream cut short.
		return true;
	case LZMA_STREAM_END:
		*whole = true;
		return true;
	case LZMA_MEMLIMIT_ERROR:
		*why = "its dictionary needs more than 256 MiB";
		return false;
	case LZMA_MEM_ERROR:
		*why = "out of memory";
		return false;
	case LZMA_FORMAT_ERROR:
		*why = "not an xz stream";
		return false;
	case LZMA_OPTIONS_ERROR:
		*why = "unsupported options";
		return false;
	default:
		*why = "corrupt data";
		return false;
	}
}

static void xz_end(void *state)
{
	lzma_end(state);
	free(state);
}

static bool lz4_init(void **state)
{
	LZ4F_dctx *context;

	if (LZ4F_isError(LZ4F_createDecompressionContext(&context,
							 LZ4F_VERSION)))
		return false;
	*state = context;
	return true;
}

static bool lz4_decode(void *state, const uint8_t **in, size_t *in_left,
		       uint8_t **out, size_t *out_left, bool finish,
		       bool *whole, const char **why)
{
	size_t in_size = *in_left, out_size = *out_left;
	size_t hint = LZ4F_decompress(state, *out, &out_size, *in, &in_size,
				      NULL);

	*in += in_size;
	*in_left -= in_size;
	*out += out_size;
	*out_left -= out_size;
	if (LZ4F_isError(hint)) {
		*why = LZ4F_getErrorName(hint);
		return false;
	}
	// 0: a frame is decoded whole; the next call starts another (a call
	// that did nothing says nothing).
	if (in_size || out_size)
		*whole = hint == 0;
	return true;
}

static void lz4_end(void *state)
{
	LZ4F_freeDecompressionContext(state);
}

static bool gzip_init(void **state)
{
	z_stream *stream = calloc(1, sizeof(*stream));

	// 16 + 15: a gzip header and the largest window (32 KiB).
	if (!stream || inflateInit2(stream, 16 + 15) != Z_OK) {
		free(stream);
		return false;
	}
	*state = stream;
	return true;
}

static bool gzip_decode(void *state, const uint8_t **in, size_t *in_left,
			uint8_t **out, size_t *out_left, bool finish,
			bool *whole, const char **why)
{
	z_stream *stream = state;
	// zlib counts in unsigned int.
	uInt in_size = *in_left > UINT32_MAX ? UINT32_MAX : *in_left;
	uInt out_size = *out_left > UINT32_MAX ? UINT32_MAX : *out_left;
	int ret;

	// The next member of a multi-member file (gzip a b > c).
	if (*whole && in_size) {
		if (inflateReset(stream) != Z_OK) {
			*why = "cannot restart the decoder";
			return false;
		}
		*whole = false;
	}
	stream->next_in = (Bytef *)*in;
	stream->avail_in = in_size;
	stream->next_out = *out;
	stream->avail_out = out_size;
	ret = inflate(stream, Z_NO_FLUSH);
	*in += in_size - stream->avail_in;
	*in_left -= in_size - stream->avail_in;
	*out += out_size - stream->avail_out;
	*out_left -= out_size - stream->avail_out;
	switch (ret) {
	case Z_OK:
	case Z_BUF_ERROR:   // no progress possible: wait for more input
		return true;
	case Z_STREAM_END:
		*whole = true;
		return true;
	case Z_MEM_ERROR:
		*why = "out of memory";
		return false;
	default:
		*why = stream->msg ? stream->msg : "corrupt data";
		return false;
	}
}

static void gzip_end(void *state)
{
	inflateEnd(state);
	free(state);
}

static const struct decoder decoders[] = {
	{ NULL, copy_init, copy_decode, copy_end },
	{ "zstd", zstd_init, zstd_decode, zstd_end },
	{ "xz", xz_init, xz_decode, xz_end },
	{ "lz4", lz4_init, lz4_decode, lz4_end },
	{ "gzip", gzip_init, gzip_decode, gzip_end },
};

static const struct decoder *find_decoder(const char *compression)
{
	for (size_t i = 1; compression && i < sizeof(decoders) / sizeof(decoders[0]); i++) {
		if (strcmp(decoders[i].name, compression) == 0)
			return &decoders[i];
	}
	return &decoders[0];
}

static size_t page_round(uint64_t size)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);

	if (size > SIZE_MAX - page)
		return SIZE_MAX / page * page;
	return (size + page - 1) / page * page;
}

/*
 * Give the mapping at least MIN_ROOM bytes free past size, within limit;
 * prefault (NULL: none) is told where a moved mapping went.
 */
static struct ch_error *make_room(struct ch_core_image *image, uint64_t limit,
				  const char *what, struct ch_prefault *prefault)
{
	size_t want;
	void *map;

	if (image->mapped - image->size >= MIN_ROOM ||
	    (image->mapped > image->size && image->mapped >= limit))
		return NULL;
	if (image->size >= limit)
		return ch_error_create(CH_ERROR_FORMAT,
				       "%s holds more than %" PRIu64 " bytes decompressed, the most read into memory (the machine's memory; COREHEAP_DECOMPRESS_LIMIT sets it)",
				       what, limit);
	want = image->mapped ? image->mapped : INITIAL_MAPPING;
	while (want - image->size < MIN_ROOM && want < SIZE_MAX / 2)
		want *= 2;
	if (image->mapped && want == image->mapped && want < SIZE_MAX / 2)
		want *= 2;
	want = page_round(want < limit ? want : limit);
	if (!image->data) {
		// MAP_NORESERVE: only what is written takes memory.
		map = mmap(NULL, want, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	} else {
		ch_prefault_pause(prefault);
		map = mremap(image->data, image->mapped, want, MREMAP_MAYMOVE);
		if (map == MAP_FAILED)
			ch_prefault_resume(prefault, image->data, image->mapped);
		else
			ch_prefault_resume(prefault, map, want);
	}
	if (map == MAP_FAILED)
		return ch_error_os(errno,
				   "cannot map %zu bytes of memory for %s",
				   want, what);
	// The image is the largest memory of an analysis, written once and
	// then read at random: huge pages, as for the large arrays.
	image->data = ch_hint_huge_pages(map, want);
	image->mapped = want;
	return NULL;
}

static struct ch_error *read_input(int fd, const char *what, uint8_t *buf,
				   size_t *len_ret)
{
	ssize_t n;

	do {
		n = read(fd, buf, INPUT_CHUNK);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return ch_error_os(errno, "cannot read %s", what);
	*len_ret = n;
	return NULL;
}

/*
 * The image's pages are faulted in ahead of the decoder once it holds
 * this much (base/prefault.h): a fresh page costs more than decoding the
 * bytes it holds (a 2.1 GB core, 600 MB with zstd: 2.2 s to decode, 7 s
 * to decode into fresh memory), and the other core is idle meanwhile.
 */
#define PREFAULT_FROM ((size_t)32 << 20)
// The decoder tells the prefault thread every this many bytes.
#define PREFAULT_STEP ((size_t)1 << 20)

/*
 * The bytes of fd, when it is a regular file, against which decoding shows
 * its progress; 0 for a pipe, whose size is not known: no progress.
 */
static uint64_t input_size(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 ?
		       (uint64_t)st.st_size :
		       0;
}

/*
 * Decode fd into image, up to limit bytes: past it an error, or with
 * prefix_only the end of what is wanted.
 */
static struct ch_error *decode_all(int fd, const char *what,
				   const struct decoder *decoder, void *state,
				   const uint8_t *head, size_t head_len,
				   uint64_t limit, bool prefix_only,
				   struct ch_core_image *image)
{
	uint8_t *buf = malloc(INPUT_CHUNK);
	const uint8_t *in = head;
	size_t in_left = head_len, told = 0;
	const char *why = NULL;
	bool eof = false, whole = false, prefault_tried = false;
	// A prefix is read quickly, and for many cores at a time (the
	// store's): no progress of its own.
	uint64_t total = prefix_only ? 0 : input_size(fd);
	struct ch_prefault *prefault = NULL;
	struct ch_error *err = NULL;

	if (!buf)
		return &ch_enomem;
	image->input_bytes = head_len;
	if (total)
		ch_progress_start("decompressing the core", total);
	ch_progress_add(head_len);
	for (;;) {
		size_t before_in, room, out_left, step, step_left;
		const uint8_t *step_in;
		uint8_t *out;
		bool ok;

		if (prefix_only && image->size >= limit) {
			image->prefix_only = true;
			break;
		}
		if (in_left == 0 && !eof) {
			err = read_input(fd, what, buf, &in_left);
			if (err)
				break;
			in = buf;
			image->input_bytes += in_left;
			ch_progress_add(in_left);
			eof = in_left == 0;
		}
		err = make_room(image, limit, what, prefault);
		if (err)
			break;
		if (!prefault_tried && image->size >= PREFAULT_FROM) {
			prefault = ch_prefault_start(image->data, image->mapped,
						     image->size);
			prefault_tried = true;
		}
		if (image->size - told >= PREFAULT_STEP) {
			ch_prefault_progress(prefault, image->size);
			told = image->size;
		}
		room = image->mapped - image->size;
		out = image->data + image->size;
		out_left = room;
		// A decoder may not say what it wrote in a call that fails
		// (zstd): small steps keep what came before the damage.
		step = in_left < MAX_STEP_INPUT ? in_left : MAX_STEP_INPUT;
		step_left = step;
		step_in = in;
		ok = decoder->decode(state, &step_in, &step_left, &out,
				     &out_left, eof && step == in_left, &whole,
				     &why);
		before_in = in_left;
		in = step_in;
		in_left -= step - step_left;
		image->size += room - out_left;
		if (!ok)
			break;
		if (in_left == before_in && out_left == room) {
			// Neither consumed nor produced: at the input's end
			// this is the end; before it, the decoder is stuck
			// (it has room to write), which must not spin.
			if (eof)
				break;
			if (in_left) {
				why = "the decoder makes no progress";
				break;
			}
		}
	}
	free(buf);
	ch_prefault_stop(prefault, image->size);
	if (total)
		ch_progress_end();
	if (err || image->prefix_only)
		return err;
	if (why) {
		if (asprintf(&image->damage,
			     "the %s stream cannot be read past %zu bytes decompressed: %s",
			     decoder->name, image->size, why) < 0)
			image->damage = NULL;
	} else if (!whole) {
		if (asprintf(&image->damage,
			     "the %s stream ends early (truncated), after %zu bytes decompressed",
			     decoder->name, image->size) < 0)
			image->damage = NULL;
	}
	if (image->size == 0 && image->damage)
		return ch_error_create(CH_ERROR_FORMAT, "%s: %s", what,
				       image->damage);
	return NULL;
}

static struct ch_error *read_image(int fd, const char *what,
				   const uint8_t *head, size_t head_len,
				   uint64_t limit, bool prefix_only,
				   struct ch_core_image *ret)
{
	struct ch_core_image image = { 0 };
	const struct decoder *decoder;
	struct ch_error *err;
	void *state;

	image.compression = ch_core_image_compression(head, head_len);
	decoder = find_decoder(image.compression);
	if (!decoder->init(&state))
		return &ch_enomem;
	err = decode_all(fd, what, decoder, state, head, head_len, limit,
			 prefix_only, &image);
	decoder->end(state);
	if (err) {
		ch_core_image_deinit(&image);
		return err;
	}
	*ret = image;
	return NULL;
}

struct ch_error *ch_core_image_read(int fd, const char *what,
				    const uint8_t *head, size_t head_len,
				    uint64_t limit, struct ch_core_image *ret)
{
	return read_image(fd, what, head, head_len, limit, false, ret);
}

struct ch_error *ch_core_image_read_prefix(int fd, const char *what,
					   const uint8_t *head,
					   size_t head_len, uint64_t prefix,
					   struct ch_core_image *ret)
{
	return read_image(fd, what, head, head_len, prefix, true, ret);
}

void ch_core_image_deinit(struct ch_core_image *image)
{
	if (image->data)
		munmap(image->data, image->mapped);
	free(image->damage);
	*image = (struct ch_core_image){ 0 };
}
