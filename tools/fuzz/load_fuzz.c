/* tools/fuzz/load_fuzz.c: the libFuzzer target for the runtime's file loaders (`make fuzz-load`).
 *
 * NND_LOAD (environment) picks the loader: idx, npy, npz, csv, text, safetensors or ckpt. Each
 * input is written to a temporary file and loaded as the executables load it, for the inputs
 * x: f32[B, 4], y: i32[B] (text: i32[B, 4] twice) of a model "ix" Linear(4, 2) (weight [2, 4],
 * bias [2]; the corpus's checkpoints are of "ix"); arrays are then bound to an input (shape
 * check, conversion) and a batch is gathered.
 *
 * A loader refuses a bad file with rt_die, which prints and exits; here `exit` is a longjmp back
 * to the target, `stderr` is /dev/null, and the allocations, FILEs and gzFiles the runtime still
 * held are released, so that every input starts clean. This file includes the runtime's .c files
 * to put those names in place (as parse_fuzz.c includes ir/util.c). Any crash, sanitizer report,
 * hang or leak is a bug.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <libgen.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

/* Every live allocation of the runtime and of jansson, on one list (a header before each) */
typedef struct Live { struct Live *prev, *next; } Live;
static Live live = {&live, &live};

static void *
fuzz_malloc(size_t n)
{
	Live *l = malloc(sizeof(Live) + n);
	if (!l)
		return NULL;
	l->next = live.next, l->prev = &live;
	live.next->prev = l, live.next = l;
	return l + 1;
}

static void
fuzz_free(void *p)
{
	if (!p)
		return;
	Live *l = (Live *)p - 1;
	l->prev->next = l->next, l->next->prev = l->prev;
	free(l);
}

/* Open FILEs and gzFiles */
enum { MAXOPEN = 16 };
static FILE *files[MAXOPEN];
static gzFile gzs[MAXOPEN];

static FILE *
fuzz_fopen(const char *path, const char *mode)
{
	FILE *f = fopen(path, mode);
	for (int i = 0; f && i < MAXOPEN; i++)
		if (!files[i]) {
			files[i] = f;
			break;
		}
	return f;
}

static int
fuzz_fclose(FILE *f)
{
	for (int i = 0; i < MAXOPEN; i++)
		if (files[i] == f)
			files[i] = NULL;
	return fclose(f);
}

static gzFile
fuzz_gzopen(const char *path, const char *mode)
{
	gzFile f = gzopen(path, mode);
	for (int i = 0; f && i < MAXOPEN; i++)
		if (!gzs[i]) {
			gzs[i] = f;
			break;
		}
	return f;
}

static int
fuzz_gzclose(gzFile f)
{
	for (int i = 0; i < MAXOPEN; i++)
		if (gzs[i] == f)
			gzs[i] = NULL;
	return gzclose(f);
}

static jmp_buf refused;
static FILE *devnull;

static _Noreturn void
fuzz_exit(int status)
{
	(void)status;
	longjmp(refused, 1);
}

#define malloc fuzz_malloc
#define free fuzz_free
#define fopen fuzz_fopen
#define fclose fuzz_fclose
#define gzopen fuzz_gzopen
#define gzclose fuzz_gzclose
#define exit fuzz_exit
#undef stderr
#define stderr devnull
#include "runtime/util.c"
#include "runtime/rng.c"
#include "runtime/array.c"
#include "runtime/data.c"
#include "runtime/idx.c"
#include "runtime/npy.c"
#include "runtime/source.c"
#include "runtime/safetensors.c"
#include "runtime/ckpt.c"
#undef malloc
#undef free
#undef fopen
#undef fclose
#undef gzopen
#undef gzclose
#undef exit
#undef stderr

static void step_fn(const NndCall *c) { (void)c; }

static const NndTensorInfo xy[2] = {{"x", NND_F32, 2, {-1, 4}}, {"y", NND_I32, 1, {-1}}};
static const NndTensorInfo xy_text[2] = {{"x", NND_I32, 2, {-1, 4}}, {"y", NND_I32, 2, {-1, 4}}};
static const char *const syms[] = {"B"};
static const NndParam params[2] = {
	{.t = {"weight", NND_F32, 2, {2, 4}}, .offset = 0, .numel = 8, .trainable = 1},
	{.t = {"bias", NND_F32, 1, {2}}, .offset = 8, .numel = 2, .trainable = 1},
};
static NndModel model = {
	.abi_version = NND_ABI_VERSION, .name = "ix", .nparams = 2, .params = params,
	.param_numel = 10, .opt_slots = 1, .nsyms = 1, .syms = syms,
	.step = {"step", 2, 0, xy, NULL, step_fn, NULL},
};

/* Binds what loaded and gathers a batch of its first examples, as training does */
static void
use(RtData *d, const NndEntry *e)
{
	int64_t idx[4], n = d->count < 4 ? d->count : 4;
	for (int64_t i = 0; i < n; i++)
		idx[i] = n - 1 - i;
	void **bufs = rt_batch_alloc(d, n);
	for (int i = 0; i < d->narrays; i++)
		rt_array_gather(&d->a[i], idx, n, bufs[i]);
	rt_batch_free(bufs, d->narrays);
	(void)e;
}

static void
load(const char *kind, const char *path, const uint8_t *data, size_t size, int bit)
{
	NndEntry *e = &model.step;
	RtData d;
	float block[10], opt[10];

	e->inputs = strcmp(kind, "text") ? xy : xy_text;
	if (!strcmp(kind, "idx") || !strcmp(kind, "npy")) {
		/* the first bit of the file's size picks the input: x (f32[B, 4]) or y (i32[B]) */
		RtArray a;
		if (kind[0] == 'i')
			rt_idx_read(path, &a);
		else
			rt_npy_parse(path, data, (int64_t)size, &a);
		if (a.rank < 1)
			rt_die("%s: a 0-dimensional array holds no examples", path);
		RtSyms sv;
		rt_syms_init(&sv, &model, 0);
		rt_array_bind(&a, &e->inputs[bit], &sv, "data");
		memset(&d, 0, sizeof d);
		d.narrays = 1, d.a[0] = a, d.count = a.dims[0];
		use(&d, e);
	} else if (!strcmp(kind, "safetensors")) {
		RtTensor t[2] = {{"weight", 2, params[0].t.dims, block}, {"bias", 1, params[1].t.dims, block + 8}};
		rt_st_meta(rt_st_read(path, t, 2, bit), "step");
	} else if (!strcmp(kind, "ckpt")) {
		RtTrainState st;
		rt_ckpt_load(path, &model, block, opt, &st);
	} else {
		NndDataSource src = {.npaths = 1, .paths = {path}, .label = "label", .seq = 4};
		src.kind = !strcmp(kind, "npz") ? NND_DATA_NPZ : !strcmp(kind, "csv") ? NND_DATA_CSV : NND_DATA_TEXT;
		rt_source_load(&d, &model, e, &src, "fuzz");
		use(&d, e);
	}
}

static char path[64], opt[80];

static void
remove_files(void)
{
	unlink(path);
	unlink(opt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int fuzz_keep_memory; /* tools/fuzz/replay.c sets it; nothing to keep here */

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const kinds[] = {"idx", "npy", "npz", "csv", "text", "safetensors", "ckpt"};
	static const char *kind;

	if (!kind) {
		const char *k = getenv("NND_LOAD");
		for (size_t i = 0; k && i < sizeof kinds / sizeof kinds[0]; i++)
			if (!strcmp(k, kinds[i]))
				kind = kinds[i];
		if (!kind) {
			fprintf(stderr, "load_fuzz: set NND_LOAD to idx, npy, npz, csv, text, safetensors or ckpt\n");
			abort();
		}
		devnull = fopen("/dev/null", "w");
		json_set_alloc_funcs(fuzz_malloc, fuzz_free);
		snprintf(path, sizeof path, "/tmp/nnd-load-fuzz.%d", (int)getpid());
		snprintf(opt, sizeof opt, "%s.opt", path);
		atexit(remove_files);
	}
	/* the file; for ckpt the same bytes are its FILE.opt too */
	for (int k = 0; k < (strcmp(kind, "ckpt") ? 1 : 2); k++) {
		FILE *f = fopen(k ? opt : path, "wb");
		if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
			abort();
	}
	if (!setjmp(refused))
		load(kind, path, data, size, size & 1);
	for (int i = 0; i < MAXOPEN; i++) {
		if (files[i])
			fclose(files[i]);
		if (gzs[i])
			gzclose(gzs[i]);
		files[i] = NULL, gzs[i] = NULL;
	}
	while (live.next != &live)
		fuzz_free(live.next + 1);
	return 0;
}
