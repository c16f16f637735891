/* passes/update.c: lowers gradients to optimiser updates.
 *
 * Each output "grad.<param>" of the step graph (from pass_autodiff) becomes an effect
 * OPT_UPDATE(param, grad) with attr[0] = the param's index and attr[1] = the recipe's optimiser,
 * and the output is removed. The update's hyper-parameters (lr, momentum, betas, weight decay,
 * step ...) are read at run time from NND_H_*; its state (momentum, moments) lives in the
 * optimiser block at the param's offset, one slot per state tensor.
 *
 * requires: every "grad.*" output names a param of the Prog.
 * preserves: the other outputs, topological order (params and updates are appended).
 * breaks:   nothing.
 */
#include "passes/passes.h"

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

void pass_update(Graph *step)
{
	Prog *p = step->prog;
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
		int64_t attr[2] = {index, p->recipe.opt};
		Node *u = ir_op(step, OP_OPT_UPDATE, in, 2, attr, 2, NULL, o.node->loc);
		u->name = p->params.v[index].name;
		ir_graph_effect(step, u);
	}
	step->outputs.n = k;
}
