/* passes/update.c: lowers gradients to optimiser updates.
 *
 * Each output "grad.<param>" of the step graph (from pass_autodiff) becomes an effect
 * OPT_UPDATE(param, grad) with attr[0] = the param's index and attr[1] = the optimiser of its
 * parameter group, and the output is removed. A param in a group g >= 1 (`optimizer model.fc1 =
 * ...`, lang/recipe.c) also has attr[2] = g: its hyper-parameters are row g of NND_H_*. The update's hyper-parameters (lr, momentum, betas, weight decay,
 * step ...) are read at run time from NND_H_*; its state (momentum, moments) lives in the
 * optimiser block at the param's offset, one slot per state tensor.
 *
 * With the recipe's clip_grad_norm (torch.nn.utils.clip_grad_norm_), every gradient is first
 * multiplied by min(1, max_norm / (norm + 1e-6)), norm = sqrt(sum of every gradient's squares),
 * max_norm = hyper[NND_H_CLIP]; the sums are taken in f64. The updates read the scaled
 * gradients, so they run after the norm (codegen runs an effect once its inputs exist).
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
	int64_t h = NND_H_CLIP;
	Node *max = ir_op(g, OP_HYPER, NULL, 0, &h, 1, &f32, loc);
	max = ir_op(g, OP_CAST, &max, 1, NULL, 0, &f64, loc);
	Node *coef = ir_op2(g, OP_MINIMUM, ir_op2(g, OP_DIV, max, norm, loc), ir_const(g, TY_F64, 1.0, loc), loc);
	coef = ir_op(g, OP_CAST, &coef, 1, NULL, 0, &f32, loc);
	for (int i = 0; i < n; i++)
		grads[i] = ir_op2(g, OP_MUL, grads[i], coef, loc);
}

void pass_update(Graph *step)
{
	Prog *p = step->prog;
	if (p->recipe.clip_grad_norm > 0) {
		Node **grads = arena_alloc(p->arena, sizeof(Node *) * (size_t)(step->outputs.n + 1));
		int n = 0;
		for (int i = 0; i < step->outputs.n; i++)
			if (!strncmp(step->outputs.v[i].name, "grad.", 5))
				grads[n++] = step->outputs.v[i].node;
		clip_grads(step, grads, n);
		n = 0;
		for (int i = 0; i < step->outputs.n; i++)
			if (!strncmp(step->outputs.v[i].name, "grad.", 5))
				step->outputs.v[i].node = grads[n++];
	}
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
