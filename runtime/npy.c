/* runtime/npy.c: NumPy .npy files. Reading: versions 1, 2 and 3, little-endian or
 * byte-order-free dtypes (f4 f8 i1 u1 i2 i4 i8 b1), C order; the header is the Python dict
 * literal {'descr': '<f4', 'fortran_order': False, 'shape': (N, 10), }. Writing: version 1. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "runtime/rt.h"

static const struct { const char *code; int dtype; } descrs[] = {
	{"f4", NND_F32}, {"f8", NND_F64}, {"i1", NND_I8}, {"u1", NND_U8}, {"i2", NND_I16},
	{"i4", NND_I32}, {"i8", NND_I64}, {"b1", NND_BOOL}, {"f2", NND_F16},
};

/* The text after 'key': in the header dict, spaces skipped; NULL if absent */
static const char *
find_key(const char *h, const char *key)
{
	char pat[32];
	const char *p;

	snprintf(pat, sizeof pat, "'%s'", key);
	if (!(p = strstr(h, pat)))
		return NULL;
	p += strlen(pat);
	while (*p == ' ')
		p++;
	if (*p++ != ':')
		return NULL;
	while (*p == ' ')
		p++;
	return p;
}

static void
parse_header(const char *path, const char *h, RtArray *a)
{
	const char *d = find_key(h, "descr"), *fo = find_key(h, "fortran_order"), *s = find_key(h, "shape");
	size_t i;

	if (!d || !fo || !s || (*d != '\'' && *d != '"'))
		rt_die("%s: malformed npy header (expected 'descr', 'fortran_order' and 'shape'): %s", path, h);
	d++;
	if (*d == '>' && d[1] && d[2] != '1')
		rt_die("%s: big-endian npy data ('%.3s') is unsupported; save it little-endian", path, d);
	if (*d == '<' || *d == '|' || *d == '=' || *d == '>')
		d++;
	for (i = 0; i < sizeof descrs / sizeof descrs[0]; i++)
		if (!strncmp(d, descrs[i].code, 2) && (d[2] == '\'' || d[2] == '"'))
			break;
	if (i == sizeof descrs / sizeof descrs[0])
		rt_die("%s: unsupported npy dtype '%.8s' (supported: f4 f8 i1 u1 i2 i4 i8 b1)", path, d);
	a->dtype = descrs[i].dtype;
	if (!strncmp(fo, "True", 4))
		rt_die("%s: npy array in Fortran order is unsupported; save it in C order", path);
	if (strncmp(fo, "False", 5))
		rt_die("%s: malformed npy header: 'fortran_order' is neither True nor False: %s", path, h);
	if (*s != '(')
		rt_die("%s: malformed npy shape: %s", path, s);
	s++;
	a->rank = 0;
	for (;;) {
		char *end;
		while (*s == ' ' || *s == ',')
			s++;
		if (*s == ')')
			break;
		long long v = strtoll(s, &end, 10);
		if (end == s || v < 0)
			rt_die("%s: malformed npy shape near '%.10s'", path, s);
		if (a->rank == NND_MAX_RANK)
			rt_die("%s: npy array has more than %d dimensions", path, NND_MAX_RANK);
		a->dims[a->rank++] = v;
		s = end;
		while (*s == 'L')
			s++;
	}
}

void
rt_npy_parse(const char *path, const unsigned char *buf, int64_t size, RtArray *a)
{
	uint32_t hlen;
	int64_t n, bytes, start;
	char *h;

	memset(a, 0, sizeof *a);
	a->path = path;
	if (size < 6 || memcmp(buf, "\x93NUMPY", 6))
		rt_die("%s: not an npy file (no \\x93NUMPY magic)", path);
	if (size < 10)
		rt_die("%s: truncated npy header (%lld bytes)", path, (long long)size);
	if (buf[6] == 1)
		hlen = buf[8] | buf[9] << 8;
	else if (buf[6] == 2 || buf[6] == 3) {
		if (size < 12)
			rt_die("%s: truncated npy header", path);
		hlen = buf[8] | buf[9] << 8 | (uint32_t)buf[10] << 16 | (uint32_t)buf[11] << 24;
	} else
		rt_die("%s: npy format version %d.%d is unsupported (1, 2 or 3)", path, buf[6], buf[7]);
	start = (buf[6] == 1 ? 10 : 12) + (int64_t)hlen;
	if (start > size)
		rt_die("%s: truncated npy header (%u bytes promised, file has %lld)", path, hlen, (long long)size);
	h = rt_alloc(hlen + 1);
	memcpy(h, buf + start - hlen, hlen);
	h[hlen] = 0;
	for (uint32_t k = hlen; k > 0 && (h[k - 1] == '\n' || h[k - 1] == ' '); k--)
		h[k - 1] = 0; /* the padding, kept out of messages */
	parse_header(path, h, a);
	rt_free(h);
	/* nz: the product without the zero dimensions, which must not hide others that overflow
	   (one example's size is the product of dims[1..]) */
	n = 1;
	for (int64_t i = 0, nz = 1; i < a->rank; i++) {
		int64_t d = a->dims[i] ? a->dims[i] : 1;
		if (nz > (INT64_MAX / 8) / d)
			rt_die("%s: npy shape overflows", path);
		nz *= d;
		n *= a->dims[i];
	}
	bytes = n * rt_dtype_size(a->dtype);
	if (size - start != bytes)
		rt_die("%s: npy data is %lld bytes but the shape and dtype need %lld (%s)", path,
		       (long long)(size - start), (long long)bytes, size - start < bytes ? "truncated" : "extra bytes");
	a->data = rt_alloc(bytes ? bytes : 1);
	memcpy(a->data, buf + start, bytes);
}

unsigned char *
rt_file_read(const char *path, int64_t *size)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	unsigned char *buf;
	long n;

	if (!f)
		rt_die("%s: cannot open: %s", path, strerror(errno));
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode))
		rt_die("%s: not a regular file", path);
	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0)
		rt_die("%s: cannot read: %s", path, strerror(errno));
	rewind(f);
	buf = rt_alloc(n + 1);
	if ((long)fread(buf, 1, n, f) != n)
		rt_die("%s: read error: %s", path, strerror(errno));
	fclose(f);
	buf[n] = 0;
	*size = n;
	return buf;
}

void
rt_npy_read(const char *path, RtArray *a)
{
	int64_t size;
	unsigned char *buf = rt_file_read(path, &size);

	rt_npy_parse(path, buf, size, a);
	rt_free(buf);
}

void
rt_npy_write(const char *path, const RtArray *a)
{
	const char *code = NULL;
	char h[512];
	int k;

	for (size_t i = 0; i < sizeof descrs / sizeof descrs[0]; i++)
		if (descrs[i].dtype == a->dtype)
			code = descrs[i].code;
	if (!code)
		rt_die("%s: cannot write %s data as npy", path, rt_dtype_name(a->dtype));
	k = snprintf(h, sizeof h, "{'descr': '%c%s', 'fortran_order': False, 'shape': (",
	             code[1] == '1' ? '|' : '<', code);
	for (int i = 0; i < a->rank; i++)
		k += snprintf(h + k, sizeof h - k, "%lld%s", (long long)a->dims[i],
		              a->rank == 1 ? "," : i + 1 < a->rank ? ", " : "");
	k += snprintf(h + k, sizeof h - k, "), }");
	while ((10 + k + 1) % 64)
		h[k++] = ' ';
	h[k++] = '\n';

	FILE *f = fopen(path, "wb");
	unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, k & 0xff, k >> 8};
	int64_t bytes = rt_numel(a->rank, a->dims) * rt_dtype_size(a->dtype);
	if (!f)
		rt_die("%s: cannot create: %s", path, strerror(errno));
	if (fwrite(pre, 1, 10, f) != 10 || fwrite(h, 1, k, f) != (size_t)k ||
	    (int64_t)fwrite(a->data, 1, bytes, f) != bytes || fclose(f) != 0)
		rt_die("%s: write error: %s", path, strerror(errno));
}
