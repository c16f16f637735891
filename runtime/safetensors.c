/* runtime/safetensors.c: the safetensors format (what PyTorch's safetensors package reads):
 *   8 bytes   little-endian u64 N, the header's length
 *   N bytes   JSON: {"__metadata__": {"key": "string", ...},
 *                    "fc1.weight": {"dtype": "F32", "shape": [256, 784], "data_offsets": [b, e]}, ...}
 *             padded with spaces to a multiple of 8
 *   the data  each tensor's bytes, little-endian, C order, at [b, e) from the end of the header
 * Writing is atomic (temporary file in the same directory, fsync, rename, fsync the directory).
 * Reading checks everything and names the file and the problem. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/rt.h"

static const struct { const char *name; int size; } st_dtypes[] = {
	{"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8}, {"I32", 4}, {"I16", 2},
	{"I8", 1}, {"U64", 8}, {"U32", 4}, {"U16", 2}, {"U8", 1}, {"BOOL", 1},
	{"F8_E4M3", 1}, {"F8_E5M2", 1},
};

static char *
shape_text(char *buf, size_t n, int rank, const int64_t *dims)
{
	size_t k = snprintf(buf, n, "[");

	for (int i = 0; i < rank && k < n; i++)
		k += snprintf(buf + k, n - k, "%s%lld", i ? ", " : "", (long long)dims[i]);
	if (k < n)
		snprintf(buf + k, n - k, "]");
	return buf;
}

static void
write_all(FILE *f, const void *p, size_t n, const char *tmp, const char *path)
{
	if (n && fwrite(p, 1, n, f) != n) {
		int e = errno;
		unlink(tmp);
		rt_die("%s: write error: %s", path, strerror(e));
	}
}

void
rt_st_write(const char *path, const RtTensor *t, int n, const RtKV *meta, int nmeta)
{
	json_t *root = json_object(), *md = json_object();
	uint64_t off = 0;

	for (int i = 0; i < nmeta; i++)
		json_object_set_new(md, meta[i].key, json_string(meta[i].value));
	json_object_set_new(root, "__metadata__", md);
	for (int i = 0; i < n; i++) {
		json_t *o = json_object(), *shape = json_array();
		uint64_t bytes = rt_numel(t[i].rank, t[i].dims) * 4;
		for (int k = 0; k < t[i].rank; k++)
			json_array_append_new(shape, json_integer(t[i].dims[k]));
		json_object_set_new(o, "dtype", json_string("F32"));
		json_object_set_new(o, "shape", shape);
		json_object_set_new(o, "data_offsets", json_pack("[II]", (json_int_t)off,
		                                                 (json_int_t)(off + bytes)));
		json_object_set_new(root, t[i].name, o);
		off += bytes;
	}
	char *text = json_dumps(root, JSON_COMPACT);
	if (!text)
		rt_die("%s: cannot encode the checkpoint header (out of memory?)", path);
	json_decref(root);
	size_t len = strlen(text), padded = (len + 7) & ~(size_t)7;
	unsigned char le[8];
	for (int k = 0; k < 8; k++)
		le[k] = (unsigned char)((uint64_t)padded >> (8 * k));

	char *tmp = rt_alloc(strlen(path) + 16);
	sprintf(tmp, "%s.tmp.XXXXXX", path);
	int fd = mkstemp(tmp);
	if (fd < 0)
		rt_die("%s: cannot create a temporary file beside it: %s", path, strerror(errno));
	fchmod(fd, 0644);
	FILE *f = fdopen(fd, "wb");
	write_all(f, le, 8, tmp, path);
	write_all(f, text, len, tmp, path);
	write_all(f, "        ", padded - len, tmp, path);
	for (int i = 0; i < n; i++)
		write_all(f, t[i].data, rt_numel(t[i].rank, t[i].dims) * 4, tmp, path);
	if (fflush(f) != 0 || fsync(fileno(f)) != 0 || fclose(f) != 0) {
		int e = errno;
		unlink(tmp);
		rt_die("%s: write error: %s", path, strerror(e));
	}
	if (rename(tmp, path) != 0) {
		int e = errno;
		unlink(tmp);
		rt_die("%s: cannot rename %s into place: %s", path, tmp, strerror(e));
	}
	char *dcopy = rt_strdup(path);
	int dfd = open(dirname(dcopy), O_RDONLY | O_DIRECTORY);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	rt_free(dcopy);
	rt_free(tmp);
	free(text);
}

typedef struct Range { uint64_t b, e; const char *name; } Range;

static int
range_cmp(const void *x, const void *y)
{
	const Range *a = x, *b = y;

	return a->b != b->b ? (a->b < b->b ? -1 : 1) : a->e < b->e ? -1 : a->e > b->e;
}

static int
get_dims(json_t *shape, int64_t *dims)
{
	size_t i;
	json_t *v;

	if (!json_is_array(shape) || json_array_size(shape) > NND_MAX_RANK)
		return -1;
	json_array_foreach(shape, i, v) {
		if (!json_is_integer(v) || json_integer_value(v) < 0)
			return -1;
		dims[i] = json_integer_value(v);
	}
	return (int)json_array_size(shape);
}

void *
rt_st_read(const char *path, const RtTensor *t, int n, int allow_extra)
{
	FILE *f = fopen(path, "rb");
	struct stat sb;
	unsigned char le[8];
	uint64_t hlen = 0, dsize;
	json_error_t jerr;

	if (!f)
		rt_die("%s: cannot open: %s", path, strerror(errno));
	if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode))
		rt_die("%s: not a regular file", path);
	if (sb.st_size < 8 || fread(le, 1, 8, f) != 8)
		rt_die("%s: not a safetensors file: %lld bytes, shorter than the 8-byte header length",
		       path, (long long)sb.st_size);
	for (int k = 0; k < 8; k++)
		hlen |= (uint64_t)le[k] << (8 * k);
	if (hlen > (uint64_t)sb.st_size - 8)
		rt_die("%s: corrupt or truncated safetensors file: header length %llu but only %lld "
		       "bytes follow", path, (unsigned long long)hlen, (long long)sb.st_size - 8);
	dsize = sb.st_size - 8 - hlen;
	char *h = rt_alloc(hlen + 1);
	if (fread(h, 1, hlen, f) != hlen)
		rt_die("%s: read error", path);
	json_t *root = json_loadb(h, hlen, JSON_REJECT_DUPLICATES, &jerr);
	rt_free(h);
	if (!root)
		rt_die("%s: corrupt safetensors header: invalid JSON at byte %d: %s", path,
		       jerr.position, jerr.text);
	if (!json_is_object(root))
		rt_die("%s: corrupt safetensors header: not a JSON object", path);

	/* every entry: well-formed, in bounds, no overlaps */
	size_t nt = json_object_size(root), nr = 0;
	Range *r = rt_alloc(sizeof(Range) * (nt ? nt : 1));
	const char *key;
	json_t *v, *meta = NULL;
	json_object_foreach(root, key, v) {
		if (!strcmp(key, "__metadata__")) {
			const char *k2;
			json_t *s;
			if (!json_is_object(v))
				rt_die("%s: __metadata__ is not a JSON object", path);
			json_object_foreach(v, k2, s)
				if (!json_is_string(s))
					rt_die("%s: __metadata__ value '%s' is not a string", path, k2);
			meta = v;
			continue;
		}
		json_t *dt = json_object_get(v, "dtype"), *off = json_object_get(v, "data_offsets");
		int64_t dims[NND_MAX_RANK];
		int rank = get_dims(json_object_get(v, "shape"), dims), es = 0;
		if (json_array_size(json_object_get(v, "shape")) > NND_MAX_RANK)
			rt_die("%s: tensor '%s': %zu dimensions; at most %d are supported", path, key,
			       json_array_size(json_object_get(v, "shape")), NND_MAX_RANK);
		if (!json_is_object(v) || !json_is_string(dt) || rank < 0 || !json_is_array(off) ||
		    json_array_size(off) != 2 || !json_is_integer(json_array_get(off, 0)) ||
		    !json_is_integer(json_array_get(off, 1)))
			rt_die("%s: tensor '%s': malformed entry (needs dtype, shape and data_offsets [begin, "
			       "end]; shape a list of integers >= 0)", path, key);
		for (size_t k = 0; k < sizeof st_dtypes / sizeof st_dtypes[0]; k++)
			if (!strcmp(json_string_value(dt), st_dtypes[k].name))
				es = st_dtypes[k].size;
		if (!es)
			rt_die("%s: tensor '%s': unknown dtype '%s'", path, key, json_string_value(dt));
		json_int_t b = json_integer_value(json_array_get(off, 0));
		json_int_t e = json_integer_value(json_array_get(off, 1));
		char sh[160];
		shape_text(sh, sizeof sh, rank, dims);
		if (b > e)
			rt_die("%s: tensor '%s': data_offsets [%lld, %lld]: begin > end", path, key,
			       (long long)b, (long long)e);
		if (b < 0 || (uint64_t)e > dsize)
			rt_die("%s: tensor '%s': data_offsets [%lld, %lld] out of bounds (the data section "
			       "has %llu bytes; truncated file?)", path, key, (long long)b, (long long)e,
			       (unsigned long long)dsize);
		/* the size, checked without overflow (zero dimensions must not hide the others) */
		int64_t bytes = es, nz = es;
		for (int k = 0; k < rank; k++) {
			int64_t d = dims[k] ? dims[k] : 1;
			if (nz > INT64_MAX / d)
				rt_die("%s: tensor '%s': shape %s overflows", path, key, sh);
			nz *= d;
			bytes *= dims[k];
		}
		if (e - b != bytes)
			rt_die("%s: tensor '%s': data_offsets [%lld, %lld] hold %lld bytes but %s of shape %s "
			       "needs %lld", path, key, (long long)b, (long long)e, (long long)(e - b),
			       json_string_value(dt), sh, (long long)bytes);
		r[nr++] = (Range){(uint64_t)b, (uint64_t)e, key};
	}
	/* the tensors cover the data section exactly, as the safetensors library requires */
	qsort(r, nr, sizeof *r, range_cmp);
	for (size_t i = 0; i <= nr; i++) {
		uint64_t end = i ? r[i - 1].e : 0, next = i < nr ? r[i].b : dsize;
		if (next < end)
			rt_die("%s: tensors '%s' and '%s' overlap in the data section", path, r[i - 1].name,
			       r[i].name);
		if (next > end)
			rt_die("%s: bytes [%llu, %llu) of the data section belong to no tensor", path,
			       (unsigned long long)end, (unsigned long long)next);
	}
	rt_free(r);

	for (int i = 0; i < n; i++) {
		json_t *o = json_object_get(root, t[i].name);
		int64_t dims[NND_MAX_RANK];
		char want[160], got[160];
		if (!o)
			rt_die("%s: missing tensor '%s' (expected F32 %s)", path, t[i].name,
			       shape_text(want, sizeof want, t[i].rank, t[i].dims));
		const char *dt = json_string_value(json_object_get(o, "dtype"));
		int rank = get_dims(json_object_get(o, "shape"), dims);
		int i64 = !strcmp(dt, "I64"); /* PyTorch's num_batches_tracked: converted */
		if (strcmp(dt, "F32") && !i64)
			rt_die("%s: tensor '%s' has dtype %s, expected F32 (or I64)", path, t[i].name, dt);
		if (rank != t[i].rank || memcmp(dims, t[i].dims, sizeof(int64_t) * rank))
			rt_die("%s: tensor '%s' has shape %s, the model expects %s", path, t[i].name,
			       shape_text(got, sizeof got, rank, dims),
			       shape_text(want, sizeof want, t[i].rank, t[i].dims));
		json_int_t b = json_integer_value(json_array_get(json_object_get(o, "data_offsets"), 0));
		int64_t numel = rt_numel(rank, dims), v;
		size_t bytes = (size_t)numel * 4;
		if (fseek(f, (long)(8 + hlen + b), SEEK_SET) != 0)
			rt_die("%s: read error in tensor '%s'", path, t[i].name);
		for (int64_t k = 0; i64 && k < numel; k++) {
			if (fread(&v, 8, 1, f) != 1)
				rt_die("%s: read error in tensor '%s'", path, t[i].name);
			t[i].data[k] = (float)v;
		}
		if (!i64 && fread(t[i].data, 1, bytes, f) != bytes)
			rt_die("%s: read error in tensor '%s'", path, t[i].name);
	}
	if (!allow_extra)
		json_object_foreach(root, key, v) {
			int found = !strcmp(key, "__metadata__");
			for (int i = 0; i < n && !found; i++)
				found = !strcmp(key, t[i].name);
			if (!found)
				rt_die("%s: unexpected tensor '%s': the model has no parameter of that name", path, key);
		}
	fclose(f);
	if (meta)
		json_incref(meta);
	json_decref(root);
	return meta;
}

const char *
rt_st_meta(void *meta, const char *key)
{
	return meta ? json_string_value(json_object_get(meta, key)) : NULL;
}

void
rt_st_meta_free(void *meta)
{
	json_decref(meta);
}
