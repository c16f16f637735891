/* tests/unit/test_autodiff.c: passes/autodiff.c and passes/update.c.
 *
 * Every differentiable op, as loss = sum(op(params...) * w) with w fixed random weights: the
 * gradients pass_autodiff builds, run by the reference interpreter, must match central finite
 * differences in float64. Then a small MLP with cross-entropy, one SGD step against a hand
 * computation, and the table walk (every op has a derivative rule or OPF_NOGRAD, and an
 * interpreter case).
 */
#include "passes/passes.h"
#include "runtime/nnd_model.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const Loc L0 = {0};

/* a program in an arena of its own (arenas live until exit: ir/util.c) */
static Prog *new_prog(void) { return ir_prog_new(arena_new()); }

/* ---- helpers ---- */

static uint64_t rng = 88172645463325252ull;
static double urand(void) /* [0, 1) */
{
	rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
	return (double)(rng >> 11) / 9007199254740992.0;
}

static int64_t numel(Type t)
{
	int64_t n = 1;
	for (int i = 0; i < t.rank; i++)
		n *= t.dim[i];
	return n;
}

static double *run(Graph *g, double *params, const double *const *inputs, const int64_t *syms, const double *hyper,
                   double *opt, double **out)
{
	char err[256] = "";
	InterpArgs a = {.params = params, .opt = opt, .inputs = inputs, .syms = syms, .hyper = hyper, .outputs = out};
	ck_assert_msg(ir_interp(g, &a, err, sizeof err), "interp: %s", err);
	return out[0];
}

static double loss_at(Graph *loss, double *params, const double *const *inputs, const int64_t *syms)
{
	double *out[16] = {NULL};
	double v = run(loss, params, inputs, syms, NULL, NULL, out)[0];
	for (int i = 0; i < loss->outputs.n; i++)
		free(out[i]);
	return v;
}

/* Gradients of output 0 of `loss` from pass_autodiff vs central differences, for every element
   of every trainable param. Relative error < 1e-6, against a floor of 1e-2 for tiny gradients. */
static void check_grads(Graph *loss, double *params, const double *const *inputs, const int64_t *syms, const char *what)
{
	Prog *p = loss->prog;
	Graph *g = pass_autodiff(loss, "grad");
	ck_assert_int_eq(ir_graph_verify(g, "after autodiff"), 0);
	double **out = calloc((size_t)g->outputs.n, sizeof *out);
	run(g, params, inputs, syms, NULL, NULL, out);
	ck_assert_double_eq_tol(out[0][0], loss_at(loss, params, inputs, syms), 1e-12);
	int64_t off = 0;
	int k = loss->outputs.n;
	for (int i = 0; i < p->params.n; i++) {
		const Param *q = &p->params.v[i];
		int64_t n = numel(q->type);
		if (q->trainable) {
			ck_assert_str_eq(g->outputs.v[k].name, arena_printf(p->arena, "grad.%s", q->name));
			ck_assert(ir_type_equal(g->outputs.v[k].node->type, q->type));
			for (int64_t j = 0; j < n; j++) {
				double x = params[off + j], h = 1e-5 * fmax(1, fabs(x));
				params[off + j] = x + h;
				double lp = loss_at(loss, params, inputs, syms);
				params[off + j] = x - h;
				double lm = loss_at(loss, params, inputs, syms);
				params[off + j] = x;
				double fd = (lp - lm) / (2 * h), an = out[k][j];
				double scale = fmax(1e-2, fmax(fabs(fd), fabs(an)));
				ck_assert_msg(fabs(fd - an) < 1e-6 * scale, "%s: d/d%s[%lld]: autodiff %.12g, finite differences %.12g", what,
				              q->name, (long long)j, an, fd);
			}
			k++;
		}
		off += n;
	}
	ck_assert_int_eq(k, g->outputs.n);
	for (int i = 0; i < g->outputs.n; i++)
		free(out[i]);
	free(out);
}

/* loss = sum(y * w), w an input of y's type (the last input) */
static Node *weighted_sum(Graph *g, Node *y)
{
	Node *w = ir_input(g, y->type, "w", L0);
	int64_t attr[2] = {(1 << y->type.rank) - 1, 0};
	Node *m = ir_op2(g, OP_MUL, y, w, L0);
	Node *l = ir_op(g, OP_SUM, &m, 1, attr, 2, NULL, L0);
	ir_graph_output(g, "loss", l);
	return w;
}

/* ---- every differentiable op ---- */

typedef enum { K_PARAM, K_BOOL, K_LABEL } Kind;
typedef struct Operand {
	Kind kind;
	int rank;
	int64_t d[4];
} Operand;

typedef struct GCase {
	const char *what;
	Op op;
	int nin;
	Operand in[3];
	int64_t attr[4];
	int nattr;
	Type given; /* for shape_given ops (rank 0 f32 otherwise, ignored) */
	bool positive; /* inputs in [0.5, 2] rather than +-[0.1, 1] */
} GCase;

#define P1(a) {K_PARAM, 1, {a}}
#define P2(a, b) {K_PARAM, 2, {a, b}}
#define P3(a, b, c) {K_PARAM, 3, {a, b, c}}
#define P4(a, b, c, d) {K_PARAM, 4, {a, b, c, d}}
#define T(dt, r, ...) {dt, r, {__VA_ARGS__}}

static const GCase gcases[] = {
	{"add", OP_ADD, 2, {P2(3, 4), P2(3, 4)}, .nattr = 0},
	{"add row broadcast", OP_ADD, 2, {P2(3, 4), P1(4)}, .nattr = 0},
	{"add both broadcast", OP_ADD, 2, {P3(2, 1, 4), P2(3, 1)}, .nattr = 0},
	{"sub column broadcast", OP_SUB, 2, {P2(3, 4), P2(3, 1)}, .nattr = 0},
	{"sub scalar", OP_SUB, 2, {{K_PARAM, 0, {0}}, P2(3, 4)}, .nattr = 0},
	{"mul row broadcast", OP_MUL, 2, {P2(3, 4), P1(4)}, .nattr = 0},
	{"div column broadcast", OP_DIV, 2, {P2(3, 4), P2(3, 1)}, .positive = true},
	{"neg", OP_NEG, 1, {P2(3, 4)}, .nattr = 0},
	{"exp", OP_EXP, 1, {P2(3, 4)}, .nattr = 0},
	{"log", OP_LOG, 1, {P2(3, 4)}, .positive = true},
	{"sqrt", OP_SQRT, 1, {P2(3, 4)}, .positive = true},
	{"tanh", OP_TANH, 1, {P2(3, 4)}, .nattr = 0},
	{"sigmoid", OP_SIGMOID, 1, {P2(3, 4)}, .nattr = 0},
	{"relu", OP_RELU, 1, {P2(3, 4)}, .nattr = 0},
	{"relu_bwd", OP_RELU_BWD, 2, {P2(3, 4), P2(3, 4)}, .nattr = 0},
	{"maximum broadcast", OP_MAXIMUM, 2, {P2(3, 4), P1(4)}, .nattr = 0},
	{"minimum", OP_MINIMUM, 2, {P2(3, 4), P2(3, 4)}, .nattr = 0},
	{"pow broadcast", OP_POW, 2, {P2(3, 4), P1(4)}, .positive = true},
	{"where broadcast", OP_WHERE, 3, {{K_BOOL, 2, {3, 1}}, P2(3, 4), P1(4)}, .nattr = 0},
	{"cast f32->f64", OP_CAST, 1, {P2(3, 4)}, .given = T(TY_F64, 2, 3, 4)},
	{"reshape", OP_RESHAPE, 1, {P3(2, 3, 4)}, .given = T(TY_F32, 2, 6, 4)},
	{"transpose 2d", OP_TRANSPOSE, 1, {P2(3, 4)}, .attr = {1, 0}, .nattr = 2},
	{"transpose 3d", OP_TRANSPOSE, 1, {P3(2, 3, 4)}, .attr = {2, 0, 1}, .nattr = 3},
	{"broadcast row", OP_BROADCAST, 1, {P1(4)}, .given = T(TY_F32, 2, 3, 4)},
	{"broadcast inner", OP_BROADCAST, 1, {P2(3, 1)}, .given = T(TY_F32, 3, 2, 3, 4)},
	{"sum_to row", OP_SUM_TO, 1, {P2(3, 4)}, .given = T(TY_F32, 1, 4)},
	{"sum_to inner", OP_SUM_TO, 1, {P3(2, 3, 4)}, .given = T(TY_F32, 2, 3, 1)},
	{"sum axis 0", OP_SUM, 1, {P2(3, 4)}, .attr = {1, 0}, .nattr = 2},
	{"sum axis 1 keepdim", OP_SUM, 1, {P2(3, 4)}, .attr = {2, 1}, .nattr = 2},
	{"sum axes 0,2", OP_SUM, 1, {P3(2, 3, 4)}, .attr = {5, 0}, .nattr = 2},
	{"sum all", OP_SUM, 1, {P3(2, 3, 4)}, .attr = {7, 0}, .nattr = 2},
	{"mean axis 1", OP_MEAN, 1, {P2(3, 4)}, .attr = {2, 0}, .nattr = 2},
	{"mean axes 0,2 keepdim", OP_MEAN, 1, {P3(2, 3, 4)}, .attr = {5, 1}, .nattr = 2},
	{"max axis 1", OP_MAX, 1, {P2(3, 4)}, .attr = {2, 0}, .nattr = 2},
	{"max all keepdim", OP_MAX, 1, {P2(3, 4)}, .attr = {3, 1}, .nattr = 2},
	{"matmul", OP_MATMUL, 2, {P2(3, 4), P2(4, 5)}, .attr = {0, 0}, .nattr = 2},
	{"matmul ta", OP_MATMUL, 2, {P2(4, 3), P2(4, 5)}, .attr = {1, 0}, .nattr = 2},
	{"matmul tb", OP_MATMUL, 2, {P2(3, 4), P2(5, 4)}, .attr = {0, 1}, .nattr = 2},
	{"matmul ta tb", OP_MATMUL, 2, {P2(4, 3), P2(5, 4)}, .attr = {1, 1}, .nattr = 2},
	{"matmul batch x matrix", OP_MATMUL, 2, {P3(2, 3, 4), P2(4, 5)}, .attr = {0, 0}, .nattr = 2},
	{"matmul matrix x batch tb", OP_MATMUL, 2, {P2(3, 4), P3(2, 5, 4)}, .attr = {0, 1}, .nattr = 2},
	{"matmul batch broadcast", OP_MATMUL, 2, {P4(2, 1, 3, 4), P3(3, 4, 5)}, .attr = {0, 0}, .nattr = 2},
	{"matmul batch broadcast ta tb", OP_MATMUL, 2, {P4(2, 1, 4, 3), P3(3, 5, 4)}, .attr = {1, 1}, .nattr = 2},
	{"matmul batch broadcast ta", OP_MATMUL, 2, {P3(1, 4, 3), P3(2, 4, 5)}, .attr = {1, 0}, .nattr = 2},
	{"cross_entropy", OP_CROSS_ENTROPY, 2, {P2(4, 5), {K_LABEL, 1, {4}}}, .nattr = 0},
};

START_TEST(op_gradient)
{
	const GCase *c = &gcases[_i];
	Prog *p = new_prog();
	Graph *g = ir_graph_new(p, "loss");
	Node *in[3];
	double params[256], data[3][256];
	const double *inputs[4];
	int np = 0, ni = 0;
	rng = 88172645463325252ull + (uint64_t)_i;
	for (int k = 0; k < c->nin; k++) {
		const Operand *o = &c->in[k];
		if (o->kind == K_PARAM) {
			Type t = ir_type(TY_F32, o->rank, o->d);
			int idx = ir_param_add(p, (Param){.name = arena_printf(p->arena, "p%d", k), .type = t, .trainable = true});
			in[k] = ir_param(g, idx, L0);
			for (int64_t j = 0; j < numel(t); j++) {
				double u = urand();
				params[np++] = c->positive ? 0.5 + 1.5 * u : (u < .5 ? -1 : 1) * (0.1 + 0.9 * urand());
			}
		} else {
			Type t = ir_type(o->kind == K_BOOL ? TY_BOOL : TY_I32, o->rank, o->d);
			in[k] = ir_input(g, t, NULL, L0);
			for (int64_t j = 0; j < numel(t); j++)
				data[ni][j] = o->kind == K_BOOL ? (j % 2) : (double)((j * 3 + 1) % c->in[0].d[1]);
			inputs[ni] = data[ni];
			ni++;
		}
	}
	Node *y = ir_op(g, c->op, in, c->nin, c->attr, c->nattr, &c->given, L0);
	weighted_sum(g, y);
	double w[256];
	for (int64_t j = 0; j < numel(y->type); j++)
		w[j] = 2 * urand() - 1;
	inputs[ni] = w;
	ck_assert_int_eq(ir_graph_verify(g, "test"), 0);
	check_grads(g, params, inputs, NULL, c->what);
}
END_TEST

/* x * x: two uses of one param accumulate */
START_TEST(uses_accumulate)
{
	Prog *p = new_prog();
	Graph *g = ir_graph_new(p, "loss");
	Dim d[] = {3};
	int i = ir_param_add(p, (Param){.name = "x", .type = ir_type(TY_F32, 1, d), .trainable = true});
	Node *x = ir_param(g, i, L0), *x2 = ir_param(g, i, L0); /* and two reads of it */
	weighted_sum(g, ir_op2(g, OP_MUL, ir_op2(g, OP_MUL, x, x, L0), ir_op1(g, OP_EXP, x2, L0), L0));
	double params[3] = {0.3, -0.7, 1.1}, w[3] = {0.5, -1, 2};
	const double *inputs[] = {w};
	check_grads(g, params, inputs, NULL, "x*x*exp(x)");
}
END_TEST

/* mean over a run-time size: the count is computed at run time */
START_TEST(mean_over_runtime_size)
{
	Prog *p = new_prog();
	Graph *g = ir_graph_new(p, "loss");
	int B = ir_sym_add(p, "B");
	Dim dx[] = {ir_dim_sym(p, B), 3}, d3[] = {3};
	int i = ir_param_add(p, (Param){.name = "v", .type = ir_type(TY_F32, 1, d3), .trainable = true});
	Node *x = ir_input(g, ir_type(TY_F32, 2, dx), "x", L0);
	int64_t attr[2] = {1, 0};
	Node *m = ir_op2(g, OP_MUL, x, ir_op1(g, OP_TANH, ir_param(g, i, L0), L0), L0);
	weighted_sum(g, ir_op(g, OP_MEAN, &m, 1, attr, 2, NULL, L0));
	double params[3] = {0.3, -0.7, 1.1}, xv[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, w[3] = {0.5, -1, 2};
	const double *inputs[] = {xv, w};
	int64_t syms[] = {4};
	check_grads(g, params, inputs, syms, "mean over B");
}
END_TEST

/* max splits its gradient evenly between tied maxima; maximum gives a tie to its first operand */
START_TEST(ties)
{
	Prog *p = new_prog();
	Graph *g = ir_graph_new(p, "loss");
	Dim d[] = {3};
	Type t = ir_type(TY_F32, 1, d);
	int ia = ir_param_add(p, (Param){.name = "a", .type = t, .trainable = true});
	int ib = ir_param_add(p, (Param){.name = "b", .type = t, .trainable = true});
	int64_t attr[2] = {1, 0};
	Node *a = ir_param(g, ia, L0), *b = ir_param(g, ib, L0);
	Node *mx = ir_op(g, OP_MAX, &a, 1, attr, 2, NULL, L0);
	Node *mm = ir_op2(g, OP_MAXIMUM, a, b, L0);
	Node *s = ir_op(g, OP_SUM, &mm, 1, attr, 2, NULL, L0);
	ir_graph_output(g, "loss", ir_op2(g, OP_ADD, mx, s, L0));
	Graph *d1 = pass_autodiff(g, "grad");
	double params[6] = {1, 3, 3, 1, 3, 4}, *out[3];
	run(d1, params, NULL, NULL, NULL, NULL, out);
	double ga[3] = {1, 1.5, 0.5}, gb[3] = {0, 0, 1};
	for (int i = 0; i < 3; i++) {
		ck_assert_double_eq_tol(out[1][i], ga[i], 1e-15);
		ck_assert_double_eq_tol(out[2][i], gb[i], 1e-15);
	}
	for (int i = 0; i < 3; i++)
		free(out[i]);
}
END_TEST

/* x f32[4,6], Linear 6->5, relu, Linear 5->3, cross_entropy with i32 labels */
static Graph *mlp(Prog *p)
{
	Graph *g = ir_graph_new(p, "loss");
	Dim dx[] = {4, 6}, dy[] = {4}, dw1[] = {5, 6}, db1[] = {5}, dw2[] = {3, 5}, db2[] = {3};
	int w1 = ir_param_add(p, (Param){.name = "fc1.weight", .type = ir_type(TY_F32, 2, dw1), .trainable = true});
	int b1 = ir_param_add(p, (Param){.name = "fc1.bias", .type = ir_type(TY_F32, 1, db1), .trainable = true});
	int w2 = ir_param_add(p, (Param){.name = "fc2.weight", .type = ir_type(TY_F32, 2, dw2), .trainable = true});
	int b2 = ir_param_add(p, (Param){.name = "fc2.bias", .type = ir_type(TY_F32, 1, db2), .trainable = true});
	Node *x = ir_input(g, ir_type(TY_F32, 2, dx), "x", L0);
	Node *y = ir_input(g, ir_type(TY_I32, 1, dy), "y", L0);
	int64_t tb[2] = {0, 1};
	Node *in1[2] = {x, ir_param(g, w1, L0)};
	Node *h = ir_op1(g, OP_RELU, ir_op2(g, OP_ADD, ir_op(g, OP_MATMUL, in1, 2, tb, 2, NULL, L0), ir_param(g, b1, L0), L0), L0);
	Node *in2[2] = {h, ir_param(g, w2, L0)};
	Node *logits = ir_op2(g, OP_ADD, ir_op(g, OP_MATMUL, in2, 2, tb, 2, NULL, L0), ir_param(g, b2, L0), L0);
	ir_graph_output(g, "loss", ir_op2(g, OP_CROSS_ENTROPY, logits, y, L0));
	ir_graph_output(g, "logits", logits);
	return g;
}

START_TEST(mlp_gradients)
{
	Prog *p = new_prog();
	Graph *g = mlp(p);
	ck_assert_int_eq(ir_graph_verify(g, "test"), 0);
	int64_t n = ir_prog_param_numel(p);
	ck_assert_int_eq(n, 30 + 5 + 15 + 3);
	double *params = calloc((size_t)n, sizeof *params), x[24], y[4] = {0, 2, 1, 2};
	rng = 42;
	for (int64_t i = 0; i < n; i++)
		params[i] = urand() - 0.5;
	for (int i = 0; i < 24; i++)
		x[i] = 2 * urand() - 1;
	const double *inputs[] = {x, y};
	check_grads(g, params, inputs, NULL, "mlp");
	free(params);
}
END_TEST

/* pass_update: SGD with momentum .9 and weight decay 5e-4, two steps, by hand */
START_TEST(sgd_step)
{
	Prog *p = new_prog();
	p->recipe.opt = OPT_SGD;
	Graph *g = ir_graph_new(p, "loss");
	Dim d3[] = {3}, d2[] = {2};
	int iw = ir_param_add(p, (Param){.name = "w", .type = ir_type(TY_F32, 1, d3), .trainable = true});
	ir_param_add(p, (Param){.name = "u", .type = ir_type(TY_F32, 1, d2), .trainable = true}); /* unused: decay only */
	ir_param_add(p, (Param){.name = "f", .type = ir_type(TY_F32, 1, d2), .trainable = false}); /* frozen */
	Node *w = ir_param(g, iw, L0);
	int64_t attr[2] = {1, 0};
	Node *ww = ir_op2(g, OP_MUL, w, w, L0);
	ir_graph_output(g, "loss", ir_op(g, OP_SUM, &ww, 1, attr, 2, NULL, L0));
	Graph *step = pass_autodiff(g, "step");
	pass_update(step);
	ck_assert_int_eq(ir_graph_verify(step, "after update"), 0);
	ck_assert_int_eq(step->outputs.n, 1);
	ck_assert_str_eq(step->outputs.v[0].name, "loss");
	ck_assert_int_eq(step->effects.n, 2);
	double params[7] = {1, -2, 0.5, 0.3, -0.4, 7, 8}, opt[7] = {0}, *out[1];
	double hyper[NND_H_COUNT] = {[NND_H_LR] = .1, [NND_H_MOMENTUM] = .9, [NND_H_WEIGHT_DECAY] = 5e-4, [NND_H_STEP] = 0};
	run(step, params, NULL, NULL, hyper, opt, out);
	ck_assert_double_eq_tol(out[0][0], 5.25, 1e-12);
	free(out[0]);
	/* step 0: m = g = 2w + 5e-4 w = 2.0005 w; w -= .1 m, so w1 = .79995 w0; u1 = u0 (1 - 5e-5) */
	double w0[3] = {1, -2, 0.5}, u0[2] = {0.3, -0.4};
	for (int i = 0; i < 3; i++) {
		ck_assert_double_eq_tol(params[i], 0.79995 * w0[i], 1e-12);
		ck_assert_double_eq_tol(opt[i], 2.0005 * w0[i], 1e-12);
	}
	for (int i = 0; i < 2; i++) {
		ck_assert_double_eq_tol(params[3 + i], 0.99995 * u0[i], 1e-12);
		ck_assert_double_eq(params[5 + i], 7 + i);
	}
	/* step 1: m = .9 m + 2.0005 w1 = 2.0005 (.9 + .79995) w0; w2 = w1 - .1 m */
	hyper[NND_H_STEP] = 1;
	run(step, params, NULL, NULL, hyper, opt, out);
	free(out[0]);
	for (int i = 0; i < 3; i++)
		ck_assert_double_eq_tol(params[i], (0.79995 - 0.1 * 2.0005 * 1.69995) * w0[i], 1e-12);
	/* u: m1 = 5e-4 u0; m2 = .9 m1 + 5e-4 u1; u2 = u1 - .1 m2 */
	for (int i = 0; i < 2; i++) {
		double u1 = 0.99995 * u0[i], m2 = 0.9 * 5e-4 * u0[i] + 5e-4 * u1;
		ck_assert_double_eq_tol(params[3 + i], u1 - 0.1 * m2, 1e-12);
	}
}
END_TEST

START_TEST(every_op_has_a_rule_and_a_case)
{
	for (int op = 0; op < OP_COUNT; op++) {
		if (!(op_info[op].flags & OPF_NOGRAD))
			ck_assert_msg(pass_autodiff_has_rule((Op)op), "passes/autodiff.c has no derivative rule for %s", op_info[op].name);
		ck_assert_msg(ir_interp_supports((Op)op), "ir/interp.c has no case for %s", op_info[op].name);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("autodiff");
	TCase *tc = tcase_create("gradients");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, op_gradient, 0, (int)(sizeof gcases / sizeof gcases[0]));
	tcase_add_test(tc, uses_accumulate);
	tcase_add_test(tc, mean_over_runtime_size);
	tcase_add_test(tc, ties);
	tcase_add_test(tc, mlp_gradients);
	tcase_add_test(tc, sgd_step);
	tcase_add_test(tc, every_op_has_a_rule_and_a_case);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
