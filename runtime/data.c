/* runtime/data.c: a data set bound to the inputs of an entry. File i feeds input i (for IDX:
 * images -> x, labels -> y); files ending in .npy are read as npy, anything else as IDX (gzip
 * or plain). Every input's first dimension must be the same size variable (the batch B); the
 * rest of its shape is one example and must match the file, which binds the size variables there
 * (T in x: f32[B, T, 8]) for this data set. */
#include <string.h>

#include "runtime/rt.h"

int
rt_entry_batch_sym(const NndModel *m, const NndEntry *e)
{
	char buf[160];
	int sym = -1;

	if (!e->fn || e->ninputs < 1)
		rt_die("the model has no '%s' entry with inputs", e->name ? e->name : "?");
	for (int i = 0; i < e->ninputs; i++) {
		const NndTensorInfo *in = &e->inputs[i];
		if (in->rank < 1 || in->dims[0] >= 0 || (sym >= 0 && -in->dims[0] - 1 != sym))
			rt_die("entry '%s', input '%s' %s: every input must have the same size variable (the "
			       "batch) as its first dimension; anything else is unsupported for now", e->name,
			       in->name, rt_shape_str(buf, sizeof buf, in->dtype, in->rank, in->dims, m->syms));
		sym = (int)(-in->dims[0] - 1);
	}
	if (sym >= m->nsyms)
		rt_die("entry '%s': size variable %d out of range (the model has %d)", e->name, sym, m->nsyms);
	return sym;
}

static int
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && !strcmp(s + n - k, suffix);
}

void
rt_data_load(RtData *d, const NndModel *m, const NndEntry *e, const char *const *paths,
             int npaths, const char *source)
{
	static const char *const what2[] = {"images", "labels"};

	int bsym = rt_entry_batch_sym(m, e);
	memset(d, 0, sizeof *d);
	rt_syms_init(&d->syms, m, bsym);
	if (npaths != e->ninputs || npaths > 4)
		rt_die("%s: %d file%s given but entry '%s' takes %d input%s", source, npaths,
		       npaths == 1 ? "" : "s", e->name, e->ninputs, e->ninputs == 1 ? "" : "s");
	d->narrays = npaths;
	for (int i = 0; i < npaths; i++) {
		RtArray *a = &d->a[i];
		const char *what = npaths == 2 ? what2[i] : "data";
		if (ends_with(paths[i], ".npy"))
			rt_npy_read(paths[i], a);
		else
			rt_idx_read(paths[i], a);
		if (a->rank < 1)
			rt_die("%s: a 0-dimensional array holds no examples", paths[i]);
		rt_array_bind(a, &e->inputs[i], &d->syms, what);
		if (i > 0 && a->dims[0] != d->a[0].dims[0])
			rt_die("%s: %s and %s have different numbers of examples: %s has %lld, %s has %lld",
			       source, npaths == 2 ? "images" : "inputs", npaths == 2 ? "labels" : "inputs",
			       paths[0], (long long)d->a[0].dims[0], paths[i], (long long)a->dims[0]);
	}
	d->count = d->a[0].dims[0];
	if (d->count == 0)
		rt_die("%s: %s holds no examples", source, paths[0]);
}

void
rt_data_free(RtData *d)
{
	for (int i = 0; i < d->narrays; i++)
		rt_array_free(&d->a[i]);
	d->narrays = 0;
	rt_syms_free(&d->syms);
}

void
rt_batch_free(void **bufs, int n)
{
	for (int i = 0; bufs && i < n; i++)
		rt_free_aligned(bufs[i]);
	rt_free(bufs);
}

void **
rt_batch_alloc(const RtData *d, int64_t maxb)
{
	void **bufs = rt_alloc(sizeof(void *) * (d->narrays ? d->narrays : 1));

	for (int i = 0; i < d->narrays; i++)
		bufs[i] = rt_alloc_aligned(maxb * rt_array_example_bytes(&d->a[i]));
	return bufs;
}
