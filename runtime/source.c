/* runtime/source.c: a recipe's data source bound to an entry's inputs (NndDataSource).
 *   IDX   images -> input 0, labels -> input 1 (runtime/data.c: rt_data_load)
 *   NPY   file i feeds the input named names[i]
 *   NPZ   member "<input>.npy" feeds each input (stored or deflated; zip64 extra fields read)
 *   CSV   a header row; the label column -> input 1, the other columns in order -> input 0
 *         as [N, columns - 1]; labels are integers if every one is, else floats
 *   TEXT  the file's bytes in windows of seq: x = bytes[k*T, k*T+T) -> input 0, y the same
 *         shifted by one -> input 1, for k < (size - 1) / T
 * Every array is then checked against its input (rt_array_bind): one example's shape and the
 * element type, dying with a message naming the file, the expected and the found shape. The
 * files bind the size variables after the batch (d->syms): T of x: f32[B, T, 8] is the file's
 * extent on that axis (text: seq), the same in every input. */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "runtime/rt.h"

static void
bind_all(RtData *d, const NndModel *m, const NndEntry *e, const char *source)
{
	rt_syms_init(&d->syms, m, rt_entry_batch_sym(m, e));
	for (int i = 0; i < d->narrays; i++) {
		RtArray *a = &d->a[i];
		if (a->rank < 1)
			rt_die("%s: a 0-dimensional array holds no examples", a->path);
		rt_array_bind(a, &e->inputs[i], &d->syms, e->inputs[i].name);
		if (a->dims[0] != d->a[0].dims[0])
			rt_die("%s: inputs '%s' and '%s' have different numbers of examples: %s has %lld, %s has %lld",
			       source, e->inputs[0].name, e->inputs[i].name, d->a[0].path,
			       (long long)d->a[0].dims[0], a->path, (long long)a->dims[0]);
	}
	d->count = d->a[0].dims[0];
	if (d->count == 0)
		rt_die("%s: %s holds no examples", source, d->a[0].path);
}

static void
need_inputs(const NndEntry *e, int n, const char *path, const char *kind)
{
	if (e->ninputs != n)
		rt_die("%s: a %s source feeds %d inputs (x, y) but entry '%s' takes %d", path, kind, n,
		       e->name, e->ninputs);
}

/* ---- npz ---------------------------------------------------------------------------------- */

static uint32_t
le(const unsigned char *p, int n)
{
	uint32_t v = 0;
	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* A zip64 size or offset; -1 (refused as corrupt) when it does not fit int64_t */
static int64_t
le64(const unsigned char *p)
{
	uint64_t v = (uint64_t)le(p + 4, 4) << 32 | le(p, 4);
	return v > INT64_MAX ? -1 : (int64_t)v;
}

/* Finds member `name` in the zip image; returns its uncompressed bytes (allocated) */
static unsigned char *
zip_member(const char *path, const unsigned char *z, int64_t size, const char *name, int64_t *outn,
           char *names, size_t nnames)
{
	int64_t eocd = -1;
	for (int64_t i = size - 22; i >= 0 && i >= size - 22 - 65535; i--)
		if (le(z + i, 4) == 0x06054b50) {
			eocd = i;
			break;
		}
	if (eocd < 0)
		rt_die("%s: not an npz (zip) file: no end of central directory", path);
	int64_t count = le(z + eocd + 10, 2), cd = le(z + eocd + 16, 4), cdsize = le(z + eocd + 12, 4);
	if (cd == 0xffffffff || count == 0xffff)
		rt_die("%s: zip64 archives (over 4 GiB or 65535 members) are unsupported", path);
	if (cd + cdsize > eocd)
		rt_die("%s: corrupt zip: central directory at %lld+%lld is past its end record", path,
		       (long long)cd, (long long)cdsize);
	names[0] = 0;
	for (int64_t k = 0, p = cd; k < count; k++) {
		if (p + 46 > eocd || le(z + p, 4) != 0x02014b50)
			rt_die("%s: corrupt zip: central directory entry %lld", path, (long long)k);
		uint32_t flags = le(z + p + 8, 2), method = le(z + p + 10, 2), crc = le(z + p + 16, 4);
		int64_t csize = le(z + p + 20, 4), usize = le(z + p + 24, 4), off = le(z + p + 42, 4);
		int64_t nlen = le(z + p + 28, 2), xlen = le(z + p + 30, 2), clen = le(z + p + 32, 2);
		const unsigned char *nm = z + p + 46, *x = nm + nlen;
		if (p + 46 + nlen + xlen + clen > eocd)
			rt_die("%s: corrupt zip: central directory entry %lld", path, (long long)k);
		p += 46 + nlen + xlen + clen;
		if (strlen(names) + nlen + 3 < nnames)
			snprintf(names + strlen(names), nnames - strlen(names), "%s%.*s", *names ? ", " : "",
			         (int)nlen, nm);
		if ((size_t)nlen != strlen(name) || memcmp(nm, name, nlen))
			continue;
		for (int64_t j = 0; j + 4 <= xlen;) { /* zip64 extra field: the sizes that overflowed */
			uint32_t id = le(x + j, 2), len = le(x + j + 2, 2);
			const unsigned char *f = x + j + 4, *end = x + j + 4 + len;
			if (j + 4 + len > xlen)
				break;
			if (id == 1) {
				if (usize == 0xffffffff && f + 8 <= end)
					usize = le64(f), f += 8;
				if (csize == 0xffffffff && f + 8 <= end)
					csize = le64(f), f += 8;
				if (off == 0xffffffff && f + 8 <= end)
					off = le64(f);
			}
			j += 4 + len;
		}
		if (off < 0 || off > size - 30 || le(z + off, 4) != 0x04034b50)
			rt_die("%s: corrupt zip: member %s has no local header at %lld", path, name, (long long)off);
		int64_t data = off + 30 + le(z + off + 26, 2) + le(z + off + 28, 2);
		if (csize < 0 || usize < 0 || csize > size - data)
			rt_die("%s: corrupt zip: member %s (%lld bytes at %lld) runs past the end of the file",
			       path, name, (long long)csize, (long long)data);
		if (method == 0 && csize != usize)
			rt_die("%s: corrupt zip: stored member %s has sizes %lld and %lld", path, name,
			       (long long)csize, (long long)usize);
		if (flags & 1)
			rt_die("%s: member %s is encrypted (unsupported)", path, name);
		if (method != 0 && method != 8)
			rt_die("%s: member %s uses compression method %u; only stored (0) and deflate (8) are "
			       "supported", path, name, method);
		if (method == 8 && usize > 1032 * csize + 1024)
			rt_die("%s: corrupt zip: member %s claims %lld bytes from %lld compressed", path, name,
			       (long long)usize, (long long)csize);
		unsigned char *out = rt_alloc(usize + 1);
		if (method == 0)
			memcpy(out, z + data, usize);
		else {
			z_stream s = {0};
			if (inflateInit2(&s, -15) != Z_OK)
				rt_die("%s: zlib: cannot initialise", path);
			s.next_in = (unsigned char *)z + data;
			s.avail_in = (uInt)csize;
			s.next_out = out;
			s.avail_out = (uInt)usize;
			int rc = inflate(&s, Z_FINISH);
			int64_t got = (int64_t)s.total_out;
			inflateEnd(&s);
			if (rc != Z_STREAM_END || got != usize)
				rt_die("%s: member %s does not inflate to its %lld bytes (corrupt deflate data)", path,
				       name, (long long)usize);
		}
		if ((uint32_t)crc32(0, out, (uInt)usize) != crc)
			rt_die("%s: member %s fails its CRC-32 check (corrupt)", path, name);
		*outn = usize;
		return out;
	}
	return NULL;
}

static void
load_npz(RtData *d, const NndEntry *e, const char *path)
{
	int64_t size, n;
	unsigned char *z = rt_file_read(path, &size);
	char names[512];

	for (int i = 0; i < e->ninputs; i++) {
		char member[128];
		snprintf(member, sizeof member, "%s.npy", e->inputs[i].name);
		unsigned char *buf = zip_member(path, z, size, member, &n, names, sizeof names);
		if (!buf)
			rt_die("%s: no member %s for input '%s' (members: %s)", path, member, e->inputs[i].name,
			       *names ? names : "none");
		size_t len = strlen(path) + strlen(member) + 2;
		char *where = rt_alloc(len);
		snprintf(where, len, "%s:%s", path, member);
		rt_npy_parse(where, buf, n, &d->a[i]);
		d->a[i].owned_path = where;
		d->narrays = i + 1;
		rt_free(buf);
	}
	rt_free(z);
}

/* ---- csv ---------------------------------------------------------------------------------- */

/* Splits line (modified in place) at commas into at most max fields, trimming blanks and
   double quotes; returns the count (max + 1 when there are more) */
static int
split(char *line, char **f, int max)
{
	int n = 0;
	for (char *p = line;;) {
		char *c = strchr(p, ',');
		if (c)
			*c = 0;
		while (*p == ' ' || *p == '\t')
			p++;
		char *end = p + strlen(p);
		while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
			*--end = 0;
		if (end - p >= 2 && *p == '"' && end[-1] == '"')
			p++, end[-1] = 0;
		if (n < max)
			f[n] = p;
		n++;
		if (!c)
			return n <= max ? n : max + 1;
		p = c + 1;
	}
}

/* The next line of *p (its '\n' replaced by a NUL), NULL at the end; counts *lineno */
static char *
next_line(char **p, char *end, int64_t *lineno)
{
	char *line = *p, *nl;

	if (line >= end)
		return NULL;
	nl = memchr(line, '\n', end - line);
	if (nl)
		*nl = 0;
	*p = nl ? nl + 1 : end;
	++*lineno;
	return line;
}

static void
load_csv(RtData *d, const NndEntry *e, const char *path, const char *label)
{
	int64_t size, lineno = 0, rows = 0;
	char *text = (char *)rt_file_read(path, &size), *p = text, *end = text + size, *line;
	enum { MAXCOL = 4096 };
	char **f = rt_alloc(sizeof(char *) * (MAXCOL + 1));
	char names[512];

	need_inputs(e, 2, path, "csv");
	if (memchr(text, 0, size))
		rt_die("%s: not a text file (it holds a NUL byte)", path);
	while ((line = next_line(&p, end, &lineno)) && strspn(line, " \t\r") == strlen(line))
		;
	if (!line)
		rt_die("%s: empty: expected a header row naming the columns", path);
	int ncol = split(line, f, MAXCOL), lab = -1;
	if (ncol > MAXCOL)
		rt_die("%s:%lld: more than %d columns", path, (long long)lineno, MAXCOL);
	names[0] = 0;
	for (int i = 0; i < ncol; i++) {
		if (!strcmp(f[i], label))
			lab = i;
		if (strlen(names) + strlen(f[i]) + 3 < sizeof names)
			snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? ", " : "", f[i]);
	}
	if (lab < 0)
		rt_die("%s:%lld: no column '%s' in the header (columns: %s)", path, (long long)lineno, label, names);
	if (ncol < 2)
		rt_die("%s:%lld: the header has only the label column; no features", path, (long long)lineno);
	/* a row holds ncol numbers and ncol - 1 commas: at least 2 * ncol - 1 bytes */
	int64_t cap = size / (2 * ncol - 1) + 1;
	double *x = rt_alloc(sizeof(double) * (size_t)cap * (ncol - 1));
	double *y = rt_alloc(sizeof(double) * (size_t)cap);
	int all_int = 1;
	while ((line = next_line(&p, end, &lineno))) {
		if (strspn(line, " \t\r") == strlen(line))
			continue;
		int n = split(line, f, MAXCOL);
		if (n != ncol)
			rt_die("%s:%lld: %d field%s, the header has %d", path, (long long)lineno,
			       n > MAXCOL ? MAXCOL : n, n == 1 ? "" : "s", ncol);
		for (int i = 0, k = 0; i < ncol; i++) {
			char *e;
			double v = strtod(f[i], &e);
			if (e == f[i] || *e)
				rt_die("%s:%lld: column %d: '%s' is not a number", path, (long long)lineno, i + 1, f[i]);
			if (i == lab) {
				y[rows] = v;
				all_int &= v >= -0x1p63 && v < 0x1p63 && v == (double)(int64_t)v;
			} else
				x[rows * (ncol - 1) + k++] = v;
		}
		rows++;
	}
	if (rows == 0)
		rt_die("%s: no data rows after the header", path);
	d->narrays = 2;
	d->a[0] = (RtArray){NND_F64, 2, {rows, ncol - 1}, x, path, NULL};
	d->a[1] = (RtArray){all_int ? NND_I64 : NND_F64, 1, {rows}, y, path, NULL};
	if (all_int) {
		int64_t *yi = (int64_t *)y;
		for (int64_t i = 0; i < rows; i++)
			yi[i] = (int64_t)y[i];
	}
	rt_free(f);
	rt_free(text);
}

/* ---- text --------------------------------------------------------------------------------- */

static void
load_text(RtData *d, const NndEntry *e, const char *path, int64_t T)
{
	int64_t size;
	unsigned char *b = rt_file_read(path, &size);

	need_inputs(e, 2, path, "text");
	if (T < 1)
		rt_die("%s: sequence length %lld: expected >= 1", path, (long long)T);
	int64_t n = size > 0 ? (size - 1) / T : 0;
	if (n < 1)
		rt_die("%s: %lld bytes hold no sequence of %lld bytes and its next byte", path,
		       (long long)size, (long long)T);
	unsigned char *x = rt_alloc(n * T), *y = rt_alloc(n * T);
	for (int64_t k = 0; k < n; k++) {
		memcpy(x + k * T, b + k * T, T);
		memcpy(y + k * T, b + k * T + 1, T);
	}
	rt_free(b);
	d->narrays = 2;
	d->a[0] = (RtArray){NND_U8, 2, {n, T}, x, path, NULL};
	d->a[1] = (RtArray){NND_U8, 2, {n, T}, y, path, NULL};
}

void
rt_source_load(RtData *d, const NndModel *m, const NndEntry *e, const NndDataSource *src,
               const char *source)
{
	rt_entry_batch_sym(m, e);
	memset(d, 0, sizeof *d);
	switch (src->kind) {
	case NND_DATA_NPY:
		if (src->npaths != e->ninputs)
			rt_die("%s: %d file%s for entry '%s', which takes %d inputs", source, src->npaths,
			       src->npaths == 1 ? "" : "s", e->name, e->ninputs);
		for (int i = 0; i < e->ninputs; i++) {
			int j = -1;
			for (int k = 0; k < src->npaths; k++)
				if (src->names[k] ? !strcmp(src->names[k], e->inputs[i].name) : k == i)
					j = k;
			if (j < 0)
				rt_die("%s: no file for input '%s' (npy(...) names %s%s%s%s%s%s%s)", source,
				       e->inputs[i].name, src->names[0] ? src->names[0] : "", src->npaths > 1 ? ", " : "",
				       src->npaths > 1 ? src->names[1] : "", src->npaths > 2 ? ", " : "",
				       src->npaths > 2 ? src->names[2] : "", src->npaths > 3 ? ", " : "",
				       src->npaths > 3 ? src->names[3] : "");
			rt_npy_read(src->paths[j], &d->a[i]);
			d->narrays = i + 1;
		}
		break;
	case NND_DATA_NPZ: load_npz(d, e, src->paths[0]); break;
	case NND_DATA_CSV: load_csv(d, e, src->paths[0], src->label ? src->label : ""); break;
	case NND_DATA_TEXT: load_text(d, e, src->paths[0], src->seq); break;
	default: rt_data_load(d, m, e, src->paths, src->npaths, source); return;
	}
	bind_all(d, m, e, source);
}
