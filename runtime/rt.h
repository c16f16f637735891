/* runtime/rt.h: libnndrt's private header, one section per file. The contract with generated
 * code is nnd_model.h; everything here is rt_-prefixed and used by the runtime's own files and
 * the two main()s (train_main.c, infer_main.c). Library functions take the model as an argument
 * and never name nnd_model themselves. */
#ifndef RT_H
#define RT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "runtime/nnd_model.h"

void openblas_set_num_threads(int);

/* runtime/util.c */
extern const char *rt_prog;                 /* "fashion-train": the prefix of every message */
extern void *(*rt_alloc_hook)(size_t size); /* every allocation; tests may make it fail */
_Noreturn void rt_die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void rt_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void *rt_alloc(size_t size);                /* dies with a message when out of memory */
void *rt_alloc_zero(size_t size);
void *rt_alloc_aligned(size_t size);        /* 64-byte aligned, size rounded up */
void rt_free(void *p);
void rt_free_aligned(void *p);             /* for rt_alloc_aligned */
char *rt_strdup(const char *s);
int rt_dtype_size(int dtype);
const char *rt_dtype_name(int dtype);
/* "u8[60000, 28, 28]"; dims < 0 print as the symbol's name when syms is given */
char *rt_shape_str(char *buf, size_t n, int dtype, int rank, const int64_t *dims,
                   const char *const *syms);
double rt_now(void);
/* Flush denormal floats to zero on this thread (x86 FTZ and DAZ), as TensorFlow does: a confident
   network's softmax gradients reach 1e-40, and arithmetic on such numbers is ~100 times slower. */
void rt_flush_denormals(void);
/* The start of both executables' main: names the program "<model>-<what>" in messages (in buf),
   flushes denormals, refuses a model compiled for another runtime ABI */
void rt_main_begin(const NndModel *m, const char *what, char *buf, size_t n);
int64_t rt_numel(int rank, const int64_t *dims);

/* runtime/rng.c: xoshiro256** seeded with splitmix64 */
typedef struct RtRng { uint64_t s[4]; } RtRng;
void rt_rng_seed(RtRng *r, uint64_t seed);
uint64_t rt_rng_next(RtRng *r);
double rt_rng_uniform(RtRng *r);            /* [0, 1) with 53 bits */
double rt_rng_normal(RtRng *r);             /* Box-Muller */
uint64_t rt_rng_below(RtRng *r, uint64_t n);/* unbiased in [0, n) */
void rt_rng_shuffle(RtRng *r, int64_t *a, int64_t n); /* Fisher-Yates */

/* runtime/sched.c */
extern const char *const rt_sched_names[NND_SCHED_COUNT]; /* "constant", "cosine", ... */
double rt_schedule_lr(const NndRecipe *r, int64_t step, int64_t total);
/* NND_H_*, for a step of one micro-batch (ACC_W 1, ACC_KEEP 0, SKIP 0) */
void rt_hyper_set(float *h, const NndRecipe *r, double lr, int64_t step);

/* runtime/init.c */
void rt_params_init(const NndModel *m, float *block, uint64_t seed);
/* Loads every param with a `from` file from that file (by from_name; other tensors in the file
   are ignored); a missing tensor or a wrong dtype or shape dies naming the file and the tensor */
void rt_params_from(const NndModel *m, float *block);

/* runtime/array.c: N examples of one shape, read from a file and bound to an entry input */
typedef struct RtArray {
	int dtype;                 /* NND_* */
	int rank;                  /* dims[0] is the number of examples */
	int64_t dims[NND_MAX_RANK];
	void *data;
	const char *path;          /* for messages */
	char *owned_path;          /* freed with the array (an npz member's "file:member") */
} RtArray;
void rt_array_free(RtArray *a);
int64_t rt_array_example_bytes(const RtArray *a);
/* The values of a model's size variables for one data set, as NndCall.syms: the batch variable
   is set per call; every other one is bound by rt_array_bind from the first file that has it
   (every example of a file has one shape: the variable is the file's extent on that axis). */
typedef struct RtSyms {
	const NndModel *m;
	int batch;                 /* the batch variable's index */
	int64_t *v;                /* m->nsyms values (one more allocated); 0: not bound yet */
	const char **from;         /* the file each variable was bound from */
} RtSyms;
void rt_syms_init(RtSyms *s, const NndModel *m, int batch);
void rt_syms_free(RtSyms *s);
/* Checks a's per-example shape against in->dims[1..], binding or checking each size variable
   there in s, and converts to in->dtype; dies naming the file, the expected and the found shape
   (or, for a size variable two files disagree on, both files and both values).
   what: "images", "labels", "--input". */
void rt_array_bind(RtArray *a, const NndTensorInfo *in, RtSyms *s, const char *what);
void rt_array_gather(const RtArray *a, const int64_t *idx, int64_t n, void *dst);
void rt_array_slice(const RtArray *a, int64_t start, int64_t n, void *dst);

/* runtime/idx.c: IDX files, gzip or plain */
void rt_idx_read(const char *path, RtArray *a);

/* runtime/npy.c: .npy v1/v2/v3, little-endian, C order */
void rt_npy_read(const char *path, RtArray *a);
/* An npy image in memory; path names it in messages */
void rt_npy_parse(const char *path, const unsigned char *buf, int64_t size, RtArray *a);
/* The whole file, NUL-terminated (not counted in *size); dies naming the file */
unsigned char *rt_file_read(const char *path, int64_t *size);
void rt_npy_write(const char *path, const RtArray *a);

/* runtime/data.c: a data set bound to an entry's inputs */
typedef struct RtData {
	int narrays;
	RtArray a[4];              /* a[i] feeds entry input i */
	int64_t count;             /* examples */
	RtSyms syms;               /* the size variables this data set binds (its own T) */
} RtData;
/* Checks the entry's inputs: every dims[0] is the same size symbol; returns its index */
int rt_entry_batch_sym(const NndModel *m, const NndEntry *e);
/* Loads files paths[0..npaths) for the inputs of e; source names the flag or recipe field */
void rt_data_load(RtData *d, const NndModel *m, const NndEntry *e, const char *const *paths,
                  int npaths, const char *source);
void rt_data_free(RtData *d);

/* runtime/source.c: a data source of any kind (NND_DATA_*) for the inputs of e; source names
   the flag or recipe field in messages */
void rt_source_load(RtData *d, const NndModel *m, const NndEntry *e, const NndDataSource *src,
                    const char *source);
/* Input buffers for a batch of up to maxb examples (one allocation per input) */
void **rt_batch_alloc(const RtData *d, int64_t maxb);
void rt_batch_free(void **bufs, int n);

/* runtime/safetensors.c */
typedef struct RtTensor {
	const char *name;
	int rank;
	const int64_t *dims;
	float *data;               /* written from / read into */
} RtTensor;
typedef struct RtKV { const char *key; const char *value; } RtKV;
/* Atomic: temporary file in the same directory, fsync, rename, fsync the directory */
void rt_st_write(const char *path, const RtTensor *t, int n, const RtKV *meta, int nmeta);
/* Reads every tensor of t (all must be present, F32, of the same shape); other tensors in the
   file are an error unless allow_extra. Returns the __metadata__ object (a json_t *, or NULL)
   as an opaque pointer; get values with rt_st_meta. Every problem dies naming the file. */
void *rt_st_read(const char *path, const RtTensor *t, int n, int allow_extra);
const char *rt_st_meta(void *meta, const char *key);
void rt_st_meta_free(void *meta);

/* runtime/ckpt.c: checkpoints = parameters in FILE, optimiser state in FILE.opt */
typedef struct RtTrainState {
	int64_t step, epoch, pos;  /* optimiser steps done; epoch (0-based) and example position in it */
	uint64_t seed;
	RtRng rng;                 /* the shuffle generator at the start of `epoch` */
} RtTrainState;
void rt_ckpt_save(const char *path, const NndModel *m, const float *params, const float *opt,
                  const RtTrainState *st);
/* Loads params (and opt + st when opt is non-NULL: a resume) */
void rt_ckpt_load(const char *path, const NndModel *m, float *params, float *opt, RtTrainState *st);

/* runtime/cli.c: command-line values */
typedef struct RtFlag {
	const char *name;          /* "epochs" for --epochs */
	const char *arg;           /* "N", "X", "FILE"; NULL: a switch */
	const char *help;
} RtFlag;
/* Splits argv[*i] ("--name", "--name=value") into the flag index and its value; unknown flags
   and missing values are usage errors (exit 2) */
int rt_flag_next(const RtFlag *flags, int nflags, int argc, char **argv, int *i, const char **val);
void rt_flags_help(FILE *f, const RtFlag *flags, int nflags);
int64_t rt_parse_count(const char *flag, const char *s, int allow_zero);
double rt_parse_real(const char *flag, const char *s, int allow_negative);
int rt_split_paths(char *s, const char **out, int max); /* "a,b" -> {"a", "b"} */

/* runtime/progress.c */
typedef struct RtProgress {
	int tty, quiet;
	int nout;
	const NndTensorInfo *outs; /* names of the step outputs */
	int64_t total;             /* steps in the run */
	double *ring;              /* last RT_WINDOW steps: outputs and batch sizes */
	int64_t nring, head;
	double t0, tlast, lastline;
	int64_t step0;             /* step at which this process started */
	int64_t examples;          /* since t0 */
	FILE *log;
} RtProgress;
void rt_progress_init(RtProgress *p, const NndEntry *step, int64_t total, int64_t step0, int quiet,
                      const char *logpath, int append);
/* After each step; epoch is 0-based */
void rt_progress_step(RtProgress *p, int64_t step, int64_t epoch, int64_t nepochs, const float *out,
                      int64_t batch, double lr);
void rt_progress_clear(RtProgress *p);      /* ends an updating line before other output */
void rt_progress_free(RtProgress *p);

#endif
