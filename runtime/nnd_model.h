/* runtime/nnd_model.h: the boundary between generated code and the runtime.
 *
 * nndc emits one object per recipe that defines `const NndModel nnd_model` and the entry
 * functions it points to. The runtime (libnndrt) supplies main() for the training executable
 * (runtime/train_main.c) and for the inference executable (runtime/infer_main.c), and the few
 * helpers generated code calls (optimiser updates). This header is the whole contract: plain C,
 * no compiler types.
 */
#ifndef NND_MODEL_H
#define NND_MODEL_H

#include <stdint.h>

#define NND_ABI_VERSION 6
#define NND_MAX_RANK 8

/* Element types; the numbering equals the compiler's DType */
enum { NND_F32, NND_F64, NND_F16, NND_BF16, NND_I8, NND_U8, NND_I16, NND_I32, NND_I64, NND_BOOL };

/* Initialisers, numbered as the compiler's InitKind */
enum {
	NND_INIT_ZEROS, NND_INIT_ONES, NND_INIT_CONSTANT, NND_INIT_NORMAL, NND_INIT_UNIFORM,
	NND_INIT_KAIMING_UNIFORM, NND_INIT_KAIMING_NORMAL, NND_INIT_XAVIER_UNIFORM,
	NND_INIT_XAVIER_NORMAL, NND_INIT_ORTHOGONAL
};

/* Run-time hyper-parameters: generated code reads them from NndCall.hyper. The last two are
   computed in double by the runtime for each step t = NND_H_STEP + 1, as torch.optim does in
   Python: STEP_SIZE = lr / (1 - beta1^t), BIAS2_SQRT = sqrt(1 - beta2^t) (Adam, AdamW).
   CLIP is the max norm of clip_grad_norm (read only by recipes that have one). SEED is the run's
   seed folded to 24 bits (nnd_seed_key: exact in f32), read with STEP by dropout and rand.
   NOISE is the standard deviation of grad_noise at this step, sqrt(eta / (1 + step)^gamma).
   ACC_W and ACC_KEEP drive gradient accumulation (recipes with `accumulate`): the accumulated
   gradient becomes (ACC_KEEP != 0 ? itself : 0) + ACC_W * this micro-batch's gradient; SKIP != 0
   makes the optimiser updates return at once (every micro-batch but the last of a step). */
enum {
	NND_H_LR, NND_H_MOMENTUM, NND_H_WEIGHT_DECAY, NND_H_DAMPENING, NND_H_NESTEROV,
	NND_H_BETA1, NND_H_BETA2, NND_H_EPS, NND_H_STEP, NND_H_ALPHA, NND_H_CENTERED,
	NND_H_LR_DECAY, NND_H_INIT_ACC, NND_H_STEP_SIZE, NND_H_BIAS2_SQRT, NND_H_CLIP, NND_H_SEED,
	NND_H_NOISE, NND_H_ACC_W, NND_H_ACC_KEEP, NND_H_SKIP, NND_H_COUNT
};
/* The seed's key for NND_H_SEED: seeds below 2^24 are their own key, larger ones fold */
static inline uint32_t nnd_seed_key(uint64_t seed)
{
	return (uint32_t)((seed ^ (seed >> 24) ^ (seed >> 48)) & 0xffffff);
}

/* Optimisers, numbered as the compiler's OptKind; NND_OPT_SLOTS gives each one's state blocks,
   named as torch.optim's state: SGD momentum_buffer; Adam/AdamW exp_avg, exp_avg_sq; RMSprop
   square_avg, momentum_buffer, grad_avg; Adagrad sum; Lion exp_avg */
enum { NND_OPT_SGD, NND_OPT_ADAM, NND_OPT_ADAMW, NND_OPT_RMSPROP, NND_OPT_ADAGRAD, NND_OPT_LION, NND_OPT_COUNT };
#define NND_OPT_SLOTS {1, 2, 2, 3, 1, 1}
/* Schedules and data sources, numbered as the compiler's SchedKind and DataKind */
enum { NND_SCHED_CONSTANT, NND_SCHED_COSINE, NND_SCHED_STEP, NND_SCHED_EXPONENTIAL, NND_SCHED_LINEAR,
       NND_SCHED_ONECYCLE, NND_SCHED_COUNT };
enum { NND_DATA_NONE, NND_DATA_IDX, NND_DATA_NPY, NND_DATA_NPZ, NND_DATA_CSV, NND_DATA_TEXT, NND_DATA_COUNT };

/* A tensor's description. dims[i] >= 0 is fixed; dims[i] < 0 is -(k+1) for run-time size
   variable k (NndModel.syms[k]), bound from the data: the batch size B (dims[0], per call), any
   other (T) by the data set's extent on that axis. NndCall.syms holds each call's values. */
typedef struct NndTensorInfo {
	const char *name;
	int32_t dtype;
	int32_t rank;
	int64_t dims[NND_MAX_RANK];
} NndTensorInfo;

typedef struct NndParam {
	NndTensorInfo t;     /* name is the path ("fc1.weight"), the checkpoint key */
	int64_t offset;      /* in elements (f32) from the start of the parameter block */
	int64_t numel;
	int32_t is_state;    /* 1 for `state` tensors (saved, not trained) */
	int32_t trainable;   /* 0 for state and frozen parameters */
	int32_t init;        /* NND_INIT_* */
	double init_args[4]; /* see the compiler's Param.init_args */
	int64_t fan_in, fan_out;
	const char *from;    /* NULL, or the safetensors file the value is loaded from at the start of a
	                        run (a frozen model of the recipe: `teacher = M() from "f" frozen`) */
	const char *from_name; /* its tensor name in that file ("fc1.weight" for "teacher.fc1.weight") */
	int32_t group;       /* its parameter group: 0 the recipe's own, g >= 1 NndModel.groups[g - 1] */
} NndParam;

/* The arguments of every entry function */
typedef struct NndCall {
	float *params;             /* the parameter block: every param and state, NndParam.offset */
	float *grads;              /* same layout: the accumulated gradients of a step with grad_acc
	                              (recipes with `accumulate`); may be NULL elsewhere */
	float *opt;                /* optimiser state: opt_slots blocks of param_numel floats */
	void *arena;               /* scratch of arena_size(syms) bytes, 64-byte aligned */
	const void *const *inputs; /* entry inputs, in NndEntry.inputs order, dense row-major */
	const int64_t *syms;       /* value of each run-time size variable */
	const float *hyper;        /* NND_H_*: one row of NND_H_COUNT floats per parameter group
	                              (1 + NndModel.ngroups rows; row g for group g) */
	void *const *outputs;      /* caller-allocated buffers, one per NndEntry.outputs */
} NndCall;

typedef struct NndEntry {
	const char *name;          /* "step", "eval", "predict", "forward"; NULL if absent */
	int32_t ninputs, noutputs;
	const NndTensorInfo *inputs;
	const NndTensorInfo *outputs; /* step and eval: f32 scalars "loss", then each metric */
	void (*fn)(const NndCall *);
	int64_t (*arena_size)(const int64_t *syms);
} NndEntry;

typedef struct NndDataSource {
	int32_t kind;              /* NND_DATA_* */
	int32_t npaths;
	const char *paths[4];      /* IDX: images, labels; NPY: one file per names[i]; others: one file */
	const char *names[4];      /* NPY: the entry input paths[i] feeds (NULL: input i) */
	const char *label;         /* CSV: the label column */
	int64_t seq;               /* TEXT: sequence length T */
} NndDataSource;

typedef struct NndRecipe {
	int64_t batch, epochs, steps, seed; /* steps 0: run `epochs` epochs */
	int32_t optimizer;                  /* NND_OPT_* */
	int32_t schedule;                   /* NND_SCHED_* */
	double lr, momentum, weight_decay, dampening, beta1, beta2, eps;
	int32_t nesterov;
	int64_t warmup;
	double min_lr;
	NndDataSource data, valid;
	double alpha;                       /* RMSprop smoothing constant */
	int32_t centered;                   /* RMSprop */
	double lr_decay, initial_accumulator_value; /* Adagrad */
	int64_t step_every;                 /* NND_SCHED_STEP: decay every this many steps */
	double gamma;                       /* NND_SCHED_STEP, NND_SCHED_EXPONENTIAL */
	double max_lr, pct_start, div_factor, final_div_factor; /* NND_SCHED_ONECYCLE */
	double clip_grad_norm;              /* 0: the step does not clip (NND_H_CLIP unused) */
	double noise_eta, noise_gamma;      /* grad_noise = gaussian(eta:, gamma:); eta 0: the step adds none */
	int64_t accumulate;                 /* micro-batches per optimiser step; 0: the step cannot accumulate */
} NndRecipe;

typedef struct NndModel {
	int32_t abi_version;       /* NND_ABI_VERSION */
	const char *name;          /* the recipe's name */
	const char *source;        /* the .nnd file it was compiled from */
	int32_t nparams;
	const NndParam *params;
	int64_t param_numel;       /* size of the parameter block in elements */
	int32_t opt_slots;         /* optimiser state blocks (SGD with momentum: 1) */
	int32_t nsyms;
	const char *const *syms;
	NndEntry step;             /* training step: forward, backward, optimiser update; outputs loss, metrics */
	NndEntry eval;             /* loss and metrics with training false, no update */
	NndEntry predict;          /* the loss's inputs that the model needs -> the model's output */
	NndRecipe recipe;          /* also parameter group 0: every parameter no group names */
	int32_t ngroups;           /* parameter groups beyond group 0 (`optimizer model.fc1 = ...`) */
	const NndRecipe *groups;   /* group g >= 1 is groups[g - 1]: its optimizer, its hyper-parameters and
	                              its schedule fields (the recipe's when it has no `schedule PATH`);
	                              the other fields are copies of the recipe's */
} NndModel;

extern const NndModel nnd_model;

/* Runtime helpers called by generated code (runtime/optim.c) */
/* One optimiser step on a parameter of n elements: opt (NULL when the model has no optimiser
   state) points at its slot 0 in the optimiser block; slot k is at opt + k * stride (stride =
   NndModel.param_numel). kind is NND_OPT_*; hyper holds NND_H_*. Each optimiser follows
   torch.optim's single-tensor code step for step (runtime/optim.c); Lion follows Chen et al. 2023
   (the lion-pytorch package). Returns at once when hyper[NND_H_SKIP] != 0. */
void nnd_rt_opt_update(int32_t kind, float *p, const float *grad, float *opt, int64_t n, int64_t stride,
                       const float *hyper);
/* SGD with momentum, PyTorch's formulation: g = grad + wd*p; m = mu*m + (1-dampening)*g
   (m = g on the first step, signalled by hyper[NND_H_STEP] == 0); g = nesterov ? g + mu*m : m;
   p -= lr*g. */
void nnd_rt_sgd_update(float *p, const float *grad, float *mom, int64_t n, const float *hyper);
/* A runtime helper's scratch memory, one per node of the generated code (a zeroed module global):
   p holds size bytes. The helper replaces p by a larger block only when a call needs more and
   never frees it, so a training step allocates nothing after the first (or after a longer T). */
typedef struct NndScratch {
	void *p;
	int64_t size;
} NndScratch;
/* The CTC loss of each sample (dloss NULL: out f[N]) or its gradient (out f[T, N, C], times
   dloss[n]) for ctc_loss and ctc_loss_bwd (runtime/ctc.c); lp and out are float, or double when
   dbl; targets [N, S], il and tl [N]; the node's scratch holds alpha, beta and a row of C. A length
   or target out of range calls nnd_rt_error. */
void nnd_rt_ctc(NndScratch *scratch, int32_t dbl, const void *lp, const int64_t *targets, const int64_t *il, const int64_t *tl, int64_t T,
                int64_t N, int64_t C, int64_t S, int64_t blank, int32_t zero_infinity, const void *dloss, void *out);
/* A run-time data error found by generated code (a label outside [0, C)): prints
   "error: " and the message to stderr and exits with status 1. */
_Noreturn void nnd_rt_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* --check-numerics: generated code tests `nnd_rt_check_numerics` (0 or 1, set by the runtime)
   after every float-valued kernel and, when it is set, calls nnd_rt_check_f32/_f64 with the
   node's result, element count and "op at file.nnd:line:col". The first NaN or Inf prints
   "error: non-finite value (nan) in the result of OP at FILE:LINE:COL" and exits with status 1. */
extern int32_t nnd_rt_check_numerics;
void nnd_rt_check_f32(const float *x, int64_t n, const char *where);
void nnd_rt_check_f64(const double *x, int64_t n, const char *where);

#endif
