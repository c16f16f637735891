/* runtime/idx.c: reads IDX files (LeCun's MNIST format), gzip-compressed or plain (zlib's gzread
 * reads both). Layout: 0x00 0x00, a type code (0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32, 0x0D f32,
 * 0x0E f64), the number of dimensions, each dimension as a big-endian u32, then the elements,
 * big-endian, exactly as many as the dimensions say. */
#include <errno.h>
#include <string.h>
#include <zlib.h>

#include "runtime/rt.h"

/* Reads up to n bytes; returns how many it got (fewer at the end of the data or on an error) */
static size_t
read_full(gzFile f, void *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		unsigned chunk = n - got > (1u << 30) ? 1u << 30 : (unsigned)(n - got);
		int k = gzread(f, (char *)buf + got, chunk);
		if (k <= 0)
			break;
		got += k;
	}
	return got;
}

/* Dies with msg, or naming zlib's complaint when the gzip data is corrupt (a truncated gzip
   stream is Z_BUF_ERROR: msg says what was missing) */
static void
fail(gzFile f, const char *path, const char *msg)
{
	int zerr;
	const char *z = gzerror(f, &zerr);

	if (zerr == Z_ERRNO)
		rt_die("%s: %s (%s)", path, msg, strerror(errno));
	if (zerr != Z_OK && zerr != Z_STREAM_END && zerr != Z_BUF_ERROR) {
		size_t k = strlen(path); /* zlib's message is "path: what" */
		rt_die("%s: corrupt gzip data (%s)", path, !strncmp(z, path, k) && z[k] == ':' ? z + k + 2 : z);
	}
	rt_die("%s: %s", path, msg);
}

void
rt_idx_read(const char *path, RtArray *a)
{
	static const int types[16] = {[8] = NND_U8 + 1, [9] = NND_I8 + 1, [0xB] = NND_I16 + 1,
	                              [0xC] = NND_I32 + 1, [0xD] = NND_F32 + 1, [0xE] = NND_F64 + 1};
	unsigned char h[4], d[4];
	gzFile f = gzopen(path, "rb");
	int64_t n = 1, size, got = 0;
	char extra;

	if (!f)
		rt_die("%s: cannot open: %s", path, errno ? strerror(errno) : "out of memory");
	memset(a, 0, sizeof *a);
	a->path = path;
	if (read_full(f, h, 4) != 4)
		fail(f, path, "not an IDX file: shorter than its 4-byte header");
	if (h[0] != 0 || h[1] != 0 || h[2] >= 16 || !types[h[2]])
		rt_die("%s: not an IDX file: the magic number is %02x %02x %02x %02x, expected 00 00 "
		       "then a type code 08/09/0B/0C/0D/0E", path, h[0], h[1], h[2], h[3]);
	a->dtype = types[h[2]] - 1;
	if (h[3] < 1 || h[3] > NND_MAX_RANK)
		rt_die("%s: IDX file with %d dimensions; 1 to %d are supported", path, h[3], NND_MAX_RANK);
	a->rank = h[3];
	for (int i = 0; i < a->rank; i++) {
		if (read_full(f, d, 4) != 4)
			fail(f, path, "truncated IDX header");
		a->dims[i] = (int64_t)d[0] << 24 | d[1] << 16 | d[2] << 8 | d[3];
		if (a->dims[i] > 0 && n > ((int64_t)1 << 40) / a->dims[i])
			rt_die("%s: IDX dimensions too large", path);
		n *= a->dims[i];
	}
	/* the buffer grows with what the file holds, so that a header promising terabytes does
	   not allocate them before the data runs out */
	size = n * rt_dtype_size(a->dtype);
	for (int64_t cap = size < (1 << 20) ? size : 1 << 20;; cap = cap * 2 < size ? cap * 2 : size) {
		unsigned char *p = rt_alloc(cap);
		if (got)
			memcpy(p, a->data, got);
		rt_free(a->data);
		a->data = p;
		got += read_full(f, p + got, cap - got);
		if (got < cap || got == size)
			break;
	}
	if (got < size) {
		char msg[200];
		snprintf(msg, sizeof msg, "truncated IDX file: the header promises %lld elements "
		         "(%lld bytes of data) but the file holds %lld", (long long)n, (long long)size,
		         (long long)got);
		fail(f, path, msg);
	}
	int more = gzread(f, &extra, 1);
	if (more < 0)
		fail(f, path, "read error");
	if (more > 0)
		rt_die("%s: IDX file is longer than its header says (%lld elements)", path, (long long)n);
	gzclose(f);
	/* big-endian to host (little-endian) */
	int es = rt_dtype_size(a->dtype);
	unsigned char *p = a->data;
	for (int64_t i = 0; es > 1 && i < n; i++, p += es)
		for (int k = 0; k < es / 2; k++) {
			unsigned char t = p[k];
			p[k] = p[es - 1 - k];
			p[es - 1 - k] = t;
		}
}
