/* runtime/infer_main.c: main() of NAME-infer. Loads --weights, reads examples (--idx IDX file or
 * --input .npy) and either writes the predict entry's output (--output y.npy), evaluates every
 * loss and metric against --labels (--eval), prints the argmax of each output row, or times the
 * predict entry (--bench: latency at batch 1, throughput at batch 64, with percentiles). The
 * examples bind the size variables after the batch (T of x: f32[B, T, 8] is the file's extent on
 * that axis), in every mode. The output keeps the model's layout with N in place of the batch:
 * computed in calls of --batch examples put in their slices of the batch axis, wherever it is
 * (f32[T, B, k] gives [T, N, k]), or in one call when the batch is not exactly one axis. */
#include <stdlib.h>
#include <string.h>

#include "runtime/rt.h"

enum { F_WEIGHTS, F_IDX, F_INPUT, F_OUTPUT, F_LABELS, F_EVAL, F_BENCH, F_BATCH, F_SEED, F_THREADS, F_HELP, F_COUNT };
static const RtFlag flags[F_COUNT] = {
	[F_WEIGHTS] = {"weights", "FILE", "safetensors weights (required)"},
	[F_IDX] = {"idx", "FILE", "examples from an IDX file (gzip or plain)"},
	[F_INPUT] = {"input", "FILE.npy", "examples from an npy file"},
	[F_OUTPUT] = {"output", "FILE.npy", "write the model's output as npy (its own layout, N in place of the batch)"},
	[F_LABELS] = {"labels", "FILE", "labels (IDX or .npy) for --eval"},
	[F_EVAL] = {"eval", NULL, "print the loss and every metric over the data"},
	[F_BENCH] = {"bench", NULL, "time the model: latency (batch 1) and throughput (batch 64) over the data (its shape gives sizes such as T)"},
	[F_BATCH] = {"batch", "N", "examples per call (default 256; all of them when the output does not have the batch on one axis)"},
	[F_SEED] = {"seed", "N", "seed of rand and randn (default: the recipe's; the step is 0)"},
	[F_THREADS] = {"threads", "N", "OpenBLAS threads (default: OpenBLAS's choice)"},
	[F_HELP] = {"help", NULL, "show this help"},
};

static void
read_any(const char *path, int npy, RtArray *a)
{
	if (npy)
		rt_npy_read(path, a);
	else
		rt_idx_read(path, a);
	if (a->rank < 1)
		rt_die("%s: a 0-dimensional array holds no examples", path);
}

static int64_t
arena_need(const NndEntry *e, int64_t *syms, int bsym, int64_t n, int64_t batch, int64_t need)
{
	if (!e->arena_size)
		return need;
	for (int k = 0; k < 2; k++) {
		syms[bsym] = k == 0 ? (batch < n ? batch : n) : n % batch;
		if (syms[bsym] > 0 && e->arena_size(syms) > need)
			need = e->arena_size(syms);
	}
	return need;
}

/* A dimension of an entry's tensor: fixed, or the value of its size variable */
static int64_t
dim_value(int64_t d, const int64_t *syms)
{
	return d >= 0 ? d : syms[-d - 1];
}

/* Bytes of an entry's tensor at the given sizes */
static int64_t
out_bytes(const NndTensorInfo *t, const int64_t *syms)
{
	int64_t sz = rt_dtype_size(t->dtype);

	for (int d = 0; d < t->rank; d++)
		sz *= dim_value(t->dims[d], syms);
	return sz;
}

/* The axis of an output that is the batch size variable; -1 when none is, or when several are */
static int
batch_axis(const NndTensorInfo *t, int bsym)
{
	int ax = -1;

	for (int d = 0; d < t->rank; d++)
		if (t->dims[d] == -(bsym + 1)) {
			if (ax >= 0)
				return -1;
			ax = d;
		}
	return ax;
}

/* Puts a call's output, its b examples along axis ax, in examples [s, s + b) of that axis of the
   whole output y: one contiguous run per index of the axes before ax */
static void
put_slice(RtArray *y, int ax, const void *src, int64_t s, int64_t b)
{
	int64_t outer = rt_numel(ax, y->dims), n = y->dims[ax];
	int64_t inner = rt_numel(y->rank - ax - 1, y->dims + ax + 1) * rt_dtype_size(y->dtype);

	for (int64_t i = 0; i < outer; i++)
		memcpy((char *)y->data + (i * n + s) * inner, (const char *)src + i * b * inner, b * inner);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Calls of the predict entry on batches of b examples taken in turn from the data (wrapping
   around), for about a second after a warm-up (at least 20 calls, at most 100000); prints the
   percentiles of the call times. Returns the median in seconds. */
static double
bench(const NndEntry *e, NndCall *call, const RtArray *a, void *buf, int64_t *syms, int bsym,
      int64_t b, const char *what)
{
	enum { MAXN = 100000 };
	double *t = rt_alloc(sizeof(double) * MAXN), start, sum = 0;
	int64_t *idx = rt_alloc(sizeof(int64_t) * b), n = a->dims[0], next = 0, calls = 0;

	syms[bsym] = b;
	for (int warm = 1; warm >= 0; warm--) {
		start = rt_now();
		for (calls = 0; calls < (warm ? 5 : MAXN) && (calls < 20 || rt_now() - start < 1.0); calls++) {
			for (int64_t i = 0; i < b; i++)
				idx[i] = next++ % n;
			rt_array_gather(a, idx, b, buf);
			double t0 = rt_now();
			e->fn(call);
			t[calls] = rt_now() - t0;
		}
	}
	for (int64_t i = 0; i < calls; i++)
		sum += t[i];
	qsort(t, (size_t)calls, sizeof *t, cmp_double);
	double p50 = t[calls / 2], p90 = t[calls * 9 / 10], p99 = t[calls * 99 / 100];
	double unit = p99 < 1e-3 ? 1e6 : 1e3; /* microseconds or milliseconds */
	const char *u = p99 < 1e-3 ? "us" : "ms";
	printf("%s (batch %lld): p50 %.4g %s  p90 %.4g %s  p99 %.4g %s  mean %.4g %s  over %lld calls", what,
	       (long long)b, unit * p50, u, unit * p90, u, unit * p99, u, unit * sum / (double)calls, u,
	       (long long)calls);
	if (b > 1)
		printf("  = %.0f examples/s (%.0f at p50)", (double)b * (double)calls / sum, (double)b / p50);
	printf("\n");
	rt_free(t);
	rt_free(idx);
	return p50;
}

int
main(int argc, char **argv)
{
	const NndModel *m = &nnd_model;
	const char *weights = NULL, *idx = NULL, *input = NULL, *output = NULL, *labels = NULL;
	int eval = 0, benchmark = 0, batch_set = 0;
	int64_t batch = 256, seed = m->recipe.seed;
	char namebuf[256];

	rt_main_begin(m, "infer", namebuf, sizeof namebuf);
	for (int i = 1; i < argc; i++) {
		const char *v;
		switch (rt_flag_next(flags, F_COUNT, argc, argv, &i, &v)) {
		case F_WEIGHTS: weights = v; break;
		case F_IDX: idx = v; break;
		case F_INPUT: input = v; break;
		case F_OUTPUT: output = v; break;
		case F_LABELS: labels = v; break;
		case F_EVAL: eval = 1; break;
		case F_BENCH: benchmark = 1; break;
		case F_BATCH: batch = rt_parse_count("batch", v, 0); batch_set = 1; break;
		case F_SEED: seed = rt_parse_count("seed", v, 1); break;
		case F_THREADS: openblas_set_num_threads((int)rt_parse_count("threads", v, 0)); break;
		case F_HELP:
			printf("usage: %s --weights FILE (--idx FILE | --input FILE.npy) [--output FILE.npy | "
			       "--eval --labels FILE]\nRuns model '%s' (from %s).\n\nflags:\n", rt_prog,
			       m->name, m->source ? m->source : "?");
			rt_flags_help(stdout, flags, F_COUNT);
			return 0;
		}
	}
	if (!weights)
		rt_usage("--weights FILE is required");
	if (!idx == !input)
		rt_usage(idx ? "give either --idx or --input, not both" : "no examples: give --idx FILE or --input FILE.npy");
	if (eval && !labels)
		rt_usage("--eval needs --labels FILE");
	if (labels && !eval)
		rt_usage("--labels is only used with --eval");
	if (benchmark && (eval || output))
		rt_usage("--bench times the model alone; it takes no --eval or --output");
	if (benchmark)
		batch = 64;
	const NndEntry *e = eval ? &m->eval : &m->predict;
	if (!e->fn)
		rt_die("the model has no %s entry", eval ? "eval" : "predict");
	int bsym = rt_entry_batch_sym(m, e);
	if (e->ninputs != (eval ? 2 : 1))
		rt_die("entry '%s' takes %d inputs; %d is supported for now", e->name, e->ninputs, eval ? 2 : 1);

	int64_t pn = m->param_numel;
	float *params = rt_alloc_aligned(sizeof(float) * (pn ? pn : 1));
	rt_ckpt_load(weights, m, params, NULL, NULL);

	/* the data, bound to the entry's inputs; it gives the size variables after the batch */
	RtArray a[2];
	RtSyms sv;
	const char *src = idx ? idx : input;
	rt_syms_init(&sv, m, bsym);
	read_any(src, input != NULL, &a[0]);
	rt_array_bind(&a[0], &e->inputs[0], &sv, idx ? "images" : "--input");
	if (eval) {
		int npy = strlen(labels) > 4 && !strcmp(labels + strlen(labels) - 4, ".npy");
		read_any(labels, npy, &a[1]);
		rt_array_bind(&a[1], &e->inputs[1], &sv, "labels");
		if (a[1].dims[0] != a[0].dims[0])
			rt_die("images and labels have different numbers of examples: %s has %lld, %s has %lld",
			       src, (long long)a[0].dims[0], labels, (long long)a[1].dims[0]);
	}
	int64_t n = a[0].dims[0];
	if (n == 0)
		rt_die("%s: no examples", src);

	/* The predict output's layout: the batch on one axis (any: [T, B, k] too) is computed in
	   batches of --batch and each batch's result put in its slice of that axis of the whole
	   output; without it (or with it on several axes) the output is a value of the whole call, so
	   every example goes into one call */
	const NndTensorInfo *o = eval ? NULL : &e->outputs[0];
	int ax = eval ? 0 : batch_axis(o, bsym);
	char shape[160];
	if (!eval && ax < 0 && !benchmark) {
		if (batch_set && batch < n)
			rt_die("predict output '%s' %s does not have the batch size %s on exactly one axis, so "
			       "it is a value of the whole call: the %lld examples run in one call, but --batch is "
			       "%lld (leave --batch out or give at least %lld)", o->name,
			       rt_shape_str(shape, sizeof shape, o->dtype, o->rank, o->dims, m->syms),
			       m->syms[bsym], (long long)n, (long long)batch, (long long)n);
		batch = n;
	}
	if (!eval && !output && !benchmark && o->dtype != NND_F32)
		rt_die("predict output '%s' is %s; printing the argmax needs f32 (write it with --output)", o->name,
		       rt_shape_str(shape, sizeof shape, o->dtype, o->rank, o->dims, m->syms));

	/* buffers */
	int64_t *syms = sv.v;
	void *arena = rt_alloc_aligned(arena_need(e, syms, bsym, n, batch, 0));
	void *bufs[2];
	for (int i = 0; i < e->ninputs; i++)
		bufs[i] = rt_alloc_aligned(batch * rt_array_example_bytes(&a[i]));
	float hyper[NND_H_COUNT] = {[NND_H_SEED] = (float)nnd_seed_key((uint64_t)seed)}, scal[64];
	void *outp[64] = {0};
	double avg[64] = {0};
	RtArray y = {0};
	int64_t exb = 0; /* bytes of one example of the output, when the batch is its first axis */
	if (e->noutputs > 64)
		rt_die("more than 64 outputs (unsupported)");
	for (int i = 0; eval && i < e->noutputs; i++)
		outp[i] = &scal[i];
	if (!eval) {
		syms[bsym] = n;
		y.dtype = o->dtype;
		y.rank = o->rank;
		for (int i = 0; i < o->rank; i++)
			y.dims[i] = dim_value(o->dims[i], syms);
		y.data = rt_alloc((size_t)out_bytes(o, syms));
		exb = ax == 0 ? rt_numel(y.rank - 1, y.dims + 1) * rt_dtype_size(y.dtype) : 0;
		syms[bsym] = batch;
		/* output 0 of each call when it goes into slices; further outputs: computed, not written */
		for (int i = ax > 0 ? 0 : 1; i < e->noutputs; i++)
			outp[i] = rt_alloc_aligned(out_bytes(&e->outputs[i], syms));
	}
	NndCall call = {params, NULL, NULL, arena, (const void *const *)bufs, syms, hyper, outp};
	if (benchmark) {
		syms[bsym] = 64;
		void *y64 = rt_alloc_aligned(out_bytes(o, syms)), *out0 = outp[0];
		void *arena64 = rt_alloc_aligned(arena_need(e, syms, bsym, 64, 64, 0));
		call.arena = arena64;
		outp[0] = y64;
		printf("%s on %lld examples of %s", m->name, (long long)n, src);
		for (int i = 0; i < m->nsyms; i++)
			if (sv.v[i] > 0 && i != bsym)
				printf(", %s = %lld", m->syms[i], (long long)sv.v[i]);
		printf("\n");
		bench(e, &call, &a[0], bufs[0], syms, bsym, 1, "latency");
		bench(e, &call, &a[0], bufs[0], syms, bsym, 64, "throughput");
		rt_free_aligned(arena64);
		rt_free_aligned(y64);
		outp[0] = out0;
		n = 0; /* nothing more to run */
	}
	for (int64_t s = 0; s < n; s += batch) {
		int64_t b = n - s < batch ? n - s : batch;
		for (int i = 0; i < e->ninputs; i++)
			rt_array_slice(&a[i], s, b, bufs[i]);
		syms[bsym] = b;
		if (!eval && ax <= 0) /* the batch first (or one call): straight into the whole output */
			outp[0] = (char *)y.data + s * exb;
		e->fn(&call);
		if (!eval && ax > 0)
			put_slice(&y, ax, outp[0], s, b);
		for (int i = 0; eval && i < e->noutputs; i++)
			avg[i] += (double)scal[i] * b;
	}
	if (eval) {
		for (int i = 0; i < e->noutputs; i++)
			printf("%s%s %.4f", i ? "  " : "", e->outputs[i].name, avg[i] / n);
		printf("\n");
	} else if (output) {
		rt_npy_write(output, &y);
	} else if (!benchmark) {
		const float *p = y.data;
		int64_t k = y.rank > 1 ? y.dims[y.rank - 1] : 1, total = rt_numel(y.rank, y.dims);
		for (int64_t i = 0; i < total; i += k) {
			int64_t best = 0;
			for (int64_t j = 1; j < k; j++)
				if (p[i + j] > p[i + best])
					best = j;
			printf("%lld\n", (long long)best);
		}
	}
	if (fflush(stdout) != 0)
		rt_die("cannot write the output");
	for (int i = 0; i < e->ninputs; i++) {
		rt_array_free(&a[i]);
		rt_free_aligned(bufs[i]);
	}
	for (int i = ax > 0 ? 0 : 1; !eval && i < e->noutputs; i++)
		rt_free_aligned(outp[i]);
	rt_free(y.data);
	rt_syms_free(&sv);
	rt_free_aligned(arena);
	rt_free_aligned(params);
	return 0;
}
