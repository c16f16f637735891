/* tests/unit/test_passes.c: the cleanup passes (dce, cse, constfold), the pass manager and the
 * verifier. Each pass must keep the graph valid and its results identical (by the interpreter).
 */
#include "passes/passes.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const Loc L0 = {0};

/* a program in an arena of its own (arenas live until exit: ir/util.c) */
static Prog *new_prog(void) { return ir_prog_new(arena_new()); }

/* x f32[3] input, p f32[3] param "p" */
typedef struct Fix {
	Prog *p;
	Graph *g;
	Node *x;
	int ip;
} Fix;

static Fix fixture(void)
{
	Fix f;
	f.p = new_prog();
	Dim d[] = {3};
	f.ip = ir_param_add(f.p, (Param){.name = "p", .type = ir_type(TY_F32, 1, d), .trainable = true});
	f.g = ir_graph_new(f.p, "t");
	f.x = ir_input(f.g, ir_type(TY_F32, 1, d), "x", L0);
	return f;
}

static double params[3] = {0.5, -1.5, 2}, xv[3] = {1, 2, 3};

/* Runs g; out[k] receives output k's values (at most 3, zero-padded) */
static void eval(Graph *g, double out[][3])
{
	const double *inputs[] = {xv};
	double *res[8] = {NULL};
	InterpArgs a = {.params = params, .inputs = inputs, .outputs = res};
	char err[256];
	ck_assert_msg(ir_interp(g, &a, err, sizeof err), "%s", err);
	for (int k = 0; k < g->outputs.n; k++) {
		int64_t n = g->outputs.v[k].node->type.rank ? g->outputs.v[k].node->type.dim[0] : 1;
		for (int i = 0; i < 3; i++)
			out[k][i] = 0;
		for (int i = 0; i < n; i++)
			out[k][i] = res[k][i];
		free(res[k]);
	}
}

static void check_same(double a[][3], double b[][3], int nout)
{
	for (int k = 0; k < nout; k++)
		for (int i = 0; i < 3; i++)
			ck_assert_double_eq(a[k][i], b[k][i]);
}

static int count_op(const Graph *g, Op op)
{
	int n = 0;
	for (int i = 0; i < g->nodes.n; i++)
		n += g->nodes.v[i]->op == op;
	return n;
}

START_TEST(dce_removes_dead_nodes)
{
	Fix f = fixture();
	Node *pn = ir_param(f.g, f.ip, L0);
	ir_op1(f.g, OP_EXP, f.x, L0);                             /* dead */
	Node *dead2 = ir_op2(f.g, OP_MUL, pn, f.x, L0);           /* dead, with a dead user */
	ir_op1(f.g, OP_TANH, dead2, L0);
	Node *y = ir_op2(f.g, OP_ADD, f.x, pn, L0);
	ir_graph_output(f.g, "y", y);
	Dim d[] = {3};
	ir_input(f.g, ir_type(TY_F32, 1, d), "unused", L0); /* inputs stay: they are the signature */
	double before[1][3], after[1][3];
	const double *inputs[] = {xv, xv};
	double *res[1];
	InterpArgs a = {.params = params, .inputs = inputs, .outputs = res};
	char err[256];
	ck_assert(ir_interp(f.g, &a, err, sizeof err));
	memcpy(before[0], res[0], sizeof before[0]);
	free(res[0]);
	pass_dce(f.g);
	ck_assert_int_eq(ir_graph_verify(f.g, "after dce"), 0);
	ck_assert_int_eq(f.g->nodes.n, 4); /* x, p, add, unused */
	ck_assert_int_eq(count_op(f.g, OP_EXP) + count_op(f.g, OP_MUL) + count_op(f.g, OP_TANH), 0);
	ck_assert(ir_interp(f.g, &a, err, sizeof err));
	memcpy(after[0], res[0], sizeof after[0]);
	free(res[0]);
	check_same(before, after, 1);
}
END_TEST

START_TEST(cse_merges_duplicates)
{
	Fix f = fixture();
	Graph *g = f.g;
	Node *p1 = ir_param(g, f.ip, L0), *p2 = ir_param(g, f.ip, L0);
	Node *a = ir_op2(g, OP_ADD, f.x, p1, L0), *b = ir_op2(g, OP_ADD, f.x, p2, L0);
	Node *m1 = ir_op2(g, OP_MUL, a, ir_const(g, TY_F32, 2, L0), L0);
	Node *m2 = ir_op2(g, OP_MUL, b, ir_const(g, TY_F32, 2, L0), L0);
	Node *m3 = ir_op2(g, OP_MUL, b, ir_const(g, TY_F32, 3, L0), L0); /* a different constant */
	ir_graph_output(g, "s", ir_op2(g, OP_SUB, m1, m3, L0));
	ir_graph_output(g, "t", ir_op2(g, OP_ADD, m2, m1, L0));
	ir_graph_output(g, "m2", m2);
	double before[3][3], after[3][3];
	eval(g, before);
	pass_cse(g);
	ck_assert_int_eq(ir_graph_verify(g, "after cse"), 0);
	ck_assert_int_eq(count_op(g, OP_PARAM), 1);
	ck_assert_int_eq(count_op(g, OP_ADD), 2); /* x + p, m1 + m1 */
	ck_assert_int_eq(count_op(g, OP_CONST), 2);
	ck_assert_int_eq(count_op(g, OP_MUL), 2);
	ck_assert_ptr_eq(g->outputs.v[2].node, m1); /* the output moved to the kept node */
	eval(g, after);
	check_same(before, after, 3);
}
END_TEST

START_TEST(cse_keeps_distinct_types)
{
	Fix f = fixture();
	Graph *g = f.g;
	Node *c32 = ir_const(g, TY_F32, 2, L0), *c64 = ir_const(g, TY_F64, 2, L0);
	Node *s = ir_op2(g, OP_MUL, f.x, c32, L0);
	ir_graph_output(g, "y", s);
	ir_graph_output(g, "z", ir_op1(g, OP_EXP, c64, L0));
	pass_cse(g);
	ck_assert_int_eq(count_op(g, OP_CONST), 2);
}
END_TEST

START_TEST(constfold_folds_scalar_chains)
{
	Fix f = fixture();
	Graph *g = f.g;
	Node *five = ir_op2(g, OP_ADD, ir_const(g, TY_F32, 2, L0), ir_const(g, TY_F32, 3, L0), L0);
	Node *also5 = ir_op2(g, OP_ADD, ir_op1(g, OP_SQRT, ir_const(g, TY_F32, 16, L0), L0), ir_const(g, TY_F32, 1, L0), L0);
	ir_graph_output(g, "a", ir_op2(g, OP_MUL, f.x, five, L0));
	ir_graph_output(g, "b", ir_op2(g, OP_SUB, f.x, also5, L0));
	double before[2][3], after[2][3];
	eval(g, before);
	pass_constfold(g);
	ck_assert_int_eq(ir_graph_verify(g, "after constfold"), 0);
	pass_dce(g);
	pass_cse(g);
	ck_assert_int_eq(ir_graph_verify(g, "after cse"), 0);
	ck_assert_int_eq(count_op(g, OP_ADD) + count_op(g, OP_SQRT), 0);
	ck_assert_int_eq(count_op(g, OP_CONST), 1);
	ck_assert_ptr_eq(g->outputs.v[0].node->in[1], g->outputs.v[1].node->in[1]);
	ck_assert_double_eq(g->outputs.v[0].node->in[1]->fval, 5);
	eval(g, after);
	check_same(before, after, 2);
}
END_TEST

/* ---- the verifier catches broken graphs ---- */

enum { B_ORDER, B_FOREIGN, B_TYPE, B_DUPID, B_NIN, B_INPUTPOS, B_OUTPUT, B_EFFECT, B_COUNT };
static const char *const broken_name[B_COUNT] = {"use before definition", "input from another graph", "wrong type",
                                                 "duplicate id", "wrong input count", "input position",
                                                 "output not in graph", "effect that is not an effect"};

START_TEST(verifier_catches_broken_graph)
{
	Fix f = fixture();
	Graph *g = f.g;
	Node *pn = ir_param(g, f.ip, L0);
	Node *a = ir_op2(g, OP_ADD, f.x, pn, L0);
	Node *b = ir_op1(g, OP_EXP, a, L0);
	ir_graph_output(g, "y", b);
	ck_assert_int_eq(ir_graph_verify(g, "before"), 0);
	Graph *other = ir_graph_new(f.p, "other");
	switch (_i) {
	case B_ORDER: g->nodes.v[2] = b, g->nodes.v[3] = a; break;
	case B_FOREIGN: b->in[0] = ir_param(other, f.ip, L0); break;
	case B_TYPE: a->type.dim[0] = 7; break;
	case B_DUPID: b->id = a->id; break;
	case B_NIN: a->nin = 1; break;
	case B_INPUTPOS: f.x->attr[0] = 1; break;
	case B_OUTPUT: g->nodes.n--; break;
	case B_EFFECT: ir_graph_effect(g, a); break;
	}
	ck_assert_ptr_nonnull(freopen("/dev/null", "w", stderr));
	ck_assert_msg(ir_graph_verify(g, "broken") > 0, "the verifier missed: %s", broken_name[_i]);
}
END_TEST

/* ---- the pass manager ---- */

static Graph *dup_graph(Fix *f)
{
	Graph *g = f->g;
	Node *pn = ir_param(g, f->ip, L0);
	Node *c = ir_op2(g, OP_MUL, ir_const(g, TY_F32, 2, L0), ir_const(g, TY_F32, 4, L0), L0);
	Node *a = ir_op2(g, OP_ADD, f->x, pn, L0), *b = ir_op2(g, OP_ADD, f->x, pn, L0);
	ir_op1(g, OP_LOG, a, L0); /* dead */
	ir_graph_output(g, "y", ir_op2(g, OP_MUL, ir_op2(g, OP_MUL, a, b, L0), c, L0));
	return g;
}

START_TEST(pipeline_runs_passes)
{
	Fix f = fixture();
	Graph *g = dup_graph(&f);
	double before[1][3], after[1][3];
	eval(g, before);
	FILE *out = tmpfile();
	PassOptions o = {.level = 1, .verify_each = true, .print_after = "cse", .print_to = out};
	ck_assert_int_eq(pass_run_pipeline(f.p, &o), 0);
	eval(g, after);
	check_same(before, after, 1);
	ck_assert_int_eq(g->nodes.n, 6); /* x, p, 8, x+p, (x+p)^2, *8 */
	char text[4096] = "";
	rewind(out);
	size_t n = fread(text, 1, sizeof text - 1, out);
	text[n] = 0;
	fclose(out);
	ck_assert_msg(strstr(text, "; after cse\ngraph t(") != NULL, "printed: %s", text);
	ck_assert_ptr_null(strstr(text, "; after dce"));
}
END_TEST

START_TEST(pipeline_levels_and_disable)
{
	Fix f = fixture();
	Graph *g = dup_graph(&f);
	const char *off[] = {"dce"};
	PassOptions o = {.level = 1, .verify_each = true, .disabled = off, .ndisabled = 1};
	ck_assert_int_eq(pass_run_pipeline(f.p, &o), 0);
	ck_assert_int_eq(count_op(g, OP_LOG), 1);   /* dce disabled */
	ck_assert_int_eq(count_op(g, OP_ADD), 1);   /* cse ran */
	Fix f0 = fixture();
	Graph *g0 = dup_graph(&f0);
	PassOptions o0 = {.level = 0, .verify_each = true};
	ck_assert_int_eq(pass_run_pipeline(f0.p, &o0), 0);
	ck_assert_int_eq(count_op(g0, OP_LOG), 0);  /* dce runs at -O0 */
	ck_assert_int_eq(count_op(g0, OP_ADD), 2);  /* cse does not */
}
END_TEST

START_TEST(pipeline_unknown_pass)
{
	Fix f = fixture();
	const char *off[] = {"nosuch"};
	PassOptions o = {.level = 1, .disabled = off, .ndisabled = 1};
	ck_assert_ptr_nonnull(freopen("/dev/null", "w", stderr));
	ck_assert_int_eq(pass_run_pipeline(f.p, &o), -1);
	PassOptions o2 = {.level = 1, .print_after = "nosuch"};
	ck_assert_int_eq(pass_run_pipeline(f.p, &o2), -1);
}
END_TEST

START_TEST(pass_list_names_every_pass)
{
	FILE *out = tmpfile();
	pass_list(out);
	char text[4096] = "";
	rewind(out);
	text[fread(text, 1, sizeof text - 1, out)] = 0;
	fclose(out);
	for (int i = 0; i < pass_count; i++) {
		ck_assert_ptr_nonnull(strstr(text, pass_table[i].name));
		ck_assert_ptr_eq(pass_find(pass_table[i].name), &pass_table[i]);
	}
}
END_TEST

/* the whole pipeline on a training step keeps its results */
START_TEST(pipeline_on_a_step_graph)
{
	Fix f = fixture();
	Graph *g = f.g;
	Node *pn = ir_param(g, f.ip, L0);
	Node *h = ir_op1(g, OP_TANH, ir_op2(g, OP_MUL, f.x, pn, L0), L0);
	int64_t attr[2] = {1, 0};
	Node *hh = ir_op2(g, OP_MUL, h, h, L0);
	ir_graph_output(g, "loss", ir_op(g, OP_SUM, &hh, 1, attr, 2, NULL, L0));
	Graph *step = pass_autodiff(g, "grad");
	double before[2][3], after[2][3];
	eval(step, before);
	int n0 = step->nodes.n;
	PassOptions o = {.level = 2, .verify_each = true, .time_passes = true};
	ck_assert_ptr_nonnull(freopen("/dev/null", "w", stderr));
	ck_assert_int_eq(pass_run_pipeline(f.p, &o), 0);
	ck_assert_int_lt(step->nodes.n, n0);
	eval(step, after);
	check_same(before, after, 2);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("passes");
	TCase *tc = tcase_create("passes");
	tcase_add_test(tc, dce_removes_dead_nodes);
	tcase_add_test(tc, cse_merges_duplicates);
	tcase_add_test(tc, cse_keeps_distinct_types);
	tcase_add_test(tc, constfold_folds_scalar_chains);
	tcase_add_loop_test(tc, verifier_catches_broken_graph, 0, B_COUNT);
	tcase_add_test(tc, pipeline_runs_passes);
	tcase_add_test(tc, pipeline_levels_and_disable);
	tcase_add_test(tc, pipeline_unknown_pass);
	tcase_add_test(tc, pass_list_names_every_pass);
	tcase_add_test(tc, pipeline_on_a_step_graph);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
