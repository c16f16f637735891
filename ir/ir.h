/* ir/ir.h: the graph IR and the utilities every compiler layer shares.
 *
 * A Prog is one compilation's result: the parameters and state of the models, the run-time size
 * variables, and one Graph per entry point ("loss", "step", "eval", "predict", "forward").
 * A Graph is a list of Nodes in topological order (each node's inputs come before it); every node
 * has one result of a known Type. Nothing is mutated: passes build new nodes and rewire uses.
 * Everything comes from one Arena per compilation and is never freed on its own.
 */
#ifndef NND_IR_H
#define NND_IR_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- ir/util.c: arena, strings, growable arrays, internal errors ---------------------------- */

typedef struct Arena Arena;
Arena *arena_new(void);
void *arena_alloc(Arena *a, size_t n);            /* zeroed, 16-byte aligned; never fails (dies on OOM) */
char *arena_strdup(Arena *a, const char *s);
char *arena_strndup(Arena *a, const char *s, size_t n);
char *arena_printf(Arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *str_intern(const char *s);           /* process-wide; equal strings give equal pointers */
const char *str_intern_n(const char *s, size_t n);

/* Growable array of pointers or values: `VEC(Node *) v = {0}; vec_push(&v, n);` (heap; the
   compile path keeps these only as long as the arena lives, so they are not freed either). */
#define VEC(T) struct { T *v; int n, cap; }
#define vec_push(vec, x)                                                                     \
	do {                                                                                     \
		if ((vec)->n == (vec)->cap) {                                                        \
			(vec)->cap = (vec)->cap ? 2 * (vec)->cap : 8;                                    \
			(vec)->v = xrealloc((vec)->v, (size_t)(vec)->cap * sizeof *(vec)->v);            \
		}                                                                                    \
		(vec)->v[(vec)->n++] = (x);                                                          \
	} while (0)
void *xrealloc(void *p, size_t n);
char *read_file(const char *path, size_t *len);  /* NULL with errno set when it cannot be read */

/* A compiler bug, never a user's mistake: prints file:line and the message, exits with 3. */
#define BUG(...) bug_at(__FILE__, __LINE__, __VA_ARGS__)
_Noreturn void bug_at(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ---- source locations (shared by the AST, the IR and diagnostics) --------------------------- */

typedef struct Loc {
	const char *file;      /* interned path as the user gave it; NULL for "no location" */
	int line, col;         /* 1-based start */
	int end_line, end_col; /* 1-based, inclusive end (for ~~~ underlines) */
} Loc;

/* ---- types ---------------------------------------------------------------------------------- */

/* Element types, in the order of nnd_model.h's NND_F32 ... (the runtime shares the numbering). */
typedef enum { TY_F32, TY_F64, TY_F16, TY_BF16, TY_I8, TY_U8, TY_I16, TY_I32, TY_I64, TY_BOOL, TY_COUNT } DType;
extern const char *const dtype_name[TY_COUNT]; /* "f32" ... */
int dtype_size(DType t);                        /* bytes per element; bool is 1 */
bool dtype_is_float(DType t);
bool dtype_is_int(DType t);                     /* signed or unsigned integer, not bool */
int dtype_from_name(const char *s);            /* -1 if s is not an element type name */

#define MAX_RANK 8
#define MAX_ATTR 12 /* integer attributes of a node (conv3d has 10) */

/* A dimension: >= 0 is a size known at compile time; < 0 is symbolic, -(k+1) naming expression k
   of Prog.dims (a run-time size variable, or + - * / % of dimensions). Equal expressions are
   interned, so two Dims are equal exactly when their values are equal for every binding. */
typedef int64_t Dim;
#define DIM_IS_CONST(d) ((d) >= 0)

typedef enum { DE_SYM, DE_ADD, DE_SUB, DE_MUL, DE_DIV, DE_MOD } DimOp;
typedef struct DimExpr {
	DimOp op;
	int sym;  /* DE_SYM: index into Prog.syms */
	Dim a, b; /* the operands of the others */
} DimExpr;

typedef struct Type {
	DType dtype;
	int rank;
	Dim dim[MAX_RANK];
} Type;

/* ---- operations ----------------------------------------------------------------------------- */

enum {
	OPF_LEAF = 1 << 0,     /* no inputs: reads an input, a parameter, a constant */
	OPF_ELEMWISE = 1 << 1, /* elementwise with numpy broadcasting */
	OPF_COMMUTE = 1 << 2,  /* inputs may be swapped */
	OPF_REDUCE = 1 << 3,   /* a reduction over attr[0]'s axes */
	OPF_NOGRAD = 1 << 4,   /* no derivative (integer or boolean result, or an effect) */
	OPF_EFFECT = 1 << 5,   /* writes outside its result (optimiser updates): never removed */
};

typedef enum {
#define OP(e, text, nin, flags, shape) OP_##e,
#include "ops.def"
#undef OP
	OP_COUNT
} Op;

typedef struct OpInfo {
	const char *name;
	int nin;
	int flags;
} OpInfo;
extern const OpInfo op_info[OP_COUNT];
int op_from_name(const char *s); /* -1 if unknown */

/* ---- nodes, graphs, programs ---------------------------------------------------------------- */

typedef struct Node Node;
struct Node {
	int id;          /* unique within its graph; printed as %id */
	Op op;
	Type type;
	Node **in;
	int nin;
	int64_t attr[MAX_ATTR]; /* op-specific integers (see ops.def) */
	int nattr;
	double fval;            /* op-specific number (CONST's value) */
	const char *name;       /* optional: the source name the value was bound to, for dumps */
	Loc loc;                /* where in the .nnd source it comes from */
	void *aux;              /* scratch for the pass or lowering at hand; not preserved */
	struct Graph **sub;     /* regions: the subgraphs this node owns (LOOP: sub[0] = its body) */
	int nsub;
};

/* A named result of an entry point */
typedef struct Output {
	const char *name;  /* "loss", a metric's name, "logits" ... */
	Node *node;
} Output;

typedef struct Graph {
	struct Prog *prog;
	const char *name;  /* "loss", "step", "eval", "predict", "forward" */
	VEC(Node *) nodes; /* topological order */
	VEC(Node *) inputs;/* the INPUT nodes, in entry order (attr[0] == position) */
	VEC(Output) outputs;
	VEC(Node *) effects; /* OPF_EFFECT nodes, kept by every pass */
	int next_id;
} Graph;

typedef enum { PK_PARAM, PK_STATE } ParamKind;

/* Initialisers (PyTorch's conventions; fan-in and fan-out from the declared shape) */
typedef enum {
	INIT_ZEROS, INIT_ONES, INIT_CONSTANT, INIT_NORMAL, INIT_UNIFORM, INIT_KAIMING_UNIFORM,
	INIT_KAIMING_NORMAL, INIT_XAVIER_UNIFORM, INIT_XAVIER_NORMAL, INIT_ORTHOGONAL, INIT_COUNT
} InitKind;
extern const char *const init_name[INIT_COUNT];

typedef struct Param {
	const char *name;  /* path name: "fc1.weight"; the checkpoint key */
	ParamKind kind;
	Type type;         /* all dims known at compile time */
	InitKind init;
	double init_args[4]; /* CONSTANT: value; NORMAL: mean, std; UNIFORM: lo, hi; KAIMING_*: a; XAVIER_*: gain */
	bool trainable;    /* false for state and frozen parameters */
	const char *from;      /* NULL, or the safetensors file its value is loaded from when a run starts (frozen models) */
	const char *from_name; /* its tensor's name in that file */
	int group;             /* parameter group: 0 is the recipe's optimizer, g >= 1 is Prog.groups.v[g-1] */
	Loc loc;           /* the declaration */
} Param;

/* Recipe: what the training executable does by default (every scalar can be overridden on its
   command line). */
/* Optimisers, numbered as the runtime's NND_OPT_* */
typedef enum { OPT_SGD, OPT_ADAM, OPT_ADAMW, OPT_RMSPROP, OPT_ADAGRAD, OPT_LION, OPT_COUNT } OptKind;
/* Schedules and data sources, numbered as the runtime's NND_SCHED_* and NND_DATA_* */
typedef enum { SCHED_CONSTANT, SCHED_COSINE, SCHED_STEP, SCHED_EXPONENTIAL, SCHED_LINEAR, SCHED_ONECYCLE, SCHED_COUNT } SchedKind;
typedef enum { DATA_NONE, DATA_IDX, DATA_NPY, DATA_NPZ, DATA_CSV, DATA_TEXT, DATA_COUNT } DataKind;

typedef struct DataSource {
	DataKind kind;
	const char *paths[4]; /* DATA_IDX: images, labels; DATA_NPY: one file per loss input; others: one file */
	const char *names[4]; /* DATA_NPY/NPZ: the loss input each file or member feeds (x:, y:) */
	int npaths;
	const char *label;    /* DATA_CSV: the label column */
	int64_t seq;          /* DATA_TEXT: sequence length T */
	Loc loc;
} DataSource;

typedef struct Recipe {
	const char *name;      /* `train NAME` */
	int64_t batch, epochs, steps, seed; /* steps 0: run `epochs` epochs */
	OptKind opt;
	double lr, momentum, weight_decay, dampening, beta1, beta2, eps;
	bool nesterov;
	double alpha;            /* rmsprop's smoothing constant */
	bool centered;           /* rmsprop */
	double lr_decay, initial_accumulator_value; /* adagrad */
	SchedKind sched;
	int64_t warmup;
	double min_lr;
	int64_t step_every;      /* SCHED_STEP: decay every this many steps */
	double gamma;            /* SCHED_STEP, SCHED_EXPONENTIAL: the decay factor */
	double max_lr;           /* SCHED_ONECYCLE; and torch OneCycleLR's pct_start, div_factor, final_div_factor */
	double pct_start, div_factor, final_div_factor;
	double clip_grad_norm;   /* 0: no clipping */
	double noise_eta, noise_gamma; /* grad_noise = gaussian(eta:, gamma:); eta 0: none */
	int64_t accumulate;      /* `accumulate = N`: micro-batches per step; 0: the step does not accumulate */
	DataSource data, valid;
	VEC(const char *) metrics; /* metric names in output order (after "loss") */
} Recipe;

/* The Recipe's scalar settings by name, for the textual IR (ir/build.c; printed and read by
   ir/print.c and ir/read.c): type 'i' int64_t, 'd' double, 'b' bool; part 0 the run, 1 the
   optimiser, 2 the schedule (a parameter group sets parts 1 and 2). NULL-terminated. */
typedef struct RecipeField {
	const char *name;
	size_t offset;
	char type;
	int part;
} RecipeField;
extern const RecipeField recipe_fields[];
extern const char *const opt_name[OPT_COUNT], *const sched_name[SCHED_COUNT], *const data_name[DATA_COUNT];

typedef struct Prog {
	Arena *arena;
	VEC(Param) params;        /* params and state, in declaration order */
	VEC(const char *) syms;   /* run-time size variables ("B") */
	VEC(DimExpr) dims;        /* symbolic dimension expressions (see Dim) */
	VEC(Graph *) graphs;
	Recipe recipe;
	bool has_recipe;
	VEC(Recipe) groups;       /* parameter groups 1..n: their optimiser and schedule settings */
} Prog;

/* ---- ir/build.c: building programs and graphs ----------------------------------------------- */

Prog *ir_prog_new(Arena *a);
Graph *ir_graph_new(Prog *p, const char *name);      /* also appends it to p->graphs */
Graph *ir_prog_graph(Prog *p, const char *name);    /* NULL if absent */
/* A region: a graph owned by a node (a loop's body), not one of p->graphs. It is closed: its
   nodes read only its own INPUT nodes, leaves and nodes; the owner's shape rule ties its inputs
   and outputs to the owner's. */
Graph *ir_region_new(Prog *p, const char *name);
int ir_param_add(Prog *p, Param prm);                /* returns its index */
int ir_sym_add(Prog *p, const char *name);           /* interned; returns its index (existing or new) */

/* Dimensions: constant folding and interning happen here */
Dim ir_dim_sym(Prog *p, int sym);
Dim ir_dim_binop(Prog *p, DimOp op, Dim a, Dim b);
const DimExpr *ir_dim_expr(const Prog *p, Dim d);    /* NULL for constants */
bool ir_dim_eval(const Prog *p, Dim d, const int64_t *syms, int64_t *out); /* false on /0 */
int ir_dim_format(const Prog *p, Dim d, char *buf, size_t n); /* "B", "B*T", "784" */

Type ir_type(DType t, int rank, const Dim *dims);
Type ir_scalar_type(DType t);
bool ir_type_equal(Type a, Type b);
int ir_type_format(const Prog *p, Type t, char *buf, size_t n); /* "f32[B, 784]" */
/* Element count as a Dim (symbolic when any dim is) */
Dim ir_type_numel(Prog *p, Type t);

/* Node construction. ir_node_new checks the op's shape rule; on failure it returns NULL and
   writes a message (without location) into errbuf, for the front end to report. Leaves and ops
   whose shape rule is shape_given take the type from `given`. */
Node *ir_node_new(Graph *g, Op op, Node **in, int nin, const int64_t *attr, int nattr,
                  const Type *given, Loc loc, char *errbuf, size_t errlen);
/* The same for an op owning regions (OP_LOOP): sub[0..nsub) are set before the shape rule runs */
Node *ir_region_node(Graph *g, Op op, Node **in, int nin, const int64_t *attr, int nattr, Graph **sub, int nsub,
                     Loc loc, char *errbuf, size_t errlen);
/* Shorthands that BUG() on a shape error: for passes, where inputs are known good */
Node *ir_op1(Graph *g, Op op, Node *a, Loc loc);
Node *ir_op2(Graph *g, Op op, Node *a, Node *b, Loc loc);
Node *ir_op(Graph *g, Op op, Node **in, int nin, const int64_t *attr, int nattr, const Type *given, Loc loc);
Node *ir_const(Graph *g, DType t, double v, Loc loc);          /* rank-0 constant */
Node *ir_input(Graph *g, Type t, const char *name, Loc loc);   /* appends to g->inputs */
Node *ir_param(Graph *g, int index, Loc loc);                  /* type from Prog.params[index] */
void ir_graph_output(Graph *g, const char *name, Node *n);
void ir_graph_effect(Graph *g, Node *n);
/* Replace every use of `old` by `new` in g's nodes and outputs */
void ir_node_replace_uses(Graph *g, Node *old, Node *new);

/* ---- ir/shape.c: shape rules ---------------------------------------------------------------- */

/* Broadcast two types by numpy's rules (element type from a); false with a message if they do
   not broadcast. */
bool ir_broadcast(Prog *p, Type a, Type b, Type *out, char *err, size_t errlen);
/* Computes n's type from its inputs and attributes (n->type holds the given type on entry). */
bool ir_shape_infer(Graph *g, Node *n, char *err, size_t errlen);

/* ---- ir/print.c: the textual IR (see ir/README.md for how to read a dump) ------------------- */

void ir_prog_print(FILE *f, const Prog *p);      /* params, syms, then every graph */
void ir_graph_print(FILE *f, const Graph *g);

/* ---- ir/read.c: the textual IR read back (nndc opt) ----------------------------------------- */

/* Parses what ir_prog_print writes. NULL with "name:line:col: message" in err on a syntax or
   type error; the result passes ir_graph_verify. */
Prog *ir_prog_read(Arena *a, const char *name, const char *text, char *err, size_t errlen);
/* Graphviz of one graph (nndc ir --format dot) */
void ir_graph_print_dot(FILE *f, const Graph *g);

/* ---- ir/verify.c ---------------------------------------------------------------------------- */

/* Checks structural invariants (topological order, input counts, types agree with shape rules,
   ids unique). Returns the number of problems, each printed to stderr prefixed by `when`. */
int ir_graph_verify(const Graph *g, const char *when);

/* ---- ir/interp.c: the reference semantics, in float64 ---------------------------------------- */

/* Evaluates g in double precision. params: one double per element of every Prog.params entry,
   concatenated in order (the optimiser state, for effects, follows the same layout in opt).
   inputs[k] holds input k's elements converted to double; syms gives each run-time size variable.
   outputs[k] receives a malloc'ed array for output k (caller frees). Returns false with a
   message on failure (unknown op, bad size). */
typedef struct InterpArgs {
	double *params;
	double *opt;
	double *grads;       /* the gradient block (params' layout): GRAD_ACC's sums */
	const double *const *inputs;
	const int64_t *syms;
	const double *hyper;
	double **outputs;
} InterpArgs;
bool ir_interp(const Graph *g, const InterpArgs *a, char *err, size_t errlen);
bool ir_interp_supports(Op op);             /* the table walk test uses it */
int64_t ir_prog_param_numel(const Prog *p); /* total elements of all params and state */

#endif
