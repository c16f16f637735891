/* passes/constfold.c: constant folding of scalars.
 *
 * A node whose inputs are all rank-0 CONSTs and whose result is rank 0 (not a leaf, not an
 * effect) is replaced by a CONST holding its value, computed by the reference interpreter
 * (ir/interp.c), so folding means exactly what the op means. Chains fold in one walk.
 *
 * requires: a graph that passes ir_graph_verify.
 * preserves: topological order (the constant takes the folded node's place), outputs, effects.
 * breaks:   nothing; the folded inputs may become dead (run pass_dce after). Loops are not
 *           folded; their bodies are folded the same way, on their own.
 */
#include "passes/passes.h"

#include <stdlib.h>

static bool foldable(const Node *n)
{
	if ((op_info[n->op].flags & (OPF_LEAF | OPF_EFFECT)) || n->type.rank != 0 || n->nsub || n->op == OP_LOOP_OUT)
		return false;
	for (int j = 0; j < n->nin; j++)
		if (n->in[j]->op != OP_CONST || n->in[j]->type.rank != 0)
			return false;
	return true;
}

/* Evaluates n alone: a scratch graph holding its inputs and n, not added to the Prog */
static bool fold_value(Graph *g, Node *n, double *out)
{
	Graph tmp = {.prog = g->prog, .name = "constfold", .next_id = g->next_id};
	for (int j = 0; j < n->nin; j++)
		vec_push(&tmp.nodes, n->in[j]);
	vec_push(&tmp.nodes, n);
	vec_push(&tmp.outputs, ((Output){"value", n}));
	double *res[1] = {NULL};
	InterpArgs a = {.outputs = res};
	char err[256];
	bool ok = ir_interp(&tmp, &a, err, sizeof err);
	if (ok)
		*out = res[0][0];
	free(res[0]);
	free(tmp.nodes.v);
	free(tmp.outputs.v);
	return ok;
}

void pass_constfold(Graph *g)
{
	Arena *ar = g->prog->arena;
	Node **repl = arena_alloc(ar, sizeof *repl * (size_t)(g->next_id + 1));
	int nold = g->nodes.n;
	Node **old = arena_alloc(ar, sizeof *old * (size_t)(nold ? nold : 1));
	for (int i = 0; i < nold; i++)
		old[i] = g->nodes.v[i];
	g->nodes.n = 0; /* rebuilt in order; ir_op appends the new constants in place */
	for (int i = 0; i < nold; i++) {
		Node *n = old[i];
		for (int k = 0; k < n->nsub; k++)
			pass_constfold(n->sub[k]);
		for (int j = 0; j < n->nin; j++)
			if (repl[n->in[j]->id])
				n->in[j] = repl[n->in[j]->id];
		double v;
		if (foldable(n) && fold_value(g, n, &v)) {
			Node *c = ir_op(g, OP_CONST, NULL, 0, NULL, 0, &n->type, n->loc);
			c->fval = v;
			c->name = n->name;
			repl[n->id] = c;
		} else {
			vec_push(&g->nodes, n);
		}
	}
	for (int i = 0; i < g->outputs.n; i++)
		if (repl[g->outputs.v[i].node->id])
			g->outputs.v[i].node = repl[g->outputs.v[i].node->id];
}
