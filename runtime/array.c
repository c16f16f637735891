/* runtime/array.c: RtArray, N examples of one shape as read from an IDX or npy file: checking
 * it against an entry input (per-example shape, element type, the size variables it binds),
 * converting its elements, and copying examples into batch buffers. */
#include <string.h>

#include "runtime/rt.h"

void
rt_array_free(RtArray *a)
{
	rt_free(a->data);
	rt_free(a->owned_path);
	a->data = NULL;
	a->owned_path = NULL;
}

int64_t
rt_array_example_bytes(const RtArray *a)
{
	return rt_numel(a->rank - 1, a->dims + 1) * rt_dtype_size(a->dtype);
}

static int
is_float(int t)
{
	return t == NND_F32 || t == NND_F64 || t == NND_F16 || t == NND_BF16;
}

static int64_t
get_int(const void *p, int t, int64_t i)
{
	switch (t) {
	case NND_I8: return ((const int8_t *)p)[i];
	case NND_U8: case NND_BOOL: return ((const uint8_t *)p)[i];
	case NND_I16: return ((const int16_t *)p)[i];
	case NND_I32: return ((const int32_t *)p)[i];
	default: return ((const int64_t *)p)[i];
	}
}

static double
get_real(const void *p, int t, int64_t i)
{
	if (t == NND_F32)
		return ((const float *)p)[i];
	if (t == NND_F64)
		return ((const double *)p)[i];
	return (double)get_int(p, t, i);
}

/* Converts in place into a new buffer; integers must fit the target type */
static void
convert(RtArray *a, int to, const char *what, const char *name)
{
	int64_t n = rt_numel(a->rank, a->dims);
	void *out = rt_alloc((size_t)n * rt_dtype_size(to));
	static const int64_t lo[] = {[NND_I8] = INT8_MIN, [NND_U8] = 0, [NND_I16] = INT16_MIN,
	                             [NND_I32] = INT32_MIN, [NND_I64] = INT64_MIN, [NND_BOOL] = 0};
	static const int64_t hi[] = {[NND_I8] = INT8_MAX, [NND_U8] = UINT8_MAX, [NND_I16] = INT16_MAX,
	                             [NND_I32] = INT32_MAX, [NND_I64] = INT64_MAX, [NND_BOOL] = 1};

	if (to == NND_F16 || to == NND_BF16 || a->dtype == NND_F16 || a->dtype == NND_BF16)
		rt_die("%s: %s data for input '%s' of type %s: f16/bf16 data is unsupported for now",
		       a->path, rt_dtype_name(a->dtype), name, rt_dtype_name(to));
	if (is_float(a->dtype) && !is_float(to))
		rt_die("%s: %s holds %s values but input '%s' is %s: floating-point data cannot feed an "
		       "integer input", a->path, what, rt_dtype_name(a->dtype), name, rt_dtype_name(to));
	for (int64_t i = 0; i < n; i++) {
		if (to == NND_F32)
			((float *)out)[i] = (float)get_real(a->data, a->dtype, i);
		else if (to == NND_F64)
			((double *)out)[i] = get_real(a->data, a->dtype, i);
		else {
			int64_t v = get_int(a->data, a->dtype, i);
			if (v < lo[to] || v > hi[to])
				rt_die("%s: %s element %lld is %lld, outside the range of input '%s' (%s)",
				       a->path, what, (long long)i, (long long)v, name, rt_dtype_name(to));
			switch (to) {
			case NND_I8: ((int8_t *)out)[i] = (int8_t)v; break;
			case NND_U8: case NND_BOOL: ((uint8_t *)out)[i] = (uint8_t)v; break;
			case NND_I16: ((int16_t *)out)[i] = (int16_t)v; break;
			case NND_I32: ((int32_t *)out)[i] = (int32_t)v; break;
			default: ((int64_t *)out)[i] = v; break;
			}
		}
	}
	rt_free(a->data);
	a->data = out;
	a->dtype = to;
}

void
rt_syms_init(RtSyms *s, const NndModel *m, int batch)
{
	s->m = m;
	s->batch = batch;
	s->v = rt_alloc_zero(sizeof(int64_t) * (m->nsyms + 1));
	s->from = rt_alloc_zero(sizeof(char *) * (m->nsyms + 1));
}

void
rt_syms_free(RtSyms *s)
{
	rt_free(s->v);
	rt_free(s->from);
	s->v = NULL;
	s->from = NULL;
}

/* Binds the size variable of input dimension i (i >= 1) to the file's extent, or checks it
   against the value another file gave */
static void
bind_sym(const RtArray *a, const NndTensorInfo *in, int i, RtSyms *s)
{
	char want[160];
	int k = (int)(-in->dims[i] - 1);
	const char *name = s->m->syms[k];
	int64_t n = a->dims[i];

	if (k == s->batch)
		rt_die("input '%s' %s: the batch size %s can only be the first dimension", in->name,
		       rt_shape_str(want, sizeof want, in->dtype, in->rank, in->dims, s->m->syms), name);
	if (n < 1)
		rt_die("%s: input '%s' %s gets %s = %lld from the file's axis %d; a size must be at least 1",
		       a->path, in->name, rt_shape_str(want, sizeof want, in->dtype, in->rank, in->dims, s->m->syms),
		       name, (long long)n, i);
	if (s->v[k] == 0) {
		s->v[k] = n;
		s->from[k] = a->path;
	} else if (s->v[k] != n)
		rt_die("%s: input '%s' %s has %s = %lld (axis %d), but %s gave %s = %lld: every input must "
		       "agree on a size variable", a->path, in->name,
		       rt_shape_str(want, sizeof want, in->dtype, in->rank, in->dims, s->m->syms), name,
		       (long long)n, i, s->from[k], name, (long long)s->v[k]);
}

void
rt_array_bind(RtArray *a, const NndTensorInfo *in, RtSyms *s, const char *what)
{
	char want[160], got[160];
	int ok = a->rank == in->rank;

	for (int i = 1; ok && i < in->rank; i++)
		if (in->dims[i] < 0)
			bind_sym(a, in, i, s);
		else
			ok = a->dims[i] == in->dims[i];
	if (!ok) {
		int64_t ex[NND_MAX_RANK];
		rt_shape_str(want, sizeof want, in->dtype, in->rank - 1, in->dims + 1, s->m->syms);
		memcpy(ex, a->dims + 1, sizeof(int64_t) * (a->rank - 1));
		rt_shape_str(got, sizeof got, a->dtype, a->rank - 1, ex, NULL);
		rt_die("%s: %s have the wrong shape: input '%s' expects examples of %s, the file holds "
		       "%lld examples of %s", a->path, what, in->name, want, (long long)a->dims[0], got);
	}
	if (a->dtype != in->dtype)
		convert(a, in->dtype, what, in->name);
}

void
rt_array_gather(const RtArray *a, const int64_t *idx, int64_t n, void *dst)
{
	int64_t eb = rt_array_example_bytes(a);

	for (int64_t i = 0; i < n; i++)
		memcpy((char *)dst + i * eb, (const char *)a->data + idx[i] * eb, eb);
}

void
rt_array_slice(const RtArray *a, int64_t start, int64_t n, void *dst)
{
	int64_t eb = rt_array_example_bytes(a);

	memcpy(dst, (const char *)a->data + start * eb, n * eb);
}
