/* tests/unit/test_gradcheck.c: gradients of whole programs, through the real front end.
 *
 * Each case is a .nnd recipe. It is parsed and elaborated like `nndc build` does, its loss graph
 * differentiated by passes/autodiff.c, and every parameter's gradient (evaluated in float64 by
 * the reference interpreter) compared with central finite differences of the loss.
 */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lang/lang.h"
#include "passes/passes.h"
#include "runtime/nnd_model.h"
#include "tests/unit/loop_programs.h"

static const char *const programs[] = {
	/* the example's shape: u8 images scaled, an MLP, cross entropy, an accuracy metric */
	"import std.nn\n"
	"module Mlp(hidden: int = 5) {\n"
	"  fc1 = Linear(6, hidden)\n"
	"  fc2 = Linear(hidden, hidden)\n"
	"  fc3 = Linear(hidden, 3)\n"
	"  forward(x: f32[B, 6]) -> f32[B, 3] {\n"
	"    let h = relu(fc1(x))\n"
	"    h = relu(fc2(h))\n"
	"    return fc3(h)\n"
	"  }\n"
	"}\n"
	"train t {\n"
	"  model = Mlp()\n"
	"  loss(x: u8[B, 2, 3], y: i32[B]) -> f32 {\n"
	"    let logits = model(reshape(x, [B, 6]) / 255.0)\n"
	"    metric accuracy = mean(f32(argmax(logits, axis: 1) == y))\n"
	"    return cross_entropy(logits, y)\n"
	"  }\n"
	"}\n",
	/* weight sharing, no bias, smooth activations, broadcasting, reductions, where */
	"import std.nn\n"
	"fn act(x) = tanh(x) * sigmoid(x)\n"
	"module Net() {\n"
	"  a = Linear(6, 4, bias: false)\n"
	"  b = Linear(4, 4)\n"
	"  param scale: f32[4] = normal(std: 0.5)\n"
	"  forward(x: f32[B, 6]) -> f32[B, 4] {\n"
	"    let h = act(a(x))\n"
	"    h = b(h) * scale + b(exp(h * 0.1))\n"
	"    return maximum(h, 0.05 * h) - mean(h, axis: 1, keepdim: true)\n"
	"  }\n"
	"}\n"
	"train t {\n"
	"  model = Net()\n"
	"  loss(x: u8[B, 2, 3], y: i32[B]) -> f32 {\n"
	"    let z = model(f32(reshape(x, [B, 6])) / 255.0)\n"
	"    let pos = where(z > 0.0, z, z * z)\n"
	"    return cross_entropy(z, y) + 0.1 * mean(sqrt(pos * pos + 1.0)) + 0.01 * sum(z.T @ z)\n"
	"  }\n"
	"}\n",
	/* shared parameters: one block called in a loop (its weights tied across the iterations, and to
	   a module list's member called again after the list) and a table used both as the embedding and
	   as the output projection (weight tying) */
	"import std.nn\n"
	"module Block() {\n"
	"  fc = Linear(4, 4)\n"
	"  forward(x: f32[B, 4]) -> f32[B, 4] { return tanh(fc(x)) }\n"
	"}\n"
	"module Tied() {\n"
	"  param emb: f32[3, 4] = normal(std: 0.5)\n"
	"  inp = Linear(6, 4)\n"
	"  blk = Block()\n"
	"  blocks = [Block(), Block()]\n"
	"  forward(x: f32[B, 6], y: i32[B]) -> f32[B, 3] {\n"
	"    let h = inp(x) + embedding(emb, y)\n"
	"    for i in 0..3 { h = blk(h) + 0.5 * h }\n"
	"    for b in blocks { h = b(h) }\n"
	"    h = blocks[0](h)\n"
	"    return h @ emb.T\n"
	"  }\n"
	"}\n"
	"train t {\n"
	"  model = Tied()\n"
	"  loss(x: u8[B, 2, 3], y: i32[B]) -> f32 {\n"
	"    return cross_entropy(model(f32(reshape(x, [B, 6])) / 255.0, y), y)\n"
	"  }\n"
	"}\n",
	/* normalisation, attention and einsum composites, through std.nn */
	"import std.nn\n"
	"module Net() {\n"
	"  proj = Linear(6, 8)\n"
	"  norm = GroupNorm(2, 4)\n"
	"  out = Linear(8, 3)\n"
	"  forward(x: f32[B, 6]) -> f32[B, 3] {\n"
	"    let h = proj(x)\n"
	"    let t = reshape(h, [B, 4, 2])\n"
	"    t = norm(t)\n"
	"    let q = reshape(t, [1, B, 8])\n"
	"    let a = attention(q, q, q, causal: true)\n"
	"    let s = einsum(\"bij,bkj->bik\", a, q)\n"
	"    let u = reshape(a, [B, 8]) + 0.1 * reshape(einsum(\"bik,bkj->bij\", softmax(s, axis: -1), q), [B, 8])\n"
	"    return out(tanh(u))\n"
	"  }\n"
	"}\n"
	"train t {\n"
	"  model = Net()\n"
	"  loss(x: u8[B, 2, 3], y: i32[B]) -> f32 {\n"
	"    return cross_entropy(model(reshape(x, [B, 6]) / 255.0), y)\n"
	"  }\n"
	"}\n",
	/* convolutions over 1 to 3 spatial axes, transposed ones, 1-D pooling, max pooling with
	   indices and unpooling, through std.nn */
	"import std.nn\n"
	"module Net() {\n"
	"  up = ConvTranspose2d(1, 2, 2, stride: 2)\n"
	"  c3 = Conv3d(1, 2, 2, padding: 1, bias: false)\n"
	"  t3 = ConvTranspose3d(2, 2, 2, stride: 2, padding: 1, output_padding: 1, groups: 2)\n"
	"  c1 = Conv1d(2, 4, 3, padding: 1, groups: 2)\n"
	"  t1 = ConvTranspose1d(4, 3, 3, stride: 2, padding: 1, output_padding: 1)\n"
	"  mp = MaxPool1d(2)\n"
	"  ap = AvgPool1d(3, stride: 1, padding: 1)\n"
	"  forward(x: f32[B, 1, 2, 3]) -> f32[B, 3] {\n"
	"    let h = tanh(up(x))\n"
	"    let (v, i) = max_pool2d_with_indices(h, 2)\n"
	"    let u = max_unpool2d(v, i, 2)\n"
	"    let l = t1(ap(mp(c1(reshape(u + h, [B, 2, 24])))))\n"
	"    let w = t3(c3(reshape(x, [B, 1, 1, 2, 3])))\n"
	"    return mean(l, axis: 2) + reshape(mean(w, axes: [1, 2, 3, 4]), [B, 1])\n"
	"  }\n"
	"}\n"
	"train t {\n"
	"  model = Net()\n"
	"  loss(x: u8[B, 2, 3], y: i32[B]) -> f32 {\n"
	"    return cross_entropy(model(reshape(x, [B, 1, 2, 3]) / 255.0), y)\n"
	"  }\n"
	"}\n",
};

static uint64_t rng = 88172645463325252ull;
static double urand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (double)(rng >> 11) / 9007199254740992.0;
}

static double eval_loss(const Graph *g, InterpArgs *a)
{
	char err[256];
	double *outs[8] = {0};
	a->outputs = outs;
	ck_assert_msg(ir_interp(g, a, err, sizeof err), "interp: %s", err);
	double l = outs[0][0];
	for (int i = 0; i < g->outputs.n; i++)
		free(outs[i]);
	return l;
}

/* Every parameter's gradient from grad against central differences of loss; returns the worst
   relative error (each must be below tol) */
static double check_gradients(Prog *p, Graph *loss, Graph *grad, const double *const *inputs, const int64_t *syms,
                              const double *hyper, double tol, int *checked)
{
	int64_t np = ir_prog_param_numel(p);
	double *params = malloc(sizeof(double) * (size_t)np);
	for (int64_t i = 0; i < np; i++)
		params[i] = urand() - 0.5;
	InterpArgs a = {.params = params, .inputs = inputs, .syms = syms, .hyper = hyper};
	char err[256];
	double *outs[64] = {0};
	a.outputs = outs;
	ck_assert_int_le(grad->outputs.n, 64);
	ck_assert_msg(ir_interp(grad, &a, err, sizeof err), "interp: %s", err);
	double worst = 0;
	int64_t off = 0;
	for (int pi = 0; pi < p->params.n; pi++) {
		Param *prm = &p->params.v[pi];
		int64_t n = 1;
		for (int d = 0; d < prm->type.rank; d++)
			n *= prm->type.dim[d];
		const char *want = str_intern(arena_printf(p->arena, "grad.%s", prm->name));
		double *g = NULL;
		for (int k = 0; k < grad->outputs.n; k++)
			if (grad->outputs.v[k].name == want)
				g = outs[k];
		ck_assert_msg(g != NULL, "no gradient output for %s", prm->name);
		for (int64_t i = 0; i < n; i++) {
			double h = 1e-6, save = params[off + i];
			params[off + i] = save + h;
			double lp = eval_loss(loss, &a);
			params[off + i] = save - h;
			double lm = eval_loss(loss, &a);
			params[off + i] = save;
			double fd = (lp - lm) / (2 * h);
			/* the difference quotient cannot resolve less than a few ulps of the loss over 2h (a
			   gradient of ~0 measures ~1e-10 with a loss near 1): that much error is allowed */
			double noise = 4 * DBL_EPSILON * fmax(fabs(lp), fabs(lm)) / (2 * h);
			double err = fabs(fd - g[i]), scale = fmax(fmax(fabs(fd), fabs(g[i])), 1e-6), rel = err / scale;
			if (rel > worst)
				worst = rel;
			ck_assert_msg(err <= tol * scale + noise, "%s[%lld]: autodiff %.10g, finite differences %.10g (relative error %.3g)",
			              prm->name, (long long)i, g[i], fd, rel);
			++*checked;
		}
		off += n;
	}
	for (int k = 0; k < grad->outputs.n; k++)
		free(outs[k]);
	free(params);
	return worst;
}

static Prog *compile(Arena *ar, const char *src)
{
	Ast *prog = parse_string(ar, "gradcheck.nnd", src, strlen(src));
	ck_assert_ptr_nonnull(prog);
	ElabOptions eo = {.stdlib_dir = "stdlib"};
	Prog *p = sema_program(ar, prog, &eo);
	if (!p)
		diag_flush(stderr);
	ck_assert_ptr_nonnull(p);
	return p;
}

START_TEST(test_program_gradients)
{
	Prog *p = compile(arena_new(), programs[_i]);
	Graph *loss = ir_prog_graph(p, "loss");
	ck_assert_ptr_nonnull(loss);
	Graph *grad = pass_autodiff(loss, "grad");
	int64_t syms[1] = {4};
	double x[4 * 6], y[4];
	for (int i = 0; i < 24; i++)
		x[i] = floor(urand() * 256);
	for (int i = 0; i < 4; i++)
		y[i] = floor(urand() * 3);
	const double *inputs[2] = {x, y};
	int checked = 0;
	double worst = check_gradients(p, loss, grad, inputs, syms, NULL, 1e-4, &checked);
	printf("gradcheck program %d: %d gradients, worst relative error %.3g\n", _i, checked, worst);
}
END_TEST

START_TEST(test_loop_gradients)
{
	Prog *p = compile(arena_new(), loop_programs[_i]);
	Graph *loss = ir_prog_graph(p, "loss");
	int nloops = 0, nunrolled = 0;
	for (int i = 0; i < loss->nodes.n; i++)
		nloops += loss->nodes.v[i]->op == OP_LOOP && !DIM_IS_CONST(loss->nodes.v[i]->attr[0]);
	ck_assert_int_ge(nloops, 2);
	Graph *grad = pass_autodiff(loss, "grad");
	ck_assert_int_eq(ir_graph_verify(grad, "gradcheck"), 0);
	int64_t syms[2] = {3, 5}, d = loss->inputs.v[0]->type.dim[2];
	double x[3 * 5 * 8], y[3];
	ck_assert_int_le(d, 8);
	for (int i = 0; i < 15 * d; i++)
		x[i] = 2 * urand() - 1;
	for (int i = 0; i < 3; i++)
		y[i] = floor(urand() * 4);
	const double *inputs[2] = {x, y};
	int checked = 0;
	double worst = check_gradients(p, loss, grad, inputs, syms, NULL, 1e-6, &checked);
	printf("gradcheck loop program %d: %d gradients, worst relative error %.3g\n", _i, checked, worst);

	/* the same program with T = 5 written out is unrolled: the same loss */
	char *src = strdup(loop_programs[_i]);
	for (char *c = src; *c; c++)
		if (*c == 'T')
			*c = '5';
	Prog *q = compile(arena_new(), src);
	free(src);
	Graph *unrolled = ir_prog_graph(q, "loss");
	for (int i = 0; i < unrolled->nodes.n; i++) /* the loops over T are unrolled (others stay) */
		nunrolled += unrolled->nodes.v[i]->op == OP_LOOP && unrolled->nodes.v[i]->attr[0] == 5;
	ck_assert_int_eq(nunrolled, 0);
	int64_t np = ir_prog_param_numel(p);
	double *params = malloc(sizeof(double) * (size_t)np);
	for (int64_t i = 0; i < np; i++)
		params[i] = urand() - 0.5;
	InterpArgs a = {.params = params, .inputs = inputs, .syms = syms};
	double l1 = eval_loss(loss, &a), l2 = eval_loss(unrolled, &a);
	ck_assert_msg(fabs(l1 - l2) <= 1e-12 * fabs(l2), "loop %.17g, unrolled %.17g", l1, l2);
	free(params);
}
END_TEST

/* Dropout and rand in loops over T (loop_random_program): the gradients at a fixed step and seed
   (so the same masks in the forward and backward bodies), and each iteration's masks and numbers
   against the next one's: independent draws keep a position of a mask of p = 0.3 the same with
   probability p^2 + (1-p)^2 = 0.58 (1 if the iterations shared the mask), and |u_t - u_t+1| of
   uniform numbers averages 1/3 */
START_TEST(test_loop_random)
{
	Prog *p = compile(arena_new(), loop_random_program);
	Graph *loss = ir_prog_graph(p, "loss");
	Graph *grad = pass_autodiff(loss, "grad");
	ck_assert_int_eq(ir_graph_verify(grad, "gradcheck"), 0);
	enum { B = 3, T = 5, N = 4096 };
	int64_t syms[2] = {B, T};
	double x[B * T * 4], y[B], hyper[NND_H_COUNT] = {[NND_H_STEP] = 3, [NND_H_SEED] = 7};
	for (int i = 0; i < B * T * 4; i++)
		x[i] = 2 * urand() - 1;
	for (int i = 0; i < B; i++)
		y[i] = floor(urand() * 4);
	const double *inputs[2] = {x, y};
	int checked = 0;
	double worst = check_gradients(p, loss, grad, inputs, syms, hyper, 1e-6, &checked);

	for (int i = 0; i < loss->nodes.n; i++) { /* the stacked masks m, then the numbers u */
		Node *n = loss->nodes.v[i];
		if (n->op == OP_LOOP_OUT && n->type.rank == 2 && n->type.dim[1] == N)
			ir_graph_output(loss, n->attr[0] ? "u" : "m", n);
	}
	ck_assert_int_eq(loss->outputs.n, 3);
	int64_t np = ir_prog_param_numel(p);
	double *params = calloc((size_t)np, sizeof(double)), *out[3] = {0};
	InterpArgs a = {.params = params, .inputs = inputs, .syms = syms, .hyper = hyper, .outputs = out};
	char err[256];
	ck_assert_msg(ir_interp(loss, &a, err, sizeof err), "interp: %s", err);
	const double *m = out[1], *u = out[2];
	double same = 0, dist = 0, kept = 0;
	for (int t = 0; t + 1 < T; t++)
		for (int i = 0; i < N; i++) {
			same += (m[t * N + i] == 0) == (m[(t + 1) * N + i] == 0);
			dist += fabs(u[t * N + i] - u[(t + 1) * N + i]);
		}
	for (int i = 0; i < T * N; i++)
		kept += m[i] != 0;
	same /= (T - 1) * N, dist /= (T - 1) * N, kept /= T * N;
	printf("loop random: %d gradients, worst relative error %.3g; kept %.4f (0.7), consecutive masks agree at %.4f (0.58), "
	       "mean |u_t - u_t+1| %.4f (1/3)\n", checked, worst, kept, same, dist);
	ck_assert_msg(fabs(kept - 0.7) < 0.02, "kept %g", kept);
	ck_assert_msg(fabs(same - 0.58) < 0.03, "consecutive masks agree at %g", same);
	ck_assert_msg(fabs(dist - 1.0 / 3) < 0.02, "mean |u_t - u_t+1| %g", dist);
	for (int k = 0; k < 3; k++)
		free(out[k]);
	free(params);
}
END_TEST

/* Run-time ifs, each program checked on three sets of inputs taking different branches. */
static const char *const if_programs[] = {
	/* on one condition, mean(x) > 0: a value, a statement rebinding a name, and an early return
	   whose else branch is the rest of forward (the metric `took` says which branches ran) */
	"import std.nn\n"
	"module Early() {\n"
	"  fc = Linear(6, 6)\n"
	"  stage1 = Linear(6, 3)\n"
	"  stage2 = Linear(3, 3)\n"
	"  forward(x: f32[B, 6]) -> f32[B, 3] {\n"
	"    let c = mean(x) > 0.0\n"
	"    let h = if c { fc(x) } else { tanh(x) * 2.0 }\n"
	"    let early = stage1(h)\n"
	"    let g = h\n"
	"    if c { g = g * tanh(fc(h)) } else { g = sigmoid(g) - 1.0 }\n"
	"    if c { return early + stage1(g) * 0.5 }\n"
	"    return stage2(tanh(early)) + stage1(g)\n"
	"  }\n"
	"}\n"
	"train t {\n"
	"  model = Early()\n"
	"  loss(x: f32[B, 6], y: i32[B]) -> f32 {\n"
	"    metric took = f32(mean(x) > 0.0)\n"
	"    return cross_entropy(model(x), y)\n"
	"  }\n"
	"}\n",
	/* nested: returns in an if inside an if and in an else-if, an if value in a function, in a
	   grad block and in a loop of 20 (compiled as a loop), a return in the loss */
	"import std.nn\n"
	"fn pick(x) { return if mean(x) > 0.0 { 1.5 } else { 2.0 } }\n"
	"fn ste(x) { return round(x) } grad(x, dy) { return if mean(dy) > 0.0 { dy } else { dy * 0.5 } }\n"
	"module M() {\n"
	"  fc = Linear(6, 3)\n"
	"  forward(x: f32[B, 6]) -> f32[B, 3] {\n"
	"    let y = tanh(fc(ste(x * 3.0) + x)) * pick(x)\n"
	"    if mean(x) > 0.0 {\n"
	"      if sum(y) > 0.0 { return y * 2.0 }\n"
	"      return y\n"
	"    } else if mean(x) < -0.6 {\n"
	"      return -y\n"
	"    }\n"
	"    let z = for t in 0..20 { yield if sum(y) > 0.1 * f32(t) { y } else { sigmoid(y) * 0.5 } }\n"
	"    return mean(z, axis: 0)\n"
	"  }\n"
	"}\n"
	"train t {\n"
	"  model = M()\n"
	"  loss(x: f32[B, 6], y: i32[B]) -> f32 {\n"
	"    if mean(x) > 5.0 { return 0.0 }\n"
	"    return cross_entropy(model(x), y)\n"
	"  }\n"
	"}\n",
};

START_TEST(test_if_gradients)
{
	const char *src = if_programs[_i / 3];
	int sign = _i % 3; /* 0: every x > 0, 1: every x < -0.6, 2: x in (-0.5, 0) */
	Prog *p = compile(arena_new(), src);
	Graph *loss = ir_prog_graph(p, "loss");
	Graph *grad = pass_autodiff(loss, "grad");
	ck_assert_int_eq(ir_graph_verify(grad, "gradcheck"), 0);
	int64_t syms[1] = {4};
	double x[4 * 6], y[4];
	for (int i = 0; i < 24; i++)
		x[i] = sign == 0 ? 0.1 + urand() : sign == 1 ? -0.7 - urand() : -0.5 * urand();
	for (int i = 0; i < 4; i++)
		y[i] = floor(urand() * 3);
	const double *inputs[2] = {x, y};
	if (loss->outputs.n > 1) { /* the metric says which branches ran */
		double *outs[2] = {0};
		InterpArgs a = {.inputs = inputs, .syms = syms, .outputs = outs};
		a.params = calloc((size_t)ir_prog_param_numel(p), sizeof(double));
		char err[256];
		ck_assert_msg(ir_interp(loss, &a, err, sizeof err), "interp: %s", err);
		ck_assert_str_eq(loss->outputs.v[1].name, "took");
		ck_assert(outs[1][0] == (sign ? 0 : 1));
		free(outs[0]), free(outs[1]), free(a.params);
	}
	int checked = 0;
	double worst = check_gradients(p, loss, grad, inputs, syms, NULL, 1e-6, &checked);
	printf("gradcheck run-time if program %d, x %s: %d gradients, worst relative error %.3g\n", _i / 3,
	       sign == 0 ? "> 0" : sign == 1 ? "< -0.6" : "in (-0.5, 0)", checked, worst);
}
END_TEST

/* Custom grad blocks: each pair is the header of a program with grad blocks and of one without
   them that has the same values and the same derivatives (the rules restated with stop_gradient
   and grad_scale); both are completed by custom_body. The gradients must agree, and differ from
   those of the same functions without their grad blocks (round has none). */
static const char *const custom_pairs[][2] = {
	{"fn round_ste(x) { return round(x) } grad(x, dy) { return dy }\n"
	 "fn reverse_grad(x, s: float) { return x } grad(x, dy) { return -s * dy }\n",
	 "fn round_ste(x) { return x + stop_gradient(round(x) - x) }\n"
	 "fn reverse_grad(x, s: float) { return grad_scale(x, -s) }\n"},
	/* two tensor inputs (a tuple of gradients), the second one's rule scaled: not the true one */
	{"fn round_ste(x) { return round(x) } grad(u, g) { return g }\n"
	 "fn reverse_grad(x, s: float) { return mix(x, x * x, s) }\n"
	 "fn mix(a, b, s: float) { return a + s * b } grad(a, b, dy) { return (dy, 3.0 * s * dy) }\n",
	 "fn round_ste(x) { return x + stop_gradient(round(x) - x) }\n"
	 "fn reverse_grad(x, s: float) { return x + s * grad_scale(x * x, 3.0) }\n"},
};
static const char custom_body[] =
	"import std.nn\n"
	"module M() {\n"
	"  fc1 = Linear(6, 5)\n"
	"  fc2 = Linear(5, 3)\n"
	"  forward(x: f32[B, 6]) -> f32[B, 3] {\n"
	"    let h = round_ste(4.0 * tanh(fc1(x))) / 4.0\n"
	"    return fc2(reverse_grad(h, 0.5))\n"
	"  }\n"
	"}\n"
	"train t {\n"
	"  model = M()\n"
	"  loss(x: f32[B, 6], y: i32[B]) -> f32 { return cross_entropy(model(x), y) }\n"
	"}\n";

/* The interpreted outputs of autodiff(loss of src) at params, inputs (B = 4); caller frees */
static void custom_grads(const char *header, bool with_grad_blocks, const double *params, const double *const *inputs,
                         double **outs, Graph **grad)
{
	char src[2048];
	snprintf(src, sizeof src, "%s%s", header, custom_body);
	if (!with_grad_blocks) /* the same functions, their grad blocks cut off */
		for (char *g; (g = strstr(src, " grad("));)
			memmove(g, strchr(g, '}') + 1, strlen(strchr(g, '}') + 1) + 1);
	Prog *p = compile(arena_new(), src);
	*grad = pass_autodiff(ir_prog_graph(p, "loss"), "grad");
	ck_assert_int_eq(ir_graph_verify(*grad, "custom grad"), 0);
	int64_t syms[1] = {4};
	InterpArgs a = {.params = (double *)params, .inputs = inputs, .syms = syms, .outputs = outs};
	char err[256];
	ck_assert_msg(ir_interp(*grad, &a, err, sizeof err), "interp: %s", err);
}

START_TEST(test_custom_grad)
{
	double params[6 * 5 + 5 + 5 * 3 + 3], x[4 * 6], y[4];
	for (int i = 0; i < (int)(sizeof params / sizeof *params); i++)
		params[i] = urand() - 0.5;
	for (int i = 0; i < 24; i++)
		x[i] = 4 * urand() - 2;
	for (int i = 0; i < 4; i++)
		y[i] = floor(urand() * 3);
	const double *inputs[2] = {x, y};
	double *got[8] = {0}, *want[8] = {0}, *plain[8] = {0}, worst = 0, differs = 0;
	Graph *g1, *g2, *g3;
	custom_grads(custom_pairs[_i][0], true, params, inputs, got, &g1);
	custom_grads(custom_pairs[_i][1], true, params, inputs, want, &g2);
	custom_grads(custom_pairs[_i][0], false, params, inputs, plain, &g3);
	ck_assert_int_eq(g1->outputs.n, 5); /* loss, grad of fc1.weight, fc1.bias, fc2.weight, fc2.bias */
	ck_assert_int_eq(g2->outputs.n, 5);
	for (int k = 0; k < 5; k++) {
		ck_assert_str_eq(g1->outputs.v[k].name, g2->outputs.v[k].name);
		Type t = g1->outputs.v[k].node->type;
		int64_t n = 1;
		for (int d = 0; d < t.rank; d++)
			n *= t.dim[d];
		for (int64_t i = 0; i < n; i++) {
			double e = fabs(got[k][i] - want[k][i]);
			ck_assert_msg(e <= 1e-12 * fmax(1, fabs(want[k][i])), "%s[%lld]: grad block %.17g, restated rule %.17g",
			              g1->outputs.v[k].name, (long long)i, got[k][i], want[k][i]);
			worst = fmax(worst, e);
			differs = fmax(differs, fabs(got[k][i] - plain[k][i]));
		}
	}
	ck_assert_msg(differs > 1e-3, "the grad blocks change no gradient (largest change %g)", differs);
	printf("custom grad pair %d: gradients equal to the restated rule within %.3g; without grad blocks they differ by up to %.3g\n",
	       _i, worst, differs);
	for (int k = 0; k < 8; k++)
		free(got[k]), free(want[k]), free(plain[k]);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("gradcheck");
	TCase *tc = tcase_create("programs");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_program_gradients, 0, (int)(sizeof programs / sizeof *programs));
	tcase_add_loop_test(tc, test_loop_gradients, 0, NLOOP_PROGRAMS);
	tcase_add_test(tc, test_loop_random);
	tcase_add_loop_test(tc, test_if_gradients, 0, 3 * (int)(sizeof if_programs / sizeof *if_programs));
	tcase_add_loop_test(tc, test_custom_grad, 0, (int)(sizeof custom_pairs / sizeof *custom_pairs));
	suite_add_tcase(s, tc);
	SRunner *r = srunner_create(s);
	srunner_run_all(r, CK_NORMAL);
	int failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed ? 1 : 0;
}
