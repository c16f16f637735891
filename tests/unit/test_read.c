/* tests/unit/test_read.c: the textual IR reader (ir/read.c): what ir_prog_print writes reads back
 * to the same text, with every field of params and nodes kept; bad input gives name:line:col and
 * a message, never a crash.
 */
#include "ir/ir.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static const Loc L0 = {0};
static Arena *arena;

static char *print(const Prog *p)
{
	char *buf;
	size_t n;
	FILE *f = open_memstream(&buf, &n);
	ir_prog_print(f, p);
	fclose(f);
	return buf;
}

/* Reads text, prints it, and checks the print reads back and prints the same */
static Prog *roundtrip(const char *text, char **out)
{
	char err[512] = "";
	Prog *p = ir_prog_read(arena, "t.nir", text, err, sizeof err);
	ck_assert_msg(p != NULL, "read failed: %s", err);
	*out = print(p);
	Prog *q = ir_prog_read(arena, "t.nir", *out, err, sizeof err);
	ck_assert_msg(q != NULL, "re-read failed: %s", err);
	char *again = print(q);
	ck_assert_str_eq(*out, again);
	free(again);
	return p;
}

START_TEST(built_program_round_trips)
{
	Prog *p = ir_prog_new(arena);
	Dim db = ir_dim_sym(p, ir_sym_add(p, "B")), dt = ir_dim_sym(p, ir_sym_add(p, "T"));
	Dim bt = ir_dim_binop(p, DE_MUL, db, dt);
	Dim d2[] = {ir_dim_binop(p, DE_ADD, bt, 1), 4}, w[] = {4, 3};
	int ip = ir_param_add(p, (Param){.name = "w", .type = ir_type(TY_F32, 2, w), .init = INIT_NORMAL,
	                                 .init_args = {0.5, 0.1, 0, 7}, .trainable = false,
	                                 .loc = {"m.nnd", 3, 5, 3, 9}});
	ir_param_add(p, (Param){.name = "s", .kind = PK_STATE, .type = ir_scalar_type(TY_I64)});
	Graph *g = ir_graph_new(p, "loss");
	Node *x = ir_input(g, ir_type(TY_F32, 2, d2), "x", L0);
	Node *pw = ir_param(g, ip, L0);
	Node *m = ir_op2(g, OP_MATMUL, x, pw, (Loc){"a b.nnd", 7, 2, 7, 2});
	m->name = "h";
	Node *c = ir_const(g, TY_F32, 0.1, L0);
	Node *s = ir_op2(g, OP_MUL, m, c, L0);
	int64_t ax[] = {3, 0};
	Node *r = ir_op(g, OP_SUM, &s, 1, ax, 2, NULL, L0);
	ir_graph_output(g, "loss", r);
	ir_graph_output(g, "h", m);
	char *text = print(p), *out;
	Prog *q = roundtrip(text, &out);
	ck_assert_str_eq(text, out);
	/* what the reader rebuilt, field by field */
	ck_assert_int_eq(q->syms.n, 2);
	ck_assert_int_eq(q->params.n, 2);
	const Param *qw = &q->params.v[0];
	ck_assert_int_eq(qw->init, INIT_NORMAL);
	ck_assert(qw->init_args[0] == 0.5 && qw->init_args[1] == 0.1 && qw->init_args[3] == 7);
	ck_assert(!qw->trainable);
	ck_assert_int_eq(qw->loc.line, 3);
	ck_assert_int_eq(q->params.v[1].kind, PK_STATE);
	Graph *qg = q->graphs.v[0];
	ck_assert_int_eq(qg->outputs.n, 2);
	ck_assert_str_eq(qg->outputs.v[1].name, "h");
	Node *qm = qg->outputs.v[1].node;
	ck_assert_str_eq(qm->name, "h");
	ck_assert_str_eq(qm->loc.file, "a b.nnd");
	ck_assert_int_eq(qm->loc.col, 2);
	ck_assert(qg->nodes.v[3]->op == OP_CONST && qg->nodes.v[3]->fval == 0.1);
	ck_assert_ptr_nonnull(strstr(text, "f32[B*T+1, 4]")); /* factors in the order of the syms */
	free(text);
	free(out);
}
END_TEST

/* The recipe, its parameter groups and every kind of data source read back field by field */
START_TEST(recipe_round_trips)
{
	const char *text = "param \"a\" : f32[2] = zeros() group 1\n"
	                   "param \"b\" : f32[2] = zeros() frozen\n"
	                   "\n"
	                   "recipe r {\n"
	                   "  batch = 32, epochs = 3, steps = 7, seed = 9, clip_grad_norm = 0.5\n"
	                   "  optimizer = rmsprop, lr = 0.001, momentum = 0.9, alpha = 0.95, centered = true\n"
	                   "  schedule = step, warmup = 4, step_every = 10, gamma = 0.5\n"
	                   "  data = csv(\"d.csv\", label: \"y\")\n"
	                   "  valid = npy(x: \"x.npy\", label: \"l.npy\")\n"
	                   "  metrics = [accuracy, top5]\n"
	                   "}\n"
	                   "group 1 {\n"
	                   "  optimizer = sgd, lr = 0.1, nesterov = true\n"
	                   "  schedule = cosine, min_lr = 0.01\n"
	                   "}\n";
	char *out;
	Prog *p = roundtrip(text, &out);
	ck_assert_str_eq(text, out);
	const Recipe *r = &p->recipe;
	ck_assert(p->has_recipe);
	ck_assert_str_eq(r->name, "r");
	ck_assert(r->batch == 32 && r->epochs == 3 && r->steps == 7 && r->seed == 9 && r->clip_grad_norm == 0.5);
	ck_assert(r->opt == OPT_RMSPROP && r->lr == 0.001 && r->momentum == 0.9 && r->alpha == 0.95 && r->centered);
	ck_assert(r->sched == SCHED_STEP && r->warmup == 4 && r->step_every == 10 && r->gamma == 0.5);
	ck_assert(r->data.kind == DATA_CSV && r->data.npaths == 1 && !strcmp(r->data.paths[0], "d.csv") &&
	          !strcmp(r->data.label, "y"));
	ck_assert(r->valid.kind == DATA_NPY && r->valid.npaths == 2 && !strcmp(r->valid.names[1], "label") &&
	          !strcmp(r->valid.paths[1], "l.npy") && !r->valid.label); /* a loss input named label */
	ck_assert(r->metrics.n == 2 && !strcmp(r->metrics.v[1], "top5"));
	ck_assert_int_eq(p->groups.n, 1);
	const Recipe *g = &p->groups.v[0];
	ck_assert(g->opt == OPT_SGD && g->lr == 0.1 && g->nesterov && !g->momentum && !g->alpha && !g->centered);
	ck_assert(g->sched == SCHED_COSINE && g->min_lr == 0.01 && !g->warmup && !g->gamma);
	ck_assert(g->batch == 32 && g->data.kind == DATA_CSV); /* the rest is the recipe's */
	ck_assert(p->params.v[0].group == 1 && p->params.v[1].group == 0 && !p->params.v[1].trainable);
	free(out);

	const char *text2 = "\nrecipe _ {\n  optimizer = sgd\n  schedule = constant\n  data = text(\"t.txt\", seq: 16)\n}\n";
	p = roundtrip(text2, &out);
	ck_assert_str_eq(text2, out);
	ck_assert(!p->recipe.name && p->recipe.data.kind == DATA_TEXT && p->recipe.data.seq == 16 && p->recipe.batch == 0);
	free(out);
}
END_TEST

START_TEST(effects_are_rebuilt)
{
	const char *text = "sym B\n"
	                   "param \"w\" : f32[3] = zeros()\n"
	                   "graph step(%0 g: f32[3]) {\n"
	                   "  %1 = param \"w\" : f32[3]\n"
	                   "  %2 = opt_update %1, %0 [0, 0] : f32\n"
	                   "  return\n"
	                   "}\n";
	char *out;
	Prog *p = roundtrip(text, &out);
	ck_assert_int_eq(p->graphs.v[0]->effects.n, 1);
	ck_assert_int_eq(p->graphs.v[0]->effects.v[0]->id, 2);
	free(out);
}
END_TEST

static const struct {
	const char *text, *err;
} bad[] = {
	{"graph g() {\n  return\n", "t.nir:3:1: expected '}', found the end of the line"},
	{"sym B\nsym B\n", "t.nir:2:6: size variable 'B' is declared twice"},
	{"graph g(%0 x: f32[N]) {\n", "t.nir:1:19: unknown size variable 'N'"},
	{"graph g(%0 x: q32) {\n", "t.nir:1:15: unknown element type 'q32'"},
	{"graph g(%0 x: f32[2]) {\n  %1 = exp %0, %0 : f32[2]\n", "t.nir:2:8: exp takes 1 input, found 2"},
	{"graph g(%0 x: f32[2]) {\n  %1 = exp %7 : f32[2]\n", "t.nir:2:13: %7 is not defined before this use"},
	{"graph g(%0 x: f32[2]) {\n  %0 = exp %0 : f32[2]\n", "t.nir:2:3: %0 is defined twice"},
	{"graph g(%0 x: f32[2]) {\n  %1 = exp %0 : f32[3]\n", "t.nir:2:8: exp gives f32[2] here, not f32[3]"},
	{"graph g(%0 x: f32[2]) {\n  %1 = param \"w\" : f32[2]\n", "t.nir:2:14: no parameter named \"w\""},
	{"param \"w\" : f32[2] = glorot()\n", "t.nir:1:22: unknown initialiser 'glorot'"},
	{"sym B\nparam \"w\" : f32[B] = zeros()\n", "t.nir:2:19: a parameter's sizes must be known at compile time"},
	{"graph g(%0 x: f32[4/0]) {\n", "t.nir:1:22: a size divided by zero"},
	{"frob\n", "t.nir:1:1: expected 'sym', 'param', 'state', 'recipe', 'group' or 'graph'"},
	{"recipe r {\n  batch = 2, lr = x\n", "t.nir:2:19: expected a number"},
	{"recipe r {\n  bacth = 2\n", "t.nir:2:3: unknown recipe setting 'bacth'"},
	{"recipe r {\n  optimizer = adma\n", "t.nir:2:15: unknown optimizer 'adma'"},
	{"recipe r {\n  data = idx(\"a\", \"b\", \"c\", \"d\", \"e\")\n", "t.nir:2:34: a data source has at most 4 files"},
	{"recipe r {\n}\nrecipe s {\n", "t.nir:3:7: a program has one recipe"},
	{"group 1 {\n", "t.nir:1:6: a parameter group comes after the recipe"},
	{"recipe r {\n}\ngroup 2 {\n", "t.nir:3:8: expected group 1 here, found group 2"},
	{"recipe r {\n}\ngroup 1 {\n  batch = 3\n", "t.nir:4:3: a parameter group sets its optimizer and schedule only, not 'batch'"},
	{"param \"w\" : f32[2] = zeros() group 1\n", "t.nir: parameter \"w\" is in group 1; the program has 0"},
	{"graph g(%0 x: f32[2]) {\n  %1 = exp %0 : f32[2]  # @ nowhere\n", "t.nir:2:27: expected a location file:line:col after '@'"},
	{"graph g(%0 x: f32[2]) {\n  %1 = input : f32[2]\n", "'input' nodes are written in the graph's header"},
	{"graph g(%0 x: f32[2, 3]) {\n  %1 = sum %0 [9, 0] : f32\n", "t.nir:2:8: reduction axis out of range"},
	{"graph g(%0 x: f32[2]) {\n  %1 = exp %0 : f32[2]\n  return y = %1 z\n}\n", "t.nir:3:17: expected the end of the line"},
	{"graph g(%0 x: f32[4, 2]) {\n  %1 = loop %0 [4, 0, 0, 1] : f32\n", "t.nir:2:8: loop needs one body"},
	{"graph g(%0 x: f32[4, 2]) {\n  %1 = loop %0 [4, 0, 0, 1] : f32 {\n    body(%0 t: i64) {\n      return\n    }\n  }\n",
	 "t.nir:2:8: loop's body takes 2 inputs (the index, then one per loop input), found 1"},
	{"graph g(%0 x: f32[4, 2]) {\n  %1 = loop %0 [3, 0, 0, 1] : f32 {\n    body(%0 t: i64, %1 x: f32[2]) {\n      return\n    }\n  }\n",
	 "t.nir:2:8: loop's sequence 0 must have T along axis 0, found f32[4, 2]"},
	{"graph g(%0 x: f32[2]) {\n  %1 = loop_out %0 [0] : f32[2]\n", "t.nir:2:8: loop_out reads a loop, found input"},
};

START_TEST(errors_name_the_place)
{
	char err[512] = "";
	Prog *p = ir_prog_read(arena, "t.nir", bad[_i].text, err, sizeof err);
	ck_assert_ptr_null(p);
	ck_assert_msg(strstr(err, bad[_i].err) != NULL, "case %d: got '%s', want '%s'", _i, err, bad[_i].err);
}
END_TEST

/* Every prefix of a valid program either reads or fails with a message; none crashes */
static const char *const valid[] = {
	"sym B\nparam \"w\" : f32[4, 3] = uniform(-1, 1) frozen  # @ m.nnd:1:2\n\n"
	"graph loss(%0 x: f32[B, 4]) {\n  %1 = param \"w\" : f32[4, 3]  # w\n"
	"  %2 = matmul %0, %1 [0, 0] : f32[B, 3]\n  %3 = const (2.5) : f32\n"
	"  %4 = mul %2, %3 : f32[B, 3]  # y @ m.nnd:4:9\n  %5 = mean %4 [3, 0] : f32\n"
	"  return loss = %5\n}\n",
	"sym B\nsym T\ngraph loss(%0 x: f32[T, B]) {\n  %1 = const (0) : f32[B]\n"
	"  %2 = loop %1, %0 [T - 1, 1, 1, 0] : f32 {  # @ m.nnd:2:3\n"
	"    body(%0 t: i64, %1 h: f32[B], %2 x: f32[T, B]) {\n      %3 = gather %2, %0 [0] : f32[B]\n"
	"      %4 = add %1, %3 : f32[B]\n      return h = %4, yield = %3\n    }\n  }\n"
	"  %3 = loop_out %2 [1] : f32[T-1, B]\n  %4 = sum %3 [3, 0] : f32\n  return loss = %4\n}\n",
};

START_TEST(prefixes_never_crash)
{
	const char *text = valid[_i];
	size_t n = strlen(text);
	char *buf = malloc(n + 1);
	for (size_t k = 0; k <= n; k++) {
		memcpy(buf, text, k);
		buf[k] = 0;
		char err[512] = "";
		Prog *p = ir_prog_read(arena, "t.nir", buf, err, sizeof err);
		ck_assert(p || strncmp(err, "t.nir:", 6) == 0);
		ck_assert_msg(p || k < n, "the whole program does not read: %s", err);
	}
	free(buf);
}
END_TEST

int main(void)
{
	arena = arena_new();
	Suite *s = suite_create("read");
	TCase *tc = tcase_create("read");
	tcase_add_test(tc, built_program_round_trips);
	tcase_add_test(tc, recipe_round_trips);
	tcase_add_test(tc, effects_are_rebuilt);
	tcase_add_loop_test(tc, errors_name_the_place, 0, (int)(sizeof bad / sizeof bad[0]));
	tcase_add_loop_test(tc, prefixes_never_crash, 0, 2);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
