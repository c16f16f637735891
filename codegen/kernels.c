/* codegen/kernels.c: one emitter per IR operation, through the table at the bottom.
 *
 * A kernel is the body of an internal function `void k(ptr noalias out, ptr noalias in..., ptr c)`
 * (codegen/entry.c): it fills `out`, a dense row-major buffer of n->type, from the dense
 * row-major inputs. Elementwise ops only supply a scalar function (cg_scalar_<op>); one loop
 * emitter handles numpy broadcasting for all of them. Loops are plain counted loops over
 * contiguous memory that LLVM's loop vectoriser handles; no fast-math anywhere, so results are
 * IEEE-exact per element and comparable with PyTorch.
 */
#include "codegen/codegen.h"

#include <math.h>
#include <string.h>

#include "runtime/nnd_model.h"

typedef LLVMValueRef (*ScalarFn)(Fn *f, Node *n, LLVMValueRef *a);
static const struct KernelRow {
	KernelFn emit;
	ScalarFn scalar; /* elementwise ops */
	bool view;       /* no kernel: the buffer is an input, a parameter, a hyper-parameter or an alias;
	                    or lowered by entry.c (a loop and its results) */
} kernel_table[OP_COUNT];

/* ---- helpers ---- */

/* v in dtype t's compute type */
static LLVMValueRef tconst(Cg *cg, DType t, double v)
{
	LLVMTypeRef ty = cg_comp_type(cg, t);
	if (dtype_is_float(t))
		return LLVMConstReal(ty, v);
	if (t == TY_BOOL)
		return LLVMConstInt(ty, v != 0, 0);
	return LLVMConstInt(ty, (unsigned long long)(long long)v, 1);
}

static LLVMValueRef lowest(Cg *cg, DType t)
{
	if (dtype_is_float(t))
		return LLVMConstReal(cg_comp_type(cg, t), -INFINITY);
	if (t == TY_U8 || t == TY_BOOL)
		return LLVMConstInt(cg->t_i8, 0, 0);
	unsigned w = LLVMGetIntTypeWidth(cg_comp_type(cg, t));
	return LLVMConstInt(cg_comp_type(cg, t), 1ULL << (w - 1), 0); /* the most negative value */
}

static bool is_unsigned(DType t) { return t == TY_U8 || t == TY_BOOL; }

static LLVMValueRef highest(Cg *cg, DType t)
{
	if (dtype_is_float(t))
		return LLVMConstReal(cg_comp_type(cg, t), INFINITY);
	if (t == TY_BOOL)
		return LLVMConstInt(cg->t_i8, 1, 0);
	if (t == TY_U8)
		return LLVMConstInt(cg->t_i8, 255, 0);
	unsigned w = LLVMGetIntTypeWidth(cg_comp_type(cg, t));
	return LLVMConstInt(cg_comp_type(cg, t), (1ULL << (w - 1)) - 1, 0); /* the largest value */
}

/* the value of a rank-0 operand (or any CONST) */
static LLVMValueRef scalar_in(Fn *f, Node *x, LLVMValueRef p)
{
	if (x->op == OP_CONST)
		return tconst(f->cg, x->type.dtype, x->fval);
	return cg_load(f, x->type.dtype, p, cg_i64(f->cg, 0));
}

static bool numel_is_one(Type t)
{
	for (int i = 0; i < t.rank; i++)
		if (t.dim[i] != 1)
			return false;
	return true;
}

static bool same_dims(Type a, Type b)
{
	if (a.rank != b.rank)
		return false;
	for (int i = 0; i < a.rank; i++)
		if (a.dim[i] != b.dim[i])
			return false;
	return true;
}

/* x beats m (x > m for max and argmax, x < m for min and argmin), or x is NaN and m is not: the
   update rule of those reductions (NaN wins, as in PyTorch) */
static LLVMValueRef beats(Fn *f, DType t, LLVMValueRef x, LLVMValueRef m, bool greater)
{
	if (!dtype_is_float(t))
		return LLVMBuildICmp(f->b, greater ? (is_unsigned(t) ? LLVMIntUGT : LLVMIntSGT)
		                                   : (is_unsigned(t) ? LLVMIntULT : LLVMIntSLT), x, m, "");
	LLVMValueRef c = LLVMBuildFCmp(f->b, greater ? LLVMRealOGT : LLVMRealOLT, x, m, "");
	LLVMValueRef xnan = LLVMBuildFCmp(f->b, LLVMRealUNO, x, x, "");
	LLVMValueRef mnum = LLVMBuildFCmp(f->b, LLVMRealORD, m, m, "");
	return LLVMBuildOr(f->b, c, LLVMBuildAnd(f->b, xnan, mnum, ""), "");
}

static LLVMValueRef greater(Fn *f, DType t, LLVMValueRef x, LLVMValueRef m) { return beats(f, t, x, m, true); }
static LLVMValueRef less(Fn *f, DType t, LLVMValueRef x, LLVMValueRef m) { return beats(f, t, x, m, false); }

static LLVMValueRef fmath(Fn *f, const char *name, LLVMValueRef x)
{
	LLVMTypeRef t = LLVMTypeOf(x);
	return cg_intrinsic(f, name, &t, 1, &x, 1);
}

static LLVMValueRef l_exp(Fn *f, LLVMValueRef x) { return fmath(f, "llvm.exp", x); }
static LLVMValueRef l_log(Fn *f, LLVMValueRef x) { return fmath(f, "llvm.log", x); }
static LLVMValueRef l_sqrt(Fn *f, LLVMValueRef x) { return fmath(f, "llvm.sqrt", x); }
static LLVMValueRef l_tanh(Fn *f, LLVMValueRef x)
{
	LLVMTypeRef t = LLVMTypeOf(x);
	return cg_libcall(f, t == f->cg->t_f32 ? "tanhf" : "tanh", t, &t, 1, &x, 1, false);
}
static LLVMValueRef l_sigmoid(Fn *f, LLVMValueRef x)
{
	LLVMValueRef one = LLVMConstReal(LLVMTypeOf(x), 1);
	return LLVMBuildFDiv(f->b, one, LLVMBuildFAdd(f->b, one, l_exp(f, LLVMBuildFNeg(f->b, x, "")), ""), "");
}

/* a libm function of one argument: name for double, namef for float */
static LLVMValueRef libm(Fn *f, const char *name, LLVMValueRef x)
{
	LLVMTypeRef t = LLVMTypeOf(x);
	char nm[32];
	snprintf(nm, sizeof nm, "%s%s", name, t == f->cg->t_f32 ? "f" : "");
	return cg_libcall(f, nm, t, &t, 1, &x, 1, false);
}
static LLVMValueRef l_erf(Fn *f, LLVMValueRef x) { return libm(f, "erf", x); }
static LLVMValueRef l_log1p(Fn *f, LLVMValueRef x) { return libm(f, "log1p", x); }
static LLVMValueRef rconst(LLVMValueRef like, double v) { return LLVMConstReal(LLVMTypeOf(like), v); }
static LLVMValueRef fsel(Fn *f, LLVMRealPredicate p, LLVMValueRef a, LLVMValueRef b, LLVMValueRef t, LLVMValueRef e)
{
	return LLVMBuildSelect(f->b, LLVMBuildFCmp(f->b, p, a, b, ""), t, e, "");
}
static LLVMValueRef l_rsqrt(Fn *f, LLVMValueRef x) { return LLVMBuildFDiv(f->b, rconst(x, 1), l_sqrt(f, x), ""); }
static LLVMValueRef l_sin(Fn *f, LLVMValueRef x) { return fmath(f, "llvm.sin", x); }
static LLVMValueRef l_cos(Fn *f, LLVMValueRef x) { return fmath(f, "llvm.cos", x); }
static LLVMValueRef l_relu6(Fn *f, LLVMValueRef x) /* NaN stays NaN */
{
	return fsel(f, LLVMRealOLT, x, rconst(x, 0), rconst(x, 0), fsel(f, LLVMRealOGT, x, rconst(x, 6), rconst(x, 6), x));
}
static LLVMValueRef l_gelu(Fn *f, LLVMValueRef x) /* x/2 (1 + erf(x / sqrt 2)) */
{
	LLVMValueRef e = l_erf(f, LLVMBuildFMul(f->b, x, rconst(x, M_SQRT1_2), ""));
	return LLVMBuildFMul(f->b, LLVMBuildFMul(f->b, x, rconst(x, 0.5), ""), LLVMBuildFAdd(f->b, rconst(x, 1), e, ""), "");
}
static LLVMValueRef l_silu(Fn *f, LLVMValueRef x) { return LLVMBuildFMul(f->b, x, l_sigmoid(f, x), ""); }
static LLVMValueRef l_softplus(Fn *f, LLVMValueRef x) /* torch's threshold 20 */
{
	return fsel(f, LLVMRealOGT, x, rconst(x, 20), x, l_log1p(f, l_exp(f, x)));
}
static LLVMValueRef l_mish(Fn *f, LLVMValueRef x) { return LLVMBuildFMul(f->b, x, l_tanh(f, l_softplus(f, x)), ""); }
static LLVMValueRef l_hardsigmoid(Fn *f, LLVMValueRef x)
{
	return LLVMBuildFDiv(f->b, l_relu6(f, LLVMBuildFAdd(f->b, x, rconst(x, 3), "")), rconst(x, 6), "");
}
static LLVMValueRef l_hardswish(Fn *f, LLVMValueRef x)
{
	LLVMValueRef r = l_relu6(f, LLVMBuildFAdd(f->b, x, rconst(x, 3), ""));
	return LLVMBuildFDiv(f->b, LLVMBuildFMul(f->b, x, r, ""), rconst(x, 6), "");
}

/* a float function applied to any dtype (integers go through f64) */
static LLVMValueRef via_float(Fn *f, Node *n, LLVMValueRef x, LLVMValueRef (*fn)(Fn *, LLVMValueRef))
{
	DType t = n->type.dtype;
	if (dtype_is_float(t))
		return fn(f, x);
	return cg_convert(f, fn(f, cg_convert(f, x, t, TY_F64)), TY_F64, t);
}

/* ---- elementwise: scalar functions (a[] in the inputs' compute types) ---- */

#define SCALAR(op) static LLVMValueRef cg_scalar_##op(Fn *f, Node *n, LLVMValueRef *a)
#define T0 (n->in[0]->type.dtype)
#define FL dtype_is_float(T0)

SCALAR(cast) { return cg_convert(f, a[0], T0, n->type.dtype); }
SCALAR(copy) { return a[0]; }
SCALAR(neg) { return FL ? LLVMBuildFNeg(f->b, a[0], "") : T0 == TY_BOOL ? a[0] : LLVMBuildNeg(f->b, a[0], ""); }
SCALAR(exp) { return via_float(f, n, a[0], l_exp); }
SCALAR(log) { return via_float(f, n, a[0], l_log); }
SCALAR(sqrt) { return via_float(f, n, a[0], l_sqrt); }
SCALAR(tanh) { return via_float(f, n, a[0], l_tanh); }
SCALAR(sigmoid) { return via_float(f, n, a[0], l_sigmoid); }
SCALAR(log1p) { return via_float(f, n, a[0], l_log1p); }
SCALAR(rsqrt) { return via_float(f, n, a[0], l_rsqrt); }
SCALAR(sin) { return via_float(f, n, a[0], l_sin); }
SCALAR(cos) { return via_float(f, n, a[0], l_cos); }
SCALAR(erf) { return via_float(f, n, a[0], l_erf); }
SCALAR(relu6) { return via_float(f, n, a[0], l_relu6); }
SCALAR(gelu) { return via_float(f, n, a[0], l_gelu); }
SCALAR(silu) { return via_float(f, n, a[0], l_silu); }
SCALAR(softplus) { return via_float(f, n, a[0], l_softplus); }
SCALAR(mish) { return via_float(f, n, a[0], l_mish); }
SCALAR(hardswish) { return via_float(f, n, a[0], l_hardswish); }
SCALAR(hardsigmoid) { return via_float(f, n, a[0], l_hardsigmoid); }
SCALAR(abs)
{
	if (FL)
		return fmath(f, "llvm.fabs", a[0]);
	if (is_unsigned(T0))
		return a[0];
	LLVMValueRef neg = LLVMBuildICmp(f->b, LLVMIntSLT, a[0], tconst(f->cg, T0, 0), "");
	return LLVMBuildSelect(f->b, neg, LLVMBuildNeg(f->b, a[0], ""), a[0], "");
}
SCALAR(square) { return FL ? LLVMBuildFMul(f->b, a[0], a[0], "") : LLVMBuildMul(f->b, a[0], a[0], ""); }
SCALAR(sign) /* NaN gives 0 */
{
	LLVMValueRef zero = tconst(f->cg, T0, 0), one = tconst(f->cg, T0, 1), m1 = tconst(f->cg, T0, -1);
	if (FL)
		return fsel(f, LLVMRealOGT, a[0], zero, one, fsel(f, LLVMRealOLT, a[0], zero, m1, zero));
	if (is_unsigned(T0))
		return LLVMBuildSelect(f->b, LLVMBuildICmp(f->b, LLVMIntNE, a[0], zero, ""), one, zero, "");
	LLVMValueRef pos = LLVMBuildICmp(f->b, LLVMIntSGT, a[0], zero, ""), neg = LLVMBuildICmp(f->b, LLVMIntSLT, a[0], zero, "");
	return LLVMBuildSelect(f->b, pos, one, LLVMBuildSelect(f->b, neg, m1, zero, ""), "");
}
SCALAR(floor) { return FL ? fmath(f, "llvm.floor", a[0]) : a[0]; }
SCALAR(ceil) { return FL ? fmath(f, "llvm.ceil", a[0]) : a[0]; }
SCALAR(round) { return FL ? fmath(f, "llvm.roundeven", a[0]) : a[0]; }
SCALAR(leaky_relu) { return fsel(f, LLVMRealOGT, a[0], rconst(a[0], 0), a[0], LLVMBuildFMul(f->b, a[0], a[1], "")); }
SCALAR(elu)
{
	LLVMValueRef em1 = libm(f, "expm1", a[0]);
	return fsel(f, LLVMRealOGT, a[0], rconst(a[0], 0), a[0], LLVMBuildFMul(f->b, a[1], em1, ""));
}
SCALAR(relu)
{
	LLVMValueRef zero = tconst(f->cg, T0, 0);
	if (is_unsigned(T0))
		return a[0];
	LLVMValueRef neg = FL ? LLVMBuildFCmp(f->b, LLVMRealOLT, a[0], zero, "") /* NaN stays NaN */
	                      : LLVMBuildICmp(f->b, LLVMIntSLT, a[0], zero, "");
	return LLVMBuildSelect(f->b, neg, zero, a[0], "");
}
SCALAR(not) { return LLVMBuildZExt(f->b, LLVMBuildICmp(f->b, LLVMIntEQ, a[0], tconst(f->cg, T0, 0), ""), f->cg->t_i8, ""); }

SCALAR(add) { return FL ? LLVMBuildFAdd(f->b, a[0], a[1], "") : T0 == TY_BOOL ? LLVMBuildOr(f->b, a[0], a[1], "") : LLVMBuildAdd(f->b, a[0], a[1], ""); }
SCALAR(sub) { return FL ? LLVMBuildFSub(f->b, a[0], a[1], "") : LLVMBuildSub(f->b, a[0], a[1], ""); }
SCALAR(mul) { return FL ? LLVMBuildFMul(f->b, a[0], a[1], "") : T0 == TY_BOOL ? LLVMBuildAnd(f->b, a[0], a[1], "") : LLVMBuildMul(f->b, a[0], a[1], ""); }
static LLVMValueRef divide(Fn *f, DType t, LLVMValueRef a, LLVMValueRef b)
{
	if (dtype_is_float(t))
		return LLVMBuildFDiv(f->b, a, b, "");
	/* integer division truncates; x / 0 is 0 instead of a trap */
	LLVMValueRef zero = tconst(f->cg, t, 0), one = tconst(f->cg, t, 1);
	LLVMValueRef z = LLVMBuildICmp(f->b, LLVMIntEQ, b, zero, "");
	LLVMValueRef d = LLVMBuildSelect(f->b, z, one, b, "");
	d = is_unsigned(t) ? LLVMBuildUDiv(f->b, a, d, "") : LLVMBuildSDiv(f->b, a, d, "");
	return LLVMBuildSelect(f->b, z, zero, d, "");
}
SCALAR(div) { return divide(f, T0, a[0], a[1]); }
static LLVMValueRef minmax(Fn *f, Node *n, LLVMValueRef *a, bool max)
{
	if (FL) {
		LLVMTypeRef t = LLVMTypeOf(a[0]);
		return cg_intrinsic(f, max ? "llvm.maximum" : "llvm.minimum", &t, 1, a, 2); /* NaN-propagating */
	}
	LLVMIntPredicate p = is_unsigned(T0) ? (max ? LLVMIntUGT : LLVMIntULT) : (max ? LLVMIntSGT : LLVMIntSLT);
	return LLVMBuildSelect(f->b, LLVMBuildICmp(f->b, p, a[0], a[1], ""), a[0], a[1], "");
}
SCALAR(maximum) { return minmax(f, n, a, true); }
SCALAR(minimum) { return minmax(f, n, a, false); }
SCALAR(pow)
{
	if (FL) {
		LLVMTypeRef t = LLVMTypeOf(a[0]);
		return cg_intrinsic(f, "llvm.pow", &t, 1, a, 2);
	}
	LLVMValueRef d[2] = {cg_convert(f, a[0], T0, TY_F64), cg_convert(f, a[1], T0, TY_F64)};
	LLVMTypeRef t = f->cg->t_f64;
	return cg_convert(f, cg_intrinsic(f, "llvm.pow", &t, 1, d, 2), TY_F64, T0);
}
static LLVMValueRef compare(Fn *f, Node *n, LLVMValueRef *a, LLVMRealPredicate fp, LLVMIntPredicate sp, LLVMIntPredicate up)
{
	LLVMValueRef c = FL ? LLVMBuildFCmp(f->b, fp, a[0], a[1], "")
	                    : LLVMBuildICmp(f->b, is_unsigned(T0) ? up : sp, a[0], a[1], "");
	return LLVMBuildZExt(f->b, c, f->cg->t_i8, "");
}
SCALAR(eq) { return compare(f, n, a, LLVMRealOEQ, LLVMIntEQ, LLVMIntEQ); }
SCALAR(ne) { return compare(f, n, a, LLVMRealUNE, LLVMIntNE, LLVMIntNE); }
SCALAR(lt) { return compare(f, n, a, LLVMRealOLT, LLVMIntSLT, LLVMIntULT); }
SCALAR(le) { return compare(f, n, a, LLVMRealOLE, LLVMIntSLE, LLVMIntULE); }
SCALAR(gt) { return compare(f, n, a, LLVMRealOGT, LLVMIntSGT, LLVMIntUGT); }
SCALAR(ge) { return compare(f, n, a, LLVMRealOGE, LLVMIntSGE, LLVMIntUGE); }
static LLVMValueRef truth(Fn *f, LLVMValueRef v) { return LLVMBuildICmp(f->b, LLVMIntNE, v, LLVMConstInt(LLVMTypeOf(v), 0, 0), ""); }
SCALAR(and) { return LLVMBuildZExt(f->b, LLVMBuildAnd(f->b, truth(f, a[0]), truth(f, a[1]), ""), f->cg->t_i8, ""); }
SCALAR(or) { return LLVMBuildZExt(f->b, LLVMBuildOr(f->b, truth(f, a[0]), truth(f, a[1]), ""), f->cg->t_i8, ""); }
SCALAR(where) { return LLVMBuildSelect(f->b, truth(f, a[0]), a[1], a[2], ""); }
SCALAR(relu_bwd)
{
	LLVMValueRef zero = tconst(f->cg, T0, 0);
	LLVMValueRef pos = FL ? LLVMBuildFCmp(f->b, LLVMRealOGT, a[0], zero, "")
	                      : LLVMBuildICmp(f->b, is_unsigned(T0) ? LLVMIntUGT : LLVMIntSGT, a[0], zero, "");
	return LLVMBuildSelect(f->b, pos, a[1], tconst(f->cg, n->in[1]->type.dtype, 0), "");
}

/* ---- elementwise: the loop emitter ---- */

typedef struct EwCtx {
	Node *n;
	ScalarFn fn;
	LLVMValueRef out, in[3], sc[3]; /* sc[k]: operand k's value when it is a scalar */
} EwCtx;

static void ew_body(Fn *f, void *vc, LLVMValueRef *off)
{
	EwCtx *c = vc;
	Node *n = c->n;
	LLVMValueRef a[3];
	for (int k = 0; k < n->nin; k++)
		a[k] = c->sc[k] ? c->sc[k] : cg_load(f, n->in[k]->type.dtype, c->in[k], off[k + 1]);
	LLVMValueRef v = c->fn(f, n, a);
	if (n->type.dtype == TY_BOOL) /* any non-zero is true */
		v = LLVMBuildZExt(f->b, truth(f, v), f->cg->t_i8, "");
	cg_store(f, n->type.dtype, c->out, off[0], v);
}

/* out[i...] = fn(in0[broadcast i...], in1[...], ...). Fast path: every operand is a scalar or
   has the result's shape, so one flat loop; otherwise a loop nest with stride 0 on broadcast axes. */
static void cg_emit_elemwise(Fn *f, Node *n, LLVMValueRef out, LLVMValueRef *in)
{
	EwCtx c = {.n = n, .fn = kernel_table[n->op].scalar, .out = out};
	bool flat = true;
	for (int k = 0; k < n->nin; k++) {
		Node *x = n->in[k];
		c.in[k] = in[k];
		if (x->op == OP_CONST || numel_is_one(x->type))
			c.sc[k] = scalar_in(f, x, in[k]);
		else if (!same_dims(x->type, n->type))
			flat = false;
	}
	if (flat) {
		Loop l;
		LLVMValueRef i = cg_loop_begin(f, &l, cg_numel(f, n->type));
		LLVMValueRef off[4] = {i, i, i, i};
		ew_body(f, &c, off);
		cg_loop_end(f, &l);
		return;
	}
	int r = n->type.rank;
	LLVMValueRef dims[MAX_RANK], strides[4][MAX_RANK];
	for (int d = 0; d < r; d++)
		dims[d] = cg_dim(f, n->type.dim[d]);
	cg_bstrides(f, n->type, r, strides[0]);
	for (int k = 0; k < n->nin; k++)
		cg_bstrides(f, n->in[k]->type, r, strides[k + 1]);
	cg_nest(f, r, dims, n->nin + 1, strides, ew_body, &c);
}

/* CONST: a filled tensor (or one element), materialised for the ops that read memory */
static void cg_emit_const(Fn *f, Node *n, LLVMValueRef out, LLVMValueRef *in)
{
	Loop l;
	LLVMValueRef i = cg_loop_begin(f, &l, cg_numel(f, n->type));
	cg_store(f, n->type.dtype, out, i, tconst(f->cg, n->type.dtype, n->fval));
	cg_loop_end(f, &l);
}

/* ---- data movement ---- */

typedef struct RedCtx {
	Node *n;
	LLVMValueRef out, in;
} RedCtx; /* for copies and reductions */

static void copy_body(Fn *f, void *vc, LLVMValueRef *off)
{
	RedCtx *c = vc;
	DType t = c->n->type.dtype;
	cg_store(f, t, c->out, off[0], cg_load(f, t, c->in, off[1]));
}

/* out[i0..ir) = in[i at perm]: iterates the result in order, gathers from the input */
static void cg_emit_transpose(Fn *f, Node *n, LLVMValueRef out, LLVMValueRef *in)
{
	int r = n->type.rank;
	LLVMValueRef dims[MAX_RANK], s[2][MAX_RANK], src[MAX_RANK];
	RedCtx c = {n, out, in[0]};
	for (int d = 0; d < r; d++)
		dims[d] = cg_dim(f, n->type.dim[d]);
	cg_bstrides(f, n->type, r, s[0]);
	cg_bstrides(f, n->in[0]->type, r, src);
	for (int d = 0; d < r; d++)
		s[1][d] = src[n->attr[d]];
	cg_nest(f, r, dims, 2, s, copy_body, &c);
}

static void fill(Fn *f, Node *n, LLVMValueRef out, LLVMValueRef v)
{
	Loop l;
	LLVMValueRef i = cg_loop_begin(f, &l, cg_numel(f, n->type));
	cg_store(f, n->type.dtype, out, i, v);
	cg_loop_end(f, &l);
}

/* ---- reductions: iterate the input, accumulate into out (stride 0 on reduced axes) ---- */

static void red_body(Fn *f, void *vc, LLVMValueRef *off)
{
	RedCtx *c = vc;
	DType t = c->n->type.dtype;
	LLVMValueRef acc = cg_load(f, t, c->out, off[0]), x = cg_load(f, t, c->in, off[1]), v;
	if (c->n->op == OP_MAX)
		v = LLVMBuildSelect(f->b, greater(f, t, x, acc), x, acc, "");
	else if (c->n->op == OP_MIN)
		v = LLVMBuildSelect(f->b, less(f, t, x, acc), x, acc, "");
	else if (c->n->op == OP_PROD)
		v = dtype_is_float(t) ? LLVMBuildFMul(f->b, acc, x, "") : t == TY_BOOL ? LLVMBuildAnd(f->b, acc, x, "") : LLVMBuildMul(f->b, acc, x, "");
	else
		v = dtype_is_float(t) ? LLVMBuildFAdd(f->b, acc, x, "") : t == TY_BOOL ? LLVMBuildOr(f->b, acc, x, "") : LLVMBuildAdd(f->b, acc, x, "");
	cg_store(f, t, c->out, off[0], v);
}

static void reduce(Fn *f, Node *n, LLVMValueRef out, LLVMValueRef in, const bool *reduced)
{
	Type it = n->in[0]->type;
	int r = it.rank;
	LLVMValueRef dims[MAX_RANK], s[2][MAX_RANK], ostr[MAX_RANK];
	cg_bstrides(f, n->type, n->type.rank, ostr);
	for (int d = 0, j = 0; d < r; d++) {
		dims[d] = cg_dim(f, it.dim[d]);
		if (reduced[d]) {
			s[0][d] = cg_i64(f->cg, 0);
			j += n->attr[1] != 0; /* keepdim keeps a size-1 axis */
		} else
			s[0][d] = ostr[j++];
	}
	cg_bstrides(f, it, r, s[1]);
	DType t = n->type.dtype;
	fill(f, n, out, n->op == OP_MAX ? lowest(f->cg, t) : n->op == OP_MIN ? highest(f->cg, t) : tconst(f->cg, t, n->op == OP_PROD));
	RedCtx c = {n, out, in};
	cg_nest(f, r, dims, 2, s, red_body, &c);
}

static void cg_emit_reduce(Fn *f, Node *n, LLVMValueRef out, LLVMValueRef *in)
{
	Type it = n->in[0]->type;
	bool red[MAX_RANK];
	LLVMValueRef count = cg_i64(f->cg, 1);
	for (int d = 0; d < it.rank; d++) {
		red[d] = n->attr[0] >> d & 1;
		if (red[d])
			count = LLVMBuildMul(f->eb, count, cg_dim(f, it.dim[d]), "");
	}
	reduce(f, n, out, in[0], red);
	if (n->op != OP_MEAN)
		return;
	DType t = n->type.dtype;
	Loop l;
	LLVMValueRef i = cg_loop_begin(f, &l, cg_numel(f, n->type));
	LLVMValueRef v = cg_load(f, t, out, i), cnt = cg_convert(f, count, TY_I64, t);
	cg_store(f, t, out, i, divide(f, t, v, cnt));
	cg_loop_end(f, &l);
}

/* SUM_TO: the adjoint of broadcast; axes where the result has size 1 (or that it lacks) are summed */
static void cg_emit_sum_to(Fn *f, Node *n, LLVMValueRef out, LLVMValueRef *in)
{
	Type it = n->in[0]->type, ot = n->type;
	LLVMValueRef dims[MAX_RANK], s[2][MAX_RANK];
	for (int d = 0; d < it.rank; d++)
		dims[d] = cg_dim(f, it.dim[d]);
	cg_bstrides(f, ot, it.rank, s[0]);
	cg_bstrides(f, it, it.rank, s[1]);
	fill(f, n, out, tconst(f->cg, ot.dtype, 0));
	RedCtx c = {n, out, in[0]};
	cg_nest(f, it.rank, dims, 2, s, red_body, &c);
}

/* ARGMAX over attr[0]: in is (O, A, I) around the axis, out (O, I) i64; first maximum wins */
static void cg_emit_argmax(Fn *f, Node *n, LLVMValueRef out, LLVMValueRef *in)
{
	Cg *cg = f->cg;
	Type it = n->in[0]->type;
	DType t = it.dtype;
	int ax = (int)n->attr[0];
	LLVMValueRef O = cg_i64(cg, 1), I = cg_i64(cg, 1), A = cg_dim(f, it.dim[ax]);
	for (int d = 0; d < it.rank; d++)
		if (d < ax)
			O = LLVMBuildMul(f->eb, O, cg_dim(f, it.dim[d]), "");
		else if (d > ax)
			I = LLVMBuildMul(f->eb, I, cg_dim(f, it.dim[d]), "");
	LLVMValueRef best = cg_var(f, cg_comp_type(cg, t), NULL), bi = cg_var(f, cg->t_i64, NULL);
	Loop lo, li, lk;
	LLVMValueRef o = cg_loop_begin(f, &lo, O);
	LLVMValueRef i = cg_loop_begin(f, &li, I);
	LLVMBuildStore(f->b, n->op == OP_ARGMIN ? highest(cg, t) : lowest(cg, t), best);
	LLVMBuildStore(f->b, cg_i64(cg, 0), bi);
	LLVMValueRef k = cg_loop_begin(f, &lk, A);
	LLVMValueRef idx = LLVMBuildAdd(f->b, LLVMBuildMul(f->b, LLVMBuildAdd(f->b, LLVMBuildMul(f->b, o, A, ""), k, ""), I, ""), i, "");
	LLVMValueRef x = cg_load(f, t, in[0], idx), m = LLVMBuildLoad2(f->b, cg_comp_type(cg, t), best, "");
	LLVMValueRef gt = n->op == OP_ARGMIN ? less(f, t, x, m) : greater(f, t, x, m);
	LLVMBuildStore(f->b, LLVMBuildSelect(f->b, gt, x, m, ""), best);
	LLVMBuildStore(f->b, LLVMBuildSelect(f->b, gt, k, LLVMBuildLoad2(f->b, cg->t_i64, bi, ""), ""), bi);
	cg_loop_end(f, &lk);
	cg_store(f, TY_I64, out, LLVMBuildAdd(f->b, LLVMBuildMul(f->b, o, I, ""), i, ""), LLVMBuildLoad2(f->b, cg->t_i64, bi, ""));
	cg_loop_end(f, &li);
	cg_loop_end(f, &lo);
}

/* ---- along one axis: t viewed as (O, K, I) around axis ---- */

static void around(Fn *f, Type t, int ax, LLVMValueRef *O, LLVMValueRef *K, LLVMValueRef *I)
{
	*O = *I = cg_i64(f->cg, 1);
	*K = cg_dim(f, t.dim[ax]);
	for (int d = 0; d < t.rank; d++)
		if (d < ax)
			*O = LLVMBuildMul(f->eb, *O, cg_dim(f, t.dim[d]), "");
		else if (d > ax)
			*I = LLVMBuildMul(f->eb, *I, cg_dim(f, t.dim[d]), "");
}

/* (o * K + k) * I + i */
static LLVMValueRef at3(Fn *f, LLVMValueRef o, LLVMValueRef K, LLVMValueRef k, LLVMValueRef I, LLVMValueRef i)
{
	LLVMBuilderRef b = f->b;
	return LLVMBuildAdd(b, LLVMBuildMul(b, LLVMBuildAdd(b, LLVMBuildMul(b, o, K, ""), k, ""), I, ""), i, "");
}

/* softmax, log_softmax, logsumexp: per line, m = max (0 when infinite, as torch), s = sum e^(x - m)
   accumulated in f64 */
static void cg_emit_softmax(Fn *f, Node *n, LLVMValueRef out, LLVMValueRef *in)
{
	Cg *cg = f->cg;
	DType t = n->in[0]->type.dtype;
	LLVMTypeRef ct = cg_comp_type(cg, t);
	LLVMValueRef O, K, I;
	around(f, n->in[0]->type, (int)n->attr[0], &O, &K, &I);
	LLVMValueRef m = cg_var(f, ct, NULL), s = cg_var(f, cg->t_f64, NULL);
	Loop lo, li, lk;
	LLVMValueRef o = cg_loop_begin(f, &lo, O), i = cg_loop_begin(f, &li, I);
	LLVMBuildStore(f->b, lowest(cg, t), m);
	LLVMValueRef k = cg_loop_begin(f, &lk, K);
	LLVMValueRef x = cg_load(f, t, in[0], at3(f, o, K, k, I, i)), mv = LLVMBuildLoad2(f->b, ct, m, "");
	LLVMBuildStore(f->b, LLVMBuildSelect(f->b, greater(f, t, x, mv), x, mv, ""), m);
	cg_loop_end(f, &lk);
	LLVMValueRef mx = LLVMBuildLoad2(f->b, ct, m, "");
	LLVMValueRef inf = LLVMBuildFCmp(f->b, LLVMRealOEQ, fmath(f, "llvm.fabs", mx), LLVMConstReal(ct, INFINITY), "");
	mx = LLVMBuildSelect(f->b, inf, LLVMConstReal(ct, 0), mx, "");
	LLVMBuildStore(f->b, LLVMConstReal(cg->t_f64, 0), s);
	k = cg_loop_begin(f, &lk, K);
	x = cg_load(f, t, in[0], at3(f, o, K, k, I, i));
	LLVMValueRef e = cg_convert(f, l_exp(f, LLVMBuildFSub(f->b, x, mx, "")), t, TY_F64);
	LLVMBuildStore(f->b, LLVMBuildFAdd(f->b, LLVMBuildLoad2(f->b, cg->t_f64, s, ""), e, ""), s);
	cg_loop_end(f, &lk);
	LLVMValueRef sum = LLVMBuildLoad2(f->b, cg->t_f64, s, "");
	if (n->op == OP_LOGSUMEXP) {
		LLVMValueRef lse = LLVMBuildFAdd(f->b, cg_convert(f, mx, t, TY_F64), l_log(f, sum), "");
		cg_store(f, t, out, LLVMBuildAdd(f->b, LLVMBuildMul(f->b, o, I, ""), i, ""), cg_convert(f, lse, TY_F64, t));
	} else {
		LLVMValueRef inv = cg_convert(f, LLVMBuildFDiv(f->b, LLVMConstReal(cg->t_f64, 1), sum, ""), TY_F64, t);
		LLVMValueRef lz = cg_convert(f, l_log(f, sum), TY_F64, t);
		k = cg_loop_begin(f, &lk, K);
		LLVMValueRef idx = at3(f, o, K, k, I, i);
		LLVMValueRef v = LLVMBuildFSub(f->b, cg_load(f, t, in[0], idx), mx, "");
		v = n->op == OP_SOFTMAX ? LLVMBuildFMul(f->b, l_exp(f, v), inv, "") : LLVMBuildFSub(f->b, v, lz, "");
		cg_store(f, t, out, idx, v);
		cg_loop_end(f, &lk);
	}
	cg_loop_end(f, &li);
	cg_loop_end(f, &lo);
}

static LLVMValueRef add_t(Fn *f, DType t, LLVMValueRef a, LLVMValueRef b)
{
	return dtype_is_float(t) ? LLVMBuildFAdd(f->b, a, b, "") : t == TY_BOOL ? LLVMBuildOr(f->b, a, b, "") : LLVMBuildAdd(f->b, a, b, "");
}

/* running sums along the axis; attr[1]: from the end */
static void cg_emit_cumsum(Fn *f, Node *n, LLVMValueRef out, LLVMValueRef *in)
{
	DType t = n->type.dtype;
	LLVMValueRef O, K, I;
	around(f, n->type, (int)n->attr[0], &O, &K, &I);
	LLVMValueRef acc = cg_var(f, cg_comp_type(f->cg, t), NULL);
	Loop lo, li, lk;
	LLVMValueRef o = cg_loop_begin(f, &lo, O), i = cg_loop_begin(f, &li, I);
	LLVMBuildStore(f->b, tconst(f->cg, t, 0), acc);
	LLVMValueRef k = cg_loop_begin(f, &lk, K);
	if (n->attr[1])
		k = LLVMBuildSub(f->b, LLVMBuildSub(f->b, K, cg_i64(f->cg, 1), ""), k, "");
	LLVMValueRef idx = at3(f, o, K, k, I, i);
	LLVMValueRef v = add_t(f, t, LLVMBuildLoad2(f->b, cg_comp_type(f->cg, t), acc, ""), cg_load(f, t, in[0], idx));
	LLVMBuildStore(f->b, v, acc);
	cg_store(f, t, out, idx, v);
	cg_loop_end(f, &lk);
	cg_loop_end(f, &li);
	cg_loop_end(f, &lo);
}

/* ---- data movement ---- */

typedef struct MoveCtx {
	DType t;
	LLVMValueRef out, in, obase, ibase;
} MoveCtx;

static void move_body(Fn *f, void *vc, LLVMValueRef *off)
{
	MoveCtx *c = vc;
	LLVMValueRef o = LLVMBuildAdd(f->b, off[0], c->obase, ""), i = LLVMBuildAdd(f->b, off[1], c->ibase, "");
	cg_store(f, c->t, c->out, o, cg_load(f, c->t, c->in, i));
}

/* copies the block `over` (a type whose dims are iterated) from in (strides istr, offset ibase)
   to out (ostr, obase) */
static void move(Fn *f, DType t, Type over, LLVMValueRef out, LLVMValueRef *ostr, LLVMValueRef obase, LLVMValueRef in,
                 LLVMValueRef *istr, LLVMValueRef ibase)
{
	LLVMValueRef dims[MAX_RANK], s[2][MAX_RANK];
	for (int d = 0; d < over.rank; d++) {
		dims[d] = cg_dim(f, over.dim[d]);
		s[0][d] = ostr[d];
		s[1][d] = istr[d];
	}
	MoveCtx c = {t, out, in, obase, ibase};
	cg_nest(f, over.rank, dims, 2, s, move_body, &c);
}

static void cg_emit_concat(Fn *f, Node *n, LLVMValueRef out, LLVMValueRef *in)
{
	int r = n->type.rank, ax = (int)n->attr[0];
	LLVMValueRef ostr[MAX_RANK], istr[MAX_RANK];
	int64_t start = 0;
	cg_bstrides(f, n->type, r, ostr);
	for (int k = 0; k < n->nin; k++) {
		Type t = n->in[k]->type;
		cg_bstrides(f, t, r, istr);
		move(f, t.dtype, t, out, ostr, LLVMBuildMul(f->b, cg_i64(f->cg, start), ostr[ax], ""), in[k], istr, cg_i64(f->cg, 0));
		start += t.dim[ax];
	}
}

static void cg_emit_slice(Fn *f, Node *n, LLVMValueRef out, LLVMValueRef *in)
{
	int r = n->type.rank;
	LLVMValueRef ostr[MAX_RANK], istr[MAX_RANK];
	cg_bstrides(f, n->type, r, ostr);
	cg_bstrides(f, n->in[0]->type, r, istr);
	LLVMValueRef ib = LLVMBuildMul(f->b, cg_i64(f->cg, n->attr[1]), istr[n->attr[0]], "");
	move(f, n->type.dtype, n->type, out, ostr, cg_i64(f->cg, 0), in[0], istr, ib);
}

static void cg_emit_pad(Fn *f, Node *n, LLVMValueRef out, LLVMValueRef *in)
{
	Type xt = n->in[0]->type;
	int r = xt.rank, np = n->nattr / 2;
	LLVMValueRef ostr[MAX_RANK], istr[MAX_RANK], ob = cg_i64(f->cg, 0);
	fill(f, n, out, scalar_in(f, n->in[1], in[1]));
	cg_bstrides(f, n->type, r, ostr);
	cg_bstrides(f, xt, r, istr);
	for (int i = 0; i < np; i++)
		ob = LLVMBuildAdd(f->b, ob, LLVMBuildMul(f->b, cg_i64(f->cg, n->attr[2 * i]), ostr[r - np + i], ""), "");
	move(f, xt.dtype, xt, out, ostr, ob, in[0], istr, cg_i64(f->cg, 0));
}

/* keep col - row <= diagonal (attr[1], triu: >=), else 0 */
static void cg_emit_tril(Fn *f, Node *n, LLVMValueRef out, LLVMValueRef *in)
{
	Type t = n->type;
	LLVMValueRef C = cg_dim(f, t.dim[t.rank - 1]), R = cg_dim(f, t.dim[t.rank - 2]);
	Loop l;
	LLVMValueRef i = cg_loop_begin(f, &l, cg_numel(f, t));
	LLVMValueRef c = LLVMBuildSRem(f->b, i, C, ""), row = LLVMBuildSRem(f->b, LLVMBuildSDiv(f->b, i, C, ""), R, "");
	LLVMValueRef k = LLVMBuildSub(f->b, c, row, "");
	LLVMValueRef keep = LLVMBuildICmp(f->b, n->attr[1] ? LLVMIntSGE : LLVMIntSLE, k, cg_i64(f->cg, n->attr[0]), "");
	cg_store(f, t.dtype, out, i, LLVMBuildSelect(f->b, keep, cg_load(f, t.dtype, in[0], i), tconst(f->cg, t.dtype, 0), ""));
	cg_loop_end(f, &l);
}

static void cg_emit_arange(Fn *f, Node *n, LLVMValueRef out, LLVMValueRef *in)
{
	Loop l;
	LLVMValueRef i = cg_loop_begin(f, &l, cg_numel(f, n->type));
	cg_store(f, n->type.dtype, out, i, cg_convert(f, i, TY_I64, n->type.dtype));
	cg_loop_end(f, &l);
}

/* idx[i] as i64, checked against [0, K) (nnd_rt_error otherwise) */
static LLVMValueRef index_at(Fn *f, Node *n, Node *idx, LLVMValueRef p, LLVMValueRef i, LLVMValueRef K)
{
	Cg *cg = f->cg;
	LLVMValueRef v = cg_convert(f, cg_load(f, idx->type.dtype, p, i), idx->type.dtype, TY_I64);
	LLVMBasicBlockRef eb = LLVMAppendBasicBlockInContext(cg->ctx, f->fn, "badindex");
	LLVMBasicBlockRef ok = LLVMAppendBasicBlockInContext(cg->ctx, f->fn, "index");
	LLVMBuildCondBr(f->b, LLVMBuildICmp(f->b, LLVMIntUGE, v, K, ""), eb, ok);
	LLVMPositionBuilderAtEnd(f->b, eb);
	LLVMTypeRef pt = cg->t_ptr;
	LLVMValueRef args[4] = {cg_cstr(cg, "%s: index %lld is outside [0, %lld)"), cg_cstr(cg, op_info[n->op].name), v, K};
	cg_libcall(f, "nnd_rt_error", cg->t_void, &pt, 1, args, 4, true);
	LLVMBuildUnreachable(f->b);
	LLVMPositionBuilderAtEnd(f->b, ok);
	return v;
}

static void cg_emit_one_hot(Fn *f, Node *n, LLVMValueRef out, LLVMValueRef *in)
{
	LLVMValueRef C = cg_i64(f->cg, n->attr[0]);
	Loop l, lc;
	LLVMValueRef i = cg_loop_begin(f, &l, cg_numel(f, n->in[0]->type));
	LLVMValueRef k = index_at(f, n, n->in[0], in[0], i, C);
	LLVMValueRef c = cg_loop_begin(f, &lc, C);
	LLVMValueRef hot = LLVMBuildZExt(f->b, LLVMBuildICmp(f->b, LLVMIntEQ, c, k, ""), f->cg->t_i64, "");
	cg_store(f, TY_I64, out, LLVMBuildAdd(f->b, LLVMBuildMul(f->b, i, C, ""), c, ""), hot);
	cg_loop_end(f, &lc);
	cg_loop_end(f, &l);
}

static void copy_flat(Fn *f, Node *n, LLVMValueRef out, LLVMValueRef in)
{
	Loop l;
	LLVMValueRef i = cg_loop_begin(f, &l, cg_numel(f, n->type));
	cg_store(f, n->type.dtype, out, i, cg_load(f, n->type.dtype, in, i));
	cg_loop_end(f, &l);
}

/* dst[d] += v */
static void add_into(Fn *f, DType t, LLVMValueRef dst, LLVMValueRef d, LLVMValueRef v)
{
	cg_store(f, t, dst, d, add_t(f, t, cg_load(f, t, dst, d), v));
}

/* gather: y[o, j, i] = x[o, idx[j], i]; index_add: y = x, then y[o, idx[j], i] += src[o, j, i] */
static void cg_emit_gather(Fn *f, Node *n, LLVMValueRef out, LLVMValueRef *in)
{
	DType t = n->type.dtype;
	LLVMValueRef O, K, I, J = cg_numel(f, n->in[1]->type);
	around(f, n->in[0]->type, (int)n->attr[0], &O, &K, &I);
	if (n->op == OP_INDEX_ADD)
		copy_flat(f, n, out, in[0]);
	Loop lo, lj, li;
	LLVMValueRef o = cg_loop_begin(f, &lo, O), j = cg_loop_begin(f, &lj, J);
	LLVMValueRef k = index_at(f, n, n->in[1], in[1], j, K);
	LLVMValueRef i = cg_loop_begin(f, &li, I);
	LLVMValueRef xi = at3(f, o, K, k, I, i), yi = at3(f, o, J, j, I, i);
	if (n->op == OP_GATHER)
		cg_store(f, t, out, yi, cg_load(f, t, in[0], xi));
	else
		add_into(f, t, out, xi, cg_load(f, t, in[2], yi));
	cg_loop_end(f, &li);
	cg_loop_end(f, &lj);
	cg_loop_end(f, &lo);
}

/* take_along: y[o, j, i] = x[o, idx[o, j, i], i]; scatter_add: y = x, y[o, idx[o, j, i], i] += src[o, j, i] */
static void cg_emit_take_along(Fn *f, Node *n, LLVMValueRef out, LLVMValueRef *in)
{
	DType t = n->type.dtype;
	LLVMValueRef O, K, I, O2, J, I2;
	around(f, n->in[0]->type, (int)n->attr[0], &O, &K, &I);
	around(f, n->in[1]->type, (int)n->attr[0], &O2, &J, &I2);
	if (n->op == OP_SCATTER_ADD)
		copy_flat(f, n, out, in[0]);
	Loop lo, lj, li;
	LLVMValueRef o = cg_loop_begin(f, &lo, O), j = cg_loop_begin(f, &lj, J), i = cg_loop_begin(f, &li, I);
	LLVMValueRef at = at3(f, o, J, j, I, i);
	LLVMValueRef xi = at3(f, o, K, index_at(f, n, n->in[1], in[1], at, K), I, i);
	if (n->op == OP_TAKE_ALONG)
		cg_store(f, t, out, at, cg_load(f, t, in[0], xi));
	else
		add_into(f, t, out, xi, cg_load(f, t, in[2], at));
	cg_loop_end(f, &li);
	cg_loop_end(f, &lj);
	cg_loop_end(f, &lo);
}

/* ---- matmul: one cblas_?gemm per batch element (row-major; batch dims broadcast) ---- */

typedef struct MmCtx {
	Node *n;
	LLVMValueRef out, a, b, M, N, K, lda, ldb;
} MmCtx;

static void mm_body(Fn *f, void *vc, LLVMValueRef *off)
{
	MmCtx *c = vc;
	Cg *cg = f->cg;
	bool dbl = c->n->type.dtype == TY_F64;
	LLVMTypeRef et = dbl ? cg->t_f64 : cg->t_f32, i32 = cg->t_i32, ptr = cg->t_ptr;
	LLVMValueRef pc = LLVMBuildGEP2(f->b, et, c->out, &off[0], 1, "");
	LLVMValueRef pa = LLVMBuildGEP2(f->b, et, c->a, &off[1], 1, "");
	LLVMValueRef pb = LLVMBuildGEP2(f->b, et, c->b, &off[2], 1, "");
	LLVMTypeRef pt[14] = {i32, i32, i32, i32, i32, i32, et, ptr, i32, ptr, i32, et, ptr, i32};
	LLVMValueRef args[14] = {
		LLVMConstInt(i32, 101, 0), /* CblasRowMajor */
		LLVMConstInt(i32, c->n->attr[0] ? 112 : 111, 0), LLVMConstInt(i32, c->n->attr[1] ? 112 : 111, 0),
		LLVMBuildTrunc(f->b, c->M, i32, ""), LLVMBuildTrunc(f->b, c->N, i32, ""), LLVMBuildTrunc(f->b, c->K, i32, ""),
		LLVMConstReal(et, 1), pa, LLVMBuildTrunc(f->b, c->lda, i32, ""), pb, LLVMBuildTrunc(f->b, c->ldb, i32, ""),
		LLVMConstReal(et, 0), pc, LLVMBuildTrunc(f->b, c->N, i32, ""),
	};
	/* ldc = N must be >= 1 too */
	LLVMValueRef one = LLVMConstInt(i32, 1, 0);
	LLVMValueRef small = LLVMBuildICmp(f->b, LLVMIntSLT, args[13], one, "");
	args[13] = LLVMBuildSelect(f->b, small, one, args[13], "");
	cg_libcall(f, dbl ? "cblas_dgemm" : "cblas_sgemm", cg->t_void, pt, 14, args, 14, false);
}

static LLVMValueRef max1(Fn *f, LLVMValueRef v)
{
	LLVMValueRef one = cg_i64(f->cg, 1);
	return LLVMBuildSelect(f->eb, LLVMBuildICmp(f->eb, LLVMIntSLT, v, one, ""), one, v, "");
}

static void cg_emit_matmul(Fn *f, Node *n, LLVMValueRef out, LLVMValueRef *in)
{
	Type ta = n->in[0]->type, tb = n->in[1]->type, to = n->type;
	if (to.dtype != TY_F32 && to.dtype != TY_F64) {
		cg_fail(f->cg, n->loc, "matmul of %s tensors is not supported (only f32 and f64)", dtype_name[to.dtype]);
		return;
	}
	int r = to.rank, rb = r - 2;
	MmCtx c = {.n = n, .out = out, .a = in[0], .b = in[1]};
	c.M = cg_dim(f, to.dim[r - 2]);
	c.N = cg_dim(f, to.dim[r - 1]);
	c.K = cg_dim(f, ta.dim[ta.rank - (n->attr[0] ? 2 : 1)]);
	c.lda = max1(f, n->attr[0] ? c.M : c.K);
	c.ldb = max1(f, n->attr[1] ? c.K : c.N);
	LLVMValueRef dims[MAX_RANK], s[3][MAX_RANK];
	LLVMValueRef sz[3] = {LLVMBuildMul(f->eb, c.M, c.N, ""), LLVMBuildMul(f->eb, c.M, c.K, ""), LLVMBuildMul(f->eb, c.K, c.N, "")};
	Type bt[3] = {to, ta, tb};
	for (int k = 0; k < 3; k++) {
		bt[k].rank -= 2;
		cg_bstrides(f, bt[k], rb, s[k]);
		for (int d = 0; d < rb; d++)
			s[k][d] = LLVMBuildMul(f->eb, s[k][d], sz[k], "");
	}
	for (int d = 0; d < rb; d++)
		dims[d] = cg_dim(f, to.dim[d]);
	cg_nest(f, rb, dims, 3, s, mm_body, &c);
}

/* ---- cross entropy: logits (N, C) float, labels (N) int ---- */

/* label n as i64, checked against [0, C) (nnd_rt_error otherwise) */
static LLVMValueRef label_at(Fn *f, Node *y, LLVMValueRef labels, LLVMValueRef i, LLVMValueRef C)
{
	Cg *cg = f->cg;
	LLVMValueRef lab = cg_convert(f, cg_load(f, y->type.dtype, labels, i), y->type.dtype, TY_I64);
	LLVMValueRef bad = LLVMBuildICmp(f->b, LLVMIntUGE, lab, C, "");
	LLVMBasicBlockRef eb = LLVMAppendBasicBlockInContext(cg->ctx, f->fn, "badlabel");
	LLVMBasicBlockRef ok = LLVMAppendBasicBlockInContext(cg->ctx, f->fn, "label");
	LLVMBuildCondBr(f->b, bad, eb, ok);
	LLVMPositionBuilderAtEnd(f->b, eb);
	LLVMTypeRef pt = cg->t_ptr;
	LLVMValueRef args[3] = {cg_cstr(cg, "label %lld is outside [0, %lld)"), lab, C};
	cg_libcall(f, "nnd_rt_error", cg->t_void, &pt, 1, args, 3, true);
	LLVMBuildUnreachable(f->b);
	LLVMPositionBuilderAtEnd(f->b, ok);
	return lab;
}

/* per row: max m and s = sum exp(x - m) (accumulated in f64), into the given variables */
static void row_stats(Fn *f, DType t, LLVMValueRef logits, LLVMValueRef row, LLVMValueRef C, LLVMValueRef m, LLVMValueRef s)
{
	Cg *cg = f->cg;
	LLVMTypeRef ct = cg_comp_type(cg, t);
	Loop l;
	LLVMBuildStore(f->b, lowest(cg, t), m);
	LLVMValueRef c = cg_loop_begin(f, &l, C);
	LLVMValueRef x = cg_load(f, t, logits, LLVMBuildAdd(f->b, row, c, "")), mv = LLVMBuildLoad2(f->b, ct, m, "");
	LLVMBuildStore(f->b, LLVMBuildSelect(f->b, greater(f, t, x, mv), x, mv, ""), m);
	cg_loop_end(f, &l);
	LLVMValueRef mx = LLVMBuildLoad2(f->b, ct, m, "");
	LLVMBuildStore(f->b, LLVMConstReal(cg->t_f64, 0), s);
	c = cg_loop_begin(f, &l, C);
	x = cg_load(f, t, logits, LLVMBuildAdd(f->b, row, c, ""));
	LLVMValueRef e = cg_convert(f, l_exp(f, LLVMBuildFSub(f->b, x, mx, "")), t, TY_F64);
	LLVMBuildStore(f->b, LLVMBuildFAdd(f->b, LLVMBuildLoad2(f->b, cg->t_f64, s, ""), e, ""), s);
	cg_loop_end(f, &l);
}

/* loss = mean over n of (m + log s) - x[label] */
static void cg_emit_cross_entropy(Fn *f, Node *n, LLVMValueRef out, LLVMValueRef *in)
{
	Cg *cg = f->cg;
	Type lt = n->in[0]->type;
	DType t = lt.dtype;
	LLVMValueRef N = cg_dim(f, lt.dim[0]), C = cg_dim(f, lt.dim[1]);
	LLVMValueRef m = cg_var(f, cg_comp_type(cg, t), NULL), s = cg_var(f, cg->t_f64, NULL);
	LLVMValueRef total = cg_var(f, cg->t_f64, LLVMConstReal(cg->t_f64, 0));
	Loop l;
	LLVMValueRef i = cg_loop_begin(f, &l, N), row = LLVMBuildMul(f->b, i, C, "");
	row_stats(f, t, in[0], row, C, m, s);
	LLVMValueRef lab = label_at(f, n->in[1], in[1], i, C);
	LLVMValueRef xl = cg_convert(f, cg_load(f, t, in[0], LLVMBuildAdd(f->b, row, lab, "")), t, TY_F64);
	LLVMValueRef mx = cg_convert(f, LLVMBuildLoad2(f->b, cg_comp_type(cg, t), m, ""), t, TY_F64);
	LLVMValueRef lse = LLVMBuildFAdd(f->b, mx, l_log(f, LLVMBuildLoad2(f->b, cg->t_f64, s, "")), "");
	LLVMBuildStore(f->b, LLVMBuildFAdd(f->b, LLVMBuildLoad2(f->b, cg->t_f64, total, ""), LLVMBuildFSub(f->b, lse, xl, ""), ""), total);
	cg_loop_end(f, &l);
	LLVMValueRef mean = LLVMBuildFDiv(f->b, LLVMBuildLoad2(f->b, cg->t_f64, total, ""), LLVMBuildSIToFP(f->b, N, cg->t_f64, ""), "");
	cg_store(f, n->type.dtype, out, cg_i64(cg, 0), cg_convert(f, mean, TY_F64, n->type.dtype));
}

/* dlogits = (softmax - onehot) * dloss / N */
static void cg_emit_xent_bwd(Fn *f, Node *n, LLVMValueRef out, LLVMValueRef *in)
{
	Cg *cg = f->cg;
	Type lt = n->in[0]->type;
	DType t = lt.dtype;
	LLVMTypeRef ct = cg_comp_type(cg, t);
	LLVMValueRef N = cg_dim(f, lt.dim[0]), C = cg_dim(f, lt.dim[1]);
	LLVMValueRef dl = cg_convert(f, scalar_in(f, n->in[2], in[2]), n->in[2]->type.dtype, t);
	LLVMValueRef scale = LLVMBuildFDiv(f->b, dl, LLVMBuildSIToFP(f->b, N, ct, ""), "");
	LLVMValueRef m = cg_var(f, ct, NULL), s = cg_var(f, cg->t_f64, NULL);
	Loop l, lc;
	LLVMValueRef i = cg_loop_begin(f, &l, N), row = LLVMBuildMul(f->b, i, C, "");
	row_stats(f, t, in[0], row, C, m, s);
	LLVMValueRef lab = label_at(f, n->in[1], in[1], i, C);
	LLVMValueRef mx = LLVMBuildLoad2(f->b, ct, m, "");
	LLVMValueRef inv = cg_convert(f, LLVMBuildFDiv(f->b, LLVMConstReal(cg->t_f64, 1), LLVMBuildLoad2(f->b, cg->t_f64, s, ""), ""), TY_F64, t);
	LLVMValueRef c = cg_loop_begin(f, &lc, C), idx = LLVMBuildAdd(f->b, row, c, "");
	LLVMValueRef p = LLVMBuildFMul(f->b, l_exp(f, LLVMBuildFSub(f->b, cg_load(f, t, in[0], idx), mx, "")), inv, "");
	LLVMValueRef hot = LLVMBuildICmp(f->b, LLVMIntEQ, c, lab, "");
	p = LLVMBuildFSub(f->b, p, LLVMBuildSelect(f->b, hot, LLVMConstReal(ct, 1), LLVMConstReal(ct, 0), ""), "");
	cg_store(f, t, out, idx, LLVMBuildFMul(f->b, p, scale, ""));
	cg_loop_end(f, &lc);
	cg_loop_end(f, &l);
}

/* ---- convolution and pooling (NCHW): im2col + gemm per (image, group); 1x1 convolutions with
   stride 1 and no padding use the input as the column matrix ---- */

static LLVMValueRef iadd(Fn *f, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildAdd(f->b, a, b, ""); }
static LLVMValueRef imul(Fn *f, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildMul(f->b, a, b, ""); }
static LLVMValueRef elem_ptr(Fn *f, DType t, LLVMValueRef base, LLVMValueRef off)
{
	return LLVMBuildGEP2(f->b, cg_store_type(f->cg, t), base, &off, 1, "");
}

/* C = A B + beta C, row-major; ta/tb transpose A/B; sizes are i64 values */
static void gemm(Fn *f, DType t, bool ta, bool tb, LLVMValueRef M, LLVMValueRef N, LLVMValueRef K, LLVMValueRef A,
                 LLVMValueRef lda, LLVMValueRef B, LLVMValueRef ldb, double beta, LLVMValueRef C, LLVMValueRef ldc)
{
	Cg *cg = f->cg;
	bool dbl = t == TY_F64;
	LLVMTypeRef et = dbl ? cg->t_f64 : cg->t_f32, i32 = cg->t_i32, ptr = cg->t_ptr;
	LLVMTypeRef pt[14] = {i32, i32, i32, i32, i32, i32, et, ptr, i32, ptr, i32, et, ptr, i32};
#define T32(v) LLVMBuildTrunc(f->b, v, i32, "")
	LLVMValueRef args[14] = {LLVMConstInt(i32, 101, 0), LLVMConstInt(i32, ta ? 112 : 111, 0), LLVMConstInt(i32, tb ? 112 : 111, 0),
	                         T32(M), T32(N), T32(K), LLVMConstReal(et, 1), A, T32(lda), B, T32(ldb), LLVMConstReal(et, beta), C, T32(ldc)};
#undef T32
	cg_libcall(f, dbl ? "cblas_dgemm" : "cblas_sgemm", cg->t_void, pt, 14, args, 14, false);
}

/* A convolution's sizes, padded in front to three spatial axes (size 1, stride 1, padding 0,
   dilation 1): x [N, C, I0, I1, I2], w [O, Cg, K0, K1, K2], y [N, O, Y0, Y1, Y2] */
typedef struct ConvK {
	DType t;
	int64_t C, O, Cg, Og, G, I[3], K[3], Y[3], st[3], pd[3], dl[3];
	int64_t II, KK, YY, CKK; /* products: input plane, kernel, output plane, Cg KK */
	bool direct;             /* 1x1, stride 1, no padding, y as large as x: the columns are the input itself */
	LLVMValueRef N;
} ConvK;

static ConvK convk(Fn *f, Node *n, Type x, Type w, Type y)
{
	const int64_t *a = n->attr;
	int S = x.rank - 2;
	ConvK k = {.t = x.dtype, .C = x.dim[1], .O = w.dim[0], .Cg = w.dim[1], .G = a[3 * S], .II = 1, .KK = 1, .YY = 1};
	k.Og = k.O / k.G;
	k.direct = true;
	for (int i = 0; i < 3; i++) {
		int j = i - (3 - S); /* the attribute and axis index, < 0 for a padded axis */
		k.I[i] = j < 0 ? 1 : x.dim[2 + j];
		k.K[i] = j < 0 ? 1 : w.dim[2 + j];
		k.Y[i] = j < 0 ? 1 : y.dim[2 + j];
		k.st[i] = j < 0 ? 1 : a[j];
		k.pd[i] = j < 0 ? 0 : a[S + j];
		k.dl[i] = j < 0 ? 1 : a[2 * S + j];
		k.II *= k.I[i], k.KK *= k.K[i], k.YY *= k.Y[i];
		k.direct &= k.K[i] == 1 && k.st[i] == 1 && k.pd[i] == 0 && k.I[i] == k.Y[i];
	}
	k.CKK = k.Cg * k.KK;
	k.N = cg_dim(f, x.dim[0]);
	return k;
}

/* cols[r, q] = x[c, i0, i1, i2] (0 in the padding), r = (c, k0, k1, k2), q = (y0, y1, y2),
   i = y stride - padding + k dilation; col2im: x[c, i0, i1, i2] += cols[r, q] */
static void im2col(Fn *f, const ConvK *k, LLVMValueRef x, LLVMValueRef cols, bool col2im)
{
	Cg *cg = f->cg;
	Loop lr, ly[3];
	LLVMValueRef r = cg_loop_begin(f, &lr, cg_i64(cg, k->CKK));
	LLVMValueRef xi = LLVMBuildUDiv(f->b, r, cg_i64(cg, k->KK), ""), ci = r, valid = LLVMConstInt(cg->t_i1, 1, 0);
	for (int i = 0, inner = (int)k->KK; i < 3; i++) {
		inner /= (int)k->K[i];
		LLVMValueRef ki = LLVMBuildURem(f->b, LLVMBuildUDiv(f->b, r, cg_i64(cg, inner), ""), cg_i64(cg, k->K[i]), "");
		LLVMValueRef yi = cg_loop_begin(f, &ly[i], cg_i64(cg, k->Y[i]));
		LLVMValueRef at = iadd(f, LLVMBuildSub(f->b, imul(f, yi, cg_i64(cg, k->st[i])), cg_i64(cg, k->pd[i]), ""), imul(f, ki, cg_i64(cg, k->dl[i])));
		valid = LLVMBuildAnd(f->b, valid, LLVMBuildICmp(f->b, LLVMIntULT, at, cg_i64(cg, k->I[i]), ""), "");
		xi = iadd(f, imul(f, xi, cg_i64(cg, k->I[i])), at);
		ci = iadd(f, imul(f, ci, cg_i64(cg, k->Y[i])), yi);
	}
	xi = LLVMBuildSelect(f->b, valid, xi, cg_i64(cg, 0), "");
	LLVMValueRef zero = tconst(cg, k->t, 0);
	if (col2im)
		add_into(f, k->t, x, xi, LLVMBuildSelect(f->b, valid, cg_load(f, k->t, cols, ci), zero, ""));
	else
		cg_store(f, k->t, cols, ci, LLVMBuildSelect(f->b, valid, cg_load(f, k->t, x, xi), zero, ""));
	for (int i = 2; i >= 0; i--)
		cg_loop_end(f, &ly[i]);
	cg_loop_end(f, &lr);
}

/* A scratch buffer of n elements of t for node nd: a zeroed module global of its own (its size is
   known at compile time), so the training step allocates nothing. Entry functions are not
   reentrant (they share c->arena too), so one buffer per node is enough. */
static LLVMValueRef scratch(Fn *f, const Node *nd, DType t, int64_t n)
{
	Cg *cg = f->cg;
	char name[64];
	snprintf(name, sizeof name, "nnd.scratch.%s.%d", LLVMGetValueName(f->fn), nd->id);
	LLVMTypeRef ty = LLVMArrayType2(cg_store_type(cg, t), (uint64_t)(n ? n : 1));
	LLVMValueRef g = LLVMAddGlobal(cg->mod, ty, name);
	LLVMSetInitializer(g, LLVMConstNull(ty));
	LLVMSetLinkage(g, LLVMInternalLinkage);
	LLVMSetAlignment(g, 64);
	return g;
}

/* A runtime helper's scratch for node nd (NndScratch, runtime/nnd_model.h): a zeroed module
   global of its own, which the helper grows when a call needs more (for sizes known only at run
   time) and keeps, so steps after the first allocate nothing */
static LLVMValueRef rt_scratch(Fn *f, const Node *nd)
{
	Cg *cg = f->cg;
	char name[64];
	snprintf(name, sizeof name, "nnd.rtscratch.%s.%d", LLVMGetValueName(f->fn), nd->id);
	LLVMTypeRef ty = LLVMStructTypeInContext(cg->ctx, (LLVMTypeRef[]){cg->t_ptr, cg->t_i64}, 2, 0);
	LLVMValueRef g = LLVMAddGlobal(cg->mod, ty, name);
	LLVMSetInitializer(g, LLVMConstNull(ty));
	LLVMSetLinkage(g, LLVMInternalLinkage);
	return g;
}

static bool conv_dtype_ok(Fn *f, Node *n)
{
	if (n->type.dtype == TY_F32 || n->type.dtype == TY_F64)
		return true;
	cg_fail(f->cg, n->loc, "%s of %s tensors is not supported (only f32 and f64)", op_info[n->op].name, dtype_name[n->type.dtype]);
	return false;
}

/* y[n, g] = w[g] cols(x[n, g]); conv_transpose (dx): x[n, g] = col2im(w[g]^T y[n, g]);
   conv_bwd_weight: dw[g] += dy[n, g] cols(x[n, g])^T */
static void cg_emit_conv(Fn *f, Node *n, LLVMValueRef out, LLVMValueRef *in)
{
	if (!conv_dtype_ok(f, n))
		return;
	Cg *cg = f->cg;
	Op op = n->op;
	Type xt = op == OP_CONV_TRANSPOSE ? n->type : n->in[0]->type;
	Type wt = op == OP_CONV_BWD_WEIGHT ? n->type : n->in[1]->type;
	Type yt = op == OP_CONV ? n->type : op == OP_CONV_TRANSPOSE ? n->in[0]->type : n->in[1]->type;
	LLVMValueRef x = op == OP_CONV_TRANSPOSE ? out : in[0];
	LLVMValueRef w = op == OP_CONV_BWD_WEIGHT ? out : in[1];
	LLVMValueRef y = op == OP_CONV ? out : op == OP_CONV_TRANSPOSE ? in[0] : in[1];
	ConvK k = convk(f, n, xt, wt, yt);
	DType t = k.t;
	if (op == OP_CONV_BWD_WEIGHT || (op == OP_CONV_TRANSPOSE && !k.direct))
		fill(f, n, out, tconst(cg, t, 0));
	LLVMValueRef cols = k.direct ? NULL : scratch(f, n, t, k.CKK * k.YY);
	LLVMValueRef CKK = cg_i64(cg, k.CKK), YY = cg_i64(cg, k.YY), Og = cg_i64(cg, k.Og);
	Loop ln, lg;
	LLVMValueRef i = cg_loop_begin(f, &ln, k.N), g = cg_loop_begin(f, &lg, cg_i64(cg, k.G));
	LLVMValueRef xg = elem_ptr(f, t, x, imul(f, iadd(f, imul(f, i, cg_i64(cg, k.C)), imul(f, g, cg_i64(cg, k.Cg))), cg_i64(cg, k.II)));
	LLVMValueRef wg = elem_ptr(f, t, w, imul(f, g, cg_i64(cg, k.Og * k.CKK)));
	LLVMValueRef yg = elem_ptr(f, t, y, imul(f, iadd(f, imul(f, i, cg_i64(cg, k.O)), imul(f, g, Og)), YY));
	LLVMValueRef B = k.direct ? xg : cols;
	if (op != OP_CONV_TRANSPOSE && !k.direct)
		im2col(f, &k, xg, cols, false);
	if (op == OP_CONV)
		gemm(f, t, false, false, Og, YY, CKK, wg, CKK, B, YY, 0, yg, YY);
	else if (op == OP_CONV_BWD_WEIGHT)
		gemm(f, t, false, true, Og, CKK, YY, yg, YY, B, YY, 1, wg, CKK);
	else {
		gemm(f, t, true, false, CKK, YY, Og, wg, CKK, yg, YY, 0, B, YY);
		if (!k.direct)
			im2col(f, &k, xg, cols, true);
	}
	cg_loop_end(f, &lg);
	cg_loop_end(f, &ln);
}

/* max_pool2d: the first maximum of each window (NaN wins); max_pool2d_bwd: dx[argmax] += dy;
   max_pool2d_indices: argmax - nc H W, the index in the plane */
static void cg_emit_max_pool2d(Fn *f, Node *n, LLVMValueRef out, LLVMValueRef *in)
{
	Cg *cg = f->cg;
	bool bwd = n->op == OP_MAX_POOL2D_BWD;
	Type xt = n->in[0]->type, yt = bwd ? n->in[1]->type : n->type;
	DType t = xt.dtype;
	const int64_t *a = n->attr;
	LLVMTypeRef ct = cg_comp_type(cg, t);
	LLVMValueRef H = cg_i64(cg, xt.dim[2]), W = cg_i64(cg, xt.dim[3]), OH = cg_i64(cg, yt.dim[2]), OW = cg_i64(cg, yt.dim[3]);
	LLVMValueRef NC = LLVMBuildMul(f->eb, cg_dim(f, xt.dim[0]), cg_i64(cg, xt.dim[1]), "");
	if (bwd)
		fill(f, n, out, tconst(cg, t, 0));
	LLVMValueRef best = cg_var(f, ct, NULL), bi = cg_var(f, cg->t_i64, NULL);
	Loop lc, lh, lw, lkh, lkw;
	LLVMValueRef nc = cg_loop_begin(f, &lc, NC), oh = cg_loop_begin(f, &lh, OH), ow = cg_loop_begin(f, &lw, OW);
	LLVMBuildStore(f->b, lowest(cg, t), best);
	LLVMBuildStore(f->b, cg_i64(cg, -1), bi);
	LLVMValueRef kh = cg_loop_begin(f, &lkh, cg_i64(cg, a[0]));
	LLVMValueRef ih = iadd(f, LLVMBuildSub(f->b, imul(f, oh, cg_i64(cg, a[2])), cg_i64(cg, a[4]), ""), kh);
	LLVMValueRef kw = cg_loop_begin(f, &lkw, cg_i64(cg, a[1]));
	LLVMValueRef iw = iadd(f, LLVMBuildSub(f->b, imul(f, ow, cg_i64(cg, a[3])), cg_i64(cg, a[5]), ""), kw);
	LLVMValueRef valid = LLVMBuildAnd(f->b, LLVMBuildICmp(f->b, LLVMIntULT, ih, H, ""), LLVMBuildICmp(f->b, LLVMIntULT, iw, W, ""), "");
	LLVMValueRef xi = LLVMBuildSelect(f->b, valid, iadd(f, imul(f, iadd(f, imul(f, nc, H), ih), W), iw), cg_i64(cg, 0), "");
	LLVMValueRef v = cg_load(f, t, in[0], xi), m = LLVMBuildLoad2(f->b, ct, best, ""), b = LLVMBuildLoad2(f->b, cg->t_i64, bi, "");
	LLVMValueRef first = LLVMBuildICmp(f->b, LLVMIntSLT, b, cg_i64(cg, 0), "");
	LLVMValueRef take = LLVMBuildAnd(f->b, valid, LLVMBuildOr(f->b, first, greater(f, t, v, m), ""), "");
	LLVMBuildStore(f->b, LLVMBuildSelect(f->b, take, v, m, ""), best);
	LLVMBuildStore(f->b, LLVMBuildSelect(f->b, take, xi, b, ""), bi);
	cg_loop_end(f, &lkw);
	cg_loop_end(f, &lkh);
	LLVMValueRef yi = iadd(f, imul(f, iadd(f, imul(f, nc, OH), oh), OW), ow);
	if (bwd)
		add_into(f, t, out, LLVMBuildLoad2(f->b, cg->t_i64, bi, ""), cg_load(f, t, in[1], yi));
	else if (n->op == OP_MAX_POOL2D_INDICES)
		cg_store(f, TY_I64, out, yi, LLVMBuildSub(f->b, LLVMBuildLoad2(f->b, cg->t_i64, bi, ""), imul(f, nc, imul(f, H, W)), ""));
	else
		cg_store(f, t, out, yi, LLVMBuildLoad2(f->b, ct, best, ""));
	cg_loop_end(f, &lw);
	cg_loop_end(f, &lh);
	cg_loop_end(f, &lc);
}

/* splitmix64's finaliser, as ir/interp.c */
static LLVMValueRef mix64(Fn *f, LLVMValueRef z)
{
	LLVMTypeRef i64 = f->cg->t_i64;
	z = imul(f, LLVMBuildXor(f->b, z, LLVMBuildLShr(f->b, z, LLVMConstInt(i64, 30, 0), ""), ""), LLVMConstInt(i64, 0xBF58476D1CE4E5B9ull, 0));
	z = imul(f, LLVMBuildXor(f->b, z, LLVMBuildLShr(f->b, z, LLVMConstInt(i64, 27, 0), ""), ""), LLVMConstInt(i64, 0x94D049BB133111EBull, 0));
	return LLVMBuildXor(f->b, z, LLVMBuildLShr(f->b, z, LLVMConstInt(i64, 31, 0), ""), "");
}

/* base = mix(salt gamma + step + mix(seed)), step (f32 or i64) and seed (f32) the scalars in[k], in[k + 1] */
static LLVMValueRef rand_base(Fn *f, Node *n, LLVMValueRef *in, int k)
{
	LLVMTypeRef i64 = f->cg->t_i64;
	LLVMValueRef gamma = LLVMConstInt(i64, 0x9E3779B97F4A7C15ull, 0);
	LLVMValueRef step = cg_convert(f, scalar_in(f, n->in[k], in[k]), n->in[k]->type.dtype, TY_I64);
	LLVMValueRef seed = LLVMBuildFPToSI(f->b, scalar_in(f, n->in[k + 1], in[k + 1]), i64, "");
	LLVMValueRef salt = imul(f, LLVMConstInt(i64, (unsigned long long)n->attr[0], 0), gamma);
	return mix64(f, iadd(f, iadd(f, salt, step), mix64(f, seed)));
}

/* y = x * keep * 2^24 / (2^24 - t), keep = (mix(base + i gamma) >> 40) >= t */
static void cg_emit_dropout(Fn *f, Node *n, LLVMValueRef out, LLVMValueRef *in)
{
	Cg *cg = f->cg;
	DType t = n->type.dtype;
	LLVMTypeRef i64 = cg->t_i64;
	LLVMValueRef gamma = LLVMConstInt(i64, 0x9E3779B97F4A7C15ull, 0);
	LLVMValueRef base = rand_base(f, n, in, 1);
	LLVMValueRef thr = LLVMConstInt(i64, (unsigned long long)n->attr[1], 0);
	LLVMValueRef scale = LLVMConstReal(cg_comp_type(cg, t), 16777216.0 / (16777216.0 - (double)n->attr[1]));
	Loop l;
	LLVMValueRef i = cg_loop_begin(f, &l, cg_numel(f, n->type));
	LLVMValueRef h = LLVMBuildLShr(f->b, mix64(f, iadd(f, base, imul(f, i, gamma))), LLVMConstInt(i64, 40, 0), "");
	LLVMValueRef keep = LLVMBuildICmp(f->b, LLVMIntUGE, h, thr, "");
	LLVMValueRef v = LLVMBuildFMul(f->b, cg_load(f, t, in[0], i), scale, "");
	cg_store(f, t, out, i, LLVMBuildSelect(f->b, keep, v, tconst(cg, t, 0), ""));
	cg_loop_end(f, &l);
}

/* rand: u = (h >> 40) 2^-24, h as dropout's (rand_base); normal: sqrt(-2 log(1 - u)) cos(2 pi v), v = bits 16..39 */
static void cg_emit_rand(Fn *f, Node *n, LLVMValueRef out, LLVMValueRef *in)
{
	Cg *cg = f->cg;
	DType t = n->type.dtype;
	LLVMTypeRef i64 = cg->t_i64, ct = cg_comp_type(cg, t);
	LLVMValueRef gamma = LLVMConstInt(i64, 0x9E3779B97F4A7C15ull, 0);
	LLVMValueRef base = rand_base(f, n, in, 0);
	LLVMValueRef unit = LLVMConstReal(ct, 1.0 / 16777216.0);
	Loop l;
	LLVMValueRef i = cg_loop_begin(f, &l, cg_numel(f, n->type));
	LLVMValueRef h = mix64(f, iadd(f, base, imul(f, i, gamma)));
	LLVMValueRef u = LLVMBuildFMul(f->b, LLVMBuildUIToFP(f->b, LLVMBuildLShr(f->b, h, LLVMConstInt(i64, 40, 0), ""), ct, ""), unit, "");
	if (n->attr[1]) {
		LLVMValueRef vb = LLVMBuildAnd(f->b, LLVMBuildLShr(f->b, h, LLVMConstInt(i64, 16, 0), ""), LLVMConstInt(i64, 0xffffff, 0), "");
		LLVMValueRef v = LLVMBuildFMul(f->b, LLVMBuildUIToFP(f->b, vb, ct, ""), unit, "");
		LLVMValueRef r = l_sqrt(f, LLVMBuildFMul(f->b, rconst(u, -2), l_log(f, LLVMBuildFSub(f->b, rconst(u, 1), u, "")), ""));
		u = LLVMBuildFMul(f->b, r, l_cos(f, LLVMBuildFMul(f->b, rconst(v, 2 * M_PI), v, "")), "");
	}
	cg_store(f, t, out, i, u);
	cg_loop_end(f, &l);
}

/* ---- top-k and CTC ---- */

/* for top_k: element (a, i) comes before (b, j): a beats b, or they tie and i < j */
static LLVMValueRef topk_before(Fn *f, DType t, bool largest, LLVMValueRef a, LLVMValueRef i, LLVMValueRef b, LLVMValueRef j)
{
	LLVMValueRef tie = LLVMBuildAnd(f->b, LLVMBuildNot(f->b, beats(f, t, b, a, largest), ""), LLVMBuildICmp(f->b, LLVMIntSLT, i, j, ""), "");
	return LLVMBuildOr(f->b, beats(f, t, a, b, largest), tie, "");
}

/* top_k: x is (O, K, I) around the axis, out (O, k, I) i64; pick j is the first element (in the
   order of topk_before) after pick j - 1: O(k K) compares per line, no scratch */
static void cg_emit_top_k(Fn *f, Node *n, LLVMValueRef out, LLVMValueRef *in)
{
	Cg *cg = f->cg;
	DType t = n->in[0]->type.dtype;
	LLVMTypeRef ct = cg_comp_type(cg, t), i64 = cg->t_i64;
	bool largest = n->attr[2];
	LLVMValueRef O, K, I, k = cg_i64(cg, n->attr[1]), zero = cg_i64(cg, 0);
	around(f, n->in[0]->type, (int)n->attr[0], &O, &K, &I);
	LLVMValueRef pv = cg_var(f, ct, NULL), pi = cg_var(f, i64, NULL), bv = cg_var(f, ct, NULL), bi = cg_var(f, i64, NULL);
	Loop lo, li, lj, le;
	LLVMValueRef o = cg_loop_begin(f, &lo, O), i = cg_loop_begin(f, &li, I);
	LLVMBuildStore(f->b, lowest(cg, t), pv);
	LLVMBuildStore(f->b, cg_i64(cg, -1), pi);
	LLVMValueRef j = cg_loop_begin(f, &lj, k);
	LLVMBuildStore(f->b, lowest(cg, t), bv);
	LLVMBuildStore(f->b, cg_i64(cg, -1), bi);
	LLVMValueRef e = cg_loop_begin(f, &le, K);
	LLVMValueRef v = cg_load(f, t, in[0], at3(f, o, K, e, I, i));
	LLVMValueRef p = LLVMBuildLoad2(f->b, i64, pi, ""), b = LLVMBuildLoad2(f->b, i64, bi, "");
	LLVMValueRef pval = LLVMBuildLoad2(f->b, ct, pv, ""), bval = LLVMBuildLoad2(f->b, ct, bv, "");
	LLVMValueRef after = LLVMBuildOr(f->b, LLVMBuildICmp(f->b, LLVMIntSLT, p, zero, ""), topk_before(f, t, largest, pval, p, v, e), "");
	LLVMValueRef better = LLVMBuildOr(f->b, LLVMBuildICmp(f->b, LLVMIntSLT, b, zero, ""), topk_before(f, t, largest, v, e, bval, b), "");
	LLVMValueRef take = LLVMBuildAnd(f->b, after, better, "");
	LLVMBuildStore(f->b, LLVMBuildSelect(f->b, take, v, bval, ""), bv);
	LLVMBuildStore(f->b, LLVMBuildSelect(f->b, take, e, b, ""), bi);
	cg_loop_end(f, &le);
	b = LLVMBuildLoad2(f->b, i64, bi, "");
	cg_store(f, TY_I64, out, at3(f, o, k, j, I, i), b);
	LLVMBuildStore(f->b, b, pi);
	LLVMBuildStore(f->b, LLVMBuildLoad2(f->b, ct, bv, ""), pv);
	cg_loop_end(f, &lj);
	cg_loop_end(f, &li);
	cg_loop_end(f, &lo);
}

/* ctc_loss and ctc_loss_bwd: nnd_rt_ctc(scratch, dbl, lp, targets, il, tl, T, N, C, S, blank,
   zero_infinity, dloss or NULL, out) (runtime/ctc.c), the scratch the node's own (rt_scratch) */
static void cg_emit_ctc(Fn *f, Node *n, LLVMValueRef out, LLVMValueRef *in)
{
	Cg *cg = f->cg;
	Type lp = n->in[0]->type;
	LLVMTypeRef i32 = cg->t_i32, i64 = cg->t_i64, ptr = cg->t_ptr;
	LLVMTypeRef pt[14] = {ptr, i32, ptr, ptr, ptr, ptr, i64, i64, i64, i64, i64, i32, ptr, ptr};
	LLVMValueRef args[14] = {rt_scratch(f, n), LLVMConstInt(i32, lp.dtype == TY_F64, 0), in[0], in[1], in[2], in[3],
	                         cg_dim(f, lp.dim[0]), cg_dim(f, lp.dim[1]), cg_dim(f, lp.dim[2]), cg_dim(f, n->in[1]->type.dim[1]),
	                         cg_i64(cg, n->attr[0]), LLVMConstInt(i32, n->attr[1] != 0, 0),
	                         n->op == OP_CTC_BWD ? in[4] : LLVMConstPointerNull(ptr), out};
	cg_libcall(f, "nnd_rt_ctc", cg->t_void, pt, 14, args, 14, false);
}

/* ctc_greedy_decode, branch-free: each frame's argmax k is stored at out[b, pos] and pos advances
   when k is emitted (t < il, k != previous, k != blank); the positions from pos on become -1 */
static void cg_emit_ctc_greedy(Fn *f, Node *n, LLVMValueRef out, LLVMValueRef *in)
{
	Cg *cg = f->cg;
	Type lt = n->in[0]->type;
	DType t = lt.dtype;
	LLVMTypeRef ct = cg_comp_type(cg, t), i64 = cg->t_i64;
	LLVMValueRef T = cg_dim(f, lt.dim[0]), N = cg_dim(f, lt.dim[1]), C = cg_dim(f, lt.dim[2]);
	LLVMValueRef pos = cg_var(f, i64, NULL), prev = cg_var(f, i64, NULL), best = cg_var(f, ct, NULL), bi = cg_var(f, i64, NULL);
	Loop lb, lt2, lc, lf;
	LLVMValueRef b = cg_loop_begin(f, &lb, N);
	LLVMValueRef il = index_at(f, n, n->in[1], in[1], b, iadd(f, T, cg_i64(cg, 1))), row = imul(f, b, T);
	LLVMBuildStore(f->b, cg_i64(cg, 0), pos);
	LLVMBuildStore(f->b, cg_i64(cg, -1), prev);
	LLVMValueRef tt = cg_loop_begin(f, &lt2, T);
	LLVMBuildStore(f->b, lowest(cg, t), best);
	LLVMBuildStore(f->b, cg_i64(cg, 0), bi);
	LLVMValueRef c = cg_loop_begin(f, &lc, C);
	LLVMValueRef x = cg_load(f, t, in[0], iadd(f, imul(f, iadd(f, imul(f, tt, N), b), C), c)), m = LLVMBuildLoad2(f->b, ct, best, "");
	LLVMValueRef gt = greater(f, t, x, m);
	LLVMBuildStore(f->b, LLVMBuildSelect(f->b, gt, x, m, ""), best);
	LLVMBuildStore(f->b, LLVMBuildSelect(f->b, gt, c, LLVMBuildLoad2(f->b, i64, bi, ""), ""), bi);
	cg_loop_end(f, &lc);
	LLVMValueRef k = LLVMBuildLoad2(f->b, i64, bi, ""), p = LLVMBuildLoad2(f->b, i64, pos, ""), pk = LLVMBuildLoad2(f->b, i64, prev, "");
	LLVMValueRef active = LLVMBuildICmp(f->b, LLVMIntSLT, tt, il, "");
	LLVMValueRef emit = LLVMBuildAnd(f->b, active, LLVMBuildAnd(f->b, LLVMBuildICmp(f->b, LLVMIntNE, k, pk, ""),
	                                                            LLVMBuildICmp(f->b, LLVMIntNE, k, cg_i64(cg, n->attr[0]), ""), ""), "");
	cg_store(f, TY_I32, out, iadd(f, row, p), LLVMBuildTrunc(f->b, k, cg->t_i32, ""));
	LLVMBuildStore(f->b, iadd(f, p, LLVMBuildZExt(f->b, emit, i64, "")), pos);
	LLVMBuildStore(f->b, LLVMBuildSelect(f->b, active, k, pk, ""), prev);
	cg_loop_end(f, &lt2);
	LLVMValueRef end = LLVMBuildLoad2(f->b, i64, pos, "");
	LLVMValueRef j = cg_loop_begin(f, &lf, T), at = iadd(f, row, j);
	LLVMValueRef keep = LLVMBuildICmp(f->b, LLVMIntSLT, j, end, "");
	cg_store(f, TY_I32, out, at, LLVMBuildSelect(f->b, keep, cg_load(f, TY_I32, out, at), LLVMConstInt(cg->t_i32, (unsigned long long)-1, 1), ""));
	cg_loop_end(f, &lf);
	cg_loop_end(f, &lb);
}

/* ---- optimiser updates ---- */

/* nnd_rt_opt_update(kind, params + off, grad, opt ? opt + off : NULL, numel, param_numel,
   hyper + group * NND_H_COUNT), the group in attr[2] (absent: 0) */
static void cg_emit_opt_update(Fn *f, Node *n, LLVMValueRef out, LLVMValueRef *in)
{
	Cg *cg = f->cg;
	int pi = (int)n->attr[0];
	int64_t off = cg_param_offset(cg->p, pi), numel = 1;
	for (int d = 0; d < cg->p->params.v[pi].type.rank; d++)
		numel *= cg->p->params.v[pi].type.dim[d];
	LLVMValueRef opt = cg_call_field(f, 2), hyper = cg_call_field(f, 6);
	if (n->nattr > 2 && n->attr[2] > 0) { /* a parameter group's hyper-parameters: row attr[2] */
		LLVMValueRef row = cg_i64(cg, n->attr[2] * NND_H_COUNT);
		hyper = LLVMBuildGEP2(f->b, cg->t_f32, hyper, &row, 1, "");
	}
	LLVMValueRef null = LLVMConstPointerNull(cg->t_ptr), o = cg_i64(cg, off);
	LLVMValueRef mom = LLVMBuildSelect(f->b, LLVMBuildICmp(f->b, LLVMIntEQ, opt, null, ""), null,
	                                   LLVMBuildGEP2(f->b, cg->t_f32, opt, &o, 1, ""), "");
	LLVMTypeRef pt[7] = {cg->t_i32, cg->t_ptr, cg->t_ptr, cg->t_ptr, cg->t_i64, cg->t_i64, cg->t_ptr};
	LLVMValueRef args[7] = {LLVMConstInt(cg->t_i32, (unsigned long long)n->attr[1], 0), in[0], in[1], mom,
	                        cg_i64(cg, numel), cg_i64(cg, ir_prog_param_numel(cg->p)), hyper};
	cg_libcall(f, "nnd_rt_opt_update", cg->t_void, pt, 7, args, 7, false);
}

/* `s := e`: copy the value into the state's place in the parameter block (in[0], the PARAM view) */
static void cg_emit_assign(Fn *f, Node *n, LLVMValueRef out, LLVMValueRef *in)
{
	(void)out;
	Cg *cg = f->cg;
	int64_t bytes = (int64_t)ir_type_numel(cg->p, n->in[1]->type) * (int64_t)dtype_size(n->in[1]->type.dtype);
	LLVMBuildMemCpy(f->b, in[0], 4, in[1], 4, cg_i64(cg, bytes));
}

/* y = (keep != 0 ? acc : 0) + w * grad; acc = y, acc = c->grads + the param's offset */
static void cg_emit_grad_acc(Fn *f, Node *n, LLVMValueRef out, LLVMValueRef *in)
{
	Cg *cg = f->cg;
	LLVMValueRef o = cg_i64(cg, cg_param_offset(cg->p, (int)n->attr[0]));
	LLVMValueRef acc = LLVMBuildGEP2(f->b, cg->t_f32, cg_call_field(f, 1), &o, 1, "");
	LLVMValueRef w = scalar_in(f, n->in[1], in[1]), zero = tconst(cg, TY_F32, 0);
	LLVMValueRef keep = LLVMBuildFCmp(f->b, LLVMRealUNE, scalar_in(f, n->in[2], in[2]), zero, "");
	Loop l;
	LLVMValueRef i = cg_loop_begin(f, &l, cg_numel(f, n->type));
	LLVMValueRef a = LLVMBuildSelect(f->b, keep, cg_load(f, TY_F32, acc, i), zero, "");
	LLVMValueRef y = LLVMBuildFAdd(f->b, a, LLVMBuildFMul(f->b, w, cg_load(f, TY_F32, in[0], i), ""), "");
	cg_store(f, TY_F32, out, i, y);
	cg_store(f, TY_F32, acc, i, y);
	cg_loop_end(f, &l);
}

/* ---- the table ---- */

#define EW(op) {cg_emit_elemwise, cg_scalar_##op, false}
static const struct KernelRow kernel_table[OP_COUNT] = {
	[OP_INPUT] = {.view = true},
	[OP_PARAM] = {.view = true},
	[OP_HYPER] = {.view = true},
	[OP_RESHAPE] = {.view = true},
	[OP_LOOP] = {.view = true},
	[OP_LOOP_OUT] = {.view = true},
	[OP_CUSTOM_GRAD] = {.view = true},
	[OP_IF] = {.view = true},
	[OP_IF_OUT] = {.view = true},
	[OP_CONST] = {cg_emit_const},
	[OP_CAST] = EW(cast),
	[OP_TRANSPOSE] = {cg_emit_transpose},
	[OP_BROADCAST] = EW(copy),
	[OP_SUM_TO] = {cg_emit_sum_to},
	[OP_NEG] = EW(neg),
	[OP_EXP] = EW(exp),
	[OP_LOG] = EW(log),
	[OP_SQRT] = EW(sqrt),
	[OP_TANH] = EW(tanh),
	[OP_SIGMOID] = EW(sigmoid),
	[OP_RELU] = EW(relu),
	[OP_NOT] = EW(not),
	[OP_ADD] = EW(add),
	[OP_SUB] = EW(sub),
	[OP_MUL] = EW(mul),
	[OP_DIV] = EW(div),
	[OP_MAXIMUM] = EW(maximum),
	[OP_MINIMUM] = EW(minimum),
	[OP_POW] = EW(pow),
	[OP_EQ] = EW(eq),
	[OP_NE] = EW(ne),
	[OP_LT] = EW(lt),
	[OP_LE] = EW(le),
	[OP_GT] = EW(gt),
	[OP_GE] = EW(ge),
	[OP_AND] = EW(and),
	[OP_OR] = EW(or),
	[OP_WHERE] = EW(where),
	[OP_RELU_BWD] = EW(relu_bwd),
	[OP_ABS] = EW(abs),
	[OP_LOG1P] = EW(log1p),
	[OP_RSQRT] = EW(rsqrt),
	[OP_SQUARE] = EW(square),
	[OP_SIN] = EW(sin),
	[OP_COS] = EW(cos),
	[OP_ERF] = EW(erf),
	[OP_RELU6] = EW(relu6),
	[OP_GELU] = EW(gelu),
	[OP_SILU] = EW(silu),
	[OP_SOFTPLUS] = EW(softplus),
	[OP_MISH] = EW(mish),
	[OP_HARDSWISH] = EW(hardswish),
	[OP_HARDSIGMOID] = EW(hardsigmoid),
	[OP_SIGN] = EW(sign),
	[OP_FLOOR] = EW(floor),
	[OP_CEIL] = EW(ceil),
	[OP_ROUND] = EW(round),
	[OP_STOP_GRADIENT] = EW(copy),
	[OP_LEAKY_RELU] = EW(leaky_relu),
	[OP_ELU] = EW(elu),
	[OP_GRAD_SCALE] = EW(copy),
	[OP_MIN] = {cg_emit_reduce},
	[OP_PROD] = {cg_emit_reduce},
	[OP_ARGMIN] = {cg_emit_argmax},
	[OP_LOGSUMEXP] = {cg_emit_softmax},
	[OP_SOFTMAX] = {cg_emit_softmax},
	[OP_LOG_SOFTMAX] = {cg_emit_softmax},
	[OP_CUMSUM] = {cg_emit_cumsum},
	[OP_CONCAT] = {cg_emit_concat},
	[OP_SLICE] = {cg_emit_slice},
	[OP_PAD] = {cg_emit_pad},
	[OP_TRIL] = {cg_emit_tril},
	[OP_ARANGE] = {cg_emit_arange},
	[OP_ONE_HOT] = {cg_emit_one_hot},
	[OP_GATHER] = {cg_emit_gather},
	[OP_INDEX_ADD] = {cg_emit_gather},
	[OP_TAKE_ALONG] = {cg_emit_take_along},
	[OP_SCATTER_ADD] = {cg_emit_take_along},
	[OP_SUM] = {cg_emit_reduce},
	[OP_MEAN] = {cg_emit_reduce},
	[OP_MAX] = {cg_emit_reduce},
	[OP_ARGMAX] = {cg_emit_argmax},
	[OP_MATMUL] = {cg_emit_matmul},
	[OP_CROSS_ENTROPY] = {cg_emit_cross_entropy},
	[OP_XENT_BWD] = {cg_emit_xent_bwd},
	[OP_OPT_UPDATE] = {cg_emit_opt_update},
	[OP_ASSIGN] = {cg_emit_assign},
	[OP_GRAD_ACC] = {cg_emit_grad_acc},
	[OP_CONV] = {cg_emit_conv},
	[OP_CONV_TRANSPOSE] = {cg_emit_conv},
	[OP_CONV_BWD_WEIGHT] = {cg_emit_conv},
	[OP_MAX_POOL2D] = {cg_emit_max_pool2d},
	[OP_MAX_POOL2D_BWD] = {cg_emit_max_pool2d},
	[OP_MAX_POOL2D_INDICES] = {cg_emit_max_pool2d},
	[OP_DROPOUT] = {cg_emit_dropout},
	[OP_RAND] = {cg_emit_rand},
	[OP_TOP_K] = {cg_emit_top_k},
	[OP_CTC_LOSS] = {cg_emit_ctc},
	[OP_CTC_BWD] = {cg_emit_ctc},
	[OP_CTC_GREEDY] = {cg_emit_ctc_greedy},
};

KernelFn cg_kernel(Op op) { return kernel_table[op].emit; }
bool cg_has_kernel(Op op) { return kernel_table[op].emit || kernel_table[op].view; }
