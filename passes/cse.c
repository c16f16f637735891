/* passes/cse.c: common subexpression elimination.
 *
 * Two nodes are the same value when they have the same op, the same inputs (after merging),
 * attributes, fval and type: leaves too, so two reads of one PARAM or HYPER (by attr) and two
 * CONSTs of one value and type become one node. INPUT nodes and effects are never merged. Two
 * loops merge only when they own the same body; each region is cleaned the same way, on its own.
 *
 * requires: a graph that passes ir_graph_verify.
 * preserves: topological order (a node is replaced by an earlier one), outputs, effects, inputs.
 * breaks:   the names of merged nodes (the first node's name stays). Merged nodes are removed
 *           from g->nodes, so nothing dead is left behind.
 */
#include "passes/passes.h"

#include <string.h>

static uint64_t node_hash(const Node *n)
{
	uint64_t h = 1469598103934665603ull;
#define MIX(x) (h = (h ^ (uint64_t)(x)) * 1099511628211ull)
	MIX(n->op);
	MIX(n->type.dtype);
	MIX(n->type.rank);
	for (int i = 0; i < n->type.rank; i++)
		MIX(n->type.dim[i]);
	for (int i = 0; i < n->nin; i++)
		MIX(n->in[i]->id);
	for (int i = 0; i < n->nattr; i++)
		MIX(n->attr[i]);
	uint64_t f;
	memcpy(&f, &n->fval, sizeof f);
	MIX(f);
#undef MIX
	return h;
}

static bool node_same(const Node *a, const Node *b)
{
	if (a->op != b->op || a->nin != b->nin || a->nattr != b->nattr || a->nsub != b->nsub || !ir_type_equal(a->type, b->type))
		return false;
	for (int i = 0; i < a->nsub; i++) /* regions: the same body only */
		if (a->sub[i] != b->sub[i])
			return false;
	if (memcmp(&a->fval, &b->fval, sizeof a->fval) != 0)
		return false;
	for (int i = 0; i < a->nin; i++)
		if (a->in[i] != b->in[i])
			return false;
	for (int i = 0; i < a->nattr; i++)
		if (a->attr[i] != b->attr[i])
			return false;
	return true;
}

void pass_cse(Graph *g)
{
	Arena *ar = g->prog->arena;
	Node **repl = arena_alloc(ar, sizeof *repl * (size_t)(g->next_id + 1));
	size_t cap = 16;
	while (cap < 2 * (size_t)g->nodes.n)
		cap *= 2;
	Node **tab = arena_alloc(ar, sizeof *tab * cap);
	int k = 0;
	for (int i = 0; i < g->nodes.n; i++) {
		Node *n = g->nodes.v[i];
		for (int k = 0; k < n->nsub; k++)
			pass_cse(n->sub[k]);
		for (int j = 0; j < n->nin; j++)
			if (repl[n->in[j]->id])
				n->in[j] = repl[n->in[j]->id];
		g->nodes.v[k++] = n;
		if (n->op == OP_INPUT || (op_info[n->op].flags & OPF_EFFECT))
			continue;
		size_t s = node_hash(n) & (cap - 1);
		while (tab[s] && !node_same(tab[s], n))
			s = (s + 1) & (cap - 1);
		if (!tab[s]) {
			tab[s] = n;
		} else {
			repl[n->id] = tab[s];
			k--;
		}
	}
	g->nodes.n = k;
	for (int i = 0; i < g->outputs.n; i++)
		if (repl[g->outputs.v[i].node->id])
			g->outputs.v[i].node = repl[g->outputs.v[i].node->id];
}
