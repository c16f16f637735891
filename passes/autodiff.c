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

#include <math.h>
#include <string.h>

typedef struct AD {
	Graph *g;
	Node **adj;   /* by node id (forward nodes only) */
	char *needs;  /* by node id: the value depends on a trainable param (or a needing body input) */
	Loc loc;      /* of the forward node whose rule runs: backward nodes point at it */
	int nid;      /* adj and needs cover ids below this (the forward nodes) */
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

/* ---- the new elementwise ops: y = f(x), dx = dy f'(x) ---- */

static Node *mul(AD *ad, Node *a, Node *b) { return op2(ad, OP_MUL, a, b); }
static Node *cmp(AD *ad, Op op, Node *x, double v) { return op2(ad, op, x, cnst(ad, x, v)); }
static Node *between(AD *ad, Node *x, double lo, double hi) { return op2(ad, OP_AND, cmp(ad, OP_GT, x, lo), cmp(ad, OP_LT, x, hi)); }
static void dx_times(AD *ad, Node *y, Node *dy, Node *f) { acc(ad, y->in[0], mul(ad, dy, f)); }

static void rule_abs(AD *ad, Node *y, Node *dy) { dx_times(ad, y, dy, op1(ad, OP_SIGN, y->in[0])); }
static void rule_log1p(AD *ad, Node *y, Node *dy) { acc(ad, y->in[0], op2(ad, OP_DIV, dy, op2(ad, OP_ADD, y->in[0], cnst(ad, y, 1)))); }
static void rule_rsqrt(AD *ad, Node *y, Node *dy) { dx_times(ad, y, dy, mul(ad, cnst(ad, y, -0.5), mul(ad, y, op1(ad, OP_SQUARE, y)))); }
static void rule_square(AD *ad, Node *y, Node *dy) { dx_times(ad, y, dy, mul(ad, cnst(ad, y, 2), y->in[0])); }
static void rule_sin(AD *ad, Node *y, Node *dy) { dx_times(ad, y, dy, op1(ad, OP_COS, y->in[0])); }
static void rule_cos(AD *ad, Node *y, Node *dy) { dx_times(ad, y, dy, op1(ad, OP_NEG, op1(ad, OP_SIN, y->in[0]))); }
static void rule_erf(AD *ad, Node *y, Node *dy) /* 2/sqrt(pi) e^(-x^2) */
{
	Node *x = y->in[0];
	dx_times(ad, y, dy, mul(ad, cnst(ad, y, M_2_SQRTPI), op1(ad, OP_EXP, op1(ad, OP_NEG, op1(ad, OP_SQUARE, x)))));
}
static void rule_relu6(AD *ad, Node *y, Node *dy) { acc(ad, y->in[0], where(ad, between(ad, y->in[0], 0, 6), dy, cnst(ad, dy, 0))); }
static void rule_gelu(AD *ad, Node *y, Node *dy) /* Phi(x) + x phi(x) */
{
	Node *x = y->in[0];
	Node *Phi = mul(ad, cnst(ad, y, 0.5), op2(ad, OP_ADD, cnst(ad, y, 1), op1(ad, OP_ERF, mul(ad, x, cnst(ad, y, M_SQRT1_2)))));
	Node *phi = mul(ad, cnst(ad, y, 0.5 * M_2_SQRTPI * M_SQRT1_2), op1(ad, OP_EXP, mul(ad, cnst(ad, y, -0.5), op1(ad, OP_SQUARE, x))));
	dx_times(ad, y, dy, op2(ad, OP_ADD, Phi, mul(ad, x, phi)));
}
static void rule_silu(AD *ad, Node *y, Node *dy) /* s (1 + x (1 - s)) */
{
	Node *x = y->in[0], *s = op1(ad, OP_SIGMOID, x), *one = cnst(ad, y, 1);
	dx_times(ad, y, dy, mul(ad, s, op2(ad, OP_ADD, one, mul(ad, x, op2(ad, OP_SUB, one, s)))));
}
static void rule_softplus(AD *ad, Node *y, Node *dy) { dx_times(ad, y, dy, op1(ad, OP_SIGMOID, y->in[0])); }
static void rule_mish(AD *ad, Node *y, Node *dy) /* t + x sigmoid(x) (1 - t^2), t = tanh(softplus(x)) */
{
	Node *x = y->in[0], *t = op1(ad, OP_TANH, op1(ad, OP_SOFTPLUS, x));
	Node *d = mul(ad, mul(ad, x, op1(ad, OP_SIGMOID, x)), op2(ad, OP_SUB, cnst(ad, y, 1), op1(ad, OP_SQUARE, t)));
	dx_times(ad, y, dy, op2(ad, OP_ADD, t, d));
}
static void rule_hardswish(AD *ad, Node *y, Node *dy) /* 0 below -3, 1 above 3, x/3 + 1/2 between (torch) */
{
	Node *x = y->in[0], *zero = cnst(ad, y, 0);
	Node *mid = op2(ad, OP_ADD, op2(ad, OP_DIV, x, cnst(ad, y, 3)), cnst(ad, y, 0.5));
	Node *d = where(ad, cmp(ad, OP_LT, x, -3), zero, where(ad, cmp(ad, OP_LE, x, 3), mid, cnst(ad, y, 1)));
	dx_times(ad, y, dy, d);
}
static void rule_hardsigmoid(AD *ad, Node *y, Node *dy)
{
	acc(ad, y->in[0], where(ad, between(ad, y->in[0], -3, 3), op2(ad, OP_DIV, dy, cnst(ad, dy, 6)), cnst(ad, dy, 0)));
}
static void rule_leaky_relu(AD *ad, Node *y, Node *dy) /* slope (in[1]) gets no gradient */
{
	acc(ad, y->in[0], where(ad, cmp(ad, OP_GT, y->in[0], 0), dy, mul(ad, dy, y->in[1])));
}
static void rule_elu(AD *ad, Node *y, Node *dy) /* x <= 0: alpha e^x = y + alpha */
{
	acc(ad, y->in[0], where(ad, cmp(ad, OP_GT, y->in[0], 0), dy, mul(ad, dy, op2(ad, OP_ADD, y, y->in[1]))));
}
static void rule_grad_scale(AD *ad, Node *y, Node *dy) { acc(ad, y->in[0], mul(ad, dy, y->in[1])); }

/* ---- reductions and ops along one axis ---- */

static void rule_prod(AD *ad, Node *y, Node *dy) /* dy y / x */
{
	Node *x = y->in[0];
	Node *yk = y->attr[1] ? y : opt(ad, OP_RESHAPE, y, kept_type(x->type, y->attr[0], y->type.dtype));
	acc(ad, x, op2(ad, OP_DIV, mul(ad, kept(ad, y, dy), yk), x));
}

static Node *sum_axis(AD *ad, Node *x, int64_t axis)
{
	int64_t attr[2] = {(int64_t)1 << axis, 1};
	return ir_op(ad->g, OP_SUM, &x, 1, attr, 2, NULL, ad->loc);
}

static void rule_softmax(AD *ad, Node *y, Node *dy) /* y (dy - sum(dy y)) */
{
	acc(ad, y->in[0], mul(ad, y, op2(ad, OP_SUB, dy, sum_axis(ad, mul(ad, dy, y), y->attr[0]))));
}

static void rule_log_softmax(AD *ad, Node *y, Node *dy) /* dy - e^y sum(dy) */
{
	acc(ad, y->in[0], op2(ad, OP_SUB, dy, mul(ad, op1(ad, OP_EXP, y), sum_axis(ad, dy, y->attr[0]))));
}

static void rule_logsumexp(AD *ad, Node *y, Node *dy) /* dy e^(x - y) */
{
	Node *x = y->in[0];
	Type k = kept_type(x->type, (int64_t)1 << y->attr[0], y->type.dtype);
	Node *yk = y->attr[1] ? y : opt(ad, OP_RESHAPE, y, k), *dk = y->attr[1] ? dy : opt(ad, OP_RESHAPE, dy, k);
	acc(ad, x, mul(ad, dk, op1(ad, OP_EXP, op2(ad, OP_SUB, x, yk))));
}

static Node *with_attrs(AD *ad, Op op, Node **in, int nin, const int64_t *attr, int nattr, const Type *t)
{
	return ir_op(ad->g, op, in, nin, attr, nattr, t, ad->loc);
}

static void rule_cumsum(AD *ad, Node *y, Node *dy) /* the running sums from the other end */
{
	int64_t attr[2] = {y->attr[0], !y->attr[1]};
	acc(ad, y->in[0], with_attrs(ad, OP_CUMSUM, &dy, 1, attr, 2, NULL));
}

static void rule_tril(AD *ad, Node *y, Node *dy) { acc(ad, y->in[0], with_attrs(ad, OP_TRIL, &dy, 1, y->attr, 2, NULL)); }

/* ---- data movement ---- */

static void rule_concat(AD *ad, Node *y, Node *dy) /* each input: its slice of dy (sizes along the axis are constants) */
{
	int64_t attr[2] = {y->attr[0], 0};
	for (int i = 0; i < y->nin; i++) {
		Node *x = y->in[i];
		if (ad->needs[x->id])
			acc(ad, x, with_attrs(ad, OP_SLICE, &dy, 1, attr, 2, &x->type));
		attr[1] += x->type.dim[y->attr[0]];
	}
}

/* slice's adjoint: dy padded with zeros along the axis, viewed as [pre, K, post] (pad's attributes
   cover the last axes only) */
static void rule_slice(AD *ad, Node *y, Node *dy)
{
	Node *x = y->in[0];
	int ax = (int)y->attr[0];
	Prog *p = ad->g->prog;
	Dim pre = 1, post = 1;
	for (int d = 0; d < ax; d++)
		pre = ir_dim_binop(p, DE_MUL, pre, x->type.dim[d]);
	for (int d = ax + 1; d < x->type.rank; d++)
		post = ir_dim_binop(p, DE_MUL, post, x->type.dim[d]);
	Dim K = x->type.dim[ax], k = y->type.dim[ax];
	if (!DIM_IS_CONST(K) || !DIM_IS_CONST(k))
		BUG("autodiff: slice along a run-time size");
	Type t3 = ir_type(dy->type.dtype, 3, (Dim[]){pre, k, post});
	Node *in[2] = {opt(ad, OP_RESHAPE, dy, t3), cnst(ad, dy, 0)};
	int64_t attr[4] = {y->attr[1], K - k - y->attr[1], 0, 0};
	Node *padded = with_attrs(ad, OP_PAD, in, 2, attr, 4, NULL);
	acc(ad, x, opt(ad, OP_RESHAPE, padded, x->type));
}

static void rule_pad(AD *ad, Node *y, Node *dy) /* a slice per padded axis */
{
	Node *x = y->in[0], *d = dy;
	int np = y->nattr / 2;
	for (int i = 0; i < np; i++) {
		int ax = x->type.rank - np + i;
		if (y->attr[2 * i] == 0 && y->attr[2 * i + 1] == 0)
			continue;
		Type t = d->type;
		t.dim[ax] = x->type.dim[ax];
		int64_t attr[2] = {ax, y->attr[2 * i]};
		d = with_attrs(ad, OP_SLICE, &d, 1, attr, 2, &t);
	}
	acc(ad, x, d);
}

static void rule_gather(AD *ad, Node *y, Node *dy) /* index_add into zeros */
{
	Node *x = y->in[0], *z = with_attrs(ad, OP_CONST, NULL, 0, NULL, 0, &x->type);
	z->fval = 0;
	Node *in[3] = {z, y->in[1], dy};
	acc(ad, x, with_attrs(ad, y->op == OP_GATHER ? OP_INDEX_ADD : OP_SCATTER_ADD, in, 3, y->attr, 1, NULL));
}

static void rule_index_add(AD *ad, Node *y, Node *dy) /* x: dy; src: dy gathered back */
{
	acc(ad, y->in[0], dy);
	if (ad->needs[y->in[2]->id]) {
		Node *in[2] = {dy, y->in[1]};
		acc(ad, y->in[2], with_attrs(ad, y->op == OP_INDEX_ADD ? OP_GATHER : OP_TAKE_ALONG, in, 2, y->attr, 1, NULL));
	}
}

/* ---- convolution, pooling, dropout ---- */

static void rule_conv(AD *ad, Node *y, Node *dy)
{
	Node *x = y->in[0], *w = y->in[1];
	if (ad->needs[x->id]) {
		Node *in[2] = {dy, w};
		acc(ad, x, with_attrs(ad, OP_CONV_TRANSPOSE, in, 2, y->attr, y->nattr, &x->type));
	}
	if (ad->needs[w->id]) {
		Node *in[2] = {x, dy};
		acc(ad, w, with_attrs(ad, OP_CONV_BWD_WEIGHT, in, 2, y->attr, y->nattr, &w->type));
	}
}

/* y = conv_transpose(x, w), conv's adjoint: dx = conv(dy, w), cut to x's sizes (conv gives one more
   per whole stride of output_padding); dw = conv_bwd_weight(dy, x), dy as conv's input */
static void rule_conv_transpose(AD *ad, Node *y, Node *dy)
{
	Node *x = y->in[0], *w = y->in[1];
	if (ad->needs[x->id]) {
		Node *in[2] = {dy, w}, *d = with_attrs(ad, OP_CONV, in, 2, y->attr, y->nattr, NULL);
		for (int ax = 2; ax < x->type.rank; ax++)
			if (d->type.dim[ax] != x->type.dim[ax]) {
				Type t = d->type;
				t.dim[ax] = x->type.dim[ax];
				d = with_attrs(ad, OP_SLICE, &d, 1, (int64_t[]){ax, 0}, 2, &t);
			}
		acc(ad, x, d);
	}
	if (ad->needs[w->id]) {
		Node *in[2] = {dy, x};
		acc(ad, w, with_attrs(ad, OP_CONV_BWD_WEIGHT, in, 2, y->attr, y->nattr, &w->type));
	}
}

static void rule_max_pool2d(AD *ad, Node *y, Node *dy)
{
	Node *in[2] = {y->in[0], dy};
	acc(ad, y->in[0], with_attrs(ad, OP_MAX_POOL2D_BWD, in, 2, y->attr, y->nattr, NULL));
}

/* dropout is x times a mask that depends on (salt, step, seed, index) only: the same op applied to dy */
static void rule_dropout(AD *ad, Node *y, Node *dy)
{
	Node *in[3] = {dy, y->in[1], y->in[2]};
	acc(ad, y->in[0], with_attrs(ad, OP_DROPOUT, in, 3, y->attr, y->nattr, NULL));
}

/* ---- CTC ---- */

static void rule_ctc(AD *ad, Node *y, Node *dy) /* the targets and lengths are integers */
{
	Node *in[5] = {y->in[0], y->in[1], y->in[2], y->in[3], dy};
	acc(ad, y->in[0], with_attrs(ad, OP_CTC_BWD, in, 5, y->attr, y->nattr, NULL));
}

/* ---- loops ---- */

static void rule_loop(AD *ad, Node *y, Node *dy);
static void rule_custom_grad(AD *ad, Node *y, Node *dy);
static void rule_if(AD *ad, Node *y, Node *dy);

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
	[OP_ABS] = rule_abs, [OP_LOG1P] = rule_log1p, [OP_RSQRT] = rule_rsqrt, [OP_SQUARE] = rule_square,
	[OP_SIN] = rule_sin, [OP_COS] = rule_cos, [OP_ERF] = rule_erf, [OP_RELU6] = rule_relu6,
	[OP_GELU] = rule_gelu, [OP_SILU] = rule_silu, [OP_SOFTPLUS] = rule_softplus, [OP_MISH] = rule_mish,
	[OP_HARDSWISH] = rule_hardswish, [OP_HARDSIGMOID] = rule_hardsigmoid,
	[OP_LEAKY_RELU] = rule_leaky_relu, [OP_ELU] = rule_elu, [OP_GRAD_SCALE] = rule_grad_scale,
	[OP_MIN] = rule_max, [OP_PROD] = rule_prod,
	[OP_LOGSUMEXP] = rule_logsumexp, [OP_SOFTMAX] = rule_softmax, [OP_LOG_SOFTMAX] = rule_log_softmax,
	[OP_CUMSUM] = rule_cumsum, [OP_TRIL] = rule_tril,
	[OP_CONCAT] = rule_concat, [OP_SLICE] = rule_slice, [OP_PAD] = rule_pad,
	[OP_GATHER] = rule_gather, [OP_TAKE_ALONG] = rule_gather,
	[OP_INDEX_ADD] = rule_index_add, [OP_SCATTER_ADD] = rule_index_add,
	[OP_CONV] = rule_conv, [OP_CONV_TRANSPOSE] = rule_conv_transpose, [OP_MAX_POOL2D] = rule_max_pool2d, [OP_DROPOUT] = rule_dropout,
	[OP_CTC_LOSS] = rule_ctc,
	[OP_LOOP] = rule_loop, [OP_LOOP_OUT] = rule_none, /* a loop_out's adjoint is read by rule_loop */
	[OP_CUSTOM_GRAD] = rule_custom_grad,
	[OP_IF] = rule_if, [OP_IF_OUT] = rule_none, /* an if_out's adjoint is read by rule_if */
};

bool pass_autodiff_has_rule(Op op) { return op < OP_COUNT && rule[op] != NULL; }

/* ---- graphs: needs, copies, the backward walk ---- */

/* needs[id] for g's nodes: a leaf keeps what the caller set (trainable params, a body's inputs);
   another node needs a gradient when an input does. Only floats that are not OPF_NOGRAD do. */
static void mark_needs(const Graph *g, char *needs)
{
	for (int i = 0; i < g->nodes.n; i++) {
		Node *n = g->nodes.v[i];
		bool need = needs[n->id];
		for (int j = 0; j < n->nin; j++)
			need |= needs[n->in[j]->id];
		needs[n->id] = need && dtype_is_float(n->type.dtype) && !(op_info[n->op].flags & OPF_NOGRAD);
	}
}

/* The saved carried values of a loop copied by copy_nodes (Node.aux of the copy) */
typedef struct Saved {
	Node **v; /* loop_out of the stack of carried value k at the start of each iteration */
} Saved;

static void copy_nodes(Graph *g, const Graph *src, Node **map, const char *needs);

/* A copy of region b whose outputs also yield each carried input (the loop's saved values) */
static Graph *saving_body(Prog *p, const Graph *b, int nc)
{
	Graph *c = ir_region_new(p, b->name);
	Node **map = arena_alloc(p->arena, sizeof *map * (size_t)(b->next_id + 1));
	for (int i = 0; i < b->inputs.n; i++)
		map[b->inputs.v[i]->id] = ir_input(c, b->inputs.v[i]->type, b->inputs.v[i]->name, b->inputs.v[i]->loc);
	copy_nodes(c, b, map, NULL);
	for (int k = 0; k < b->outputs.n; k++)
		ir_graph_output(c, b->outputs.v[k].name, map[b->outputs.v[k].node->id]);
	for (int k = 0; k < nc; k++)
		ir_graph_output(c, "saved", c->inputs.v[1 + k]);
	return c;
}

/* Copies src's nodes into g in order (INPUT nodes are mapped by the caller); map[src id] = the
   copy. A loop whose value needs a gradient (needs, by src id; NULL: none) is copied with a body
   that also stacks its carried values, whose loop_outs follow it (Saved in the copy's aux). */
static void copy_nodes(Graph *g, const Graph *src, Node **map, const char *needs)
{
	Arena *ar = g->prog->arena;
	for (int i = 0; i < src->nodes.n; i++) {
		Node *n = src->nodes.v[i], *in[8], **ins = n->nin <= 8 ? in : arena_alloc(ar, sizeof *ins * (size_t)n->nin);
		if (n->op == OP_INPUT)
			continue;
		for (int j = 0; j < n->nin; j++)
			ins[j] = map[n->in[j]->id];
		Node *c;
		if (n->op == OP_LOOP) {
			int nc = (int)n->attr[2], nout = n->sub[0]->outputs.n;
			bool save = needs && needs[n->id];
			Graph *body = save ? saving_body(g->prog, n->sub[0], nc) : n->sub[0];
			char err[512];
			if (!(c = ir_region_node(g, n->op, ins, n->nin, n->attr, n->nattr, &body, 1, n->loc, err, sizeof err)))
				BUG("autodiff: copying a loop: %s", err);
			if (save) {
				Saved *sv = arena_alloc(ar, sizeof *sv);
				sv->v = arena_alloc(ar, sizeof *sv->v * (size_t)(nc + 1));
				for (int k = 0; k < nc; k++) {
					int64_t j = nout + k;
					sv->v[k] = ir_op(g, OP_LOOP_OUT, &c, 1, &j, 1, NULL, n->loc);
				}
				c->aux = sv;
			}
		} else if (n->nsub) {
			char err[512];
			if (!(c = ir_region_node(g, n->op, ins, n->nin, n->attr, n->nattr, n->sub, n->nsub, n->loc, err, sizeof err)))
				BUG("autodiff: copying %s: %s", op_info[n->op].name, err);
		} else
			c = ir_op(g, n->op, ins, n->nin, n->attr, n->nattr, &n->type, n->loc);
		c->fval = n->fval;
		c->name = n->name;
		map[n->id] = c;
	}
}

/* Walks g's nodes [from, to) backwards, each rule adding its inputs' adjoints */
static void backprop(AD *ad, int from, int to)
{
	for (int i = to - 1; i >= from; i--) {
		Node *n = ad->g->nodes.v[i];
		if (!ad->needs[n->id] || (!ad->adj[n->id] && n->op != OP_LOOP && n->op != OP_IF))
			continue;
		if (!rule[n->op])
			BUG("autodiff: no derivative rule for %s", op_info[n->op].name);
		ad->loc = n->loc;
		rule[n->op](ad, n, ad->adj[n->id]);
	}
}

static Node *zeros(AD *ad, Type t)
{
	Node *z = ir_op(ad->g, OP_CONST, NULL, 0, NULL, 0, &t, ad->loc);
	z->fval = 0;
	return z;
}

/* The adjoint of a loop is a loop running the other way (a reverse scan). Iteration i of the
   backward body recomputes the forward body from the carried values saved at the start of
   forward iteration i, seeds its outputs with the adjoints of the carried values (carried
   backwards) and of the yields at i, and differentiates it: the carried values' adjoints go on
   to iteration i-1, a sequence's adjoint at i is yielded (stacked by i, as the sequence), and each
   capture's adjoint is summed as a carried value. */
static void rule_loop(AD *ad, Node *L, Node *unused)
{
	Graph *g = ad->g, *b = L->sub[0];
	Prog *p = g->prog;
	Arena *ar = p->arena;
	Saved *sv = L->aux;
	int nc = (int)L->attr[2], ns = (int)L->attr[3], nin = L->nin, nout = b->outputs.n;
	if (!sv)
		BUG("autodiff: loop %%%d was copied without its saved values", L->id);
	Node **dres = arena_alloc(ar, sizeof *dres * (size_t)(nout + 1));
	for (int i = 0; i < g->nodes.n; i++) {
		Node *u = g->nodes.v[i];
		if (u->id < ad->nid && u->op == OP_LOOP_OUT && u->in[0] == L && ad->adj[u->id]) {
			Node *d = ad->adj[u->id];
			dres[u->attr[0]] = dres[u->attr[0]] ? op2(ad, OP_ADD, dres[u->attr[0]], d) : d;
		}
	}
	int nd = 0;
	for (int k = 0; k < nout; k++)
		nd += dres[k] != NULL;
	if (!nd) /* no result reaches the loss */
		return;
	/* which body inputs need gradients: a carried value when its initial value does, or when the
	   body makes it from one that does (to a fixed point) */
	char *need = arena_alloc(ar, (size_t)nin + 1), *bneeds = arena_alloc(ar, (size_t)b->next_id + 1);
	for (int j = 0; j < nin; j++)
		need[j] = ad->needs[L->in[j]->id];
	for (bool changed = true; changed;) {
		memset(bneeds, 0, (size_t)b->next_id + 1);
		for (int j = 0; j < nin; j++)
			bneeds[b->inputs.v[1 + j]->id] = need[j];
		mark_needs(b, bneeds);
		changed = false;
		for (int k = 0; k < nc; k++)
			if (!need[k] && bneeds[b->outputs.v[k].node->id])
				need[k] = changed = true;
	}
	/* the backward body: (i, d carried.., d captures.., saved.., sequences.., d yields.., captures..) */
	Graph *G = ir_region_new(p, "body");
	Node *gi = ir_input(G, b->inputs.v[0]->type, b->inputs.v[0]->name, L->loc);
	Node **dcar = arena_alloc(ar, sizeof *dcar * (size_t)(nin + 1)), **bin = arena_alloc(ar, sizeof *bin * (size_t)(nin + 1));
	Node **dyin = arena_alloc(ar, sizeof *dyin * (size_t)(nout + 1));
	int ncar2 = 0, nseq2 = 0;
	const char **name = arena_alloc(ar, sizeof *name * (size_t)(nin + 1)); /* the forward body's, "d" + */
	for (int j = 0; j < nin; j++) {
		const char *bn = b->inputs.v[1 + j]->name;
		name[j] = arena_printf(ar, "d%s", bn ? bn : "");
	}
	for (int j = 0; j < nin; j++)
		if (need[j] && (j < nc || j >= nc + ns))
			dcar[j] = ir_input(G, L->in[j]->type, name[j], L->loc), ncar2++;
	for (int j = 0; j < nc + ns; j++)
		bin[j] = ir_input(G, b->inputs.v[1 + j]->type, b->inputs.v[1 + j]->name, L->loc), nseq2++;
	for (int k = nc; k < nout; k++)
		if (dres[k])
			dyin[k] = ir_input(G, b->outputs.v[k].node->type, "dy", L->loc), nseq2++;
	for (int j = nc + ns; j < nin; j++)
		bin[j] = ir_input(G, L->in[j]->type, b->inputs.v[1 + j]->name, L->loc);
	Node **map = arena_alloc(ar, sizeof *map * (size_t)(b->next_id + 1));
	map[b->inputs.v[0]->id] = gi;
	for (int j = 0; j < nin; j++)
		map[b->inputs.v[1 + j]->id] = bin[j];
	copy_nodes(G, b, map, bneeds);
	AD bd = {G, NULL, NULL, L->loc, G->next_id};
	bd.adj = arena_alloc(ar, sizeof *bd.adj * (size_t)(G->next_id + 1));
	bd.needs = arena_alloc(ar, (size_t)G->next_id + 1);
	for (int i = 0; i < b->nodes.n; i++)
		bd.needs[map[b->nodes.v[i]->id]->id] = bneeds[b->nodes.v[i]->id];
	int nfwd = G->nodes.n;
	for (int k = 0; k < nout; k++) {
		Node *seed = k < nc ? dcar[k] : dyin[k];
		if (seed)
			acc(&bd, map[b->outputs.v[k].node->id], seed);
	}
	backprop(&bd, 0, nfwd);
	bd.loc = L->loc;
	for (int j = 0; j < nin; j++) { /* new d carried, new d captures */
		if (!dcar[j])
			continue;
		Node *d = bd.adj[bin[j]->id];
		if (j >= nc)
			d = d ? op2(&bd, OP_ADD, dcar[j], d) : dcar[j];
		ir_graph_output(G, name[j], d ? d : zeros(&bd, L->in[j]->type));
	}
	for (int j = nc; j < nc + ns; j++) /* a sequence's adjoint at i */
		if (need[j])
			ir_graph_output(G, name[j], bd.adj[bin[j]->id] ? bd.adj[bin[j]->id] : zeros(&bd, bin[j]->type));
	/* the backward loop */
	int nin2 = ncar2 + nseq2 + (nin - nc - ns), k2 = 0;
	Node **in = arena_alloc(ar, sizeof *in * (size_t)(nin2 + 1));
	for (int j = 0; j < nin; j++)
		if (dcar[j])
			in[k2++] = j < nc && dres[j] ? dres[j] : zeros(ad, L->in[j]->type);
	for (int k = 0; k < nc; k++)
		in[k2++] = sv->v[k];
	for (int j = nc; j < nc + ns; j++)
		in[k2++] = L->in[j];
	for (int k = nc; k < nout; k++)
		if (dres[k])
			in[k2++] = dres[k];
	for (int j = nc + ns; j < nin; j++)
		in[k2++] = L->in[j];
	int64_t attr[4] = {L->attr[0], !L->attr[1], ncar2, nseq2};
	char err[512];
	Node *B = ir_region_node(g, OP_LOOP, in, nin2, attr, 4, &G, 1, L->loc, err, sizeof err);
	if (!B)
		BUG("autodiff: the backward loop: %s", err);
	int64_t r = 0; /* B's results: the d carried and d captures in order, then the d sequences */
	for (int pass = 0; pass < 2; pass++)
		for (int j = 0; j < nin; j++)
			if (pass ? j >= nc && j < nc + ns && need[j] : dcar[j] != NULL) {
				acc(ad, L->in[j], ir_op(g, OP_LOOP_OUT, &B, 1, &r, 1, NULL, L->loc));
				r++;
			}
}

/* The adjoint of an if is an if on the same condition: each backward branch takes the captures
   and the adjoints of the results, recomputes its forward branch, differentiates it seeded with
   those adjoints and returns the adjoint of each capture that needs one (zero where the branch
   does not use it). */
static void rule_if(AD *ad, Node *N, Node *unused)
{
	Graph *g = ad->g;
	Prog *p = g->prog;
	Arena *ar = p->arena;
	int nin = N->nin, nout = N->sub[0]->outputs.n, ndy = 0, nneed = 0;
	Node **dres = arena_alloc(ar, sizeof *dres * (size_t)(nout + 1));
	for (int i = 0; i < g->nodes.n; i++) {
		Node *u = g->nodes.v[i];
		if (u->id < ad->nid && u->op == OP_IF_OUT && u->in[0] == N && ad->adj[u->id]) {
			Node *d = ad->adj[u->id];
			dres[u->attr[0]] = dres[u->attr[0]] ? op2(ad, OP_ADD, dres[u->attr[0]], d) : d;
		}
	}
	for (int k = 0; k < nout; k++)
		ndy += dres[k] != NULL;
	for (int j = 1; j < nin; j++)
		nneed += ad->needs[N->in[j]->id];
	if (!ndy || !nneed)
		return;
	Graph *G[2];
	for (int br = 0; br < 2; br++) {
		const Graph *b = N->sub[br];
		G[br] = ir_region_new(p, b->name);
		Node **map = arena_alloc(ar, sizeof *map * (size_t)(b->next_id + 1));
		char *bneeds = arena_alloc(ar, (size_t)b->next_id + 1);
		for (int j = 0; j < b->inputs.n; j++) {
			map[b->inputs.v[j]->id] = ir_input(G[br], b->inputs.v[j]->type, b->inputs.v[j]->name, N->loc);
			bneeds[b->inputs.v[j]->id] = ad->needs[N->in[j + 1]->id];
		}
		Node **dyin = arena_alloc(ar, sizeof *dyin * (size_t)(nout + 1));
		for (int k = 0; k < nout; k++)
			if (dres[k])
				dyin[k] = ir_input(G[br], dres[k]->type, "dy", N->loc);
		mark_needs(b, bneeds);
		copy_nodes(G[br], b, map, bneeds);
		AD bd = {G[br], NULL, NULL, N->loc, G[br]->next_id};
		bd.adj = arena_alloc(ar, sizeof *bd.adj * (size_t)(G[br]->next_id + 1));
		bd.needs = arena_alloc(ar, (size_t)G[br]->next_id + 1);
		for (int j = 0; j < b->inputs.n; j++)
			bd.needs[map[b->inputs.v[j]->id]->id] = bneeds[b->inputs.v[j]->id];
		for (int i = 0; i < b->nodes.n; i++)
			bd.needs[map[b->nodes.v[i]->id]->id] = bneeds[b->nodes.v[i]->id];
		int nfwd = G[br]->nodes.n;
		for (int k = 0; k < nout; k++)
			if (dres[k])
				acc(&bd, map[b->outputs.v[k].node->id], dyin[k]);
		backprop(&bd, 0, nfwd);
		bd.loc = N->loc;
		for (int j = 0; j < b->inputs.n; j++)
			if (ad->needs[N->in[j + 1]->id]) {
				Node *d = bd.adj[map[b->inputs.v[j]->id]->id];
				ir_graph_output(G[br], "d", d ? d : zeros(&bd, b->inputs.v[j]->type));
			}
	}
	Node **in = arena_alloc(ar, sizeof *in * (size_t)(nin + ndy + 1));
	int n2 = 0;
	for (int j = 0; j < nin; j++)
		in[n2++] = N->in[j];
	for (int k = 0; k < nout; k++)
		if (dres[k])
			in[n2++] = dres[k];
	char err[512];
	Node *B = ir_region_node(g, OP_IF, in, n2, NULL, 0, G, 2, N->loc, err, sizeof err);
	if (!B)
		BUG("autodiff: the backward if: %s", err);
	int64_t r = 0;
	for (int j = 1; j < nin; j++)
		if (ad->needs[N->in[j]->id]) {
			acc(ad, N->in[j], ir_op(g, OP_IF_OUT, &B, 1, &r, 1, NULL, N->loc));
			r++;
		}
}

/* A function's own grad block: its region, inlined with y's adjoint as dy, gives the adjoints of
   the x; the forward value y (in[0]) gets none, whatever computed it. */
static void rule_custom_grad(AD *ad, Node *y, Node *dy)
{
	const Graph *b = y->sub[0];
	int k = (int)y->attr[0];
	Node **map = arena_alloc(ad->g->prog->arena, sizeof *map * (size_t)(b->next_id + 1));
	for (int j = 0; j < y->nin; j++)
		map[b->inputs.v[j]->id] = j == k ? dy : y->in[j < k ? j + 1 : j];
	copy_nodes(ad->g, b, map, NULL);
	for (int j = 0; j < k; j++)
		acc(ad, y->in[j + 1], map[b->outputs.v[j].node->id]);
}

/* ---- the pass ---- */

Graph *pass_autodiff(Graph *loss, const char *name)
{
	Prog *p = loss->prog;
	if (loss->outputs.n == 0)
		BUG("autodiff: graph %s has no output", loss->name);
	Node *l = loss->outputs.v[0].node;
	if (l->type.rank != 0 || !dtype_is_float(l->type.dtype))
		BUG("autodiff: output 0 of graph %s is not a float scalar", loss->name);
	char *lneeds = arena_alloc(p->arena, (size_t)loss->next_id + 1);
	for (int i = 0; i < loss->nodes.n; i++) {
		Node *n = loss->nodes.v[i];
		lneeds[n->id] = n->op == OP_PARAM && p->params.v[n->attr[0]].trainable;
	}
	mark_needs(loss, lneeds);
	/* the forward nodes, copied (inputs first, in their order) */
	Graph *g = ir_graph_new(p, name);
	Node **map = arena_alloc(p->arena, sizeof *map * (size_t)(loss->next_id + 1));
	for (int i = 0; i < loss->inputs.n; i++) {
		Node *n = loss->inputs.v[i];
		map[n->id] = ir_input(g, n->type, n->name, n->loc);
	}
	copy_nodes(g, loss, map, lneeds);
	for (int i = 0; i < loss->outputs.n; i++)
		ir_graph_output(g, loss->outputs.v[i].name, map[loss->outputs.v[i].node->id]);
	for (int i = 0; i < loss->effects.n; i++)
		ir_graph_effect(g, map[loss->effects.v[i]->id]);
	int nfwd = g->nodes.n;
	AD ad = {g, NULL, NULL, {0}, g->next_id};
	ad.adj = arena_alloc(p->arena, sizeof *ad.adj * (size_t)(g->next_id + 1));
	ad.needs = arena_alloc(p->arena, (size_t)g->next_id + 1);
	for (int i = 0; i < loss->nodes.n; i++)
		ad.needs[map[loss->nodes.v[i]->id]->id] = lneeds[loss->nodes.v[i]->id];
	Node *y = map[l->id];
	ad.loc = y->loc;
	ad.adj[y->id] = cnst(&ad, y, 1);
	backprop(&ad, 0, nfwd);
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
