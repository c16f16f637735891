/* tests/unit/test_gradcheck.c: gradients of whole programs, through the real front end.
 *
 * Each case is a .nnd recipe. It is parsed and elaborated like `nndc build` does, its loss graph
 * differentiated by passes/autodiff.c, and every parameter's gradient (evaluated in float64 by
 * the reference interpreter) compared with central finite differences of the loss.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lang/lang.h"
#include "passes/passes.h"

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

START_TEST(test_program_gradients)
{
	Arena *ar = arena_new();
	Ast *prog = parse_string(ar, "gradcheck.nnd", programs[_i], strlen(programs[_i]));
	ck_assert_ptr_nonnull(prog);
	ElabOptions eo = {.stdlib_dir = "stdlib"};
	Prog *p = sema_program(ar, prog, &eo);
	if (!p)
		diag_flush(stderr);
	ck_assert_ptr_nonnull(p);
	Graph *loss = ir_prog_graph(p, "loss");
	ck_assert_ptr_nonnull(loss);
	Graph *grad = pass_autodiff(loss, "grad");

	int64_t syms[1] = {4};
	int64_t np = ir_prog_param_numel(p);
	double *params = malloc(sizeof(double) * (size_t)np);
	for (int64_t i = 0; i < np; i++)
		params[i] = urand() - 0.5;
	double x[4 * 6], y[4];
	for (int i = 0; i < 24; i++)
		x[i] = floor(urand() * 256);
	for (int i = 0; i < 4; i++)
		y[i] = floor(urand() * 3);
	const double *inputs[2] = {x, y};
	InterpArgs a = {.params = params, .inputs = inputs, .syms = syms};

	char err[256];
	double *outs[64] = {0};
	a.outputs = outs;
	ck_assert_int_le(grad->outputs.n, 64);
	ck_assert_msg(ir_interp(grad, &a, err, sizeof err), "interp: %s", err);

	double worst = 0;
	int64_t off = 0;
	int checked = 0;
	for (int pi = 0; pi < p->params.n; pi++) {
		Param *prm = &p->params.v[pi];
		int64_t n = 1;
		for (int d = 0; d < prm->type.rank; d++)
			n *= prm->type.dim[d];
		const char *want = str_intern(arena_printf(ar, "grad.%s", prm->name));
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
			double rel = fabs(fd - g[i]) / fmax(fmax(fabs(fd), fabs(g[i])), 1e-6);
			if (rel > worst)
				worst = rel;
			ck_assert_msg(rel < 1e-4, "%s[%lld]: autodiff %.10g, finite differences %.10g (relative error %.3g)",
			              prm->name, (long long)i, g[i], fd, rel);
			checked++;
		}
		off += n;
	}
	printf("gradcheck program %d: %d gradients, worst relative error %.3g\n", _i, checked, worst);
	for (int k = 0; k < grad->outputs.n; k++)
		free(outs[k]);
	free(params);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("gradcheck");
	TCase *tc = tcase_create("programs");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_program_gradients, 0, (int)(sizeof programs / sizeof *programs));
	suite_add_tcase(s, tc);
	SRunner *r = srunner_create(s);
	srunner_run_all(r, CK_NORMAL);
	int failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed ? 1 : 0;
}
