/* passes/autodiff.c: reverse-mode differentiation of a loss graph.
 *
 * pass_autodiff(loss, "step") builds a new graph that recomputes loss's nodes (copied in order,
 * inputs first so their positions stay), keeps all of loss's outputs, and appends the backward
 * pass: the adjoint of output 0 is 1, and walking the forward nodes in reverse each node's rule
 * (one per op, in rule[] below) adds its inputs' adjoints. Several uses accumulate by ADD. An
 * operand that was implicitly broadcast receives SUM_TO(adjoint, operand type). Only values that
 * are floats, depend on a trainable param and are not OPF_NOGRAD get adjoints.
 *
 * requires: output 0 of loss is a float scalar; loss passes ir_graph_verify.
 * gives:    outputs = loss's outputs, then "grad.<param>" for every trainable param in
 *           Prog.params order (a zero constant of the param's type where the loss does not
 *           depend on it). Leaves dead forward nodes behind for pass_dce.
 *
 * Choices: max (reduction) splits the gradient evenly between tied maxima (as torch.amax);
 * maximum/minimum give a tie's gradient to the first operand; relu's derivative at 0 is 0.
 */
#include "passes/passes.h"

#include <string.h>

typedef struct AD {
	Graph *g;
	Node **adj;   /* by node id (forward nodes only) */
	char *needs;  /* by node id: the value depends on a trainable param */
	Loc loc;      /* of the forward node whose rule runs: backward nodes point at it */
} AD;

typedef void (*Rule)(AD *ad, Node *y, Node *dy);

/* ---- builders ---- */

static Node *op1(AD *ad, Op op, Node *a) { return ir_op1(ad->g, op, a, ad->loc); }
static Node *op2(AD *ad, Op op, Node *a, Node *b) { return ir_op2(ad->g, op, a, b, ad->loc); }
static Node *opt(AD *ad, Op op, Node *a, Type t) { return ir_op(ad->g, op, &a, 1, NULL, 0, &t, ad->loc); }
static Node *cnst(AD *ad, Node *like, double v) { return ir_const(ad->g, like->type.dtype, v, ad->loc); }

static Node *where(AD *ad, Node *c, Node *a, Node *b)
{
	Node *in[3] = {c, a, b};
	return ir_op(ad->g, OP_WHERE, in, 3, NULL, 0, NULL, ad->loc);
}

static Node *matmul(AD *ad, Node *a, Node *b, int ta, int tb)
{
	Node *in[2] = {a, b};
	int64_t attr[2] = {ta, tb};
	return ir_op(ad->g, OP_MATMUL, in, 2, attr, 2, NULL, ad->loc);
}

static bool same_dims(Type a, Type b)
{
	a.dtype = b.dtype;
	return ir_type_equal(a, b);
}

/* Adds d to x's adjoint, summing it down to x's type where x was broadcast */
static void acc(AD *ad, Node *x, Node *d)
{
	if (!ad->needs[x->id])
		return;
	if (d->type.dtype != x->type.dtype)
		BUG("autodiff: adjoint of %%%d is %s, the value is %s", x->id, dtype_name[d->type.dtype], dtype_name[x->type.dtype]);
	if (!same_dims(d->type, x->type))
		d = opt(ad, OP_SUM_TO, d, x->type);
	ad->adj[x->id] = ad->adj[x->id] ? op2(ad, OP_ADD, ad->adj[x->id], d) : d;
}

/* The type of a reduction's input with the reduced axes (mask) kept as 1 */
static Type kept_type(Type x, int64_t mask, DType dt)
{
	x.dtype = dt;
	for (int d = 0; d < x.rank; d++)
		if (mask >> d & 1)
			x.dim[d] = 1;
	return x;
}

/* dy of a reduction, reshaped to keep its reduced axes as 1 so that it broadcasts against x */
static Node *kept(AD *ad, Node *y, Node *dy)
{
	Type k = kept_type(y->in[0]->type, y->attr[0], dy->type.dtype);
	return y->attr[1] ? dy : opt(ad, OP_RESHAPE, dy, k);
}

/* ---- the rules: y = op(x...), dy = adjoint of y ---- */

static void rule_none(AD *ad, Node *y, Node *dy) {} /* leaves (PARAM's adjoint is the gradient) and bool results */

static void rule_add(AD *ad, Node *y, Node *dy) { acc(ad, y->in[0], dy), acc(ad, y->in[1], dy); }
static void rule_sub(AD *ad, Node *y, Node *dy) { acc(ad, y->in[0], dy), acc(ad, y->in[1], op1(ad, OP_NEG, dy)); }
static void rule_neg(AD *ad, Node *y, Node *dy) { acc(ad, y->in[0], op1(ad, OP_NEG, dy)); }
static void rule_exp(AD *ad, Node *y, Node *dy) { acc(ad, y->in[0], op2(ad, OP_MUL, dy, y)); }
static void rule_log(AD *ad, Node *y, Node *dy) { acc(ad, y->in[0], op2(ad, OP_DIV, dy, y->in[0])); }
static void rule_relu(AD *ad, Node *y, Node *dy) { acc(ad, y->in[0], op2(ad, OP_RELU_BWD, y->in[0], dy)); }
/* relu_bwd(x, g) = g * [x > 0]: linear in g, zero almost everywhere in x */
static void rule_relu_bwd(AD *ad, Node *y, Node *dy) { acc(ad, y->in[1], op2(ad, OP_RELU_BWD, y->in[0], dy)); }

static void rule_mul(AD *ad, Node *y, Node *dy)
{
	if (ad->needs[y->in[0]->id])
		acc(ad, y->in[0], op2(ad, OP_MUL, dy, y->in[1]));
	if (ad->needs[y->in[1]->id])
		acc(ad, y->in[1], op2(ad, OP_MUL, dy, y->in[0]));
}

static void rule_div(AD *ad, Node *y, Node *dy) /* d/da = 1/b, d/db = -y/b */
{
	if (ad->needs[y->in[0]->id])
		acc(ad, y->in[0], op2(ad, OP_DIV, dy, y->in[1]));
	if (ad->needs[y->in[1]->id])
		acc(ad, y->in[1], op1(ad, OP_NEG, op2(ad, OP_DIV, op2(ad, OP_MUL, dy, y), y->in[1])));
}

static void rule_sqrt(AD *ad, Node *y, Node *dy) /* dy / (2 y) */
{
	acc(ad, y->in[0], op2(ad, OP_DIV, dy, op2(ad, OP_MUL, y, cnst(ad, y, 2))));
}

static void rule_tanh(AD *ad, Node *y, Node *dy) /* dy (1 - y^2) */
{
	acc(ad, y->in[0], op2(ad, OP_MUL, dy, op2(ad, OP_SUB, cnst(ad, y, 1), op2(ad, OP_MUL, y, y))));
}

static void rule_sigmoid(AD *ad, Node *y, Node *dy) /* dy y (1 - y) */
{
	acc(ad, y->in[0], op2(ad, OP_MUL, dy, op2(ad, OP_MUL, y, op2(ad, OP_SUB, cnst(ad, y, 1), y))));
}

/* maximum: a's where a >= b (a tie goes to a), else b's; minimum likewise with <= */
static void rule_maxmin(AD *ad, Node *y, Node *dy)
{
	Node *first = op2(ad, y->op == OP_MAXIMUM ? OP_GE : OP_LE, y->in[0], y->in[1]);
	Node *zero = cnst(ad, dy, 0);
	if (ad->needs[y->in[0]->id])
		acc(ad, y->in[0], where(ad, first, dy, zero));
	if (ad->needs[y->in[1]->id])
		acc(ad, y->in[1], where(ad, first, zero, dy));
}

static void rule_pow(AD *ad, Node *y, Node *dy) /* d/da = b a^(b-1), d/db = y log a */
{
	Node *a = y->in[0], *b = y->in[1];
	if (ad->needs[a->id])
		acc(ad, a, op2(ad, OP_MUL, dy, op2(ad, OP_MUL, b, op2(ad, OP_POW, a, op2(ad, OP_SUB, b, cnst(ad, b, 1))))));
	if (ad->needs[b->id])
		acc(ad, b, op2(ad, OP_MUL, dy, op2(ad, OP_MUL, y, op1(ad, OP_LOG, a))));
}

static void rule_where(AD *ad, Node *y, Node *dy)
{
	Node *zero = cnst(ad, dy, 0);
	if (ad->needs[y->in[1]->id])
		acc(ad, y->in[1], where(ad, y->in[0], dy, zero));
	if (ad->needs[y->in[2]->id])
		acc(ad, y->in[2], where(ad, y->in[0], zero, dy));
}

static void rule_cast(AD *ad, Node *y, Node *dy) /* float -> float only: others carry no gradient */
{
	if (dtype_is_float(y->in[0]->type.dtype))
		acc(ad, y->in[0], opt(ad, OP_CAST, dy, y->in[0]->type));
}

static void rule_reshape(AD *ad, Node *y, Node *dy) { acc(ad, y->in[0], opt(ad, OP_RESHAPE, dy, y->in[0]->type)); }
static void rule_broadcast(AD *ad, Node *y, Node *dy) { acc(ad, y->in[0], opt(ad, OP_SUM_TO, dy, y->in[0]->type)); }
static void rule_sum_to(AD *ad, Node *y, Node *dy) { acc(ad, y->in[0], opt(ad, OP_BROADCAST, dy, y->in[0]->type)); }

static void rule_transpose(AD *ad, Node *y, Node *dy) /* by the inverse permutation */
{
	int64_t inv[MAX_RANK];
	for (int i = 0; i < y->nattr; i++)
		inv[y->attr[i]] = i;
	acc(ad, y->in[0], ir_op(ad->g, OP_TRANSPOSE, &dy, 1, inv, y->nattr, NULL, ad->loc));
}

static void rule_sum(AD *ad, Node *y, Node *dy) { acc(ad, y->in[0], opt(ad, OP_BROADCAST, kept(ad, y, dy), y->in[0]->type)); }

static void rule_mean(AD *ad, Node *y, Node *dy) /* broadcast dy / (number of reduced elements) */
{
	Node *x = y->in[0], *g = opt(ad, OP_BROADCAST, kept(ad, y, dy), x->type);
	int64_t count = 1;
	for (int d = 0; d < x->type.rank; d++)
		if (y->attr[0] >> d & 1)
			count = DIM_IS_CONST(x->type.dim[d]) && count >= 0 ? count * x->type.dim[d] : -1;
	Node *c;
	if (count >= 0) {
		c = cnst(ad, dy, (double)count);
	} else { /* a run-time size: count = sum of ones over the same axes */
		int64_t attr[2] = {y->attr[0], 1};
		Node *ones = ir_op(ad->g, OP_CONST, NULL, 0, NULL, 0, &x->type, ad->loc);
		ones->fval = 1;
		c = ir_op(ad->g, OP_SUM, &ones, 1, attr, 2, NULL, ad->loc);
	}
	acc(ad, x, op2(ad, OP_DIV, g, c));
}

static void rule_max(AD *ad, Node *y, Node *dy) /* split evenly between tied maxima */
{
	Node *x = y->in[0];
	Node *ykeep = y->attr[1] ? y : opt(ad, OP_RESHAPE, y, kept_type(x->type, y->attr[0], y->type.dtype));
	Type ft = x->type;
	Node *hit = opt(ad, OP_CAST, op2(ad, OP_EQ, x, ykeep), ft);
	int64_t attr[2] = {y->attr[0], 1};
	Node *count = ir_op(ad->g, OP_SUM, &hit, 1, attr, 2, NULL, ad->loc);
	acc(ad, x, op2(ad, OP_MUL, hit, op2(ad, OP_DIV, kept(ad, y, dy), count)));
}

/* Y = op(A) op(B) with op = identity or a swap of the last two axes (attr[0], attr[1]).
   dA = dY op(B)^T, stored as A is; dB = op(A)^T dY, stored as B is. Batch dims that were
   broadcast are summed by acc. */
static void rule_matmul(AD *ad, Node *y, Node *dy)
{
	Node *a = y->in[0], *b = y->in[1];
	int ta = (int)y->attr[0], tb = (int)y->attr[1];
	if (ad->needs[a->id])
		acc(ad, a, ta ? matmul(ad, b, dy, tb, 1) : matmul(ad, dy, b, 0, !tb));
	if (ad->needs[b->id])
		acc(ad, b, tb ? matmul(ad, dy, a, 1, ta) : matmul(ad, a, dy, !ta, 0));
}

static void rule_xent(AD *ad, Node *y, Node *dy)
{
	Node *in[3] = {y->in[0], y->in[1], dy};
	acc(ad, y->in[0], ir_op(ad->g, OP_XENT_BWD, in, 3, NULL, 0, NULL, ad->loc));
}

static const Rule rule[OP_COUNT] = {
	[OP_INPUT] = rule_none, [OP_PARAM] = rule_none, [OP_CONST] = rule_none, [OP_HYPER] = rule_none,
	[OP_CAST] = rule_cast, [OP_RESHAPE] = rule_reshape, [OP_TRANSPOSE] = rule_transpose,
	[OP_BROADCAST] = rule_broadcast, [OP_SUM_TO] = rule_sum_to,
	[OP_NEG] = rule_neg, [OP_EXP] = rule_exp, [OP_LOG] = rule_log, [OP_SQRT] = rule_sqrt,
	[OP_TANH] = rule_tanh, [OP_SIGMOID] = rule_sigmoid, [OP_RELU] = rule_relu,
	[OP_NOT] = rule_none, /* bool result: never differentiated (ops.def should flag it NOGRAD) */
	[OP_ADD] = rule_add, [OP_SUB] = rule_sub, [OP_MUL] = rule_mul, [OP_DIV] = rule_div,
	[OP_MAXIMUM] = rule_maxmin, [OP_MINIMUM] = rule_maxmin, [OP_POW] = rule_pow,
	[OP_WHERE] = rule_where, [OP_RELU_BWD] = rule_relu_bwd,
	[OP_SUM] = rule_sum, [OP_MEAN] = rule_mean, [OP_MAX] = rule_max,
	[OP_MATMUL] = rule_matmul, [OP_CROSS_ENTROPY] = rule_xent,
};

bool pass_autodiff_has_rule(Op op) { return op < OP_COUNT && rule[op] != NULL; }

/* ---- the pass ---- */

/* Copies loss's nodes into g (inputs first, in their order); map[old id] = new node */
static Node **copy_forward(Graph *g, const Graph *loss)
{
	Arena *ar = g->prog->arena;
	Node **map = arena_alloc(ar, sizeof *map * (size_t)(loss->next_id + 1));
	for (int i = 0; i < loss->inputs.n; i++) {
		Node *n = loss->inputs.v[i];
		map[n->id] = ir_input(g, n->type, n->name, n->loc);
	}
	for (int i = 0; i < loss->nodes.n; i++) {
		Node *n = loss->nodes.v[i], *in[8], **ins = n->nin <= 8 ? in : arena_alloc(ar, sizeof *ins * (size_t)n->nin);
		if (n->op == OP_INPUT)
			continue;
		for (int j = 0; j < n->nin; j++)
			ins[j] = map[n->in[j]->id];
		Node *c = ir_op(g, n->op, ins, n->nin, n->attr, n->nattr, &n->type, n->loc);
		c->fval = n->fval;
		c->name = n->name;
		map[n->id] = c;
	}
	for (int i = 0; i < loss->outputs.n; i++)
		ir_graph_output(g, loss->outputs.v[i].name, map[loss->outputs.v[i].node->id]);
	for (int i = 0; i < loss->effects.n; i++)
		ir_graph_effect(g, map[loss->effects.v[i]->id]);
	return map;
}

Graph *pass_autodiff(Graph *loss, const char *name)
{
	Prog *p = loss->prog;
	if (loss->outputs.n == 0)
		BUG("autodiff: graph %s has no output", loss->name);
	Node *l = loss->outputs.v[0].node;
	if (l->type.rank != 0 || !dtype_is_float(l->type.dtype))
		BUG("autodiff: output 0 of graph %s is not a float scalar", loss->name);
	Graph *g = ir_graph_new(p, name);
	Node **map = copy_forward(g, loss);
	int nfwd = g->nodes.n;
	AD ad = {g, NULL, NULL, {0}};
	ad.adj = arena_alloc(p->arena, sizeof *ad.adj * (size_t)(g->next_id + 1));
	ad.needs = arena_alloc(p->arena, (size_t)g->next_id + 1);
	for (int i = 0; i < nfwd; i++) {
		Node *n = g->nodes.v[i];
		bool need = n->op == OP_PARAM && p->params.v[n->attr[0]].trainable;
		for (int j = 0; j < n->nin; j++)
			need |= ad.needs[n->in[j]->id];
		ad.needs[n->id] = need && dtype_is_float(n->type.dtype) && !(op_info[n->op].flags & OPF_NOGRAD);
	}
	Node *y = map[l->id];
	ad.loc = y->loc;
	ad.adj[y->id] = cnst(&ad, y, 1);
	for (int i = nfwd - 1; i >= 0; i--) {
		Node *n = g->nodes.v[i];
		if (!ad.needs[n->id] || !ad.adj[n->id])
			continue;
		if (!rule[n->op])
			BUG("autodiff: no derivative rule for %s", op_info[n->op].name);
		ad.loc = n->loc;
		rule[n->op](&ad, n, ad.adj[n->id]);
	}
	for (int k = 0; k < p->params.n; k++) {
		Param *prm = &p->params.v[k];
		if (!prm->trainable)
			continue;
		Node *grad = NULL;
		for (int i = 0; i < nfwd; i++) { /* a param may be read by several nodes */
			Node *n = g->nodes.v[i];
			if (n->op == OP_PARAM && n->attr[0] == k && ad.adj[n->id]) {
				ad.loc = n->loc;
				grad = grad ? op2(&ad, OP_ADD, grad, ad.adj[n->id]) : ad.adj[n->id];
			}
		}
		if (!grad) {
			grad = ir_op(g, OP_CONST, NULL, 0, NULL, 0, &prm->type, prm->loc);
			grad->fval = 0;
		}
		ir_graph_output(g, arena_printf(p->arena, "grad.%s", prm->name), grad);
	}
	return g;
}
