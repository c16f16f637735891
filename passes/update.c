/* passes/update.c: lowers gradients to optimiser updates.
 *
 * Each output "grad.<param>" of the step graph (from pass_autodiff) becomes an effect
 * OPT_UPDATE(param, grad) with attr[0] = the param's index and attr[1] = the optimiser of its
 * parameter group, and the output is removed. A param in a group g >= 1 (`optimizer model.fc1 =
 * ...`, lang/recipe.c) also has attr[2] = g: its hyper-parameters are row g of NND_H_*. The update's hyper-parameters (lr, momentum, betas, weight decay,
 * step ...) are read at run time from NND_H_*; its state (momentum, moments) lives in the
 * optimiser block at the param's offset, one slot per state tensor.
 *
 * Before the update, in this order:
 * - with the recipe's `accumulate`, each gradient goes through GRAD_ACC: the sum of the
 *   micro-batches' gradients weighted by hyper[NND_H_ACC_W] (b / the step's examples), kept in
 *   the gradient block (NndCall.grads); the runtime sets hyper[NND_H_SKIP] on every micro-batch
 *   but the last, and the updates then return at once;
 * - with the recipe's grad_noise (Neelakantan et al. 2015), each gradient gets Gaussian noise of
 *   standard deviation hyper[NND_H_NOISE] = sqrt(eta / (1 + step)^gamma), drawn by RAND from
 *   (a salt per parameter, step, seed): the same after --resume, other noise for another seed;
 * - with the recipe's clip_grad_norm (torch.nn.utils.clip_grad_norm_), every gradient is
 *   multiplied by min(1, max_norm / (norm + 1e-6)), norm = sqrt(sum of every gradient's squares),
 *   max_norm = hyper[NND_H_CLIP]; the sums are taken in f64. Clipping comes after the noise, so
 *   the norm bounds what the optimiser sees.
 * The updates read the resulting gradients, so they run after them (codegen runs an effect once
 * its inputs exist).
 *
 * requires: every "grad.*" output names a param of the Prog.
 * preserves: the other outputs, topological order (params and updates are appended).
 * breaks:   nothing.
 */
#include "passes/passes.h"
#include "runtime/nnd_model.h"

#include <string.h>


static int param_index(const Prog *p, const char *name)
{
	for (int i = 0; i < p->params.n; i++)
		if (strcmp(p->params.v[i].name, name) == 0)
			return i;
	return -1;
}

static Node *param_node(Graph *g, int index)
{
	for (int i = 0; i < g->nodes.n; i++)
		if (g->nodes.v[i]->op == OP_PARAM && g->nodes.v[i]->attr[0] == index)
			return g->nodes.v[i];
	return ir_param(g, index, g->prog->params.v[index].loc);
}

static Node *hyper(Graph *g, int64_t h, Loc loc)
{
	Type f32 = ir_scalar_type(TY_F32);
	return ir_op(g, OP_HYPER, NULL, 0, &h, 1, &f32, loc);
}

/* grads[i] *= min(1, hyper[NND_H_CLIP] / (sqrt(sum_i sum(grads[i]^2)) + 1e-6)) */
static void clip_grads(Graph *g, Node **grads, int n)
{
	if (!n)
		return;
	Loc loc = grads[0]->loc;
	Node *total = NULL;
	for (int i = 0; i < n; i++) {
		Type t = grads[i]->type;
		t.dtype = TY_F64;
		Node *x = ir_op(g, OP_CAST, &grads[i], 1, NULL, 0, &t, loc);
		Node *sq = ir_op2(g, OP_MUL, x, x, loc);
		int64_t attr[2] = {(int64_t)((1ull << t.rank) - 1), 0};
		if (t.rank)
			sq = ir_op(g, OP_SUM, &sq, 1, attr, 2, NULL, loc);
		total = total ? ir_op2(g, OP_ADD, total, sq, loc) : sq;
	}
	Node *norm = ir_op2(g, OP_ADD, ir_op1(g, OP_SQRT, total, loc), ir_const(g, TY_F64, 1e-6, loc), loc);
	Type f32 = ir_scalar_type(TY_F32), f64 = ir_scalar_type(TY_F64);
	Node *max = hyper(g, NND_H_CLIP, loc);
	max = ir_op(g, OP_CAST, &max, 1, NULL, 0, &f64, loc);
	Node *coef = ir_op2(g, OP_MINIMUM, ir_op2(g, OP_DIV, max, norm, loc), ir_const(g, TY_F64, 1.0, loc), loc);
	coef = ir_op(g, OP_CAST, &coef, 1, NULL, 0, &f32, loc);
	for (int i = 0; i < n; i++)
		grads[i] = ir_op2(g, OP_MUL, grads[i], coef, loc);
}

/* grads[i] = GRAD_ACC(grads[i], hyper[NND_H_ACC_W], hyper[NND_H_ACC_KEEP]) of param index[i] */
static void accumulate_grads(Graph *g, Node **grads, const int *index, int n)
{
	for (int i = 0; i < n; i++) {
		Loc loc = grads[i]->loc;
		Node *in[3] = {grads[i], hyper(g, NND_H_ACC_W, loc), hyper(g, NND_H_ACC_KEEP, loc)};
		grads[i] = ir_op(g, OP_GRAD_ACC, in, 3, (int64_t[]){index[i]}, 1, NULL, loc);
	}
}

/* grads[i] += hyper[NND_H_NOISE] * randn(shape), salted by the param's index */
static void noise_grads(Graph *g, Node **grads, const int *index, int n)
{
	for (int i = 0; i < n; i++) {
		Loc loc = grads[i]->loc;
		Node *in[2] = {hyper(g, NND_H_STEP, loc), hyper(g, NND_H_SEED, loc)};
		int64_t attr[2] = {(int64_t)((0x6e6f697365ull + 1000003ull * (uint64_t)index[i]) & 0x7fffffffffffull), 1};
		Node *z = ir_op(g, OP_RAND, in, 2, attr, 2, &grads[i]->type, loc);
		grads[i] = ir_op2(g, OP_ADD, grads[i], ir_op2(g, OP_MUL, z, hyper(g, NND_H_NOISE, loc), loc), loc);
	}
}

void pass_update(Graph *step)
{
	Prog *p = step->prog;
	Node **grads = arena_alloc(p->arena, sizeof(Node *) * (size_t)(step->outputs.n + 1));
	int *index = arena_alloc(p->arena, sizeof(int) * (size_t)(step->outputs.n + 1)), n = 0;
	for (int i = 0; i < step->outputs.n; i++)
		if (!strncmp(step->outputs.v[i].name, "grad.", 5)) {
			index[n] = param_index(p, step->outputs.v[i].name + 5);
			if (index[n] < 0)
				BUG("pass_update: output %s names no param", step->outputs.v[i].name);
			grads[n++] = step->outputs.v[i].node;
		}
	if (p->recipe.accumulate > 0)
		accumulate_grads(step, grads, index, n);
	if (p->recipe.noise_eta > 0)
		noise_grads(step, grads, index, n);
	if (p->recipe.clip_grad_norm > 0)
		clip_grads(step, grads, n);
	n = 0;
	for (int i = 0; i < step->outputs.n; i++)
		if (!strncmp(step->outputs.v[i].name, "grad.", 5))
			step->outputs.v[i].node = grads[n++];
	int k = 0;
	for (int i = 0; i < step->outputs.n; i++) {
		Output o = step->outputs.v[i];
		if (strncmp(o.name, "grad.", 5) != 0) {
			step->outputs.v[k++] = o;
			continue;
		}
		int index = param_index(p, o.name + 5);
		if (index < 0)
			BUG("pass_update: output %s names no param", o.name);
		Node *in[2] = {param_node(step, index), o.node};
		int group = p->params.v[index].group;
		int64_t attr[3] = {index, group ? p->groups.v[group - 1].opt : p->recipe.opt, group};
		Node *u = ir_op(step, OP_OPT_UPDATE, in, 2, attr, group ? 3 : 2, NULL, o.node->loc);
		u->name = p->params.v[index].name;
		ir_graph_effect(step, u);
	}
	step->outputs.n = k;
}
