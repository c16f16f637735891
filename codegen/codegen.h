/* codegen/codegen.h: lowering of the graph IR to LLVM IR, object emission and linking.
 *
 * The public part (first section) is what the driver uses. The rest is shared by the files of
 * this folder only: the per-compilation context Cg, the per-function context Fn and the helpers
 * the kernel emitters build loops with.
 */
#ifndef NND_CODEGEN_H
#define NND_CODEGEN_H

#include <llvm-c/Core.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>

#include "ir/ir.h"

/* ---- public: codegen/emit.c --------------------------------------------------------------- */

typedef struct CgOptions {
	int opt_level;      /* 0..3: LLVM's default<O0..O3> pipeline */
	const char *emit;   /* "obj" (default when NULL), "llvm" (textual IR), "asm" */
	bool pic;           /* position-independent code (shared objects); else static, linked -no-pie */
	const char *source; /* the .nnd file, recorded in the descriptor (NULL: "") */
} CgOptions;

/* Lowers p's "step", "eval" and "predict" graphs and the model descriptor into out_path.
   Returns false with a message for people in err (unsupported construct, file not writable). */
bool cg_prog_emit(Prog *p, const char *out_path, const CgOptions *o, char *err, size_t errlen);
/* Links obj + main_obj + rtlib with cc into exe (no shell). main_obj may be NULL. */
bool cg_link(const char *obj, const char *main_obj, const char *rtlib, const char *exe, char *err, size_t errlen);
/* True when op has a kernel emitter (or needs none: leaves, reshape); for the table test. */
bool cg_has_kernel(Op op);
/* The host target machine (for tests: its data layout). NULL with a message on failure. */
LLVMTargetMachineRef cg_target_machine_new(const CgOptions *o, char *err, size_t errlen);

/* ---- internal: the compilation context ----------------------------------------------------- */

typedef struct Cg {
	Prog *p;
	LLVMContextRef ctx;
	LLVMModuleRef mod;
	LLVMTargetDataRef td;
	LLVMTypeRef t_void, t_i1, t_i8, t_i16, t_i32, t_i64, t_f32, t_f64, t_ptr;
	LLVMTypeRef t_call;   /* NndCall */
	char *err;
	size_t errlen;
	bool failed;          /* a user-facing error was recorded in err */
} Cg;

/* Per-function state: the builder, the NndCall argument, the run-time dims computed once in the
   entry block (dims[k] for Prog.dims k, NULL until needed). */
typedef struct Fn {
	Cg *cg;
	LLVMValueRef fn;
	LLVMBuilderRef b;   /* the body */
	LLVMBuilderRef eb;  /* the entry block, before its terminator: dims, accumulators */
	LLVMValueRef call;  /* ptr to NndCall, or NULL (arena function) */
	LLVMValueRef syms;  /* ptr to int64 syms */
	LLVMValueRef *dims;
} Fn;

/* codegen/emit.c */
void cg_fail(Cg *cg, Loc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
LLVMValueRef cg_cstr(Cg *cg, const char *s); /* a private constant C string (NULL: null pointer) */

/* codegen/func.c: functions, dims, loops, loads and stores */
Fn *cg_fn_begin(Cg *cg, LLVMValueRef fn, LLVMValueRef call, LLVMValueRef syms);
void cg_fn_end(Fn *f);
LLVMValueRef cg_i64(Cg *cg, int64_t v);
LLVMValueRef cg_dim(Fn *f, Dim d);                 /* i64 value of a dimension */
LLVMValueRef cg_numel(Fn *f, Type t);              /* i64 element count */
LLVMValueRef cg_call_field(Fn *f, int field);      /* load NndCall field (ptr) */
LLVMValueRef cg_var(Fn *f, LLVMTypeRef t, LLVMValueRef init); /* alloca in the entry block; init stored here */
LLVMTypeRef cg_store_type(Cg *cg, DType t);        /* in memory: half, bfloat, i8 for bool */
LLVMTypeRef cg_comp_type(Cg *cg, DType t);         /* in registers: float for f16/bf16 */
LLVMValueRef cg_load(Fn *f, DType t, LLVMValueRef base, LLVMValueRef idx);  /* compute type */
void cg_store(Fn *f, DType t, LLVMValueRef base, LLVMValueRef idx, LLVMValueRef v);
LLVMValueRef cg_convert(Fn *f, LLVMValueRef v, DType from, DType to);      /* C's conversions */
LLVMValueRef cg_intrinsic(Fn *f, const char *name, LLVMTypeRef *ov, int nov, LLVMValueRef *args, int nargs);
/* declares name(params...) [, ...] once and calls it with nargs args */
LLVMValueRef cg_libcall(Fn *f, const char *name, LLVMTypeRef ret, LLVMTypeRef *params, int n, LLVMValueRef *args,
                        int nargs, bool vararg);

typedef struct Loop {
	LLVMBasicBlockRef head, body, exit, pre;
	LLVMValueRef i, phi;
} Loop;
LLVMValueRef cg_loop_begin(Fn *f, Loop *l, LLVMValueRef n); /* for i in [0, n): returns i */
void cg_loop_end(Fn *f, Loop *l);
/* A loop nest over dims[0..rank) (the last innermost); body gets, for each of nops operands,
   the element offset sum(i_d * strides[op][d]). */
typedef void (*NestBody)(Fn *f, void *ctx, LLVMValueRef *off);
void cg_nest(Fn *f, int rank, LLVMValueRef *dims, int nops, LLVMValueRef (*strides)[MAX_RANK], NestBody body, void *ctx);
/* Row-major strides of t, right-aligned to rank `rank`, 0 on axes where t has size 1 or is
   missing (numpy broadcasting). */
void cg_bstrides(Fn *f, Type t, int rank, LLVMValueRef *out);

/* codegen/kernels.c: one emitter per op. A kernel fills `out` (NULL for effects) from the
   input buffers `in`; leaves have none. */
typedef void (*KernelFn)(Fn *f, Node *n, LLVMValueRef out, LLVMValueRef *in);
KernelFn cg_kernel(Op op);

/* codegen/entry.c: the entry function and arena size of one graph */
bool cg_graph_emit(Cg *cg, Graph *g, LLVMValueRef *entry, LLVMValueRef *arena);

/* codegen/model.c: the descriptor `const NndModel nnd_model` */
typedef struct CgTypes {
	LLVMTypeRef tensor, param, entry, source, recipe, model;
} CgTypes;
CgTypes cg_model_types(LLVMContextRef ctx);
/* fns[k] = {entry, arena size} of step, eval, predict (NULL when absent) */
void cg_model_emit(Cg *cg, const CgOptions *o, LLVMValueRef fns[3][2]);
int64_t cg_param_offset(const Prog *p, int index); /* in f32 elements */

#endif
