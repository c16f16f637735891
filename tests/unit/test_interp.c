/* tests/unit/test_interp.c: the reference interpreter (ir/interp.c), op by op, on small tensors
 * whose results were worked out by hand; plus leaves, run-time sizes and error reports.
 */
#include "ir/ir.h"
#include "runtime/nnd_model.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const Loc L0 = {0};

/* a program in an arena of its own (arenas live until exit: ir/util.c) */
static Prog *new_prog(void) { return ir_prog_new(arena_new()); }
#define OP2(g, op, a, b) ir_op2(g, op, a, b, L0)

typedef struct TV {
	DType dt;
	int rank;
	int64_t d[4];
	double v[32];
} TV;

typedef struct Case {
	const char *what;
	Op op;
	int nin;
	TV in[5];
	int64_t attr[4];
	int nattr;
	TV out; /* the expected type (also the given type of shape_given ops) and values */
} Case;

#define F32 TY_F32
#define I32 TY_I32
#define BOOL TY_BOOL
#define X23 {F32, 2, {2, 3}, {0, 1, 2, 3, 4, 5}}

static const Case cases[] = {
	{"cast f32->i32 truncates", OP_CAST, 1, {{F32, 1, {4}, {1.7, -1.7, 2.5, -0.2}}}, {0}, 0, {I32, 1, {4}, {1, -1, 2, 0}}},
	{"cast f32->bool", OP_CAST, 1, {{F32, 1, {4}, {0, 2, -1, 0}}}, {0}, 0, {BOOL, 1, {4}, {0, 1, 1, 0}}},
	{"cast bool->f32", OP_CAST, 1, {{BOOL, 1, {2}, {1, 0}}}, {0}, 0, {F32, 1, {2}, {1, 0}}},
	{"reshape", OP_RESHAPE, 1, {X23}, {0}, 0, {F32, 2, {3, 2}, {0, 1, 2, 3, 4, 5}}},
	{"transpose 2d", OP_TRANSPOSE, 1, {X23}, {1, 0}, 2, {F32, 2, {3, 2}, {0, 3, 1, 4, 2, 5}}},
	{"transpose 3d", OP_TRANSPOSE, 1, {{F32, 3, {2, 3, 2}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}}}, {2, 0, 1}, 3,
	 {F32, 3, {2, 2, 3}, {0, 2, 4, 6, 8, 10, 1, 3, 5, 7, 9, 11}}},
	{"broadcast", OP_BROADCAST, 1, {{F32, 2, {3, 1}, {1, 2, 3}}}, {0}, 0,
	 {F32, 3, {2, 3, 2}, {1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3}}},
	{"sum_to rows", OP_SUM_TO, 1, {X23}, {0}, 0, {F32, 1, {3}, {3, 5, 7}}},
	{"sum_to keep", OP_SUM_TO, 1, {X23}, {0}, 0, {F32, 2, {2, 1}, {3, 12}}},
	{"neg", OP_NEG, 1, {{F32, 1, {2}, {1, -2}}}, {0}, 0, {F32, 1, {2}, {-1, 2}}},
	{"exp", OP_EXP, 1, {{F32, 1, {2}, {0, 1}}}, {0}, 0, {F32, 1, {2}, {1, 2.718281828459045}}},
	{"log", OP_LOG, 1, {{F32, 1, {2}, {1, 2}}}, {0}, 0, {F32, 1, {2}, {0, 0.6931471805599453}}},
	{"sqrt", OP_SQRT, 1, {{F32, 1, {2}, {4, 2}}}, {0}, 0, {F32, 1, {2}, {2, 1.4142135623730951}}},
	{"tanh", OP_TANH, 1, {{F32, 1, {2}, {0, 0.5}}}, {0}, 0, {F32, 1, {2}, {0, 0.46211715726000974}}},
	{"sigmoid", OP_SIGMOID, 1, {{F32, 1, {2}, {0, 2}}}, {0}, 0, {F32, 1, {2}, {0.5, 0.8807970779778825}}},
	{"relu", OP_RELU, 1, {{F32, 1, {3}, {-1, 0, 2}}}, {0}, 0, {F32, 1, {3}, {0, 0, 2}}},
	{"not", OP_NOT, 1, {{BOOL, 1, {2}, {1, 0}}}, {0}, 0, {BOOL, 1, {2}, {0, 1}}},
	{"add broadcast row", OP_ADD, 2, {X23, {F32, 1, {3}, {10, 20, 30}}}, {0}, 0, {F32, 2, {2, 3}, {10, 21, 32, 13, 24, 35}}},
	{"sub broadcast both", OP_SUB, 2, {{F32, 2, {2, 1}, {1, 2}}, {F32, 1, {3}, {1, 2, 3}}}, {0}, 0,
	 {F32, 2, {2, 3}, {0, -1, -2, 1, 0, -1}}},
	{"mul scalar", OP_MUL, 2, {X23, {F32, 0, {0}, {2}}}, {0}, 0, {F32, 2, {2, 3}, {0, 2, 4, 6, 8, 10}}},
	{"div column", OP_DIV, 2, {X23, {F32, 2, {2, 1}, {2, 4}}}, {0}, 0, {F32, 2, {2, 3}, {0, .5, 1, .75, 1, 1.25}}},
	{"div int truncates", OP_DIV, 2, {{I32, 1, {2}, {7, -7}}, {I32, 0, {0}, {2}}}, {0}, 0, {I32, 1, {2}, {3, -3}}},
	{"maximum", OP_MAXIMUM, 2, {{F32, 1, {3}, {1, 5, 3}}, {F32, 1, {3}, {2, 4, 3}}}, {0}, 0, {F32, 1, {3}, {2, 5, 3}}},
	{"minimum", OP_MINIMUM, 2, {{F32, 1, {3}, {1, 5, 3}}, {F32, 1, {3}, {2, 4, 3}}}, {0}, 0, {F32, 1, {3}, {1, 4, 3}}},
	{"pow", OP_POW, 2, {{F32, 1, {3}, {2, 9, 4}}, {F32, 1, {3}, {3, .5, -1}}}, {0}, 0, {F32, 1, {3}, {8, 3, .25}}},
	{"eq", OP_EQ, 2, {{F32, 1, {3}, {1, 2, 3}}, {F32, 0, {0}, {2}}}, {0}, 0, {BOOL, 1, {3}, {0, 1, 0}}},
	{"ne", OP_NE, 2, {{F32, 1, {3}, {1, 2, 3}}, {F32, 0, {0}, {2}}}, {0}, 0, {BOOL, 1, {3}, {1, 0, 1}}},
	{"lt", OP_LT, 2, {{F32, 1, {3}, {1, 2, 3}}, {F32, 0, {0}, {2}}}, {0}, 0, {BOOL, 1, {3}, {1, 0, 0}}},
	{"le", OP_LE, 2, {{F32, 1, {3}, {1, 2, 3}}, {F32, 0, {0}, {2}}}, {0}, 0, {BOOL, 1, {3}, {1, 1, 0}}},
	{"gt", OP_GT, 2, {{F32, 1, {3}, {1, 2, 3}}, {F32, 0, {0}, {2}}}, {0}, 0, {BOOL, 1, {3}, {0, 0, 1}}},
	{"ge", OP_GE, 2, {{F32, 1, {3}, {1, 2, 3}}, {F32, 0, {0}, {2}}}, {0}, 0, {BOOL, 1, {3}, {0, 1, 1}}},
	{"and", OP_AND, 2, {{BOOL, 1, {4}, {0, 0, 1, 1}}, {BOOL, 1, {4}, {0, 1, 0, 1}}}, {0}, 0, {BOOL, 1, {4}, {0, 0, 0, 1}}},
	{"or", OP_OR, 2, {{BOOL, 1, {4}, {0, 0, 1, 1}}, {BOOL, 1, {4}, {0, 1, 0, 1}}}, {0}, 0, {BOOL, 1, {4}, {0, 1, 1, 1}}},
	{"where broadcast", OP_WHERE, 3, {{BOOL, 2, {2, 1}, {1, 0}}, X23, {F32, 0, {0}, {-1}}}, {0}, 0,
	 {F32, 2, {2, 3}, {0, 1, 2, -1, -1, -1}}},
	{"relu_bwd", OP_RELU_BWD, 2, {{F32, 1, {3}, {-1, 0, 2}}, {F32, 1, {3}, {5, 6, 7}}}, {0}, 0, {F32, 1, {3}, {0, 0, 7}}},
	{"sum axis 0", OP_SUM, 1, {X23}, {1, 0}, 2, {F32, 1, {3}, {3, 5, 7}}},
	{"sum axis 1 keepdim", OP_SUM, 1, {X23}, {2, 1}, 2, {F32, 2, {2, 1}, {3, 12}}},
	{"sum all", OP_SUM, 1, {X23}, {3, 0}, 2, {F32, 0, {0}, {15}}},
	{"mean axis 1", OP_MEAN, 1, {X23}, {2, 0}, 2, {F32, 1, {2}, {1, 4}}},
	{"max axis 0", OP_MAX, 1, {{F32, 2, {2, 3}, {0, 7, -2, 3, 4, -5}}}, {1, 0}, 2, {F32, 1, {3}, {3, 7, -2}}},
	{"max all", OP_MAX, 1, {{F32, 2, {2, 3}, {0, 7, -2, 3, 4, -5}}}, {3, 0}, 2, {F32, 0, {0}, {7}}},
	{"argmax first of ties", OP_ARGMAX, 1, {{F32, 2, {2, 3}, {1, 3, 3, 5, 2, 5}}}, {1, 0}, 2, {TY_I64, 1, {2}, {1, 0}}},
	{"top_k ties to the lower index", OP_TOP_K, 1, {{F32, 2, {2, 4}, {1, 3, 3, 2, 5, 5, 0, 5}}}, {1, 3, 1}, 3,
	 {TY_I64, 2, {2, 3}, {1, 2, 3, 0, 1, 3}}},
	{"top_k smallest axis 0", OP_TOP_K, 1, {{F32, 2, {2, 3}, {1, 3, 3, 5, 2, 3}}}, {0, 2, 0}, 3, {TY_I64, 2, {2, 3}, {0, 1, 0, 1, 0, 1}}},
	{"ctc_greedy_decode", OP_CTC_GREEDY, 2, {{F32, 3, {5, 2, 3}, {0, 1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 1, 0, 1, 0, 1, 0, 0, 0, 0, 1, 1, 0, 0}}, {I32, 1, {2}, {5, 3}}}, {0}, 1,
	 {I32, 2, {2, 5}, {1, 1, 2, -1, -1, 2, -1, -1, -1, -1}}},
	{"ctc_loss (0.6 0.7 + 0.4 0.7 + 0.6 0.3; an impossible [1, 1] in 2 frames, zero_infinity)", OP_CTC_LOSS, 4,
	 {{F32, 3, {2, 2, 2}, {-0.916290731874155, -0.5108256237659907, -0.6931471805599453, -0.6931471805599453, -1.2039728043259361, -0.35667494393873245, -0.6931471805599453, -0.6931471805599453}}, {TY_I64, 2, {2, 2}, {1, 0, 1, 1}}, {TY_I64, 1, {2}, {2, 2}}, {TY_I64, 1, {2}, {1, 2}}},
	 {0, 1}, 2, {F32, 1, {2}, {0.12783337150988489, 0}}},
	{"ctc_loss_bwd: minus dloss times the label's posterior", OP_CTC_BWD, 5,
	 {{F32, 3, {2, 2, 2}, {-0.916290731874155, -0.5108256237659907, -0.6931471805599453, -0.6931471805599453, -1.2039728043259361, -0.35667494393873245, -0.6931471805599453, -0.6931471805599453}}, {TY_I64, 2, {2, 2}, {1, 0, 1, 1}}, {TY_I64, 1, {2}, {2, 2}}, {TY_I64, 1, {2}, {1, 2}},
	  {F32, 1, {2}, {2, 3}}},
	 {0, 1}, 2, {F32, 3, {2, 2, 2}, {-0.6363636363636365, -1.3636363636363635, 0, 0, -0.40909090909090906, -1.5909090909090908, 0, 0}}},
	{"argmax axis 0 keepdim", OP_ARGMAX, 1, {{F32, 2, {2, 3}, {1, 3, 3, 5, 2, 5}}}, {0, 1}, 2, {TY_I64, 2, {1, 3}, {1, 0, 1}}},
	{"matmul", OP_MATMUL, 2, {{F32, 2, {2, 3}, {1, 2, 3, 4, 5, 6}}, {F32, 2, {3, 2}, {7, 8, 9, 10, 11, 12}}}, {0, 0}, 2,
	 {F32, 2, {2, 2}, {58, 64, 139, 154}}},
	{"matmul ta", OP_MATMUL, 2, {{F32, 2, {3, 2}, {1, 4, 2, 5, 3, 6}}, {F32, 2, {3, 2}, {7, 8, 9, 10, 11, 12}}}, {1, 0}, 2,
	 {F32, 2, {2, 2}, {58, 64, 139, 154}}},
	{"matmul tb", OP_MATMUL, 2, {{F32, 2, {2, 3}, {1, 2, 3, 4, 5, 6}}, {F32, 2, {2, 3}, {7, 9, 11, 8, 10, 12}}}, {0, 1}, 2,
	 {F32, 2, {2, 2}, {58, 64, 139, 154}}},
	{"matmul ta tb", OP_MATMUL, 2, {{F32, 2, {3, 2}, {1, 4, 2, 5, 3, 6}}, {F32, 2, {2, 3}, {7, 9, 11, 8, 10, 12}}}, {1, 1}, 2,
	 {F32, 2, {2, 2}, {58, 64, 139, 154}}},
	{"matmul batch x matrix", OP_MATMUL, 2, {{F32, 3, {2, 1, 2}, {1, 2, 3, 4}}, {F32, 2, {2, 1}, {5, 6}}}, {0, 0}, 2,
	 {F32, 3, {2, 1, 1}, {17, 39}}},
	{"matmul batch broadcast", OP_MATMUL, 2, {{F32, 4, {2, 1, 1, 2}, {1, 2, 3, 4}}, {F32, 3, {3, 2, 1}, {1, 1, 2, 0, 0, 3}}},
	 {0, 0}, 2, {F32, 4, {2, 3, 1, 1}, {3, 2, 6, 7, 6, 12}}},
	{"cross_entropy", OP_CROSS_ENTROPY, 2, {{F32, 2, {2, 3}, {0, 0, 0, 1, 2, 3}}, {I32, 1, {2}, {0, 2}}}, {0}, 0,
	 {F32, 0, {0}, {0.7531091265562451}}},
	{"cross_entropy_bwd", OP_XENT_BWD, 3, {{F32, 2, {2, 3}, {0, 0, 0, 1, 2, 3}}, {I32, 1, {2}, {0, 2}}, {F32, 0, {0}, {2}}},
	 {0}, 0,
	 {F32, 2, {2, 3},
	  {-0.6666666666666667, 0.3333333333333333, 0.3333333333333333, 0.09003057317038043, 0.24472847105479767,
	   -0.3347590442251782}}},
};

static Type tv_type(const TV *t) { return ir_type(t->dt, t->rank, t->d); }

static int64_t tv_numel(const TV *t)
{
	int64_t n = 1;
	for (int i = 0; i < t->rank; i++)
		n *= t->d[i];
	return n;
}

START_TEST(op_case)
{
	const Case *c = &cases[_i];
	Prog *p = new_prog();
	Graph *g = ir_graph_new(p, "t");
	Node *in[5];
	const double *inputs[5];
	for (int k = 0; k < c->nin; k++) {
		in[k] = ir_input(g, tv_type(&c->in[k]), NULL, (Loc){0});
		inputs[k] = c->in[k].v;
	}
	Type want = tv_type(&c->out);
	Node *n = ir_op(g, c->op, in, c->nin, c->attr, c->nattr, &want, (Loc){0});
	ck_assert_msg(ir_type_equal(n->type, want), "%s: result type differs", c->what);
	ir_graph_output(g, "y", n);
	ck_assert_int_eq(ir_graph_verify(g, "test"), 0);
	double *out[1] = {NULL};
	InterpArgs a = {.inputs = inputs, .outputs = out};
	char err[256] = "";
	ck_assert_msg(ir_interp(g, &a, err, sizeof err), "%s: %s", c->what, err);
	for (int64_t i = 0; i < tv_numel(&c->out); i++)
		ck_assert_msg(fabs(out[0][i] - c->out.v[i]) <= 1e-12 * (1 + fabs(c->out.v[i])), "%s: element %lld is %.17g, expected %.17g",
		              c->what, (long long)i, out[0][i], c->out.v[i]);
	free(out[0]);
}
END_TEST

/* params, constants and hyper-parameters; a run-time size */
START_TEST(leaves_and_syms)
{
	Prog *p = new_prog();
	Dim d2[] = {2}, d3[] = {3};
	ir_param_add(p, (Param){.name = "a", .type = ir_type(F32, 1, d2), .trainable = true});
	int ib = ir_param_add(p, (Param){.name = "b", .type = ir_type(F32, 1, d3), .trainable = true});
	int B = ir_sym_add(p, "B");
	Graph *g = ir_graph_new(p, "t");
	Dim dx[] = {ir_dim_sym(p, B), 3};
	Node *x = ir_input(g, ir_type(F32, 2, dx), "x", (Loc){0});
	Node *b = ir_param(g, ib, (Loc){0});
	int64_t h = NND_H_LR;
	Type f = ir_scalar_type(F32), filled = ir_type(F32, 1, d3);
	Node *lr = ir_op(g, OP_HYPER, NULL, 0, &h, 1, &f, (Loc){0});
	Node *c = ir_op(g, OP_CONST, NULL, 0, NULL, 0, &filled, (Loc){0});
	c->fval = 0.5;
	Node *y = OP2(g, OP_MUL, OP2(g, OP_ADD, x, OP2(g, OP_ADD, b, c)), lr);
	ir_graph_output(g, "y", y);
	ck_assert_int_eq(ir_graph_verify(g, "test"), 0);
	double params[5] = {100, 200, 1, 2, 3}, xv[6] = {0, 1, 2, 3, 4, 5}, hyper[NND_H_COUNT] = {[NND_H_LR] = 2};
	const double *inputs[] = {xv};
	int64_t syms[] = {2};
	double *out[1];
	InterpArgs a = {.params = params, .inputs = inputs, .syms = syms, .hyper = hyper, .outputs = out};
	char err[256];
	ck_assert_msg(ir_interp(g, &a, err, sizeof err), "%s", err);
	double want[6] = {3, 7, 11, 9, 13, 17};
	for (int i = 0; i < 6; i++)
		ck_assert_double_eq_tol(out[0][i], want[i], 1e-12);
	free(out[0]);
}
END_TEST

START_TEST(bad_label_is_reported)
{
	Prog *p = new_prog();
	Graph *g = ir_graph_new(p, "t");
	Dim dl[] = {2, 3}, dy[] = {2};
	Node *l = ir_input(g, ir_type(F32, 2, dl), "l", (Loc){0});
	Node *y = ir_input(g, ir_type(I32, 1, dy), "y", (Loc){0});
	ir_graph_output(g, "loss", OP2(g, OP_CROSS_ENTROPY, l, y));
	double lv[6] = {0}, yv[2] = {0, 3};
	const double *inputs[] = {lv, yv};
	double *out[1] = {NULL};
	InterpArgs a = {.inputs = inputs, .outputs = out};
	char err[256] = "";
	ck_assert(!ir_interp(g, &a, err, sizeof err));
	ck_assert_msg(strstr(err, "label 3") != NULL, "message: %s", err);
}
END_TEST

START_TEST(every_op_has_a_case)
{
	for (int op = 0; op < OP_COUNT; op++)
		ck_assert_msg(ir_interp_supports((Op)op), "ir/interp.c has no case for %s", op_info[op].name);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("interp");
	TCase *tc = tcase_create("ops");
	tcase_add_loop_test(tc, op_case, 0, (int)(sizeof cases / sizeof cases[0]));
	tcase_add_test(tc, leaves_and_syms);
	tcase_add_test(tc, bad_label_is_reported);
	tcase_add_test(tc, every_op_has_a_case);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
