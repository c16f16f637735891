/* passes/dce.c: dead code elimination.
 *
 * requires: a graph that passes ir_graph_verify.
 * preserves: topological order, outputs, effects, every INPUT node (the entry's signature), ids.
 * breaks:   nothing; nodes that no output or effect needs are dropped from g->nodes. A region
 *           (a loop's body) keeps its inputs and outputs: its own dead nodes go, the same way.
 */
#include "passes/passes.h"

void pass_dce(Graph *g)
{
	char *live = arena_alloc(g->prog->arena, (size_t)g->next_id + 1);
	for (int i = 0; i < g->outputs.n; i++)
		live[g->outputs.v[i].node->id] = 1;
	for (int i = 0; i < g->effects.n; i++)
		live[g->effects.v[i]->id] = 1;
	for (int i = 0; i < g->inputs.n; i++)
		live[g->inputs.v[i]->id] = 1;
	for (int i = g->nodes.n - 1; i >= 0; i--) { /* users come after their inputs */
		Node *n = g->nodes.v[i];
		if (op_info[n->op].flags & OPF_EFFECT)
			live[n->id] = 1;
		if (live[n->id])
			for (int j = 0; j < n->nin; j++)
				live[n->in[j]->id] = 1;
		for (int k = 0; live[n->id] && k < n->nsub; k++)
			pass_dce(n->sub[k]);
	}
	int k = 0;
	for (int i = 0; i < g->nodes.n; i++)
		if (live[g->nodes.v[i]->id])
			g->nodes.v[k++] = g->nodes.v[i];
	g->nodes.n = k;
}
