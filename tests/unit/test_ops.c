/* tests/unit/test_ops.c: every operation of ir/ops.def, one table row each.
 *
 * A row builds y = op(operands) on small random operands: float operands are trainable params,
 * integer and bool operands are graph inputs. The loss is sum(y * r) for a random input r. For
 * each row:
 *  (a) the gradient from pass_autodiff, evaluated in float64 by ir_interp, is compared with
 *      central finite differences of the loss (relative error < 1e-6, floor 1e-2 for tiny
 *      gradients; operands are kept away from the op's kinks);
 *  (b) the same gradient graph is compiled (PIC, cc -shared, dlopen) and every output (loss, y,
 *      gradients: forward and backward kernels) compared with ir_interp on the same float32
 *      operands (|a - b| <= 2e-5 + 1e-4 |b|).
 * A last test walks ops.def and fails when an op lacks a shape rule, an interp case, a derivative
 * rule (unless OPF_NOGRAD), a kernel, or a row here (or an entry in `covered`, saying why not).
 */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers" /* table rows leave trailing fields 0 */
#include <check.h>
#include <dlfcn.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codegen/codegen.h"
#include "tests/unit/cgso.h"
#include "passes/passes.h"
#include "runtime/nnd_model.h"

static const Loc L0;

/* ---- operands and rows ---- */

typedef struct Operand {
	DType t;
	int rank;
	Dim d[5];
	double lo, hi;  /* floats: uniform in [lo, hi); ints: floor of that */
} Operand;

typedef Node *(*BuildFn)(Graph *g, Node **x);

typedef struct Row {
	Op op;
	const char *what;
	int n;
	Operand in[4];
	BuildFn build;     /* NULL: op(in...) with no attributes */
	double kinks[3];   /* float operands stay 0.05 away from these */
	int nkinks;
	double gscale;     /* expected gradient / finite differences (grad_scale, stop_gradient); 0: 1 */
	bool zero_grad;    /* the gradient is 0 whatever finite differences say */
} Row;

#define F(r, a, b, c, lo, hi) {TY_F32, r, {a, b, c}, lo, hi}
#define F4(a, b, c, d) {TY_F32, 4, {a, b, c, d}, -2, 2}
#define F3(a, b, c) {TY_F32, 3, {a, b, c}, -2, 2}
#define F5(a, b, c, d, e) {TY_F32, 5, {a, b, c, d, e}, -2, 2}
#define I(t, r, a, b, lo, hi) {t, r, {a, b}, lo, hi}
#define M23 F(2, 2, 3, 0, -2, 2)
#define P23 F(2, 2, 3, 0, 0.2, 3)

static Node *attr_op(Graph *g, Op op, Node **x, int nin, const int64_t *attr, int nattr, const Type *t)
{
	return ir_op(g, op, x, nin, attr, nattr, t, L0);
}
static Node *with_const(Graph *g, Op op, Node *x, double v)
{
	return ir_op2(g, op, x, ir_const(g, x->type.dtype, v, L0), L0);
}

static Node *b_leaky(Graph *g, Node **x) { return with_const(g, OP_LEAKY_RELU, x[0], 0.1); }
static Node *b_elu(Graph *g, Node **x) { return with_const(g, OP_ELU, x[0], 1.3); }
static Node *b_gscale(Graph *g, Node **x) { return with_const(g, OP_GRAD_SCALE, x[0], -0.7); }
static Node *b_red1(Graph *g, Node **x, Op op) { return attr_op(g, op, x, 1, (int64_t[]){2, 0}, 2, NULL); }
static Node *b_sum(Graph *g, Node **x) { return b_red1(g, x, OP_SUM); }
static Node *b_mean(Graph *g, Node **x) { return attr_op(g, OP_MEAN, x, 1, (int64_t[]){1, 1}, 2, NULL); }
static Node *b_max(Graph *g, Node **x) { return b_red1(g, x, OP_MAX); }
static Node *b_min(Graph *g, Node **x) { return attr_op(g, OP_MIN, x, 1, (int64_t[]){3, 0}, 2, NULL); }
static Node *b_prod(Graph *g, Node **x) { return b_red1(g, x, OP_PROD); }
static Node *b_argmax(Graph *g, Node **x) { return attr_op(g, OP_ARGMAX, x, 1, (int64_t[]){1, 0}, 2, NULL); }
static Node *b_argmin(Graph *g, Node **x) { return attr_op(g, OP_ARGMIN, x, 1, (int64_t[]){0, 1}, 2, NULL); }
static Node *b_lse(Graph *g, Node **x) { return attr_op(g, OP_LOGSUMEXP, x, 1, (int64_t[]){1, 0}, 2, NULL); }
static Node *b_softmax(Graph *g, Node **x) { return attr_op(g, OP_SOFTMAX, x, 1, (int64_t[]){1}, 1, NULL); }
static Node *b_logsoftmax(Graph *g, Node **x) { return attr_op(g, OP_LOG_SOFTMAX, x, 1, (int64_t[]){0}, 1, NULL); }
static Node *b_cumsum(Graph *g, Node **x) { return attr_op(g, OP_CUMSUM, x, 1, (int64_t[]){1, 0}, 2, NULL); }
static Node *b_rcumsum(Graph *g, Node **x) { return attr_op(g, OP_CUMSUM, x, 1, (int64_t[]){0, 1}, 2, NULL); }
static Node *b_concat(Graph *g, Node **x) { return attr_op(g, OP_CONCAT, x, 3, (int64_t[]){1}, 1, NULL); }
static Node *b_slice(Graph *g, Node **x)
{
	Type t = x[0]->type;
	t.dim[1] = 2;
	return attr_op(g, OP_SLICE, x, 1, (int64_t[]){1, 1}, 2, &t);
}
static Node *b_pad(Graph *g, Node **x)
{
	Node *in[2] = {x[0], ir_const(g, TY_F32, 0.25, L0)};
	return attr_op(g, OP_PAD, in, 2, (int64_t[]){1, 0, 2, 1}, 4, NULL);
}
static Node *b_tril(Graph *g, Node **x) { return attr_op(g, OP_TRIL, x, 1, (int64_t[]){0, 0}, 2, NULL); }
static Node *b_triu(Graph *g, Node **x) { return attr_op(g, OP_TRIL, x, 1, (int64_t[]){1, 1}, 2, NULL); }
static Node *b_arange(Graph *g, Node **x)
{
	Type t = ir_type(TY_F32, 1, (Dim[]){6});
	Node *a = attr_op(g, OP_ARANGE, NULL, 0, NULL, 0, &t);
	return ir_op2(g, OP_MUL, a, x[0], L0);
}
static Node *b_one_hot(Graph *g, Node **x) { return attr_op(g, OP_ONE_HOT, x, 1, (int64_t[]){4}, 1, NULL); }
static Node *b_gather(Graph *g, Node **x) { return attr_op(g, OP_GATHER, x, 2, (int64_t[]){0}, 1, NULL); }
static Node *b_gather1(Graph *g, Node **x) { return attr_op(g, OP_GATHER, x, 2, (int64_t[]){1}, 1, NULL); }
static Node *b_index_add(Graph *g, Node **x) { return attr_op(g, OP_INDEX_ADD, x, 3, (int64_t[]){0}, 1, NULL); }
static Node *b_take(Graph *g, Node **x) { return attr_op(g, OP_TAKE_ALONG, x, 2, (int64_t[]){1}, 1, NULL); }
static Node *b_scatter(Graph *g, Node **x) { return attr_op(g, OP_SCATTER_ADD, x, 3, (int64_t[]){1}, 1, NULL); }
static Node *b_cast(Graph *g, Node **x)
{
	Type t = x[0]->type;
	t.dtype = TY_F64;
	return attr_op(g, OP_CAST, x, 1, NULL, 0, &t);
}
static Node *b_reshape(Graph *g, Node **x)
{
	Type t = ir_type(TY_F32, 2, (Dim[]){3, 2});
	return attr_op(g, OP_RESHAPE, x, 1, NULL, 0, &t);
}
static Node *b_transpose(Graph *g, Node **x) { return attr_op(g, OP_TRANSPOSE, x, 1, (int64_t[]){1, 0}, 2, NULL); }
static Node *b_broadcast(Graph *g, Node **x)
{
	Type t = ir_type(TY_F32, 3, (Dim[]){2, 2, 3});
	return attr_op(g, OP_BROADCAST, x, 1, NULL, 0, &t);
}
static Node *b_sum_to(Graph *g, Node **x)
{
	Type t = ir_type(TY_F32, 2, (Dim[]){1, 3});
	return attr_op(g, OP_SUM_TO, x, 1, NULL, 0, &t);
}
static Node *b_matmul(Graph *g, Node **x) { return attr_op(g, OP_MATMUL, x, 2, (int64_t[]){0, 1}, 2, NULL); }
static Node *b_not(Graph *g, Node **x) { return ir_op1(g, OP_NOT, x[0], L0); }
static Node *b_where(Graph *g, Node **x)
{
	Node *in[3] = {ir_op2(g, OP_GT, x[0], x[1], L0), x[0], x[1]};
	return ir_op(g, OP_WHERE, in, 3, NULL, 0, NULL, L0);
}
/* conv attributes: stride, padding, dilation (each one per spatial axis), groups */
static Node *b_conv(Graph *g, Node **x, const int64_t *a) { return attr_op(g, OP_CONV, x, 2, a, 3 * (x[0]->type.rank - 2) + 1, NULL); }
static Node *b_conv_p1(Graph *g, Node **x) { return b_conv(g, x, (int64_t[]){1, 1, 1, 1, 1, 1, 1}); }
static Node *b_conv_sdg(Graph *g, Node **x) { return b_conv(g, x, (int64_t[]){2, 1, 0, 1, 2, 1, 2}); }
static Node *b_conv_1x1(Graph *g, Node **x) { return b_conv(g, x, (int64_t[]){1, 1, 0, 0, 1, 1, 1}); }
static Node *b_conv_dw(Graph *g, Node **x) { return b_conv(g, x, (int64_t[]){2, 2, 1, 1, 1, 1, 3}); }
static Node *b_conv_1d(Graph *g, Node **x) { return b_conv(g, x, (int64_t[]){2, 1, 2, 1}); }
static Node *b_conv_3d(Graph *g, Node **x) { return b_conv(g, x, (int64_t[]){1, 2, 1, 1, 0, 1, 1, 1, 2, 2}); }
/* conv_transpose of x [N, Cin, ...] by w [Cin, Cout/groups, K...]: each size (I-1)s - 2p + d(K-1) + opad + 1 */
static Node *b_convt(Graph *g, Node **x, const int64_t *a, const int64_t *opad)
{
	int S = x[0]->type.rank - 2;
	Type t = x[0]->type;
	t.dim[1] = x[1]->type.dim[1] * a[3 * S];
	for (int i = 0; i < S; i++)
		t.dim[2 + i] = (t.dim[2 + i] - 1) * a[i] - 2 * a[S + i] + a[2 * S + i] * (x[1]->type.dim[2 + i] - 1) + opad[i] + 1;
	return attr_op(g, OP_CONV_TRANSPOSE, x, 2, a, 3 * S + 1, &t);
}
static Node *b_convt_2d(Graph *g, Node **x) { return b_convt(g, x, (int64_t[]){2, 2, 1, 1, 1, 1, 1}, (int64_t[]){1, 0}); }
static Node *b_convt_gd(Graph *g, Node **x) { return b_convt(g, x, (int64_t[]){1, 2, 0, 0, 2, 2, 2}, (int64_t[]){1, 0}); }
static Node *b_convt_1d(Graph *g, Node **x) { return b_convt(g, x, (int64_t[]){3, 1, 1, 1}, (int64_t[]){2}); }
static Node *b_convt_3d(Graph *g, Node **x) { return b_convt(g, x, (int64_t[]){2, 2, 1, 1, 0, 1, 1, 1, 1, 1}, (int64_t[]){1, 0, 0}); }
static Node *b_maxpool(Graph *g, Node **x) { return attr_op(g, OP_MAX_POOL2D, x, 1, (int64_t[]){2, 2, 2, 2, 0, 0}, 6, NULL); }
static Node *b_maxpool_p(Graph *g, Node **x) { return attr_op(g, OP_MAX_POOL2D, x, 1, (int64_t[]){3, 2, 2, 1, 1, 1}, 6, NULL); }
static Node *b_maxpool_i(Graph *g, Node **x) { return attr_op(g, OP_MAX_POOL2D_INDICES, x, 1, (int64_t[]){3, 2, 2, 1, 1, 1}, 6, NULL); }
static Node *b_dropout(Graph *g, Node **x)
{
	Node *in[3] = {x[0], ir_const(g, TY_F32, 7, L0), ir_const(g, TY_F32, 12345, L0)};
	return attr_op(g, OP_DROPOUT, in, 3, (int64_t[]){4242, 5033165 /* p = 0.3 */}, 2, NULL);
}
static Node *b_rand(Graph *g, Node **x, int normal)
{
	Type t = x[0]->type;
	Node *r = attr_op(g, OP_RAND, (Node *[]){ir_const(g, TY_F32, 5, L0), ir_const(g, TY_F32, 99, L0)}, 2, (int64_t[]){777, normal}, 2, &t);
	return ir_op2(g, OP_MUL, r, x[0], L0);
}
static Node *b_rand_u(Graph *g, Node **x) { return b_rand(g, x, 0); }
static Node *b_rand_n(Graph *g, Node **x) { return b_rand(g, x, 1); }
/* top_k: the indices (axis, k, largest), or the values take_along them */
static Node *b_topk(Graph *g, Node **x) { return attr_op(g, OP_TOP_K, x, 1, (int64_t[]){1, 3, 1}, 3, NULL); }
static Node *b_topk_small(Graph *g, Node **x) { return attr_op(g, OP_TOP_K, x, 1, (int64_t[]){0, 2, 0}, 3, NULL); }
static Node *b_topk_values(Graph *g, Node **x)
{
	Node *in[2] = {x[0], attr_op(g, OP_TOP_K, x, 1, (int64_t[]){2, 2, 1}, 3, NULL)};
	return attr_op(g, OP_TAKE_ALONG, in, 2, (int64_t[]){2}, 1, NULL);
}
/* ctc_loss (log_probs, targets, input_lengths, target_lengths): every alignment exists (input
   lengths 4..6, at most 2 labels), so the losses are finite */
static Node *b_ctc(Graph *g, Node **x) { return attr_op(g, OP_CTC_LOSS, x, 4, (int64_t[]){0, 0}, 2, NULL); }
static Node *b_ctc_blank3(Graph *g, Node **x) { return attr_op(g, OP_CTC_LOSS, x, 4, (int64_t[]){3, 1}, 2, NULL); }
static Node *b_ctc_greedy(Graph *g, Node **x) { return attr_op(g, OP_CTC_GREEDY, x, 2, (int64_t[]){0}, 1, NULL); }
static Node *b_ctc_greedy_blank2(Graph *g, Node **x) { return attr_op(g, OP_CTC_GREEDY, x, 2, (int64_t[]){2}, 1, NULL); }

static const Row rows[] = {
	{OP_NEG, "", 1, {M23}}, {OP_EXP, "", 1, {M23}}, {OP_LOG, "", 1, {P23}}, {OP_SQRT, "", 1, {P23}},
	{OP_TANH, "", 1, {M23}}, {OP_SIGMOID, "", 1, {M23}}, {OP_RELU, "", 1, {M23}, NULL, {0}, 1},
	{OP_ABS, "", 1, {M23}, NULL, {0}, 1}, {OP_LOG1P, "", 1, {F(2, 2, 3, 0, -0.8, 2)}}, {OP_RSQRT, "", 1, {P23}},
	{OP_SQUARE, "", 1, {M23}}, {OP_SIN, "", 1, {F(2, 2, 3, 0, -4, 4)}}, {OP_COS, "", 1, {F(2, 2, 3, 0, -4, 4)}},
	{OP_ERF, "", 1, {M23}}, {OP_RELU6, "", 1, {F(2, 2, 3, 0, -2, 8)}, NULL, {0, 6}, 2},
	{OP_GELU, "", 1, {F(2, 2, 3, 0, -4, 4)}}, {OP_SILU, "", 1, {F(2, 2, 3, 0, -4, 4)}},
	{OP_SOFTPLUS, "", 1, {F(2, 2, 3, 0, -4, 4)}}, {OP_MISH, "", 1, {F(2, 2, 3, 0, -4, 4)}},
	{OP_HARDSWISH, "", 1, {F(2, 2, 3, 0, -5, 5)}, NULL, {-3, 3}, 2},
	{OP_HARDSIGMOID, "", 1, {F(2, 2, 3, 0, -5, 5)}, NULL, {-3, 3}, 2},
	{OP_SIGN, "", 1, {M23}, NULL, {0}, 1, 0, true}, {OP_FLOOR, "", 1, {M23}, NULL, {-2, -1, 0}, 3, 0, true},
	{OP_CEIL, "", 1, {F(2, 2, 3, 0, 0.1, 0.9)}, NULL, {0}, 0, 0, true},
	{OP_ROUND, "", 1, {F(2, 2, 3, 0, 0.6, 1.4)}, NULL, {0}, 0, 0, true},
	{OP_STOP_GRADIENT, "", 1, {M23}, NULL, {0}, 0, 0, true},
	{OP_LEAKY_RELU, "slope 0.1", 1, {M23}, b_leaky, {0}, 1}, {OP_ELU, "alpha 1.3", 1, {M23}, b_elu, {0}, 1},
	{OP_GRAD_SCALE, "s -0.7", 1, {M23}, b_gscale, {0}, 0, -0.7},
	{OP_ADD, "broadcast", 2, {M23, F(1, 3, 0, 0, -2, 2)}}, {OP_SUB, "", 2, {M23, F(2, 2, 1, 0, -2, 2)}},
	{OP_MUL, "", 2, {M23, M23}}, {OP_DIV, "", 2, {M23, P23}}, {OP_POW, "", 2, {P23, M23}},
	{OP_MAXIMUM, "", 2, {M23, F(2, 2, 3, 0, 2.5, 3)}}, {OP_MINIMUM, "", 2, {M23, F(2, 2, 3, 0, 2.5, 3)}},
	{OP_EQ, "", 2, {I(TY_I32, 1, 6, 0, 0, 3), I(TY_I32, 1, 6, 0, 0, 3)}},
	{OP_NE, "", 2, {I(TY_I32, 1, 6, 0, 0, 3), I(TY_I32, 1, 6, 0, 0, 3)}},
	{OP_LT, "", 2, {I(TY_I32, 1, 6, 0, 0, 3), I(TY_I32, 1, 6, 0, 0, 3)}},
	{OP_LE, "", 2, {I(TY_I32, 1, 6, 0, 0, 3), I(TY_I32, 1, 6, 0, 0, 3)}},
	{OP_GT, "", 2, {I(TY_I32, 1, 6, 0, 0, 3), I(TY_I32, 1, 6, 0, 0, 3)}},
	{OP_GE, "", 2, {I(TY_I32, 1, 6, 0, 0, 3), I(TY_I32, 1, 6, 0, 0, 3)}},
	{OP_AND, "", 2, {I(TY_BOOL, 1, 6, 0, 0, 2), I(TY_BOOL, 1, 6, 0, 0, 2)}},
	{OP_OR, "", 2, {I(TY_BOOL, 1, 6, 0, 0, 2), I(TY_BOOL, 1, 6, 0, 0, 2)}},
	{OP_NOT, "", 1, {I(TY_BOOL, 1, 6, 0, 0, 2)}, b_not},
	{OP_WHERE, "a > b", 2, {M23, M23}, b_where},
	{OP_CAST, "f32 -> f64", 1, {M23}, b_cast}, {OP_RESHAPE, "", 1, {M23}, b_reshape},
	{OP_TRANSPOSE, "", 1, {M23}, b_transpose}, {OP_BROADCAST, "", 1, {F(2, 2, 1, 0, -2, 2)}, b_broadcast},
	{OP_SUM_TO, "", 1, {M23}, b_sum_to},
	{OP_SUM, "axis 1", 1, {M23}, b_sum}, {OP_MEAN, "axis 0 keepdim", 1, {M23}, b_mean},
	{OP_MAX, "axis 1", 1, {M23}, b_max}, {OP_MIN, "all", 1, {M23}, b_min}, {OP_PROD, "axis 1", 1, {M23}, b_prod},
	{OP_ARGMAX, "axis 0", 1, {M23}, b_argmax}, {OP_ARGMIN, "axis 0 keepdim", 1, {M23}, b_argmin},
	{OP_LOGSUMEXP, "axis 0", 1, {F(2, 2, 3, 0, -3, 3)}, b_lse},
	{OP_SOFTMAX, "axis 1", 1, {F(2, 2, 3, 0, -3, 3)}, b_softmax},
	{OP_LOG_SOFTMAX, "axis 0", 1, {F(2, 2, 3, 0, -3, 3)}, b_logsoftmax},
	{OP_CUMSUM, "axis 1", 1, {M23}, b_cumsum}, {OP_CUMSUM, "axis 0 reverse", 1, {M23}, b_rcumsum},
	{OP_CONCAT, "axis 1", 3, {M23, F(2, 2, 1, 0, -2, 2), M23}, b_concat},
	{OP_SLICE, "axis 1 [1, 3)", 1, {F(3, 2, 4, 2, -2, 2)}, b_slice},
	{OP_PAD, "[1, 0] [2, 1] value 0.25", 1, {M23}, b_pad},
	{OP_TRIL, "", 1, {F(3, 2, 3, 4, -2, 2)}, b_tril}, {OP_TRIL, "triu diagonal 1", 1, {F(2, 4, 3, 0, -2, 2)}, b_triu},
	{OP_ARANGE, "times x", 1, {F(1, 6, 0, 0, -2, 2)}, b_arange},
	{OP_ONE_HOT, "", 1, {I(TY_I32, 2, 2, 3, 0, 4)}, b_one_hot},
	{OP_GATHER, "embedding", 2, {F(2, 5, 3, 0, -2, 2), I(TY_I32, 2, 2, 2, 0, 5)}, b_gather},
	{OP_GATHER, "axis 1", 2, {F(3, 2, 4, 2, -2, 2), I(TY_I64, 1, 5, 0, 0, 4)}, b_gather1},
	{OP_INDEX_ADD, "", 3, {F(2, 4, 3, 0, -2, 2), I(TY_I32, 1, 5, 0, 0, 4), F(2, 5, 3, 0, -2, 2)}, b_index_add},
	{OP_TAKE_ALONG, "", 2, {F(2, 3, 4, 0, -2, 2), I(TY_I32, 2, 3, 2, 0, 4)}, b_take},
	{OP_SCATTER_ADD, "", 3, {F(2, 3, 4, 0, -2, 2), I(TY_I32, 2, 3, 5, 0, 4), F(2, 3, 5, 0, -2, 2)}, b_scatter},
	{OP_MATMUL, "a @ b.T", 2, {F(2, 3, 4, 0, -2, 2), F(2, 2, 4, 0, -2, 2)}, b_matmul},
	{OP_CROSS_ENTROPY, "", 2, {F(2, 4, 5, 0, -3, 3), I(TY_I32, 1, 4, 0, 0, 5)}},
	{OP_CONV, "3x3 padding 1", 2, {F4(2, 3, 5, 5), F4(4, 3, 3, 3)}, b_conv_p1},
	{OP_CONV, "stride (2, 1) padding (0, 1) dilation (2, 1) groups 2", 2, {F4(1, 4, 7, 6), F4(6, 2, 2, 3)}, b_conv_sdg},
	{OP_CONV, "1x1 direct", 2, {F4(2, 3, 4, 4), F4(5, 3, 1, 1)}, b_conv_1x1},
	{OP_CONV, "depthwise stride 2 padding 1", 2, {F4(1, 3, 5, 5), F4(3, 1, 3, 3)}, b_conv_dw},
	{OP_CONV, "1-D stride 2 padding 1 dilation 2", 2, {F3(2, 3, 9), F3(4, 3, 3)}, b_conv_1d},
	{OP_CONV, "3-D stride (1, 2, 1) padding (1, 0, 1) dilation (1, 1, 2) groups 2", 2, {F5(1, 2, 4, 5, 3), F5(4, 1, 2, 3, 2)}, b_conv_3d},
	{OP_CONV_TRANSPOSE, "stride 2 padding 1 output_padding (1, 0)", 2, {F4(2, 3, 3, 3), F4(3, 2, 3, 3)}, b_convt_2d},
	{OP_CONV_TRANSPOSE, "stride (1, 2) dilation 2 groups 2 output_padding (1, 0) (>= stride: cut gradient)", 2,
	 {F4(1, 4, 3, 4), F4(4, 1, 2, 2)}, b_convt_gd},
	{OP_CONV_TRANSPOSE, "1-D stride 3 padding 1 output_padding 2", 2, {F3(2, 2, 4), F3(2, 3, 3)}, b_convt_1d},
	{OP_CONV_TRANSPOSE, "3-D stride (2, 2, 1) padding (1, 0, 1) output_padding (1, 0, 0)", 2, {F5(1, 2, 2, 3, 3), F5(2, 2, 3, 2, 2)}, b_convt_3d},
	{OP_MAX_POOL2D, "2x2 stride 2", 1, {F4(2, 2, 5, 5)}, b_maxpool},
	{OP_MAX_POOL2D, "3x2 stride (2, 1) padding 1", 1, {F4(1, 2, 5, 4)}, b_maxpool_p},
	{OP_MAX_POOL2D_INDICES, "3x2 stride (2, 1) padding 1", 1, {F4(1, 2, 5, 4)}, b_maxpool_i},
	{OP_DROPOUT, "p 0.3 step 7", 1, {F(2, 4, 6, 0, -2, 2)}, b_dropout},
	{OP_RAND, "uniform step 5 times x", 1, {F(2, 4, 6, 0, -2, 2)}, b_rand_u},
	{OP_RAND, "normal step 5 times x", 1, {F(2, 4, 6, 0, -2, 2)}, b_rand_n},
	{OP_TOP_K, "axis 1 k 3", 1, {F(2, 3, 5, 0, -2, 2)}, b_topk}, {OP_TOP_K, "smallest axis 0 k 2", 1, {F(2, 4, 3, 0, -2, 2)}, b_topk_small},
	{OP_CTC_LOSS, "T 6 N 3 C 4 blank 0", 4, {F(3, 6, 3, 4, -3, 0), I(TY_I64, 2, 3, 3, 1, 4), I(TY_I64, 1, 3, 0, 4, 7), I(TY_I64, 1, 3, 0, 0, 3)}, b_ctc},
	{OP_CTC_LOSS, "T 5 N 2 C 4 blank 3 zero_infinity", 4, {F(3, 5, 2, 4, -3, 0), I(TY_I64, 2, 2, 2, 0, 3), I(TY_I64, 1, 2, 0, 4, 6),
	 I(TY_I64, 1, 2, 0, 1, 3)}, b_ctc_blank3},
	{OP_CTC_GREEDY, "T 8 N 3 C 3", 2, {F(3, 8, 3, 3, -2, 2), I(TY_I32, 1, 3, 0, 0, 9)}, b_ctc_greedy},
	{OP_CTC_GREEDY, "T 9 N 2 C 4 blank 2", 2, {F(3, 9, 2, 4, -2, 2), I(TY_I64, 1, 2, 0, 5, 10)}, b_ctc_greedy_blank2},
	{OP_TOP_K, "ties (i32 in [0, 3))", 1, {I(TY_I32, 2, 3, 6, 0, 3)}, b_topk}, {OP_TOP_K, "values axis 2 k 2", 1, {F(3, 2, 3, 4, -2, 2)}, b_topk_values},
};
enum { NROWS = sizeof rows / sizeof *rows };

/* ops without a row, and why: the table walk accepts these */
static const struct { Op op; const char *why; } covered[] = {
	{OP_INPUT, "every row"}, {OP_PARAM, "every row"}, {OP_CONST, "pad, leaky_relu rows"},
	{OP_HYPER, "test_codegen mlp_step"}, {OP_OPT_UPDATE, "test_codegen mlp_step, test_interp"},
	{OP_RELU_BWD, "relu's gradient"}, {OP_XENT_BWD, "cross_entropy's gradient"},
	{OP_CONV_BWD_WEIGHT, "conv's and conv_transpose's gradient"},
	{OP_MAX_POOL2D_BWD, "max_pool2d's gradient"}, {OP_CTC_BWD, "ctc_loss's gradient"}, {OP_ASSIGN, "assign_effect (an effect: no value to differentiate)"},
	{OP_GRAD_ACC, "grad_acc_block (writes NndCall.grads; tests/e2e/recipe_accumulate.sh)"},
	{OP_LOOP, "test_gradcheck's loop programs (interpreter), tests/e2e/lstm_torch.sh (kernels against PyTorch)"},
	{OP_LOOP_OUT, "as loop"},
	{OP_IF, "test_gradcheck test_if_gradients (both branches) and loop program 3; test_codegen early_exit_skips_the_rest and loop programs (compiled against the interpreter)"},
	{OP_IF_OUT, "as if"},
	{OP_CUSTOM_GRAD, "test_gradcheck custom grad pairs and loop program 2 (compiled in test_codegen); its value is a view"},
};

/* ---- random operands ---- */

static uint64_t rng = 88172645463325252ull;
static double urand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (double)(rng >> 11) / 9007199254740992.0;
}

static int64_t numel(Type t)
{
	int64_t n = 1;
	for (int d = 0; d < t.rank; d++)
		n *= t.dim[d];
	return n;
}

static double draw(const Row *r, const Operand *o)
{
	for (;;) {
		double v = o->lo + (o->hi - o->lo) * urand();
		if (!dtype_is_float(o->t))
			return floor(v);
		bool ok = true;
		for (int k = 0; k < r->nkinks; k++)
			ok &= fabs(v - r->kinks[k]) > 0.05;
		if (ok)
			return (double)(float)v;
	}
}

/* (shared objects are built by tests/unit/cgso.h) */

static void *to_buffer(DType t, const double *v, int64_t n)
{
	void *b = calloc((size_t)(n ? n : 1), 8);
	for (int64_t i = 0; i < n; i++)
		switch (t) {
		case TY_F32: ((float *)b)[i] = (float)v[i]; break;
		case TY_F64: ((double *)b)[i] = v[i]; break;
		case TY_I32: ((int32_t *)b)[i] = (int32_t)v[i]; break;
		case TY_I64: ((int64_t *)b)[i] = (int64_t)v[i]; break;
		case TY_BOOL: case TY_U8: ((uint8_t *)b)[i] = (uint8_t)v[i]; break;
		default: ck_abort_msg("dtype %s not handled by the test", dtype_name[t]);
		}
	return b;
}

static double from_buffer(DType t, const void *b, int64_t i)
{
	switch (t) {
	case TY_F32: return ((const float *)b)[i];
	case TY_F64: return ((const double *)b)[i];
	case TY_I32: return ((const int32_t *)b)[i];
	case TY_I64: return (double)((const int64_t *)b)[i];
	case TY_BOOL: case TY_U8: return ((const uint8_t *)b)[i];
	default: ck_abort_msg("dtype %s not handled by the test", dtype_name[t]);
	}
	return 0;
}

/* ---- one row ---- */

enum { MAX_PARAMS = 512 }; /* float operand elements of one row */

typedef struct Setup {
	Prog *p;
	Graph *loss, *grad;
	double *params;          /* all float operands, in order */
	double *inputs[4];       /* integer operands, then r */
	int ninputs;
	int64_t nparams;
} Setup;

static Setup setup(const Row *r)
{
	Setup s = {0};
	s.p = ir_prog_new(arena_new());
	Graph *g = s.loss = ir_graph_new(s.p, "loss");
	Node *x[4];
	s.params = arena_alloc(s.p->arena, MAX_PARAMS * sizeof(double)); /* arenas live until exit */
	for (int k = 0; k < r->n; k++) {
		const Operand *o = &r->in[k];
		Type t = ir_type(o->t, o->rank, o->d);
		double *v;
		if (dtype_is_float(o->t)) {
			int idx = ir_param_add(s.p, (Param){.name = arena_printf(s.p->arena, "x%d", k), .type = t, .trainable = true});
			x[k] = ir_param(g, idx, L0);
			v = s.params + s.nparams;
			s.nparams += numel(t);
			ck_assert_int_le(s.nparams, MAX_PARAMS);
		} else {
			x[k] = ir_input(g, t, "idx", L0);
			v = s.inputs[s.ninputs++] = arena_alloc(s.p->arena, ((size_t)numel(t) + 1) * sizeof(double));
		}
		for (int64_t i = 0; i < numel(t); i++)
			v[i] = draw(r, o);
	}
	Node *y = r->build ? r->build(g, x) : ir_op(g, r->op, x, r->n, NULL, 0, NULL, L0);
	bool found = false; /* the row's op is in the graph (a row may build around it) */
	for (int i = 0; i < g->nodes.n; i++)
		found |= g->nodes.v[i]->op == r->op;
	ck_assert_msg(found, "row %s %s does not build its op", op_info[r->op].name, r->what);
	Node *yf = y;
	if (!dtype_is_float(y->type.dtype) || y->type.dtype != TY_F32) {
		Type t = y->type;
		t.dtype = TY_F32;
		yf = ir_op(g, OP_CAST, &y, 1, NULL, 0, &t, L0);
	}
	Node *rw = ir_input(g, yf->type, "r", L0);
	double *rv = s.inputs[s.ninputs++] = arena_alloc(s.p->arena, ((size_t)numel(yf->type) + 1) * sizeof(double));
	for (int64_t i = 0; i < numel(yf->type); i++)
		rv[i] = (double)(float)(urand() * 2 - 1);
	int64_t attr[2] = {((int64_t)1 << yf->type.rank) - 1, 0};
	Node *prod = ir_op2(g, OP_MUL, yf, rw, L0);
	ir_graph_output(g, "loss", ir_op(g, OP_SUM, &prod, 1, attr, 2, NULL, L0));
	ir_graph_output(g, "y", y);
	ck_assert_int_eq(ir_graph_verify(g, "test_ops"), 0);
	s.grad = pass_autodiff(g, "predict");
	ck_assert_int_eq(ir_graph_verify(s.grad, "test_ops autodiff"), 0);
	return s;
}

static double eval_loss(Setup *s)
{
	char err[256];
	double *outs[2] = {0};
	InterpArgs a = {.params = s->params, .inputs = (const double *const *)s->inputs, .outputs = outs};
	ck_assert_msg(ir_interp(s->loss, &a, err, sizeof err), "interp: %s", err);
	double l = outs[0][0];
	free(outs[0]);
	free(outs[1]);
	return l;
}

static double worst_grad, worst_kernel;

/* (a) gradients against finite differences, in float64 */
START_TEST(gradient_vs_finite_differences)
{
	const Row *r = &rows[_i];
	Setup s = setup(r);
	char err[256];
	double *outs[8] = {0};
	InterpArgs a = {.params = s.params, .inputs = (const double *const *)s.inputs, .outputs = outs};
	ck_assert_int_le(s.grad->outputs.n, 8);
	ck_assert_msg(ir_interp(s.grad, &a, err, sizeof err), "interp: %s", err);
	int64_t off = 0;
	for (int k = 0, pk = 0; k < r->n; k++) {
		if (!dtype_is_float(r->in[k].t))
			continue;
		const double *g = outs[2 + pk++];
		int64_t n = numel(ir_type(r->in[k].t, r->in[k].rank, r->in[k].d));
		for (int64_t i = 0; i < n; i++) {
			double h = 1e-5, save = s.params[off + i];
			s.params[off + i] = save + h;
			double lp = eval_loss(&s);
			s.params[off + i] = save - h;
			double lm = eval_loss(&s);
			s.params[off + i] = save;
			double fd = (lp - lm) / (2 * h) * (r->gscale ? r->gscale : 1);
			if (r->zero_grad)
				fd = 0;
			double rel = fabs(fd - g[i]) / fmax(fmax(fabs(fd), fabs(g[i])), 1e-2);
			worst_grad = fmax(worst_grad, rel);
			ck_assert_msg(rel < 1e-6, "%s %s: d/dx%d[%lld]: autodiff %.12g, finite differences %.12g (relative error %.3g)",
			              op_info[r->op].name, r->what, k, (long long)i, g[i], fd, rel);
		}
		off += n;
	}
	for (int k = 0; k < s.grad->outputs.n; k++)
		free(outs[k]);
}
END_TEST

/* (b) the compiled forward and backward kernels against ir_interp, on the same float32 values */
START_TEST(kernels_vs_interp)
{
	const Row *r = &rows[_i];
	Setup s = setup(r);
	Graph *g = s.grad;
	char err[256];
	double *outs[8] = {0};
	InterpArgs a = {.params = s.params, .inputs = (const double *const *)s.inputs, .outputs = outs};
	ck_assert_msg(ir_interp(g, &a, err, sizeof err), "interp: %s", err);
	void *h = cgso_build(s.p);
	void *in[8] = {0}, *out[8] = {0};
	for (int k = 0; k < g->inputs.n; k++)
		in[k] = to_buffer(g->inputs.v[k]->type.dtype, s.inputs[k], numel(g->inputs.v[k]->type));
	for (int k = 0; k < g->outputs.n; k++)
		out[k] = calloc((size_t)numel(g->outputs.v[k].node->type) + 1, 8);
	float *pf = to_buffer(TY_F32, s.params, s.nparams);
	int64_t syms[1] = {0};
	float hyper[NND_H_COUNT] = {0};
	cgso_call(h, "predict", (NndCall){pf, NULL, NULL, NULL, (const void *const *)in, syms, hyper, out});
	for (int k = 0; k < g->outputs.n; k++) {
		Type t = g->outputs.v[k].node->type;
		for (int64_t i = 0; i < numel(t); i++) {
			double got = from_buffer(t.dtype, out[k], i), want = outs[k][i];
			double err1 = fabs(got - want);
			worst_kernel = fmax(worst_kernel, err1 / fmax(fabs(want), 1e-2));
			ck_assert_msg(err1 <= 2e-5 + 1e-4 * fabs(want), "%s %s: output %s[%lld]: kernel %.9g, interp %.9g",
			              op_info[r->op].name, r->what, g->outputs.v[k].name, (long long)i, got, want);
		}
		free(out[k]);
		free(outs[k]);
	}
	for (int k = 0; k < g->inputs.n; k++)
		free(in[k]);
	free(pf);
}
END_TEST

/* (c) the table walk */
START_TEST(every_op_is_complete)
{
	for (int op = 0; op < OP_COUNT; op++) {
		const char *name = op_info[op].name;
		ck_assert_msg(ir_interp_supports((Op)op), "ir/interp.c has no case for %s", name);
		ck_assert_msg((op_info[op].flags & OPF_NOGRAD) || pass_autodiff_has_rule((Op)op),
		              "passes/autodiff.c has no derivative rule for %s", name);
		ck_assert_msg(cg_has_kernel((Op)op), "codegen/kernels.c has no kernel for %s", name);
		bool tested = false;
		for (int i = 0; i < NROWS; i++)
			tested |= rows[i].op == (Op)op;
		for (size_t i = 0; i < sizeof covered / sizeof *covered; i++)
			tested |= covered[i].op == (Op)op;
		ck_assert_msg(tested, "tests/unit/test_ops.c has no row for %s", name);
	}
	/* shape rules: the table in ir/shape.c is filled from ops.def, so a missing rule does not
	   compile; a rule that accepts nonsense is caught here */
	Prog *p = ir_prog_new(arena_new());
	Graph *g = ir_graph_new(p, "g");
	char err[256];
	Type t = ir_type(TY_F32, 2, (Dim[]){2, 3});
	Node *x = ir_input(g, t, "x", L0);
	ck_assert(!ir_node_new(g, OP_SOFTMAX, &x, 1, (int64_t[]){2}, 1, NULL, L0, err, sizeof err));
	ck_assert_msg(strstr(err, "axis 2 out of range"), "%s", err);
	ck_assert(!ir_node_new(g, OP_TRIL, (Node *[]){ir_input(g, ir_type(TY_F32, 1, (Dim[]){3}), "v", L0)}, 1,
	                       (int64_t[]){0, 0}, 2, NULL, L0, err, sizeof err));
	Node *cat[2] = {x, ir_input(g, ir_type(TY_F32, 2, (Dim[]){3, 3}), "z", L0)};
	ck_assert(!ir_node_new(g, OP_CONCAT, cat, 2, (int64_t[]){1}, 1, NULL, L0, err, sizeof err));
	ck_assert_msg(strstr(err, "equal sizes except along axis 1"), "%s", err);
	Node *gi[2] = {x, x};
	ck_assert(!ir_node_new(g, OP_GATHER, gi, 2, (int64_t[]){0}, 1, NULL, L0, err, sizeof err));
	ck_assert_msg(strstr(err, "indices must be integers"), "%s", err);
}
END_TEST

/* an index out of range stops the compiled program with a message (exit status 1) */
/* dropout's mask: about 1 - p kept, kept values scaled by 1 / (1 - p), a function of the step
   and the seed */
static double *dropout_run(double step, double seed, int64_t n, const double *x)
{
	Prog *p = ir_prog_new(arena_new());
	Graph *g = ir_graph_new(p, "loss");
	Node *in[3] = {ir_input(g, ir_type(TY_F32, 1, (Dim[]){n}), "x", L0), ir_const(g, TY_F32, step, L0),
	               ir_const(g, TY_F32, seed, L0)};
	ir_graph_output(g, "y", attr_op(g, OP_DROPOUT, in, 3, (int64_t[]){99, 5033165 /* p = 0.3 */}, 2, NULL));
	double *out[1];
	const double *ins[1] = {x};
	char err[256];
	InterpArgs a = {.inputs = ins, .outputs = out};
	ck_assert_msg(ir_interp(g, &a, err, sizeof err), "%s", err);
	return out[0];
}

START_TEST(dropout_mask)
{
	enum { N = 20000 };
	static double x[N];
	for (int i = 0; i < N; i++)
		x[i] = 1 + urand();
	double *a = dropout_run(3, 1, N, x), *b = dropout_run(3, 1, N, x), *c = dropout_run(4, 1, N, x);
	double *d = dropout_run(3, 2, N, x);
	int kept = 0, differ = 0, differ_seed = 0;
	for (int i = 0; i < N; i++) {
		ck_assert(a[i] == b[i]);
		ck_assert(a[i] == 0 || fabs(a[i] - x[i] / (1 - 5033165 / 16777216.0)) < 1e-12);
		kept += a[i] != 0;
		differ += (a[i] != 0) != (c[i] != 0);
		differ_seed += (a[i] != 0) != (d[i] != 0);
	}
	ck_assert_msg(kept > 0.68 * N && kept < 0.72 * N, "kept %d of %d with p 0.3", kept, N);
	ck_assert_msg(differ > 0.3 * N, "steps 3 and 4 share %d of %d mask bits", N - differ, N);
	ck_assert_msg(differ_seed > 0.3 * N, "seeds 1 and 2 share %d of %d mask bits", N - differ_seed, N);
	free(a), free(b), free(c), free(d);
}
END_TEST

/* rand and randn: mean and standard deviation of 20000 draws near 1/2 and 1/sqrt 12 (uniform,
   all in [0, 1)) or 0 and 1 (normal); the same step and seed repeat, another step or seed differs */
static double *rand_run(double step, double seed, int normal, int64_t n)
{
	Prog *p = ir_prog_new(arena_new());
	Graph *g = ir_graph_new(p, "loss");
	Type t = ir_type(TY_F32, 1, (Dim[]){n});
	ir_graph_output(g, "y", attr_op(g, OP_RAND, (Node *[]){ir_const(g, TY_F32, step, L0), ir_const(g, TY_F32, seed, L0)}, 2,
	                                (int64_t[]){31, normal}, 2, &t));
	double *out[1];
	char err[256];
	InterpArgs a = {.outputs = out};
	ck_assert_msg(ir_interp(g, &a, err, sizeof err), "%s", err);
	return out[0];
}

START_TEST(rand_statistics)
{
	enum { N = 20000 };
	for (int normal = 0; normal < 2; normal++) {
		double *a = rand_run(3, 1, normal, N), *b = rand_run(3, 1, normal, N), *c = rand_run(4, 1, normal, N);
		double *d = rand_run(3, 2, normal, N), s = 0, s2 = 0, lo = INFINITY, hi = -INFINITY;
		int same = 0, same_seed = 0;
		for (int i = 0; i < N; i++) {
			ck_assert(a[i] == b[i]);
			same += a[i] == c[i];
			same_seed += a[i] == d[i];
			s += a[i], s2 += a[i] * a[i];
			lo = fmin(lo, a[i]), hi = fmax(hi, a[i]);
		}
		double mean = s / N, sd = sqrt(s2 / N - mean * mean);
		double wm = normal ? 0 : 0.5, ws = normal ? 1 : 1 / sqrt(12);
		ck_assert_msg(fabs(mean - wm) < 4 * ws / sqrt(N), "%s: mean %g, want %g", normal ? "randn" : "rand", mean, wm);
		ck_assert_msg(fabs(sd - ws) < 0.02 * ws, "%s: std %g, want %g", normal ? "randn" : "rand", sd, ws);
		ck_assert_msg(normal || (lo >= 0 && hi < 1), "rand: values in [%g, %g]", lo, hi);
		ck_assert_msg(!normal || (lo < -3 && hi > 3), "randn: no tails ([%g, %g])", lo, hi);
		ck_assert_msg(same < 10, "steps 3 and 4 share %d of %d values", same, N);
		ck_assert_msg(same_seed < 10, "seeds 1 and 2 share %d of %d values", same_seed, N);
		free(a), free(b), free(c), free(d);
	}
}
END_TEST

/* `s := x + w` (OP_ASSIGN) before y = s * x in node order: y reads the state's old value, in the
   interpreter and in compiled code (codegen/entry.c runs the effect after the last reader); then
   the state holds x + w and w is untouched. The shape rule refuses a value of another type. */
START_TEST(assign_effect)
{
	Prog *p = ir_prog_new(arena_new());
	Graph *g = ir_graph_new(p, "predict");
	Type t = ir_type(TY_F32, 1, (Dim[]){3});
	int si = ir_param_add(p, (Param){.name = "s", .kind = PK_STATE, .type = t});
	int wi = ir_param_add(p, (Param){.name = "w", .type = t, .trainable = true});
	Node *x = ir_input(g, t, "x", L0), *sn = ir_param(g, si, L0);
	Node *in[2] = {sn, ir_op2(g, OP_ADD, x, ir_param(g, wi, L0), L0)};
	char err[256];
	Node *bad[2] = {sn, x};
	bad[1] = ir_input(g, ir_type(TY_F32, 1, (Dim[]){4}), "z", L0);
	ck_assert(!ir_node_new(g, OP_ASSIGN, bad, 2, (int64_t[]){si}, 1, NULL, L0, err, sizeof err));
	ck_assert_msg(strstr(err, "must have the state's type f32[3], found f32[4]"), "%s", err);
	ir_graph_effect(g, attr_op(g, OP_ASSIGN, in, 2, (int64_t[]){si}, 1, NULL));
	ir_graph_output(g, "y", ir_op2(g, OP_MUL, sn, x, L0));
	ck_assert_int_eq(ir_graph_verify(g, "assign"), 0);
	double prm[6] = {1, 2, 3, 10, 20, 30}, xv[3] = {0.5, -1, 2}, z[4] = {0}, *outs[1] = {0};
	const double *ins[2] = {xv, z};
	InterpArgs a = {.params = prm, .inputs = ins, .outputs = outs};
	ck_assert_msg(ir_interp(g, &a, err, sizeof err), "interp: %s", err);
	float pf[6] = {1, 2, 3, 10, 20, 30}, xf[3] = {0.5, -1, 2}, zf[4] = {0}, y[3];
	void *h = cgso_build(p);
	const void *cin[2] = {xf, zf};
	void *cout[1] = {y};
	int64_t syms[1] = {0};
	cgso_call(h, "predict", (NndCall){pf, NULL, NULL, NULL, cin, syms, NULL, cout});
	for (int i = 0; i < 3; i++) {
		double old = i + 1.0, want = xv[i] + 10 * (i + 1);
		ck_assert_msg(outs[0][i] == old * xv[i] && y[i] == (float)(old * xv[i]), "y[%d]: interp %g, kernel %g, want %g",
		              i, outs[0][i], y[i], old * xv[i]);
		ck_assert_msg(prm[i] == want && pf[i] == (float)want, "s[%d]: interp %g, kernel %g, want %g", i, prm[i], pf[i], want);
		ck_assert(prm[3 + i] == 10 * (i + 1) && pf[3 + i] == 10 * (i + 1));
	}
	free(outs[0]);
}
END_TEST

/* grad_acc over two micro-batches, in the interpreter and compiled: the first (keep 0) forgets the
   block's old contents, the second adds to it; output and block hold the weighted sum */
START_TEST(grad_acc_block)
{
	Prog *p = ir_prog_new(arena_new());
	Graph *g = ir_graph_new(p, "predict");
	Type t = ir_type(TY_F32, 1, (Dim[]){3});
	ir_param_add(p, (Param){.name = "a", .type = ir_type(TY_F32, 1, (Dim[]){2}), .trainable = true});
	int wi = ir_param_add(p, (Param){.name = "w", .type = t, .trainable = true});
	Node *in[3] = {ir_input(g, t, "g", L0), ir_input(g, ir_scalar_type(TY_F32), "w", L0),
	               ir_input(g, ir_scalar_type(TY_F32), "keep", L0)};
	ir_graph_output(g, "y", attr_op(g, OP_GRAD_ACC, in, 3, (int64_t[]){wi}, 1, NULL));
	void *h = cgso_build(p);
	int64_t syms[1] = {0};
	double gd[2][3] = {{1, -2, 4}, {0.5, 8, -1}}, wd[2] = {0.75, 0.25}, kd[2] = {0, 1}, blk[5] = {7, 7, 9, 9, 9};
	float gf[2][3] = {{1, -2, 4}, {0.5, 8, -1}}, wf[2] = {0.75, 0.25}, kf[2] = {0, 1}, bf[5] = {7, 7, 9, 9, 9}, y[3];
	char err[256];
	for (int k = 0; k < 2; k++) {
		double *outs[1] = {0};
		const double *ins[3] = {gd[k], &wd[k], &kd[k]};
		InterpArgs a = {.grads = blk, .inputs = ins, .outputs = outs};
		ck_assert_msg(ir_interp(g, &a, err, sizeof err), "interp: %s", err);
		const void *cin[3] = {gf[k], &wf[k], &kf[k]};
		void *cout[1] = {y};
		cgso_call(h, "predict", (NndCall){NULL, bf, NULL, NULL, cin, syms, NULL, cout});
		for (int i = 0; i < 3; i++) {
			double want = (k ? 0.75 * gd[0][i] : 0) + wd[k] * gd[k][i];
			ck_assert_msg(outs[0][i] == want && blk[2 + i] == want && y[i] == (float)want && bf[2 + i] == (float)want,
			              "micro-batch %d, [%d]: interp %g (block %g), kernel %g (block %g), want %g", k, i, outs[0][i],
			              blk[2 + i], y[i], bf[2 + i], want);
		}
		ck_assert(blk[0] == 7 && bf[0] == 7 && blk[1] == 7 && bf[1] == 7);
		free(outs[0]);
	}
}
END_TEST

START_TEST(bad_index_exits)
{
	Prog *p = ir_prog_new(arena_new());
	Graph *g = ir_graph_new(p, "predict");
	Node *x[2] = {ir_input(g, ir_type(TY_F32, 2, (Dim[]){3, 2}), "t", L0), ir_input(g, ir_type(TY_I32, 1, (Dim[]){2}), "i", L0)};
	ir_graph_output(g, "y", ir_op(g, OP_GATHER, x, 2, (int64_t[]){0}, 1, NULL, L0));
	void *h = cgso_build(p);
	float t[6] = {0}, y[4];
	int32_t idx[2] = {1, 3};
	const void *in[2] = {t, idx};
	void *out[1] = {y};
	int64_t syms[1] = {0};
	cgso_call(h, "predict", (NndCall){NULL, NULL, NULL, NULL, in, syms, NULL, out});
}
END_TEST

/* The compiled CTC loss and gradient keep their scratch (runtime/ctc.c) from call to call: with
   a run-time T, calls at T = 6, 6, 4, 8, 8 allocate (counted through the shared object's
   rt_alloc_hook) once per node at the first call and at the first longer T, never else; each
   call's results are the interpreter's */
static int nallocs;
static void *(*plain_alloc)(size_t);
static void *counting_alloc(size_t n)
{
	nallocs++;
	return plain_alloc(n);
}

START_TEST(ctc_scratch_kept)
{
	Prog *p = ir_prog_new(arena_new());
	Dim T = ir_dim_sym(p, ir_sym_add(p, "T"));
	Graph *g = ir_graph_new(p, "predict");
	Type len = ir_type(TY_I64, 1, (Dim[]){2});
	Node *x[5] = {ir_input(g, ir_type(TY_F32, 3, (Dim[]){T, 2, 3}), "lp", L0), ir_input(g, ir_type(TY_I64, 2, (Dim[]){2, 2}), "y", L0),
	              ir_input(g, len, "il", L0), ir_input(g, len, "tl", L0), ir_input(g, ir_type(TY_F32, 1, (Dim[]){2}), "dloss", L0)};
	ir_graph_output(g, "loss", ir_op(g, OP_CTC_LOSS, x, 4, (int64_t[]){0, 0}, 2, NULL, L0));
	ir_graph_output(g, "dlp", ir_op(g, OP_CTC_BWD, x, 5, (int64_t[]){0, 0}, 2, NULL, L0));
	void *h = cgso_build(p);
	void *(**hook)(size_t) = (void *(**)(size_t))dlsym(h, "rt_alloc_hook");
	ck_assert(hook);
	plain_alloc = *hook;
	*hook = counting_alloc;
	static const int64_t Ts[5] = {6, 6, 4, 8, 8}, want_allocs[5] = {2, 0, 0, 2, 0};
	for (int r = 0; r < 5; r++) {
		int64_t t = Ts[r], syms[1] = {t}, n = t * 6;
		double dlp[8 * 6], dy[4] = {1, 2, 2, 1}, dil[2] = {(double)t, (double)t - 1}, dtl[2] = {2, 1}, dd[2] = {1, 0.5};
		float lp[8 * 6], loss[2], glp[8 * 6], d[2] = {1, 0.5};
		int64_t y[4] = {1, 2, 2, 1}, il[2] = {t, t - 1}, tl[2] = {2, 1};
		for (int64_t i = 0; i < n; i++)
			dlp[i] = lp[i] = -1.0f - 0.25f * (float)((i * 7 + r) % 5);
		const void *in[5] = {lp, y, il, tl, d};
		void *out[2] = {loss, glp};
		nallocs = 0;
		cgso_call(h, "predict", (NndCall){NULL, NULL, NULL, NULL, in, syms, NULL, out});
		ck_assert_msg(nallocs == want_allocs[r], "call %d (T = %lld): %d allocations, expected %lld", r, (long long)t, nallocs,
		              (long long)want_allocs[r]);
		const double *din[5] = {dlp, dy, dil, dtl, dd};
		double *want[2] = {0};
		InterpArgs a = {.inputs = din, .syms = syms, .outputs = want};
		char err[256];
		ck_assert_msg(ir_interp(g, &a, err, sizeof err), "interp: %s", err);
		for (int i = 0; i < 2; i++)
			ck_assert_msg(fabs(loss[i] - want[0][i]) <= 1e-5 * (1 + fabs(want[0][i])), "T = %lld: loss[%d] %.9g, interpreter %.9g",
			              (long long)t, i, loss[i], want[0][i]);
		for (int64_t i = 0; i < n; i++)
			ck_assert_msg(fabs(glp[i] - want[1][i]) <= 1e-5 * (1 + fabs(want[1][i])), "T = %lld: dlp[%lld] %.9g, interpreter %.9g",
			              (long long)t, (long long)i, glp[i], want[1][i]);
		free(want[0]), free(want[1]);
	}
	*hook = plain_alloc;
}
END_TEST

/* a CTC target outside the classes stops the compiled program with a message (exit status 1) */
START_TEST(bad_ctc_target_exits)
{
	Prog *p = ir_prog_new(arena_new());
	Graph *g = ir_graph_new(p, "predict");
	Type len = ir_type(TY_I64, 1, (Dim[]){1});
	Node *x[4] = {ir_input(g, ir_type(TY_F32, 3, (Dim[]){2, 1, 3}), "lp", L0), ir_input(g, ir_type(TY_I64, 2, (Dim[]){1, 2}), "y", L0),
	              ir_input(g, len, "il", L0), ir_input(g, len, "tl", L0)};
	ir_graph_output(g, "loss", ir_op(g, OP_CTC_LOSS, x, 4, (int64_t[]){0, 0}, 2, NULL, L0));
	void *h = cgso_build(p);
	float lp[6] = {0}, loss[1];
	int64_t y[2] = {1, 3}, il[1] = {2}, tl[1] = {2};
	const void *in[4] = {lp, y, il, tl};
	void *out[1] = {loss};
	int64_t syms[1] = {0};
	cgso_call(h, "predict", (NndCall){NULL, NULL, NULL, NULL, in, syms, NULL, out});
}
END_TEST

static void report(void) { printf("test_ops: %d rows; worst relative error: gradients %.3g, kernels %.3g\n", NROWS, worst_grad, worst_kernel); }

int main(void)
{
	Suite *s = suite_create("ops");
	TCase *t = tcase_create("ops");
	tcase_set_timeout(t, 120);
	tcase_add_test(t, every_op_is_complete);
	tcase_add_test(t, dropout_mask);
	tcase_add_test(t, rand_statistics);
	tcase_add_test(t, assign_effect);
	tcase_add_test(t, grad_acc_block);
	tcase_add_test(t, ctc_scratch_kept);
	tcase_add_loop_test(t, gradient_vs_finite_differences, 0, NROWS);
	tcase_add_loop_test(t, kernels_vs_interp, 0, NROWS);
	suite_add_tcase(s, t);
	SRunner *r = srunner_create(s);
	srunner_set_fork_status(r, CK_NOFORK); /* the worst errors are summed up across tests */
	srunner_run_all(r, CK_NORMAL);
	int failed = srunner_ntests_failed(r);
	srunner_free(r);
	report();
	Suite *s2 = suite_create("ops errors");
	TCase *t2 = tcase_create("errors");
	tcase_set_timeout(t2, 60);
	tcase_add_exit_test(t2, bad_index_exits, 1);
	tcase_add_exit_test(t2, bad_ctc_target_exits, 1);
	suite_add_tcase(s2, t2);
	r = srunner_create(s2);
	srunner_set_fork_status(r, CK_FORK);
	srunner_run_all(r, CK_NORMAL);
	failed += srunner_ntests_failed(r);
	srunner_free(r);
	return failed ? 1 : 0;
}
