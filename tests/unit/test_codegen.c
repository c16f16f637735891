/* tests/unit/test_codegen.c: code generation, end to end. Each test builds a small graph with the
 * IR builder, emits it (PIC), links it with `cc -shared` into a shared object, dlopens it, calls
 * the entry function and compares with the interpreter's result on the same graph (elementwise
 * ops) or with the same computation written in plain C (the others). Also: every op
 * of ops.def has a kernel, the descriptor's LLVM layout equals the C layout, and a 2-layer MLP
 * training step matches a hand-written one (loss and updated parameters), and the loss and
 * gradients of programs with loops over a run-time T match the interpreter for several T.
 */
#include <check.h>
#include <dlfcn.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codegen/codegen.h"
#include "lang/lang.h"
#include "passes/passes.h"
#include "tests/unit/cgso.h"
#include "tests/unit/loop_programs.h"
#include "runtime/nnd_model.h"

static const Loc L0;

/* ---- harness (shared objects: tests/unit/cgso.h) ---- */

typedef struct Call {
	float *params, *opt;
	const void *inputs[8];
	int64_t syms[4];
	float hyper[NND_H_COUNT];
	void *outputs[8];
} Call;

static void call(void *h, const char *g, Call *c)
{
	cgso_call(h, g, (NndCall){c->params, NULL, c->opt, NULL, c->inputs, c->syms, c->hyper, c->outputs});
}

static Prog *prog(void) { return ir_prog_new(arena_new()); }
static Type ty(DType t, int rank, Dim d0, Dim d1, Dim d2) { return ir_type(t, rank, (Dim[]){d0, d1, d2}); }
static void fill(float *x, int n, float scale, float shift)
{
	for (int i = 0; i < n; i++)
		x[i] = scale * sinf(1.7f * (float)i + 0.3f) + shift;
}
#define CLOSE(a, b, tol) ck_assert_msg(fabs((double)(a) - (double)(b)) <= (tol) * (1 + fabs((double)(b))), "%s: %.9g vs %.9g at %d", #a, (double)(a), (double)(b), i)

/* ---- the op table and the descriptor layout ---- */

START_TEST(every_op_has_a_kernel)
{
	for (int op = 0; op < OP_COUNT; op++)
		ck_assert_msg(cg_has_kernel((Op)op), "op %s has no kernel in codegen/kernels.c", op_info[op].name);
}
END_TEST

START_TEST(descriptor_layout)
{
	char err[256];
	CgOptions o = {.opt_level = 2, .pic = true};
	LLVMTargetMachineRef tm = cg_target_machine_new(&o, err, sizeof err);
	ck_assert_msg(tm != NULL, "%s", err);
	LLVMTargetDataRef td = LLVMCreateTargetDataLayout(tm);
	LLVMContextRef ctx = LLVMContextCreate();
	CgTypes T = cg_model_types(ctx);
#define SIZE(t, c) ck_assert_int_eq(LLVMABISizeOfType(td, T.t), sizeof(c))
#define OFF(t, i, c, f) ck_assert_msg(LLVMOffsetOfElement(td, T.t, i) == offsetof(c, f), #c "." #f)
	SIZE(tensor, NndTensorInfo);
	OFF(tensor, 0, NndTensorInfo, name); OFF(tensor, 1, NndTensorInfo, dtype);
	OFF(tensor, 2, NndTensorInfo, rank); OFF(tensor, 3, NndTensorInfo, dims);
	SIZE(param, NndParam);
	OFF(param, 0, NndParam, t); OFF(param, 1, NndParam, offset); OFF(param, 2, NndParam, numel);
	OFF(param, 3, NndParam, is_state); OFF(param, 4, NndParam, trainable); OFF(param, 5, NndParam, init);
	OFF(param, 6, NndParam, init_args); OFF(param, 7, NndParam, fan_in); OFF(param, 8, NndParam, fan_out);
	OFF(param, 9, NndParam, from); OFF(param, 10, NndParam, from_name);
	OFF(param, 11, NndParam, group);
	SIZE(entry, NndEntry);
	OFF(entry, 0, NndEntry, name); OFF(entry, 1, NndEntry, ninputs); OFF(entry, 2, NndEntry, noutputs);
	OFF(entry, 3, NndEntry, inputs); OFF(entry, 4, NndEntry, outputs); OFF(entry, 5, NndEntry, fn);
	OFF(entry, 6, NndEntry, arena_size);
	SIZE(source, NndDataSource);
	OFF(source, 0, NndDataSource, kind); OFF(source, 1, NndDataSource, npaths); OFF(source, 2, NndDataSource, paths);
	OFF(source, 3, NndDataSource, names); OFF(source, 4, NndDataSource, label); OFF(source, 5, NndDataSource, seq);
	SIZE(recipe, NndRecipe);
	OFF(recipe, 0, NndRecipe, batch); OFF(recipe, 1, NndRecipe, epochs); OFF(recipe, 2, NndRecipe, steps);
	OFF(recipe, 3, NndRecipe, seed); OFF(recipe, 4, NndRecipe, optimizer); OFF(recipe, 5, NndRecipe, schedule);
	OFF(recipe, 6, NndRecipe, lr); OFF(recipe, 7, NndRecipe, momentum); OFF(recipe, 8, NndRecipe, weight_decay);
	OFF(recipe, 9, NndRecipe, dampening); OFF(recipe, 10, NndRecipe, beta1); OFF(recipe, 11, NndRecipe, beta2);
	OFF(recipe, 12, NndRecipe, eps); OFF(recipe, 13, NndRecipe, nesterov); OFF(recipe, 14, NndRecipe, warmup);
	OFF(recipe, 15, NndRecipe, min_lr); OFF(recipe, 16, NndRecipe, data); OFF(recipe, 17, NndRecipe, valid);
	OFF(recipe, 18, NndRecipe, alpha); OFF(recipe, 19, NndRecipe, centered); OFF(recipe, 20, NndRecipe, lr_decay);
	OFF(recipe, 21, NndRecipe, initial_accumulator_value); OFF(recipe, 22, NndRecipe, step_every);
	OFF(recipe, 23, NndRecipe, gamma); OFF(recipe, 24, NndRecipe, max_lr); OFF(recipe, 25, NndRecipe, pct_start);
	OFF(recipe, 26, NndRecipe, div_factor); OFF(recipe, 27, NndRecipe, final_div_factor);
	OFF(recipe, 28, NndRecipe, clip_grad_norm); OFF(recipe, 29, NndRecipe, noise_eta);
	OFF(recipe, 30, NndRecipe, noise_gamma); OFF(recipe, 31, NndRecipe, accumulate);
	SIZE(model, NndModel);
	OFF(model, 0, NndModel, abi_version); OFF(model, 1, NndModel, name); OFF(model, 2, NndModel, source);
	OFF(model, 3, NndModel, nparams); OFF(model, 4, NndModel, params); OFF(model, 5, NndModel, param_numel);
	OFF(model, 6, NndModel, opt_slots); OFF(model, 7, NndModel, nsyms); OFF(model, 8, NndModel, syms);
	OFF(model, 9, NndModel, step); OFF(model, 10, NndModel, eval); OFF(model, 11, NndModel, predict);
	OFF(model, 12, NndModel, recipe); OFF(model, 13, NndModel, ngroups); OFF(model, 14, NndModel, groups);
	LLVMContextDispose(ctx);
	LLVMDisposeTargetData(td);
	LLVMDisposeTargetMachine(tm);
}
END_TEST

/* ---- elementwise: the kernels against the interpreter (ir/interp.c, float64) ---- */

/* ir_interp on g with g's float32 inputs in[k] (sizes from syms); outs[k] malloc'ed */
static void interp(const Prog *p, const Graph *g, float *const *in, const int64_t *syms, double **outs)
{
	double *din[8];
	for (int k = 0; k < g->inputs.n; k++) {
		Type t = g->inputs.v[k]->type;
		int64_t n = 1, d;
		for (int a = 0; a < t.rank; a++) {
			ck_assert(ir_dim_eval(p, t.dim[a], syms, &d));
			n *= d;
		}
		din[k] = malloc(sizeof(double) * (size_t)n);
		for (int64_t i = 0; i < n; i++)
			din[k][i] = in[k][i];
	}
	char err[256];
	InterpArgs a = {.inputs = (const double *const *)din, .syms = syms, .outputs = outs};
	ck_assert_msg(ir_interp(g, &a, err, sizeof err), "interp: %s", err);
	for (int k = 0; k < g->inputs.n; k++)
		free(din[k]);
}

static const Op unary_ops[] = {OP_NEG, OP_EXP, OP_LOG, OP_SQRT, OP_TANH, OP_SIGMOID, OP_RELU};

START_TEST(unary_f32)
{
	Op op = unary_ops[_i];
	Prog *p = prog();
	Graph *g = ir_graph_new(p, "predict");
	Node *x = ir_input(g, ty(TY_F32, 2, 3, 5, 0), "x", L0);
	ir_graph_output(g, "y", ir_op1(g, op, x, L0));
	void *h = cgso_build(p);
	float in[15], out[15];
	double *want;
	fill(in, 15, 2, op == OP_LOG || op == OP_SQRT ? 2.5f : 0);
	Call c = {.inputs = {in}, .outputs = {out}};
	call(h, "predict", &c);
	interp(p, g, (float *[]){in}, NULL, &want);
	for (int i = 0; i < 15; i++)
		CLOSE(out[i], want[i], 1e-6);
	free(want);
}
END_TEST

static const Op binary_ops[] = {OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_MAXIMUM, OP_MINIMUM, OP_POW,
                                OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE, OP_RELU_BWD};

/* a f32[B, 3, 4] op b, for b of shapes [4], [B, 1, 4], [3, 1] and the same shape; B = 2 */
START_TEST(binary_broadcast)
{
	Op op = binary_ops[_i % 14];
	int shape = _i / 14;
	Prog *p = prog();
	Dim B = ir_dim_sym(p, ir_sym_add(p, "B"));
	Graph *g = ir_graph_new(p, "predict");
	Type tb[4] = {ty(TY_F32, 1, 4, 0, 0), ty(TY_F32, 3, B, 1, 4), ty(TY_F32, 2, 3, 1, 0), ty(TY_F32, 3, B, 3, 4)};
	Node *a = ir_input(g, ty(TY_F32, 3, B, 3, 4), "a", L0), *b = ir_input(g, tb[shape], "b", L0);
	Node *r = ir_op2(g, op, a, b, L0);
	bool cmp = r->type.dtype == TY_BOOL;
	ir_graph_output(g, "y", r);
	void *h = cgso_build(p);
	float av[24], bv[24], out[24];
	unsigned char bo[24];
	double *want;
	fill(av, 24, 2, op == OP_POW ? 3 : 0);
	if (op == OP_POW)
		for (int i = 0; i < 24; i++)
			av[i] = fabsf(av[i]);
	fill(bv, 24, 1.5f, 0.2f);
	bv[1] = av[shape == 2 ? 4 : 1]; /* a tie for the comparisons: b[1] meets a[4] (b: [3, 1]) or a[1] */
	Call c = {.inputs = {av, bv}, .syms = {2}, .outputs = {cmp ? (void *)bo : out}};
	call(h, "predict", &c);
	interp(p, g, (float *[]){av, bv}, c.syms, &want);
	int ties = 0;
	for (int i = 0; i < 24; i++) {
		if (cmp)
			ck_assert_msg(bo[i] == want[i], "%s at %d: kernel %d, interp %g", op_info[op].name, i, bo[i], want[i]);
		else
			CLOSE(out[i], want[i], 1e-6);
		int n = i / 12, j = i / 4 % 3, k = i % 4;
		ties += av[i] == bv[shape == 0 ? k : shape == 1 ? n * 4 + k : shape == 2 ? j : i];
	}
	ck_assert_int_ge(ties, 1); /* the comparisons met equal operands */
	free(want);
}
END_TEST

START_TEST(logic_where_and_casts)
{
	Prog *p = prog();
	Graph *g = ir_graph_new(p, "predict");
	Node *x = ir_input(g, ty(TY_F32, 1, 6, 0, 0), "x", L0);
	Node *pos = ir_op2(g, OP_GT, x, ir_const(g, TY_F32, 0, L0), L0);
	Node *big = ir_op2(g, OP_GT, x, ir_const(g, TY_F32, 1, L0), L0);
	ir_graph_output(g, "and", ir_op2(g, OP_AND, pos, ir_op1(g, OP_NOT, big, L0), L0));
	ir_graph_output(g, "or", ir_op2(g, OP_OR, ir_op1(g, OP_NOT, pos, L0), big, L0));
	Node *w[3] = {pos, x, ir_const(g, TY_F32, -7, L0)};
	ir_graph_output(g, "where", ir_op(g, OP_WHERE, w, 3, NULL, 0, NULL, L0));
	Type ti = ty(TY_I32, 1, 6, 0, 0), tbool = ty(TY_BOOL, 1, 6, 0, 0);
	Node *xi = ir_op(g, OP_CAST, &x, 1, NULL, 0, &ti, L0);
	ir_graph_output(g, "toint", xi);
	ir_graph_output(g, "tobool", ir_op(g, OP_CAST, &x, 1, NULL, 0, &tbool, L0));
	Node *three = ir_const(g, TY_I32, 3, L0);
	ir_graph_output(g, "idiv", ir_op2(g, OP_DIV, xi, three, L0));
	ir_graph_output(g, "idiv0", ir_op2(g, OP_DIV, three, xi, L0));
	void *h = cgso_build(p);
	float in[6] = {-2.5f, 0, 0.5f, 1.5f, 7.9f, -0.4f}, wh[6];
	unsigned char an[6], orr[6], tb[6];
	int32_t ti32[6], dv[6], dv0[6];
	Call c = {.inputs = {in}, .outputs = {an, orr, wh, ti32, tb, dv, dv0}};
	call(h, "predict", &c);
	for (int i = 0; i < 6; i++) {
		ck_assert_int_eq(an[i], in[i] > 0 && !(in[i] > 1));
		ck_assert_int_eq(orr[i], !(in[i] > 0) || in[i] > 1);
		CLOSE(wh[i], in[i] > 0 ? in[i] : -7, 0);
		ck_assert_int_eq(ti32[i], (int32_t)in[i]);
		ck_assert_int_eq(tb[i], in[i] != 0);
		ck_assert_int_eq(dv[i], (int32_t)in[i] / 3);
		ck_assert_int_eq(dv0[i], (int32_t)in[i] ? 3 / (int32_t)in[i] : 0);
	}
}
END_TEST

/* ---- reductions, data movement ---- */

/* x f32[2, 3, 4]; mask over the axes, keepdim */
START_TEST(reductions)
{
	int mask = 1 + _i % 7, keep = _i / 7;
	Op ops[3] = {OP_SUM, OP_MEAN, OP_MAX};
	Prog *p = prog();
	Graph *g = ir_graph_new(p, "predict");
	Node *x = ir_input(g, ty(TY_F32, 3, 2, 3, 4), "x", L0);
	int64_t attr[2] = {mask, keep};
	for (int k = 0; k < 3; k++)
		ir_graph_output(g, "r", ir_op(g, ops[k], &x, 1, attr, 2, NULL, L0));
	void *h = cgso_build(p);
	float in[24], out[3][24];
	double want[3][24];
	fill(in, 24, 3, 0);
	Call c = {.inputs = {in}, .outputs = {out[0], out[1], out[2]}};
	call(h, "predict", &c);
	int d[3] = {2, 3, 4}, cnt = 1;
	for (int a = 0; a < 3; a++)
		cnt *= mask >> a & 1 ? d[a] : 1;
	for (int i = 0; i < 24; i++)
		want[0][i] = 0, want[2][i] = -INFINITY;
	int on = 0;
	for (int i = 0; i < 24; i++) {
		int idx[3] = {i / 12, i / 4 % 3, i % 4}, o = 0;
		for (int a = 0; a < 3; a++)
			if (!(mask >> a & 1))
				o = o * d[a] + idx[a];
		want[0][o] += in[i];
		want[2][o] = fmax(want[2][o], in[i]);
		on = on > o + 1 ? on : o + 1;
	}
	for (int i = 0; i < on; i++) {
		CLOSE(out[0][i], want[0][i], 1e-5);
		CLOSE(out[1][i], want[0][i] / cnt, 1e-5);
		CLOSE(out[2][i], want[2][i], 0);
	}
}
END_TEST

START_TEST(argmax_first_on_ties)
{
	Prog *p = prog();
	Graph *g = ir_graph_new(p, "predict");
	Node *x = ir_input(g, ty(TY_F32, 2, 3, 4, 0), "x", L0);
	int64_t a1[2] = {1, 0}, a0[2] = {0, 1};
	ir_graph_output(g, "a1", ir_op(g, OP_ARGMAX, &x, 1, a1, 2, NULL, L0));
	ir_graph_output(g, "a0", ir_op(g, OP_ARGMAX, &x, 1, a0, 2, NULL, L0));
	void *h = cgso_build(p);
	float in[12] = {1, 5, 5, 2, -1, -3, -1, -2, 0, 9, 9, 9};
	int64_t o1[3], o0[4];
	Call c = {.inputs = {in}, .outputs = {o1, o0}};
	call(h, "predict", &c);
	ck_assert_int_eq(o1[0], 1);
	ck_assert_int_eq(o1[1], 0);
	ck_assert_int_eq(o1[2], 1);
	ck_assert_int_eq(o0[0], 0);
	ck_assert_int_eq(o0[1], 2);
	ck_assert_int_eq(o0[2], 2);
	ck_assert_int_eq(o0[3], 2);
}
END_TEST

START_TEST(transpose_broadcast_sum_to_reshape)
{
	Prog *p = prog();
	Dim B = ir_dim_sym(p, ir_sym_add(p, "B"));
	Graph *g = ir_graph_new(p, "predict");
	Node *x = ir_input(g, ty(TY_F32, 3, B, 3, 4), "x", L0);
	int64_t perm[3] = {2, 0, 1};
	ir_graph_output(g, "t", ir_op(g, OP_TRANSPOSE, &x, 1, perm, 3, NULL, L0));
	Type st = ty(TY_F32, 2, 3, 1, 0), bt = ir_type(TY_F32, 4, (Dim[]){2, B, 3, 4});
	Node *s = ir_op(g, OP_SUM_TO, &x, 1, NULL, 0, &st, L0);
	ir_graph_output(g, "s", s);
	ir_graph_output(g, "b", ir_op(g, OP_BROADCAST, &x, 1, NULL, 0, &bt, L0));
	Type rt = ty(TY_F32, 2, B, 12, 0);
	Node *r = ir_op(g, OP_RESHAPE, &x, 1, NULL, 0, &rt, L0);
	ir_graph_output(g, "r", ir_op2(g, OP_MUL, r, ir_const(g, TY_F32, 2, L0), L0));
	void *h = cgso_build(p);
	float in[24], t[24], so[3], bo[48], ro[24];
	fill(in, 24, 1, 0);
	Call c = {.inputs = {in}, .syms = {2}, .outputs = {t, so, bo, ro}};
	call(h, "predict", &c);
	double sw[3] = {0};
	for (int i = 0; i < 24; i++) {
		int n = i / 12, j = i / 4 % 3, k = i % 4;
		CLOSE(t[(k * 2 + n) * 3 + j], in[i], 0);
		sw[j] += in[i];
		CLOSE(bo[i], in[i], 0);
		CLOSE(bo[24 + i], in[i], 0);
		CLOSE(ro[i], 2 * in[i], 0);
	}
	for (int i = 0; i < 3; i++)
		CLOSE(so[i], sw[i], 1e-5);
}
END_TEST

/* ---- matmul ---- */

/* cases: {ta, tb, batch a, batch b}: plain, transposed, batched with broadcasting, f64 */
START_TEST(matmul)
{
	int ta = _i & 1, tb = _i >> 1 & 1, batched = _i >> 2 & 1;
	bool dbl = _i == 8;
	if (dbl)
		ta = tb = batched = 0;
	DType dt = dbl ? TY_F64 : TY_F32;
	enum { M = 5, K = 7, N = 3, NB = 2 };
	Prog *p = prog();
	Dim B = ir_dim_sym(p, ir_sym_add(p, "B"));
	Graph *g = ir_graph_new(p, "predict");
	Type tA = batched ? ty(dt, 3, B, ta ? K : M, ta ? M : K) : ty(dt, 2, ta ? K : M, ta ? M : K, 0);
	Type tB = ty(dt, 2, tb ? N : K, tb ? K : N, 0);
	Node *in[2] = {ir_input(g, tA, "a", L0), ir_input(g, tB, "b", L0)};
	int64_t attr[2] = {ta, tb};
	ir_graph_output(g, "c", ir_op(g, OP_MATMUL, in, 2, attr, 2, NULL, L0));
	void *h = cgso_build(p);
	double a[NB * M * K], b[K * N], out[NB * M * N];
	float af[NB * M * K], bf[K * N], of[NB * M * N];
	for (int i = 0; i < NB * M * K; i++)
		af[i] = (float)(a[i] = sin(i * 0.7));
	for (int i = 0; i < K * N; i++)
		bf[i] = (float)(b[i] = cos(i * 1.3));
	Call c = {.inputs = {dbl ? (void *)a : af, dbl ? (void *)b : bf}, .syms = {NB}, .outputs = {dbl ? (void *)out : of}};
	call(h, "predict", &c);
	for (int i = 0; i < (batched ? NB : 1) * M * N; i++) {
		int bt = i / (M * N), m = i / N % M, n = i % N;
		double s = 0;
		for (int k = 0; k < K; k++)
			s += a[bt * M * K + (ta ? k * M + m : m * K + k)] * b[tb ? n * K + k : k * N + n];
		CLOSE(dbl ? out[i] : of[i], s, dbl ? 1e-12 : 1e-5);
	}
}
END_TEST

/* ---- losses ---- */

static double xent_ref(const float *l, const int64_t *y, int n, int C, float *dl)
{
	double tot = 0;
	for (int i = 0; i < n; i++) {
		double m = -INFINITY, s = 0;
		for (int c = 0; c < C; c++)
			m = fmax(m, l[i * C + c]);
		for (int c = 0; c < C; c++)
			s += exp(l[i * C + c] - m);
		tot += m + log(s) - l[i * C + y[i]];
		for (int c = 0; c < C && dl; c++)
			dl[i * C + c] = (float)((exp(l[i * C + c] - m) / s - (c == y[i])) / n);
	}
	return tot / n;
}

static Prog *xent_prog(void)
{
	Prog *p = prog();
	Dim B = ir_dim_sym(p, ir_sym_add(p, "B"));
	Graph *g = ir_graph_new(p, "eval");
	Node *in[3] = {ir_input(g, ty(TY_F32, 2, B, 10, 0), "logits", L0), ir_input(g, ty(TY_I64, 1, B, 0, 0), "y", L0)};
	ir_graph_output(g, "loss", ir_op(g, OP_CROSS_ENTROPY, in, 2, NULL, 0, NULL, L0));
	in[2] = ir_const(g, TY_F32, 1, L0);
	ir_graph_output(g, "dlogits", ir_op(g, OP_XENT_BWD, in, 3, NULL, 0, NULL, L0));
	return p;
}

START_TEST(cross_entropy)
{
	void *h = cgso_build(xent_prog());
	float l[40], loss, dl[40], want[40];
	int64_t y[4] = {3, 0, 9, 3};
	fill(l, 40, 30, 0); /* large logits: needs the max subtraction */
	Call c = {.inputs = {l, y}, .syms = {4}, .outputs = {&loss, dl}};
	call(h, "eval", &c);
	int i = 0;
	CLOSE(loss, xent_ref(l, y, 4, 10, want), 1e-6);
	for (i = 0; i < 40; i++)
		CLOSE(dl[i], want[i], 1e-6);
}
END_TEST

START_TEST(cross_entropy_bad_label)
{
	void *h = cgso_build(xent_prog());
	float l[20] = {0}, loss, dl[20];
	int64_t y[2] = {3, 10};
	Call c = {.inputs = {l, y}, .syms = {2}, .outputs = {&loss, dl}};
	call(h, "eval", &c); /* exits with status 1 */
}
END_TEST

/* ---- a whole training step: MLP 6-8-3, ReLU, SGD with momentum (first step) ---- */

enum { NI = 6, NH = 8, NO = 3, NBATCH = 5 };

static Param prm(const char *name, Dim d0, Dim d1, int rank)
{
	return (Param){.name = name, .type = ty(TY_F32, rank, d0, d1, 0), .init = INIT_KAIMING_UNIFORM, .trainable = true};
}

static Prog *mlp_prog(void)
{
	Prog *p = prog();
	Dim B = ir_dim_sym(p, ir_sym_add(p, "B"));
	int pw1 = ir_param_add(p, prm("fc1.weight", NI, NH, 2)), pb1 = ir_param_add(p, prm("fc1.bias", NH, 0, 1));
	int pw2 = ir_param_add(p, prm("fc2.weight", NH, NO, 2)), pb2 = ir_param_add(p, prm("fc2.bias", NO, 0, 1));
	Graph *g = ir_graph_new(p, "step");
	Node *x = ir_input(g, ty(TY_F32, 2, B, NI, 0), "x", L0), *y = ir_input(g, ty(TY_I64, 1, B, 0, 0), "y", L0);
	Node *w1 = ir_param(g, pw1, L0), *b1 = ir_param(g, pb1, L0), *w2 = ir_param(g, pw2, L0), *b2 = ir_param(g, pb2, L0);
	Node *z = ir_op2(g, OP_ADD, ir_op2(g, OP_MATMUL, x, w1, L0), b1, L0);
	Node *hh = ir_op1(g, OP_RELU, z, L0);
	Node *lg = ir_op2(g, OP_ADD, ir_op2(g, OP_MATMUL, hh, w2, L0), b2, L0);
	Node *xin[3] = {lg, y, ir_const(g, TY_F32, 1, L0)};
	ir_graph_output(g, "loss", ir_op(g, OP_CROSS_ENTROPY, xin, 2, NULL, 0, NULL, L0));
	Node *dlg = ir_op(g, OP_XENT_BWD, xin, 3, NULL, 0, NULL, L0);
	int64_t tA[2] = {1, 0}, tB[2] = {0, 1};
	Node *dw2 = ir_op(g, OP_MATMUL, (Node *[]){hh, dlg}, 2, tA, 2, NULL, L0);
	Node *db2 = ir_op(g, OP_SUM_TO, &dlg, 1, NULL, 0, &b2->type, L0);
	Node *dh = ir_op(g, OP_MATMUL, (Node *[]){dlg, w2}, 2, tB, 2, NULL, L0);
	Node *dz = ir_op2(g, OP_RELU_BWD, z, dh, L0);
	Node *dw1 = ir_op(g, OP_MATMUL, (Node *[]){x, dz}, 2, tA, 2, NULL, L0);
	Node *db1 = ir_op(g, OP_SUM_TO, &dz, 1, NULL, 0, &b1->type, L0);
	Node *upd[4][2] = {{w1, dw1}, {b1, db1}, {w2, dw2}, {b2, db2}};
	for (int k = 0; k < 4; k++) {
		int64_t idx = k;
		ir_graph_effect(g, ir_op(g, OP_OPT_UPDATE, upd[k], 2, (int64_t[]){idx, OPT_SGD}, 2, NULL, L0));
	}
	return p;
}

/* A loop program's loss and gradients (the autodiff graph lowered as "predict", loops forward
   and backward) with one shared object for T = 1, 2 and 9 (and B = 3), against the interpreter.
   random: loop_random_program at step 3 and seed 7, its stacked masks m and numbers u (f32[T, 4096]
   loop_outs of the loss) also outputs, which must be the interpreter's exactly. */
static void loop_vs_interpreter(const char *src, bool random)
{
	Arena *ar = arena_new();
	Ast *ast = parse_string(ar, "loops.nnd", src, strlen(src));
	ElabOptions eo = {.stdlib_dir = "stdlib"};
	Prog *p = ast ? sema_program(ar, ast, &eo) : NULL;
	if (!p)
		diag_flush(stderr);
	ck_assert_ptr_nonnull(p);
	Graph *loss = ir_prog_graph(p, "loss");
	for (int i = 0; random && i < loss->nodes.n; i++) {
		Node *n = loss->nodes.v[i];
		if (n->op == OP_LOOP_OUT && n->type.rank == 2 && n->type.dim[1] == 4096)
			ir_graph_output(loss, n->attr[0] ? "u" : "m", n);
	}
	ck_assert_int_eq(loss->outputs.n, (random ? 3 : 1));
	p->graphs.n = 0; /* only the gradient graph is lowered */
	Graph *g = pass_autodiff(loss, "predict");
	int64_t np = ir_prog_param_numel(p), d = loss->inputs.v[0]->type.dim[2];
	ck_assert_int_le(g->outputs.n, 8);
	void *h = cgso_build(p);
	static const int64_t Ts[] = {1, 2, 9};
	for (int r = 0; r < 3; r++) {
		int64_t B = 3, T = Ts[r], nx = B * T * d, syms[2] = {B, T};
		float *params = malloc(sizeof(float) * (size_t)np), *x = malloc(sizeof(float) * (size_t)nx);
		double *dparams = malloc(sizeof(double) * (size_t)np), *dx = malloc(sizeof(double) * (size_t)nx), dy[3];
		int32_t y[3] = {0, 3, 1};
		fill(params, (int)np, 0.5f, 0);
		fill(x, (int)nx, 1, 0.1f * (float)r);
		for (int64_t i = 0; i < np; i++)
			dparams[i] = params[i];
		for (int64_t i = 0; i < nx; i++)
			dx[i] = x[i];
		for (int i = 0; i < 3; i++)
			dy[i] = y[i];
		Call c = {.params = params, .inputs = {x, y}, .syms = {B, T}};
		double hyper[NND_H_COUNT] = {[NND_H_STEP] = 3, [NND_H_SEED] = 7};
		c.hyper[NND_H_STEP] = 3, c.hyper[NND_H_SEED] = 7;
		int64_t nout[8];
		for (int k = 0; k < g->outputs.n; k++) {
			Type t = g->outputs.v[k].node->type;
			nout[k] = 1;
			for (int j = 0; j < t.rank; j++) {
				int64_t n;
				ck_assert(ir_dim_eval(p, t.dim[j], syms, &n));
				nout[k] *= n;
			}
			c.outputs[k] = calloc((size_t)nout[k] + 1, sizeof(float));
		}
		call(h, "predict", &c);
		double *want[8] = {0};
		const double *ins[2] = {dx, dy};
		InterpArgs a = {.params = dparams, .inputs = ins, .syms = syms, .hyper = random ? hyper : NULL, .outputs = want};
		char err[256];
		ck_assert_msg(ir_interp(g, &a, err, sizeof err), "%s", err);
		for (int k = 0; k < g->outputs.n; k++) {
			int64_t n = nout[k];
			const char *name = g->outputs.v[k].name;
			for (int i = 0; random && (!strcmp(name, "m") || !strcmp(name, "u")) && i < n; i++)
				ck_assert_msg(((float *)c.outputs[k])[i] == (float)want[k][i], "T = %lld, %s[%d]: compiled %.9g, interpreter %.9g",
				              (long long)T, name, i, ((float *)c.outputs[k])[i], want[k][i]);
			for (int i = 0; i < n; i++) /* (T = 1: a loop from 1 runs 0 times, its mean is NaN in both) */
				ck_assert_msg(fabs(((float *)c.outputs[k])[i] - want[k][i]) <= 1e-4 * (1 + fabs(want[k][i])) ||
				              (isnan(((float *)c.outputs[k])[i]) && isnan(want[k][i])),
				              "T = %lld, %s[%d]: compiled %.9g, interpreter %.9g", (long long)T, g->outputs.v[k].name, i,
				              ((float *)c.outputs[k])[i], want[k][i]);
			free(c.outputs[k]);
			free(want[k]);
		}
		free(params), free(x), free(dparams), free(dx);
	}
}

START_TEST(loop_program_vs_interpreter)
{
	loop_vs_interpreter(loop_programs[_i], false);
}
END_TEST

START_TEST(loop_random_vs_interpreter)
{
	loop_vs_interpreter(loop_random_program, true);
}
END_TEST

/* Early exit: forward returns early when mean(x) > 0, else runs a stage that gathers x[:, ids].
   Given ids out of range, that stage stops the process (status 1: the last case shows it does),
   so returning normally with x > 0 shows that the untaken branch, forward and backward, did not
   run. The gradient graph is lowered as "predict" and compared with the interpreter. */
static const char early_exit_program[] =
	"module M() {\n"
	"  param w: f32[4, 3] = normal(std: 0.5)\n"
	"  forward(x: f32[B, 4], ids: i64[K]) -> f32[B, 3] {\n"
	"    let early = x @ w\n"
	"    if mean(x) > 0.0 { return early }\n"
	"    return early * sum(x[:, ids])\n"
	"  }\n"
	"}\n"
	"train t {\n"
	"  model = M()\n"
	"  loss(x: f32[B, 4], ids: i64[K]) -> f32 { return sum(model(x, ids)) }\n"
	"}\n";

static void early_exit(int run)
{
	Arena *ar = arena_new();
	Ast *ast = parse_string(ar, "early.nnd", early_exit_program, sizeof early_exit_program - 1);
	ElabOptions eo = {.stdlib_dir = "stdlib"};
	Prog *p = ast ? sema_program(ar, ast, &eo) : NULL;
	if (!p)
		diag_flush(stderr);
	ck_assert_ptr_nonnull(p);
	Graph *loss = ir_prog_graph(p, "loss");
	p->graphs.n = 0;
	Graph *g = pass_autodiff(loss, "predict");
	ck_assert_int_eq(g->outputs.n, 2); /* the loss, the gradient of w */
	void *h = cgso_build(p);
	float params[12], x[8], dl[12], l;
	int64_t ids[2] = {1, run == 1 ? 3 : 9}; /* 9 is outside [0, 4) */
	fill(params, 12, 0.5f, 0);
	fill(x, 8, 0.5f, run == 0 ? 1 : -1); /* mean(x) > 0 only in run 0 */
	Call c = {.params = params, .inputs = {x, ids}, .syms = {2, 2}, .outputs = {&l, dl}};
	call(h, "predict", &c); /* run 2 stops here, with status 1 */
	double dp[12], dx[8], di[2] = {(double)ids[0], (double)ids[1]}, *want[2] = {0};
	for (int i = 0; i < 12; i++)
		dp[i] = params[i];
	for (int i = 0; i < 8; i++)
		dx[i] = x[i];
	const double *ins[2] = {dx, di};
	int64_t syms[2] = {2, 2};
	InterpArgs a = {.params = dp, .inputs = ins, .syms = syms, .outputs = want};
	char err[256];
	ck_assert_msg(ir_interp(g, &a, err, sizeof err), "%s", err);
	int i = 0;
	CLOSE(l, want[0][0], 1e-5);
	for (i = 0; i < 12; i++)
		CLOSE(dl[i], want[1][i], 1e-5);
	free(want[0]), free(want[1]);
}

START_TEST(early_exit_skips_the_rest) { early_exit(_i); }
END_TEST

START_TEST(early_exit_rest_runs) { early_exit(2); }
END_TEST

START_TEST(mlp_step)
{
	enum { NP = NI * NH + NH + NH * NO + NO };
	void *h = cgso_build(mlp_prog());
	float params[NP], ref[NP], opt[NP] = {0}, x[NBATCH * NI], loss;
	int64_t y[NBATCH] = {0, 2, 1, 1, 0};
	fill(params, NP, 0.5f, 0);
	fill(x, NBATCH * NI, 1, 0.1f);
	memcpy(ref, params, sizeof params);
	Call c = {.params = params, .opt = opt, .inputs = {x, y}, .syms = {NBATCH}, .outputs = {&loss}};
	c.hyper[NND_H_LR] = 0.1f;
	c.hyper[NND_H_MOMENTUM] = 0.9f;
	call(h, "step", &c);

	/* the same step in C */
	float *w1 = ref, *b1 = w1 + NI * NH, *w2 = b1 + NH, *b2 = w2 + NH * NO;
	float z[NBATCH * NH], hh[NBATCH * NH], lg[NBATCH * NO], dlg[NBATCH * NO], g[NP] = {0};
	float *gw1 = g, *gb1 = g + NI * NH, *gw2 = gb1 + NH, *gb2 = gw2 + NH * NO;
	for (int n = 0; n < NBATCH; n++) {
		for (int j = 0; j < NH; j++) {
			float s = 0;
			for (int k = 0; k < NI; k++)
				s += x[n * NI + k] * w1[k * NH + j];
			z[n * NH + j] = s + b1[j];
			hh[n * NH + j] = z[n * NH + j] > 0 ? z[n * NH + j] : 0;
		}
		for (int o = 0; o < NO; o++) {
			float s = 0;
			for (int j = 0; j < NH; j++)
				s += hh[n * NH + j] * w2[j * NO + o];
			lg[n * NO + o] = s + b2[o];
		}
	}
	int i = 0;
	CLOSE(loss, xent_ref(lg, y, NBATCH, NO, dlg), 1e-5);
	for (int n = 0; n < NBATCH; n++)
		for (int j = 0; j < NH; j++) {
			float dh = 0;
			for (int o = 0; o < NO; o++) {
				dh += dlg[n * NO + o] * w2[j * NO + o];
				gw2[j * NO + o] += hh[n * NH + j] * dlg[n * NO + o];
				if (j == 0)
					gb2[o] += dlg[n * NO + o];
			}
			float dz = z[n * NH + j] > 0 ? dh : 0;
			gb1[j] += dz;
			for (int k = 0; k < NI; k++)
				gw1[k * NH + j] += x[n * NI + k] * dz;
		}
	for (i = 0; i < NP; i++) {
		CLOSE(params[i], ref[i] - 0.1f * g[i], 1e-5);
		CLOSE(opt[i], g[i], 1e-5); /* the momentum buffer after the first step */
	}
}
END_TEST

START_TEST(descriptor_contents)
{
	Prog *p = mlp_prog();
	p->has_recipe = true;
	p->recipe.name = "mlp";
	p->recipe.batch = 64;
	p->recipe.lr = 0.1;
	p->recipe.data = (DataSource){.kind = DATA_IDX, .paths = {"img.gz", "lab.gz"}, .npaths = 2};
	void *h = cgso_build(p);
	const NndModel *m = dlsym(h, "nnd_model");
	ck_assert_ptr_nonnull(m);
	ck_assert_int_eq(m->abi_version, NND_ABI_VERSION);
	ck_assert_str_eq(m->name, "mlp");
	ck_assert_str_eq(m->source, "test.nnd");
	ck_assert_int_eq(m->nparams, 4);
	ck_assert_str_eq(m->params[2].t.name, "fc2.weight");
	ck_assert_int_eq(m->params[2].offset, NI * NH + NH);
	ck_assert_int_eq(m->params[2].numel, NH * NO);
	ck_assert_int_eq(m->params[2].fan_in, NO);  /* PyTorch: dim 1 */
	ck_assert_int_eq(m->params[2].fan_out, NH);
	ck_assert_int_eq(m->params[1].fan_in, NH);
	ck_assert_int_eq(m->param_numel, NI * NH + NH + NH * NO + NO);
	ck_assert_int_eq(m->opt_slots, 1);
	ck_assert_int_eq(m->nsyms, 1);
	ck_assert_str_eq(m->syms[0], "B");
	ck_assert_str_eq(m->step.name, "step");
	ck_assert_int_eq(m->step.ninputs, 2);
	ck_assert_int_eq(m->step.inputs[0].dims[0], -1);
	ck_assert_int_eq(m->step.inputs[0].dims[1], NI);
	ck_assert_int_eq(m->step.inputs[1].dtype, NND_I64);
	ck_assert_int_eq(m->step.noutputs, 1);
	ck_assert_str_eq(m->step.outputs[0].name, "loss");
	ck_assert_ptr_eq((void *)m->step.fn, dlsym(h, "nnd_entry_step"));
	ck_assert_int_gt(m->step.arena_size((int64_t[]){64}), m->step.arena_size((int64_t[]){8}));
	ck_assert_ptr_null(m->eval.name);
	ck_assert_int_eq(m->recipe.batch, 64);
	ck_assert_int_eq(m->recipe.data.npaths, 2);
	ck_assert_str_eq(m->recipe.data.paths[1], "lab.gz");
}
END_TEST

START_TEST(computed_input_dim_is_an_error)
{
	Prog *p = prog();
	Dim B = ir_dim_sym(p, ir_sym_add(p, "B"));
	Graph *g = ir_graph_new(p, "predict");
	Node *x = ir_input(g, ty(TY_F32, 1, ir_dim_binop(p, DE_MUL, B, 2), 0, 0), "x", L0);
	ir_graph_output(g, "y", ir_op1(g, OP_NEG, x, L0));
	char err[256];
	CgOptions o = {.opt_level = 0, .emit = "llvm", .pic = true};
	ck_assert(!cg_prog_emit(p, "/tmp/nnd-cg-err.ll", &o, err, sizeof err));
	ck_assert_msg(strstr(err, "input 'x'") && strstr(err, "B*2"), "%s", err);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("codegen");
	TCase *t = tcase_create("codegen");
	tcase_set_timeout(t, 60);
	tcase_add_test(t, every_op_has_a_kernel);
	tcase_add_test(t, descriptor_layout);
	tcase_add_loop_test(t, unary_f32, 0, sizeof unary_ops / sizeof *unary_ops);
	tcase_add_loop_test(t, binary_broadcast, 0, 4 * 14);
	tcase_add_test(t, logic_where_and_casts);
	tcase_add_loop_test(t, reductions, 0, 14);
	tcase_add_test(t, argmax_first_on_ties);
	tcase_add_test(t, transpose_broadcast_sum_to_reshape);
	tcase_add_loop_test(t, matmul, 0, 9);
	tcase_add_test(t, cross_entropy);
	tcase_add_exit_test(t, cross_entropy_bad_label, 1);
	tcase_add_test(t, mlp_step);
	tcase_add_loop_test(t, loop_program_vs_interpreter, 0, NLOOP_PROGRAMS);
	tcase_add_test(t, loop_random_vs_interpreter);
	tcase_add_loop_test(t, early_exit_skips_the_rest, 0, 2);
	tcase_add_exit_test(t, early_exit_rest_runs, 1);
	tcase_add_test(t, descriptor_contents);
	tcase_add_test(t, computed_input_dim_is_an_error);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	SRunner *r = srunner_create(suite());
	srunner_run_all(r, CK_NORMAL);
	int failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed ? 1 : 0;
}
