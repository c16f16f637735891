/* ir/print.c: the textual IR. One line per node:
 *
 *   %7 = matmul %5, %6 [0, 1] : f32[B, 256]  # h @ mlp.nnd:8:13
 *
 * result id, op, inputs, attributes in brackets (see ops.def), result type, then after '#' the
 * source name the value was bound to and its location. Constants print their value in
 * parentheses; params and inputs print their name. See ir/README.md.
 */
#include "ir/ir.h"

static void print_loc(FILE *f, Loc loc)
{
	if (loc.file)
		fprintf(f, " @ %s:%d:%d", loc.file, loc.line, loc.col);
}

static void print_node(FILE *f, const Graph *g, const Node *n)
{
	char ty[512];
	ir_type_format(g->prog, n->type, ty, sizeof ty);
	fprintf(f, "  %%%d = %s", n->id, op_info[n->op].name);
	if (n->op == OP_CONST)
		fprintf(f, " (%.9g)", n->fval);
	if (n->op == OP_PARAM)
		fprintf(f, " \"%s\"", g->prog->params.v[n->attr[0]].name);
	for (int i = 0; i < n->nin; i++)
		fprintf(f, "%s%%%d", i ? ", " : " ", n->in[i]->id);
	if (n->nattr && n->op != OP_PARAM) {
		fprintf(f, " [");
		for (int i = 0; i < n->nattr; i++)
			fprintf(f, "%s%lld", i ? ", " : "", (long long)n->attr[i]);
		fprintf(f, "]");
	}
	fprintf(f, " : %s", ty);
	if (n->name || n->loc.file) {
		fprintf(f, "  #");
		if (n->name)
			fprintf(f, " %s", n->name);
		print_loc(f, n->loc);
	}
	fputc('\n', f);
}

void ir_graph_print(FILE *f, const Graph *g)
{
	fprintf(f, "graph %s(", g->name);
	for (int i = 0; i < g->inputs.n; i++) {
		char ty[512];
		const Node *n = g->inputs.v[i];
		ir_type_format(g->prog, n->type, ty, sizeof ty);
		fprintf(f, "%s%%%d %s: %s", i ? ", " : "", n->id, n->name ? n->name : "_", ty);
	}
	fprintf(f, ") {\n");
	for (int i = 0; i < g->nodes.n; i++)
		if (g->nodes.v[i]->op != OP_INPUT)
			print_node(f, g, g->nodes.v[i]);
	fprintf(f, "  return");
	for (int i = 0; i < g->outputs.n; i++)
		fprintf(f, "%s %s = %%%d", i ? "," : "", g->outputs.v[i].name, g->outputs.v[i].node->id);
	fprintf(f, "\n}\n");
}

void ir_prog_print(FILE *f, const Prog *p)
{
	for (int i = 0; i < p->syms.n; i++)
		fprintf(f, "sym %s\n", p->syms.v[i]);
	for (int i = 0; i < p->params.n; i++) {
		const Param *q = &p->params.v[i];
		char ty[512];
		ir_type_format(p, q->type, ty, sizeof ty);
		fprintf(f, "%s \"%s\" : %s = %s(%g, %g)%s", q->kind == PK_STATE ? "state" : "param", q->name, ty,
		        init_name[q->init], q->init_args[0], q->init_args[1], q->trainable ? "" : " frozen");
		if (q->loc.file)
			fprintf(f, "  #");
		print_loc(f, q->loc);
		fputc('\n', f);
	}
	for (int i = 0; i < p->graphs.n; i++) {
		fputc('\n', f);
		ir_graph_print(f, p->graphs.v[i]);
	}
}
