/* ir/print.c: the textual IR, which ir/read.c reads back. One line per node:
 *
 *   %7 = matmul %5, %6 [0, 1] : f32[B, 256]  # h @ mlp.nnd:8:13
 *
 * result id, op, inputs, attributes in brackets (see ops.def), result type, then after '#' the
 * source name the value was bound to and its location. A node's number (CONST's value, or any
 * other op's non-zero fval) prints in parentheses after the op; params print their name. Numbers
 * print in the shortest form that reads back to the same double. See ir/README.md.
 */
#include "ir/ir.h"

#include <stdlib.h>
#include <string.h>

/* How many init_args each initialiser uses (more print when non-zero) */
static const int init_nargs[INIT_COUNT] = {
	[INIT_CONSTANT] = 1, [INIT_NORMAL] = 2, [INIT_UNIFORM] = 2, [INIT_KAIMING_UNIFORM] = 1,
	[INIT_KAIMING_NORMAL] = 1, [INIT_XAVIER_UNIFORM] = 1, [INIT_XAVIER_NORMAL] = 1, [INIT_ORTHOGONAL] = 1,
};

static void print_num(FILE *f, double v)
{
	char buf[64];
	for (int prec = 6; prec <= 17; prec++) {
		snprintf(buf, sizeof buf, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	fputs(buf, f);
}

static void print_comment(FILE *f, const char *name, Loc loc)
{
	if (!name && !loc.file)
		return;
	fprintf(f, "  #");
	if (name)
		fprintf(f, " %s", name);
	if (loc.file)
		fprintf(f, " @ %s:%d:%d", loc.file, loc.line, loc.col);
}

static void print_graph(FILE *f, const Graph *g, int depth);

static void indent(FILE *f, int depth)
{
	for (int i = 0; i <= depth; i++)
		fputs("  ", f);
}

static void print_node(FILE *f, const Graph *g, const Node *n, int depth)
{
	char ty[512];
	ir_type_format(g->prog, n->type, ty, sizeof ty);
	indent(f, depth);
	fprintf(f, "%%%d = %s", n->id, op_info[n->op].name);
	if (n->op == OP_CONST || n->fval != 0) {
		fprintf(f, " (");
		print_num(f, n->fval);
		fputc(')', f);
	}
	bool pname = n->op == OP_PARAM && n->nattr == 1 && n->attr[0] >= 0 && n->attr[0] < g->prog->params.n;
	if (pname)
		fprintf(f, " \"%s\"", g->prog->params.v[n->attr[0]].name);
	for (int i = 0; i < n->nin; i++)
		fprintf(f, "%s%%%d", i ? ", " : " ", n->in[i]->id);
	if (n->nattr && !pname) {
		fprintf(f, " [");
		for (int i = 0; i < n->nattr; i++) {
			char d[128];
			if (n->op == OP_LOOP && i == 0) /* the trip count is a size */
				ir_dim_format(g->prog, n->attr[0], d, sizeof d);
			else
				snprintf(d, sizeof d, "%lld", (long long)n->attr[i]);
			fprintf(f, "%s%s", i ? ", " : "", d);
		}
		fprintf(f, "]");
	}
	fprintf(f, " : %s", ty);
	if (n->nsub)
		fputs(" {", f);
	print_comment(f, n->name, n->loc);
	fputc('\n', f);
	if (!n->nsub)
		return;
	for (int k = 0; k < n->nsub; k++)
		print_graph(f, n->sub[k], depth + 2);
	indent(f, depth);
	fputs("}\n", f);
}

/* Effects are the OPF_EFFECT nodes in node order; the reader rebuilds Graph.effects from them.
   A region prints as `name(inputs) { nodes return }`, indented inside its owner's braces. */
static void print_graph(FILE *f, const Graph *g, int depth)
{
	if (depth)
		indent(f, depth - 1);
	fprintf(f, "%s%s(", depth ? "" : "graph ", g->name);
	for (int i = 0; i < g->inputs.n; i++) {
		char ty[512];
		const Node *n = g->inputs.v[i];
		ir_type_format(g->prog, n->type, ty, sizeof ty);
		fprintf(f, "%s%%%d %s: %s", i ? ", " : "", n->id, n->name ? n->name : "_", ty);
	}
	fprintf(f, ") {\n");
	for (int i = 0; i < g->nodes.n; i++)
		if (g->nodes.v[i]->op != OP_INPUT)
			print_node(f, g, g->nodes.v[i], depth);
	indent(f, depth);
	fprintf(f, "return");
	for (int i = 0; i < g->outputs.n; i++)
		fprintf(f, "%s %s = %%%d", i ? "," : "", g->outputs.v[i].name, g->outputs.v[i].node->id);
	fputc('\n', f);
	if (depth)
		indent(f, depth - 1);
	fprintf(f, "}\n");
}

void ir_graph_print(FILE *f, const Graph *g) { print_graph(f, g, 0); }

static void print_param(FILE *f, const Prog *p, const Param *q)
{
	char ty[512];
	ir_type_format(p, q->type, ty, sizeof ty);
	fprintf(f, "%s \"%s\" : %s = %s(", q->kind == PK_STATE ? "state" : "param", q->name, ty, init_name[q->init]);
	int n = 4;
	while (n > init_nargs[q->init] && q->init_args[n - 1] == 0)
		n--;
	for (int i = 0; i < n; i++) {
		if (i)
			fputs(", ", f);
		print_num(f, q->init_args[i]);
	}
	fputc(')', f);
	if (q->kind == PK_PARAM && !q->trainable)
		fputs(" frozen", f);
	if (q->kind == PK_STATE && q->trainable)
		fputs(" trainable", f);
	if (q->group)
		fprintf(f, " group %d", q->group);
	if (q->from)
		fprintf(f, " from \"%s\" \"%s\"", q->from, q->from_name ? q->from_name : "");
	print_comment(f, NULL, q->loc);
	fputc('\n', f);
}

/* One line of a recipe's settings, those that are not zero: part 0 the run, 1 the optimiser
   (after `optimizer = NAME`), 2 the schedule (after `schedule = NAME`); nothing for an empty part 0 */
static void print_settings(FILE *f, const Recipe *r, int part)
{
	const char *sep = "  ";
	if (part)
		fprintf(f, "  %s = %s", part == 1 ? "optimizer" : "schedule", part == 1 ? opt_name[r->opt] : sched_name[r->sched]);
	if (part)
		sep = ", ";
	for (const RecipeField *rf = recipe_fields; rf->name; rf++) {
		const char *at = (const char *)r + rf->offset;
		if (rf->part != part || (rf->type == 'i' ? !*(const int64_t *)at : rf->type == 'd' ? *(const double *)at == 0
		                                                                                     : !*(const bool *)at))
			continue;
		fprintf(f, "%s%s = ", sep, rf->name);
		sep = ", ";
		if (rf->type == 'i')
			fprintf(f, "%lld", (long long)*(const int64_t *)at);
		else if (rf->type == 'd')
			print_num(f, *(const double *)at);
		else
			fputs("true", f);
	}
	if (part || *sep == ',')
		fputc('\n', f);
}

/* `data = npy(x: "x.npy", y: "y.npy")`: the kind, then its files (each with the loss input it
   feeds, when named), a csv's label column, a text's sequence length */
static void print_source(FILE *f, const char *field, const DataSource *d)
{
	if (d->kind == DATA_NONE)
		return;
	fprintf(f, "  %s = %s(", field, data_name[d->kind]);
	for (int i = 0; i < d->npaths; i++)
		fprintf(f, "%s%s%s\"%s\"", i ? ", " : "", d->names[i] ? d->names[i] : "", d->names[i] ? ": " : "", d->paths[i]);
	if (d->label)
		fprintf(f, ", label: \"%s\"", d->label);
	if (d->seq)
		fprintf(f, ", seq: %lld", (long long)d->seq);
	fputs(")\n", f);
}

/* The recipe, then each parameter group's optimiser and schedule (the rest is the recipe's) */
static void print_recipe(FILE *f, const Prog *p)
{
	const Recipe *r = &p->recipe;
	fprintf(f, "\nrecipe %s {\n", r->name ? r->name : "_");
	for (int part = 0; part < 3; part++)
		print_settings(f, r, part);
	print_source(f, "data", &r->data);
	print_source(f, "valid", &r->valid);
	if (r->metrics.n) {
		fputs("  metrics = [", f);
		for (int i = 0; i < r->metrics.n; i++)
			fprintf(f, "%s%s", i ? ", " : "", r->metrics.v[i]);
		fputs("]\n", f);
	}
	fputs("}\n", f);
	for (int g = 0; g < p->groups.n; g++) {
		fprintf(f, "group %d {\n", g + 1);
		print_settings(f, &p->groups.v[g], 1);
		print_settings(f, &p->groups.v[g], 2);
		fputs("}\n", f);
	}
}

void ir_prog_print(FILE *f, const Prog *p)
{
	for (int i = 0; i < p->syms.n; i++)
		fprintf(f, "sym %s\n", p->syms.v[i]);
	for (int i = 0; i < p->params.n; i++)
		print_param(f, p, &p->params.v[i]);
	if (p->has_recipe)
		print_recipe(f, p);
	for (int i = 0; i < p->graphs.n; i++) {
		fputc('\n', f);
		ir_graph_print(f, p->graphs.v[i]);
	}
}

/* Graphviz: one box per node (op, type), edges from inputs, outputs as ellipses. */
static void dot_escape(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		fputc(*s, f);
	}
}

void ir_graph_print_dot(FILE *f, const Graph *g)
{
	fprintf(f, "digraph \"%s\" {\n  node [shape=box, fontname=monospace];\n", g->name);
	for (int i = 0; i < g->nodes.n; i++) {
		const Node *n = g->nodes.v[i];
		char ty[512];
		ir_type_format(g->prog, n->type, ty, sizeof ty);
		fprintf(f, "  n%d [label=\"%%%d %s", n->id, n->id, op_info[n->op].name);
		if (n->op == OP_CONST) {
			fputc(' ', f);
			print_num(f, n->fval);
		}
		const char *name = n->name;
		if (!name && n->op == OP_PARAM && n->attr[0] >= 0 && n->attr[0] < g->prog->params.n)
			name = g->prog->params.v[n->attr[0]].name;
		if (name) {
			fputc(' ', f);
			dot_escape(f, name);
		}
		fprintf(f, "\\n%s\"%s];\n", ty,
		        n->op == OP_INPUT || n->op == OP_PARAM ? ", style=filled, fillcolor=lightgrey"
		        : op_info[n->op].flags & OPF_EFFECT ? ", style=filled, fillcolor=lightpink" : "");
		for (int k = 0; k < n->nin; k++)
			fprintf(f, "  n%d -> n%d;\n", n->in[k]->id, n->id);
	}
	for (int i = 0; i < g->outputs.n; i++) {
		fprintf(f, "  out%d [shape=ellipse, label=\"", i);
		dot_escape(f, g->outputs.v[i].name);
		fprintf(f, "\"];\n  n%d -> out%d;\n", g->outputs.v[i].node->id, i);
	}
	fprintf(f, "}\n");
}
