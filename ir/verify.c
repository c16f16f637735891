/* ir/verify.c: the structural invariants of a graph, checked after the front end and, with
 * --verify-each and in tests, after every pass. Each problem is one line on stderr:
 *
 *   nndc: verify after cse: graph step: %12 (add): input 1 (%40) is used before its definition
 *
 * Invariants: ids are unique; every input of a node is a node of the graph defined earlier (the
 * node list is in topological order); input counts follow ops.def; re-running the op's shape
 * rule on a copy gives the node's type; params name a Prog.params entry of the same type; the
 * INPUT nodes are exactly g->inputs, with attr[0] their position; outputs and effects are nodes of
 * the graph, and effects are OPF_EFFECT ops. Regions (a loop's body) are verified the same way,
 * have no effects, and only loop_out reads a loop.
 */
#include "ir/ir.h"

typedef struct Verify {
	const Graph *g;
	const char *when;
	int problems;
} Verify;

__attribute__((format(printf, 3, 4))) static void problem(Verify *v, const Node *n, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "nndc: verify %s: graph %s: ", v->when ? v->when : "", v->g->name ? v->g->name : "?");
	if (n)
		fprintf(stderr, "%%%d (%s): ", n->id, (unsigned)n->op < OP_COUNT ? op_info[n->op].name : "?");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	v->problems++;
}

static void verify_node(Verify *v, const Node *n, const Node **byid, const char *defined)
{
	const Graph *g = v->g;
	const Prog *p = g->prog;
	int nin = op_info[n->op].nin;
	if (nin >= 0 && n->nin != nin) {
		problem(v, n, "has %d inputs, ops.def says %d", n->nin, nin);
		return;
	}
	for (int j = 0; j < n->nin; j++) {
		const Node *in = n->in[j];
		if (!in)
			problem(v, n, "input %d is missing", j);
		else if (in->id < 0 || in->id >= g->next_id || byid[in->id] != in)
			problem(v, n, "input %d (%%%d) is not a node of the graph", j, in->id);
		else if (!defined[in->id])
			problem(v, n, "input %d (%%%d) is used before its definition", j, in->id);
		else if (op_info[in->op].flags & OPF_EFFECT)
			problem(v, n, "input %d (%%%d) is an effect, which has no value", j, in->id);
		else if ((in->op == OP_LOOP) != (n->op == OP_LOOP_OUT))
			problem(v, n, "input %d (%%%d): only loop_out reads a loop, and it reads nothing else", j, in->id);
		else if ((in->op == OP_IF) != (n->op == OP_IF_OUT))
			problem(v, n, "input %d (%%%d): only if_out reads an if, and it reads nothing else", j, in->id);
		else
			continue;
		return; /* the shape rule cannot run on a broken input */
	}
	if (n->op == OP_PARAM) {
		if (n->attr[0] < 0 || n->attr[0] >= p->params.n)
			problem(v, n, "names param %lld, the program has %d", (long long)n->attr[0], p->params.n);
		else if (!ir_type_equal(n->type, p->params.v[n->attr[0]].type))
			problem(v, n, "type differs from param '%s'", p->params.v[n->attr[0]].name);
	}
	for (int k = 0; k < n->nsub; k++) {
		const Graph *b = n->sub[k];
		if (b->effects.n)
			problem(v, n, "region %d has effects", k);
		v->problems += ir_graph_verify(b, v->when);
	}
	if (n->op == OP_LOOP && n->nsub != 1)
		problem(v, n, "a loop owns %d regions, not 1", n->nsub);
	if (n->op == OP_IF && n->nsub != 2)
		problem(v, n, "an if owns %d regions, not 2", n->nsub);
	if (n->op == OP_INPUT && (n->attr[0] < 0 || n->attr[0] >= g->inputs.n || g->inputs.v[n->attr[0]] != n))
		problem(v, n, "input node is not g->inputs[%lld]", (long long)n->attr[0]);
	Node copy = *n;
	char err[512], t1[256], t2[256];
	if (!ir_shape_infer((Graph *)g, &copy, err, sizeof err))
		problem(v, n, "shape rule fails: %s", err);
	else if (!ir_type_equal(copy.type, n->type)) {
		ir_type_format(p, n->type, t1, sizeof t1);
		ir_type_format(p, copy.type, t2, sizeof t2);
		problem(v, n, "has type %s, its shape rule gives %s", t1, t2);
	}
}

int ir_graph_verify(const Graph *g, const char *when)
{
	Verify v = {g, when, 0};
	int nid = g->next_id;
	const Node **byid = arena_alloc(g->prog->arena, sizeof *byid * ((size_t)nid + 1));
	char *defined = arena_alloc(g->prog->arena, (size_t)nid + 1);
	for (int i = 0; i < g->nodes.n; i++) {
		const Node *n = g->nodes.v[i];
		if (!n) {
			problem(&v, NULL, "node %d of the list is NULL", i);
			continue;
		}
		if ((unsigned)n->op >= OP_COUNT)
			problem(&v, n, "unknown op %d", (int)n->op);
		else if (n->id < 0 || n->id >= nid)
			problem(&v, n, "id out of range [0, %d)", nid);
		else if (byid[n->id])
			problem(&v, n, "id is used twice");
		else
			byid[n->id] = n;
	}
	for (int i = 0; i < g->nodes.n; i++) {
		const Node *n = g->nodes.v[i];
		if (!n || (unsigned)n->op >= OP_COUNT || n->id < 0 || n->id >= nid || byid[n->id] != n)
			continue;
		verify_node(&v, n, byid, defined);
		defined[n->id] = 1;
	}
	for (int i = 0; i < g->inputs.n; i++) {
		const Node *n = g->inputs.v[i];
		if (!n || n->op != OP_INPUT || n->attr[0] != i)
			problem(&v, n, "g->inputs[%d] is not an input node with attr[0] = %d", i, i);
		else if (n->id < 0 || n->id >= nid || byid[n->id] != n)
			problem(&v, n, "g->inputs[%d] is not a node of the graph", i);
	}
	for (int i = 0; i < g->outputs.n; i++) {
		const Node *n = g->outputs.v[i].node;
		if (!n || n->id < 0 || n->id >= nid || byid[n->id] != n)
			problem(&v, NULL, "output '%s' is not a node of the graph", g->outputs.v[i].name);
		else if (op_info[n->op].flags & OPF_EFFECT)
			problem(&v, n, "output '%s' is an effect, which has no value", g->outputs.v[i].name);
	}
	for (int i = 0; i < g->effects.n; i++) {
		const Node *n = g->effects.v[i];
		if (!n || n->id < 0 || n->id >= nid || byid[n->id] != n)
			problem(&v, NULL, "effect %d is not a node of the graph", i);
		else if (!(op_info[n->op].flags & OPF_EFFECT))
			problem(&v, n, "is listed as an effect but is not an OPF_EFFECT op");
	}
	for (int i = 0; i < g->nodes.n; i++) { /* every effect node must be kept by g->effects */
		const Node *n = g->nodes.v[i];
		if (!n || (unsigned)n->op >= OP_COUNT || !(op_info[n->op].flags & OPF_EFFECT))
			continue;
		int k = 0;
		while (k < g->effects.n && g->effects.v[k] != n)
			k++;
		if (k == g->effects.n)
			problem(&v, n, "effect node is not listed in g->effects");
	}
	return v.problems;
}
