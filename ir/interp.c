/* ir/interp.c: the reference semantics of every IR operation, in double precision.
 *
 * Each node's value is a dense row-major array of doubles (integers and bools are stored as
 * their values, bools as 0/1). Values live in an array indexed by node id and are freed at the
 * end. Effects (optimiser updates, state assignments) run after every value has been computed, in g->effects order,
 * so they see the parameters as they were on entry. One evaluation function per op, in a table
 * indexed by Op: every kernel is tested against this file, so it stays plain and slow.
 */
#include "ir/ir.h"
#include "runtime/nnd_model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct Shape {
	int rank;
	int64_t d[MAX_RANK];
	int64_t n; /* element count */
} Shape;

typedef struct Interp {
	const Graph *g;
	const InterpArgs *a;
	double **val;      /* by node id */
	Shape *shp;        /* by node id */
	int64_t *poff;     /* element offset of each Prog.params entry */
	char *err;
	size_t errlen;
} Interp;

#define FAIL(...) return (snprintf(it->err, it->errlen, __VA_ARGS__), false)
#define EVAL(name) static bool name(Interp *it, const Node *n, double *y)
#define X(i) (it->val[n->in[i]->id])
#define S(i) (&it->shp[n->in[i]->id])
#define YS (&it->shp[n->id])

/* Index into an operand of shape `in` that numpy-broadcasts to `out`, for out's flat index i */
static int64_t bcast_index(const Shape *out, const Shape *in, int64_t i)
{
	int64_t k = 0, stride = 1;
	for (int d = out->rank - 1; d >= 0; d--) {
		int64_t c = i % out->d[d];
		i /= out->d[d];
		int din = d - (out->rank - in->rank);
		if (din < 0)
			continue;
		if (in->d[din] != 1)
			k += c * stride;
		stride *= in->d[din];
	}
	return k;
}

static double round_to(DType t, double v)
{
	if (t == TY_BOOL)
		return v != 0;
	if (dtype_is_int(t))
		return trunc(v);
	return v;
}

/* ---- leaves ---- */

EVAL(ev_input)
{
	if (!it->a->inputs || !it->a->inputs[n->attr[0]])
		FAIL("input %lld not given", (long long)n->attr[0]);
	memcpy(y, it->a->inputs[n->attr[0]], sizeof *y * (size_t)YS->n);
	return true;
}

EVAL(ev_param)
{
	if (!it->a->params)
		FAIL("no parameter block given");
	memcpy(y, it->a->params + it->poff[n->attr[0]], sizeof *y * (size_t)YS->n);
	return true;
}

EVAL(ev_const)
{
	for (int64_t i = 0; i < YS->n; i++)
		y[i] = n->fval;
	return true;
}

EVAL(ev_hyper)
{
	if (!it->a->hyper || n->attr[0] < 0 || n->attr[0] >= NND_H_COUNT)
		FAIL("hyper-parameter %lld not given", (long long)n->attr[0]);
	y[0] = it->a->hyper[n->attr[0]];
	return true;
}

/* ---- casts and views ---- */

EVAL(ev_cast)
{
	for (int64_t i = 0; i < YS->n; i++)
		y[i] = round_to(n->type.dtype, X(0)[i]);
	return true;
}

EVAL(ev_copy) /* reshape: same elements, same order */
{
	memcpy(y, X(0), sizeof *y * (size_t)YS->n);
	return true;
}

EVAL(ev_transpose) /* y[i0..] = x[..] with y's axis k being x's axis attr[k] */
{
	const Shape *xs = S(0);
	int64_t xstride[MAX_RANK], s = 1;
	for (int d = xs->rank - 1; d >= 0; d--)
		xstride[d] = s, s *= xs->d[d];
	for (int64_t i = 0; i < YS->n; i++) {
		int64_t r = i, k = 0;
		for (int d = YS->rank - 1; d >= 0; d--) {
			k += (r % YS->d[d]) * xstride[n->attr[d]];
			r /= YS->d[d];
		}
		y[i] = X(0)[k];
	}
	return true;
}

EVAL(ev_broadcast)
{
	for (int64_t i = 0; i < YS->n; i++)
		y[i] = X(0)[bcast_index(YS, S(0), i)];
	return true;
}

EVAL(ev_sum_to) /* y broadcasts to x: accumulate each x element into the y element it came from */
{
	memset(y, 0, sizeof *y * (size_t)YS->n);
	for (int64_t i = 0; i < S(0)->n; i++)
		y[bcast_index(S(0), YS, i)] += X(0)[i];
	return true;
}

/* ---- elementwise ---- */

static double unary(Op op, double x)
{
	switch (op) {
	case OP_NEG: return -x;
	case OP_EXP: return exp(x);
	case OP_LOG: return log(x);
	case OP_SQRT: return sqrt(x);
	case OP_TANH: return tanh(x);
	case OP_SIGMOID: return 1 / (1 + exp(-x));
	case OP_RELU: return x > 0 ? x : 0;
	case OP_NOT: return x == 0;
	case OP_ABS: return fabs(x);
	case OP_LOG1P: return log1p(x);
	case OP_RSQRT: return 1 / sqrt(x);
	case OP_SQUARE: return x * x;
	case OP_SIN: return sin(x);
	case OP_COS: return cos(x);
	case OP_ERF: return erf(x);
	case OP_RELU6: return x < 0 ? 0 : x > 6 ? 6 : x;
	case OP_GELU: return 0.5 * x * (1 + erf(x * M_SQRT1_2));
	case OP_SILU: return x / (1 + exp(-x));
	case OP_SOFTPLUS: return x > 20 ? x : log1p(exp(x));
	case OP_MISH: return x * tanh(x > 20 ? x : log1p(exp(x)));
	case OP_HARDSWISH: return x * (x > 3 ? 6 : x > -3 ? x + 3 : 0) / 6;
	case OP_HARDSIGMOID: return (x > 3 ? 6 : x > -3 ? x + 3 : 0) / 6;
	case OP_SIGN: return (x > 0) - (x < 0);
	case OP_FLOOR: return floor(x);
	case OP_CEIL: return ceil(x);
	case OP_ROUND: return nearbyint(x); /* the default rounding mode: half to even */
	case OP_STOP_GRADIENT: return x;
	default: BUG("%s is not unary", op_info[op].name);
	}
}

static double binary(Op op, double a, double b)
{
	switch (op) {
	case OP_ADD: return a + b;
	case OP_SUB: return a - b;
	case OP_MUL: return a * b;
	case OP_DIV: return a / b;
	case OP_MAXIMUM: return a >= b ? a : b;
	case OP_MINIMUM: return a <= b ? a : b;
	case OP_POW: return pow(a, b);
	case OP_EQ: return a == b;
	case OP_NE: return a != b;
	case OP_LT: return a < b;
	case OP_LE: return a <= b;
	case OP_GT: return a > b;
	case OP_GE: return a >= b;
	case OP_AND: return a != 0 && b != 0;
	case OP_OR: return a != 0 || b != 0;
	case OP_RELU_BWD: return a > 0 ? b : 0;
	case OP_LEAKY_RELU: return a > 0 ? a : a * b;
	case OP_ELU: return a > 0 ? a : b * expm1(a);
	case OP_GRAD_SCALE: return a;
	default: BUG("%s is not binary", op_info[op].name);
	}
}

EVAL(ev_unary)
{
	for (int64_t i = 0; i < YS->n; i++)
		y[i] = unary(n->op, X(0)[i]);
	return true;
}

EVAL(ev_binary)
{
	if (n->op == OP_DIV && dtype_is_int(n->type.dtype))
		for (int64_t i = 0; i < YS->n; i++)
			if (X(1)[bcast_index(YS, S(1), i)] == 0)
				FAIL("integer division by zero");
	for (int64_t i = 0; i < YS->n; i++)
		y[i] = round_to(n->type.dtype, binary(n->op, X(0)[bcast_index(YS, S(0), i)], X(1)[bcast_index(YS, S(1), i)]));
	return true;
}

EVAL(ev_where)
{
	for (int64_t i = 0; i < YS->n; i++)
		y[i] = X(0)[bcast_index(YS, S(0), i)] != 0 ? X(1)[bcast_index(YS, S(1), i)] : X(2)[bcast_index(YS, S(2), i)];
	return true;
}

/* ---- reductions ---- */

/* Shape of x with the reduced axes set to 1: y's shape with keepdim, whatever attr[1] says */
static Shape kept_shape(const Shape *x, int64_t mask)
{
	Shape k = *x;
	k.n = 1;
	for (int d = 0; d < k.rank; d++) {
		if (mask >> d & 1)
			k.d[d] = 1;
		k.n *= k.d[d];
	}
	return k;
}

EVAL(ev_reduce)
{
	const Shape *xs = S(0);
	Shape ks = kept_shape(xs, n->attr[0]);
	int64_t count = ks.n ? xs->n / ks.n : 0;
	for (int64_t i = 0; i < YS->n; i++)
		y[i] = n->op == OP_MAX ? -INFINITY : n->op == OP_MIN ? INFINITY : n->op == OP_PROD ? 1 : 0;
	for (int64_t i = 0; i < xs->n; i++) {
		int64_t k = bcast_index(xs, &ks, i);
		double v = X(0)[i];
		if (n->op == OP_MAX)
			y[k] = v > y[k] || isnan(v) ? v : y[k];
		else if (n->op == OP_MIN)
			y[k] = v < y[k] || isnan(v) ? v : y[k];
		else if (n->op == OP_PROD)
			y[k] *= v;
		else
			y[k] += v;
	}
	if (n->op == OP_MEAN)
		for (int64_t i = 0; i < YS->n; i++)
			y[i] /= (double)count;
	return true;
}

/* x as (outer, K, inner) around axis */
static void around(const Shape *xs, int axis, int64_t *outer, int64_t *K, int64_t *inner)
{
	*outer = *inner = 1;
	*K = xs->d[axis];
	for (int d = 0; d < axis; d++)
		*outer *= xs->d[d];
	for (int d = axis + 1; d < xs->rank; d++)
		*inner *= xs->d[d];
}

EVAL(ev_argmax) /* the first maximum (argmin: minimum) along axis attr[0] */
{
	const Shape *xs = S(0);
	int64_t outer, inner, K;
	double sgn = n->op == OP_ARGMIN ? -1 : 1;
	around(xs, (int)n->attr[0], &outer, &K, &inner);
	if (K == 0)
		FAIL("%s over an empty axis", op_info[n->op].name);
	for (int64_t o = 0; o < outer; o++)
		for (int64_t j = 0; j < inner; j++) {
			const double *x = X(0) + o * K * inner + j;
			int64_t best = 0;
			for (int64_t k = 1; k < K; k++)
				if (sgn * x[k * inner] > sgn * x[best * inner] || (isnan(x[k * inner]) && !isnan(x[best * inner])))
					best = k;
			y[o * inner + j] = (double)best;
		}
	return true;
}

/* ---- along one axis ---- */

/* logsumexp, softmax, log_softmax: per line along the axis, m = max (0 when infinite) */
EVAL(ev_softmax)
{
	const Shape *xs = S(0);
	int64_t outer, inner, K;
	around(xs, (int)n->attr[0], &outer, &K, &inner);
	for (int64_t o = 0; o < outer; o++)
		for (int64_t j = 0; j < inner; j++) {
			const double *x = X(0) + o * K * inner + j;
			double m = -INFINITY, z = 0;
			for (int64_t k = 0; k < K; k++)
				m = x[k * inner] > m || isnan(x[k * inner]) ? x[k * inner] : m;
			if (isinf(m))
				m = 0;
			for (int64_t k = 0; k < K; k++)
				z += exp(x[k * inner] - m);
			if (n->op == OP_LOGSUMEXP) {
				y[o * inner + j] = m + log(z);
				continue;
			}
			for (int64_t k = 0; k < K; k++) {
				double v = x[k * inner] - m;
				y[o * K * inner + j + k * inner] = n->op == OP_SOFTMAX ? exp(v) / z : v - log(z);
			}
		}
	return true;
}

EVAL(ev_cumsum) /* attr[1]: from the end */
{
	int64_t outer, inner, K;
	around(S(0), (int)n->attr[0], &outer, &K, &inner);
	for (int64_t o = 0; o < outer; o++)
		for (int64_t j = 0; j < inner; j++) {
			double acc = 0;
			for (int64_t kk = 0; kk < K; kk++) {
				int64_t k = n->attr[1] ? K - 1 - kk : kk, i = o * K * inner + k * inner + j;
				acc += X(0)[i];
				y[i] = round_to(n->type.dtype, acc);
			}
		}
	return true;
}

/* ---- data movement and indexing ---- */

EVAL(ev_concat)
{
	int64_t outer, inner, K, at = 0;
	around(YS, (int)n->attr[0], &outer, &K, &inner);
	for (int i = 0; i < n->nin; i++) {
		int64_t Ki = S(i)->d[n->attr[0]];
		for (int64_t o = 0; o < outer; o++)
			memcpy(y + (o * K + at) * inner, X(i) + o * Ki * inner, sizeof *y * (size_t)(Ki * inner));
		at += Ki;
	}
	return true;
}

EVAL(ev_slice)
{
	int64_t outer, inner, K, Kx, o2, i2;
	around(YS, (int)n->attr[0], &outer, &K, &inner);
	around(S(0), (int)n->attr[0], &o2, &Kx, &i2);
	if (n->attr[1] + K > Kx)
		FAIL("slice [%lld, %lld) is outside an axis of size %lld", (long long)n->attr[1], (long long)(n->attr[1] + K), (long long)Kx);
	for (int64_t o = 0; o < outer; o++)
		memcpy(y + o * K * inner, X(0) + (o * Kx + n->attr[1]) * inner, sizeof *y * (size_t)(K * inner));
	return true;
}

EVAL(ev_pad)
{
	const Shape *xs = S(0);
	int np = n->nattr / 2;
	for (int64_t i = 0; i < YS->n; i++)
		y[i] = X(1)[0];
	for (int64_t i = 0; i < xs->n; i++) {
		int64_t r = i, k = 0, stride = 1;
		for (int d = xs->rank - 1; d >= 0; d--) {
			int p = d - (xs->rank - np);
			k += (r % xs->d[d] + (p >= 0 ? n->attr[2 * p] : 0)) * stride;
			r /= xs->d[d];
			stride *= YS->d[d];
		}
		y[k] = X(0)[i];
	}
	return true;
}

EVAL(ev_tril) /* keep col - row <= diagonal (triu: >=) */
{
	int64_t C = YS->d[YS->rank - 1], R = YS->d[YS->rank - 2];
	for (int64_t i = 0; i < YS->n; i++) {
		int64_t c = i % C, r = i / C % R, k = c - r;
		y[i] = (n->attr[1] ? k >= n->attr[0] : k <= n->attr[0]) ? X(0)[i] : 0;
	}
	return true;
}

EVAL(ev_arange)
{
	for (int64_t i = 0; i < YS->n; i++)
		y[i] = (double)i;
	return true;
}

/* the index at idx[i], checked against [0, K) */
static bool index_at(Interp *it, const Node *n, const double *idx, int64_t i, int64_t K, int64_t *out)
{
	double v = idx[i];
	if (!(v >= 0 && v < (double)K))
		FAIL("%s: index %g is outside [0, %lld)", op_info[n->op].name, v, (long long)K);
	*out = (int64_t)v;
	return true;
}

EVAL(ev_one_hot)
{
	int64_t C = n->attr[0], k;
	for (int64_t i = 0; i < S(0)->n; i++) {
		if (!index_at(it, n, X(0), i, C, &k))
			return false;
		for (int64_t c = 0; c < C; c++)
			y[i * C + c] = c == k;
	}
	return true;
}

/* gather: y[o, j, i] = x[o, idx[j], i]; index_add: y = x, y[o, idx[j], i] += src[o, j, i] */
EVAL(ev_gather)
{
	int64_t outer, inner, K, J = S(1)->n, k;
	around(S(0), (int)n->attr[0], &outer, &K, &inner);
	if (n->op == OP_INDEX_ADD)
		memcpy(y, X(0), sizeof *y * (size_t)YS->n);
	for (int64_t j = 0; j < J; j++) {
		if (!index_at(it, n, X(1), j, K, &k))
			return false;
		for (int64_t o = 0; o < outer; o++)
			for (int64_t i = 0; i < inner; i++) {
				if (n->op == OP_GATHER)
					y[(o * J + j) * inner + i] = X(0)[(o * K + k) * inner + i];
				else
					y[(o * K + k) * inner + i] += X(2)[(o * J + j) * inner + i];
			}
	}
	return true;
}

/* take_along: y[o, j, i] = x[o, idx[o, j, i], i]; scatter_add: y = x, y[o, idx[o, j, i], i] += src[o, j, i] */
EVAL(ev_take_along)
{
	int64_t outer, inner, K, J, o2, i2, k;
	around(S(0), (int)n->attr[0], &outer, &K, &inner);
	around(S(1), (int)n->attr[0], &o2, &J, &i2);
	if (n->op == OP_SCATTER_ADD)
		memcpy(y, X(0), sizeof *y * (size_t)YS->n);
	for (int64_t o = 0; o < outer; o++)
		for (int64_t j = 0; j < J; j++)
			for (int64_t i = 0; i < inner; i++) {
				int64_t at = (o * J + j) * inner + i;
				if (!index_at(it, n, X(1), at, K, &k))
					return false;
				if (n->op == OP_TAKE_ALONG)
					y[at] = X(0)[(o * K + k) * inner + i];
				else
					y[(o * K + k) * inner + i] += X(2)[at];
			}
	return true;
}

/* ---- linear algebra ---- */

/* y[.., m, n] = sum_k A[.., m, k] B[.., k, n], A = a or a's last two axes swapped (attr[0]), B likewise */
EVAL(ev_matmul)
{
	const Shape *as = S(0), *bs = S(1);
	bool ta = n->attr[0], tb = n->attr[1];
	int64_t M = YS->d[YS->rank - 2], N = YS->d[YS->rank - 1];
	int64_t K = as->d[as->rank - (ta ? 2 : 1)];
	Shape ob = *YS, ab = *as, bb = *bs; /* batch shapes */
	ob.rank -= 2, ab.rank -= 2, bb.rank -= 2;
	ob.n = 1;
	for (int d = 0; d < ob.rank; d++)
		ob.n *= ob.d[d];
	for (int64_t bi = 0; bi < ob.n; bi++) {
		const double *A = X(0) + bcast_index(&ob, &ab, bi) * M * K;
		const double *B = X(1) + bcast_index(&ob, &bb, bi) * K * N;
		double *Y = y + bi * M * N;
		for (int64_t i = 0; i < M; i++)
			for (int64_t j = 0; j < N; j++) {
				double s = 0;
				for (int64_t k = 0; k < K; k++)
					s += (ta ? A[k * M + i] : A[i * K + k]) * (tb ? B[j * K + k] : B[k * N + j]);
				Y[i * N + j] = s;
			}
	}
	return true;
}

/* ---- losses ---- */

static bool check_labels(Interp *it, const Node *n)
{
	int64_t N = S(0)->d[0], C = S(0)->d[1];
	for (int64_t i = 0; i < N; i++)
		if (X(1)[i] < 0 || X(1)[i] >= (double)C)
			FAIL("cross_entropy: label %g of row %lld is outside [0, %lld)", X(1)[i], (long long)i, (long long)C);
	return true;
}

/* a row's maximum m and sum of exp(row - m): logsumexp = m + log(z) */
static void row_mz(const double *row, int64_t C, double *m, double *z)
{
	*m = -INFINITY;
	*z = 0;
	for (int64_t c = 0; c < C; c++)
		*m = row[c] > *m ? row[c] : *m;
	for (int64_t c = 0; c < C; c++)
		*z += exp(row[c] - *m);
}

/* logits [N, C], labels [N]: mean over rows of logsumexp(row) - row[label] */
EVAL(ev_xent)
{
	int64_t N = S(0)->d[0], C = S(0)->d[1];
	if (!check_labels(it, n))
		return false;
	double s = 0;
	for (int64_t i = 0; i < N; i++) {
		const double *row = X(0) + i * C;
		double m, z;
		row_mz(row, C, &m, &z);
		s += m + log(z) - row[(int64_t)X(1)[i]];
	}
	y[0] = N ? s / (double)N : 0;
	return true;
}

/* (logits, labels, dloss): (softmax(row) - onehot(label)) * dloss / N */
EVAL(ev_xent_bwd)
{
	int64_t N = S(0)->d[0], C = S(0)->d[1];
	double scale = X(2)[0] / (double)(N ? N : 1);
	if (!check_labels(it, n))
		return false;
	for (int64_t i = 0; i < N; i++) {
		const double *row = X(0) + i * C;
		double m, z;
		row_mz(row, C, &m, &z);
		for (int64_t c = 0; c < C; c++)
			y[i * C + c] = (exp(row[c] - m) / z - (c == (int64_t)X(1)[i])) * scale;
	}
	return true;
}

/* ---- top-k and CTC ---- */

/* a beats b for top_k: larger (smaller), or NaN against a number */
static bool topk_beats(double a, double b, bool largest)
{
	return (largest ? a > b : a < b) || (isnan(a) && !isnan(b));
}

/* element i (value a) comes before element j (value b): it beats it, or they tie and i < j */
static bool topk_before(double a, int64_t i, double b, int64_t j, bool largest)
{
	return topk_beats(a, b, largest) || (!topk_beats(b, a, largest) && i < j);
}

/* y[o, j, i] = the j-th element of line (o, i) in that order: each pick is the first of the
   elements after the previous pick */
EVAL(ev_top_k)
{
	int64_t outer, inner, K, k = n->attr[1];
	bool largest = n->attr[2];
	around(S(0), (int)n->attr[0], &outer, &K, &inner);
	for (int64_t o = 0; o < outer; o++)
		for (int64_t i = 0; i < inner; i++) {
			const double *x = X(0) + o * K * inner + i;
			int64_t prev = -1;
			for (int64_t j = 0; j < k; j++) {
				int64_t best = -1;
				for (int64_t e = 0; e < K; e++)
					if ((prev < 0 || topk_before(x[prev * inner], prev, x[e * inner], e, largest)) &&
					    (best < 0 || topk_before(x[e * inner], e, x[best * inner], best, largest)))
						best = e;
				y[(o * k + j) * inner + i] = (double)best;
				prev = best;
			}
		}
	return true;
}

/* log(e^a + e^b), exact when either is -inf */
static double log_add(double a, double b)
{
	if (a == -INFINITY || b == -INFINITY)
		return a == -INFINITY ? b : a;
	return fmax(a, b) + log1p(exp(-fabs(a - b)));
}

/* CTC of one sample b (Graves et al. 2006). The extended target l' = (blank, y1, blank, ..., yL,
   blank) has 2L + 1 states; state s may follow s, s - 1, and s - 2 when l'_s is a label other
   than l'_(s-2). alpha[t][s] = log P(frames 0..t emit l'[..s] and end in s) (frame t included),
   beta[t][s] = log P(frames t+1..il-1 emit the rest | in s at t) (frame t excluded). */
typedef struct Ctc {
	int64_t T, C, S, N, blank, b, il, L;
	const double *lp, *tg;
} Ctc;

static int64_t ctc_label(const Ctc *c, int64_t s) { return s % 2 ? (int64_t)c->tg[c->b * c->S + s / 2] : c->blank; }
static double ctc_lp(const Ctc *c, int64_t t, int64_t s) { return c->lp[(t * c->N + c->b) * c->C + ctc_label(c, s)]; }
static bool ctc_skip(const Ctc *c, int64_t s) { return s >= 2 && s % 2 && ctc_label(c, s) != ctc_label(c, s - 2); }

/* the sample's lengths and labels, checked */
static bool ctc_sample(Interp *it, const Node *n, Ctc *c, int64_t b)
{
	double il = X(2)[b], tl = X(3)[b];
	c->b = b;
	if (!(il >= 0 && il <= (double)c->T))
		FAIL("ctc_loss: input length %g of sample %lld is outside [0, %lld]", il, (long long)b, (long long)c->T);
	if (!(tl >= 0 && tl <= (double)c->S))
		FAIL("ctc_loss: target length %g of sample %lld is outside [0, %lld]", tl, (long long)b, (long long)c->S);
	c->il = (int64_t)il, c->L = (int64_t)tl;
	for (int64_t k = 0; k < c->L; k++) {
		double y = c->tg[b * c->S + k];
		if (!(y >= 0 && y < (double)c->C) || y == (double)c->blank)
			FAIL("ctc_loss: target %g of sample %lld is not a class of [0, %lld) other than the blank %lld", y, (long long)b,
			     (long long)c->C, (long long)c->blank);
	}
	return true;
}

/* fills alpha [il][2L+1] and returns the loss -log p */
static double ctc_alpha(const Ctc *c, double *alpha)
{
	int64_t W = 2 * c->L + 1;
	if (c->il == 0)
		return c->L == 0 ? 0 : INFINITY;
	for (int64_t t = 0; t < c->il; t++)
		for (int64_t s = 0; s < W; s++) {
			double a = -INFINITY;
			if (t == 0)
				a = s < 2 ? 0 : -INFINITY;
			else {
				const double *prev = alpha + (t - 1) * W;
				a = log_add(prev[s], s >= 1 ? prev[s - 1] : -INFINITY);
				if (ctc_skip(c, s))
					a = log_add(a, prev[s - 2]);
			}
			alpha[t * W + s] = a + ctc_lp(c, t, s);
		}
	const double *last = alpha + (c->il - 1) * W;
	return -log_add(last[W - 1], W > 1 ? last[W - 2] : -INFINITY);
}

static void ctc_beta(const Ctc *c, double *beta)
{
	int64_t W = 2 * c->L + 1;
	for (int64_t t = c->il - 1; t >= 0; t--)
		for (int64_t s = 0; s < W; s++) {
			double v = -INFINITY;
			if (t == c->il - 1)
				v = s >= W - 2 ? 0 : -INFINITY;
			else
				for (int64_t s2 = s; s2 <= s + 2 && s2 < W; s2++)
					if (s2 < s + 2 || ctc_skip(c, s2))
						v = log_add(v, beta[(t + 1) * W + s2] + ctc_lp(c, t + 1, s2));
			beta[t * W + s] = v;
		}
}

/* ctc_loss: y[b] = -log p; ctc_loss_bwd: y[t, b, c] = -dloss[b] P(state with label c at t) / p */
EVAL(ev_ctc)
{
	Ctc c = {S(0)->d[0], S(0)->d[2], S(1)->d[1], S(0)->d[1], n->attr[0], 0, 0, 0, X(0), X(1)};
	bool bwd = n->op == OP_CTC_BWD;
	double *alpha = xrealloc(NULL, sizeof(double) * (size_t)(c.T * (2 * c.S + 1) + 1));
	double *beta = xrealloc(NULL, sizeof(double) * (size_t)(c.T * (2 * c.S + 1) + 1));
	double *acc = xrealloc(NULL, sizeof(double) * (size_t)(c.C + 1));
	bool ok = true;
	if (bwd)
		memset(y, 0, sizeof *y * (size_t)YS->n);
	for (int64_t b = 0; ok && b < c.N; b++) {
		if (!(ok = ctc_sample(it, n, &c, b)))
			break;
		double nll = ctc_alpha(&c, alpha);
		if (!bwd) {
			y[b] = isinf(nll) && n->attr[1] ? 0 : nll;
			continue;
		}
		if (isinf(nll))
			continue;
		ctc_beta(&c, beta);
		int64_t W = 2 * c.L + 1;
		for (int64_t t = 0; t < c.il; t++) {
			for (int64_t k = 0; k < c.C; k++)
				acc[k] = -INFINITY;
			for (int64_t s = 0; s < W; s++)
				acc[ctc_label(&c, s)] = log_add(acc[ctc_label(&c, s)], alpha[t * W + s] + beta[t * W + s]);
			for (int64_t k = 0; k < c.C; k++)
				y[(t * c.N + b) * c.C + k] = -X(4)[b] * exp(acc[k] + nll);
		}
	}
	free(alpha);
	free(beta);
	free(acc);
	return ok;
}

/* y[b, :] = the labels of the frame argmaxes t < il[b], repeats merged and blanks dropped, then -1 */
EVAL(ev_ctc_greedy)
{
	int64_t T = S(0)->d[0], N = S(0)->d[1], C = S(0)->d[2], il, pos;
	for (int64_t b = 0; b < N; b++) {
		if (!index_at(it, n, X(1), b, T + 1, &il))
			return false;
		pos = 0;
		for (int64_t t = 0, prev = -1; t < il; t++) {
			const double *x = X(0) + (t * N + b) * C;
			int64_t k = 0;
			for (int64_t c = 1; c < C; c++)
				if (x[c] > x[k] || (isnan(x[c]) && !isnan(x[k])))
					k = c;
			if (k != prev && k != n->attr[0])
				y[b * T + pos++] = (double)k;
			prev = k;
		}
		for (; pos < T; pos++)
			y[b * T + pos] = -1;
	}
	return true;
}

/* ---- convolution and pooling (NCHW) ---- */

/* The sizes of a convolution (x, w, y) over S = rank - 2 spatial axes, padded in front to three
   (size 1, stride 1, padding 0, dilation 1): x [N, C, I0, I1, I2], w [O, Cg, K0, K1, K2], y [N, O, Y0, Y1, Y2] */
typedef struct Conv {
	int64_t N, C, O, Cg, Og, I[3], K[3], Y[3], st[3], pd[3], dl[3];
} Conv;

static Conv conv_of(const Shape *x, const Shape *w, const Shape *y, const int64_t *a)
{
	int S = x->rank - 2;
	Conv c = {.N = x->d[0], .C = x->d[1], .O = w->d[0], .Cg = w->d[1], .Og = w->d[0] / a[3 * S]};
	for (int i = 0; i < 3; i++) {
		int j = i - (3 - S); /* the attribute and axis index, < 0 for a padded axis */
		c.I[i] = j < 0 ? 1 : x->d[2 + j];
		c.K[i] = j < 0 ? 1 : w->d[2 + j];
		c.Y[i] = j < 0 ? 1 : y->d[2 + j];
		c.st[i] = j < 0 ? 1 : a[j];
		c.pd[i] = j < 0 ? 0 : a[S + j];
		c.dl[i] = j < 0 ? 1 : a[2 * S + j];
	}
	return c;
}

/* Visits every (x index, w index, y index) of a convolution whose input element exists (padding
   skipped); mode 0: y += x w, 1: x += y w (input gradient, conv_transpose), 2: w += x y (weight gradient) */
static void conv_visit(const Conv *c, double *x, double *w, double *y, int mode)
{
	int64_t KK = c->K[0] * c->K[1] * c->K[2], YY = c->Y[0] * c->Y[1] * c->Y[2];
	for (int64_t n = 0; n < c->N; n++)
		for (int64_t o = 0; o < c->O; o++)
			for (int64_t ci = 0; ci < c->Cg; ci++)
				for (int64_t k = 0; k < KK; k++)
					for (int64_t q = 0; q < YY; q++) {
						int64_t kk[3] = {k / (c->K[1] * c->K[2]), k / c->K[2] % c->K[1], k % c->K[2]};
						int64_t qq[3] = {q / (c->Y[1] * c->Y[2]), q / c->Y[2] % c->Y[1], q % c->Y[2]};
						int64_t chan = o / c->Og * c->Cg + ci, xi = n * c->C + chan;
						bool inside = true;
						for (int i = 0; i < 3; i++) {
							int64_t at = qq[i] * c->st[i] - c->pd[i] + kk[i] * c->dl[i];
							inside &= at >= 0 && at < c->I[i];
							xi = xi * c->I[i] + at;
						}
						if (!inside)
							continue;
						int64_t wi = (o * c->Cg + ci) * KK + k, yi = (n * c->O + o) * YY + q;
						if (mode == 0)
							y[yi] += x[xi] * w[wi];
						else if (mode == 1)
							x[xi] += y[yi] * w[wi];
						else
							w[wi] += x[xi] * y[yi];
					}
}

EVAL(ev_conv)
{
	memset(y, 0, sizeof *y * (size_t)YS->n);
	if (n->op == OP_CONV) {
		Conv c = conv_of(S(0), S(1), YS, n->attr);
		conv_visit(&c, X(0), X(1), y, 0);
	} else if (n->op == OP_CONV_TRANSPOSE) {
		Conv c = conv_of(YS, S(1), S(0), n->attr);
		conv_visit(&c, y, X(1), X(0), 1);
	} else {
		Conv c = conv_of(S(0), YS, S(1), n->attr);
		conv_visit(&c, X(0), y, X(1), 2);
	}
	return true;
}

/* max_pool2d: y = the first maximum of each window (NaN wins); max_pool2d_bwd: dy routed to it;
   max_pool2d_indices: its index ih W + iw in the plane */
EVAL(ev_max_pool2d)
{
	const Shape *xs = S(0);
	const int64_t *a = n->attr;
	int64_t H = xs->d[2], W = xs->d[3], OH, OW;
	bool bwd = n->op == OP_MAX_POOL2D_BWD;
	OH = bwd ? S(1)->d[2] : YS->d[2];
	OW = bwd ? S(1)->d[3] : YS->d[3];
	if (bwd)
		memset(y, 0, sizeof *y * (size_t)YS->n);
	for (int64_t nc = 0; nc < xs->d[0] * xs->d[1]; nc++)
		for (int64_t oh = 0; oh < OH; oh++)
			for (int64_t ow = 0; ow < OW; ow++) {
				double best = -INFINITY;
				int64_t bi = -1;
				for (int64_t kh = 0; kh < a[0]; kh++)
					for (int64_t kw = 0; kw < a[1]; kw++) {
						int64_t ih = oh * a[2] - a[4] + kh, iw = ow * a[3] - a[5] + kw;
						if (ih < 0 || ih >= H || iw < 0 || iw >= W)
							continue;
						int64_t i = (nc * H + ih) * W + iw;
						double v = X(0)[i];
						if (bi < 0 || v > best || (isnan(v) && !isnan(best)))
							best = v, bi = i;
					}
				int64_t yi = (nc * OH + oh) * OW + ow;
				if (bwd)
					y[bi] += X(1)[yi];
				else if (n->op == OP_MAX_POOL2D_INDICES)
					y[yi] = (double)(bi - nc * H * W);
				else
					y[yi] = best;
			}
	return true;
}

/* dropout's mask: splitmix64 of salt times the golden gamma + step + splitmix64(seed), then of
   that plus i times the golden gamma */
static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static uint64_t rand_base(const Node *n, double step, double seed)
{
	return mix64((uint64_t)n->attr[0] * 0x9E3779B97F4A7C15ull + (uint64_t)(int64_t)step + mix64((uint64_t)(int64_t)seed));
}

EVAL(ev_dropout)
{
	uint64_t base = rand_base(n, X(1)[0], X(2)[0]);
	uint64_t t = (uint64_t)n->attr[1];
	double scale = 16777216.0 / (16777216.0 - (double)t);
	for (int64_t i = 0; i < YS->n; i++) {
		uint64_t h = mix64(base + (uint64_t)i * 0x9E3779B97F4A7C15ull);
		y[i] = (h >> 40) >= t ? X(0)[i] * scale : 0;
	}
	return true;
}

/* rand: u = (h >> 40) 2^-24 from dropout's hash; normal: Box-Muller with v from bits 16..39 */
EVAL(ev_rand)
{
	uint64_t base = rand_base(n, X(0)[0], X(1)[0]);
	for (int64_t i = 0; i < YS->n; i++) {
		uint64_t h = mix64(base + (uint64_t)i * 0x9E3779B97F4A7C15ull);
		double u = (double)(h >> 40) / 16777216.0, v = (double)((h >> 16) & 0xffffff) / 16777216.0;
		y[i] = n->attr[1] ? sqrt(-2 * log(1 - u)) * cos(2 * M_PI * v) : u;
	}
	return true;
}

/* ---- optimiser updates (run after all values, see ir_interp) ---- */

/* PyTorch's SGD (runtime/nnd_model.h): g = grad + wd*p; with momentum mu != 0,
   m = step == 0 ? g : mu*m + (1-dampening)*g and g = nesterov ? g + mu*m : m; p -= lr*g */
EVAL(ev_opt_update)
{
	const double *h = it->a->hyper;
	if (h && n->nattr > 2)
		h += n->attr[2] * NND_H_COUNT; /* the parameter group's row */
	if (n->attr[1] != OPT_SGD)
		FAIL("the interpreter has only the SGD update (optimiser %lld)", (long long)n->attr[1]);
	if (!h || !it->a->params || !it->a->opt)
		FAIL("opt_update needs params, opt and hyper");
	y[0] = 0;
	if (h[NND_H_SKIP] != 0)
		return true; /* a micro-batch that only accumulates its gradient */
	double lr = h[NND_H_LR], mu = h[NND_H_MOMENTUM], wd = h[NND_H_WEIGHT_DECAY];
	double damp = h[NND_H_DAMPENING];
	bool nesterov = h[NND_H_NESTEROV] != 0, first = h[NND_H_STEP] == 0;
	int64_t off = it->poff[n->attr[0]];
	double *p = it->a->params + off, *m = it->a->opt + off;
	const double *grad = X(1);
	for (int64_t i = 0; i < S(0)->n; i++) {
		double g = grad[i] + wd * p[i];
		if (mu != 0) {
			m[i] = first ? g : mu * m[i] + (1 - damp) * g;
			g = nesterov ? g + mu * m[i] : m[i];
		}
		p[i] -= lr * g;
	}
	y[0] = 0;
	return true;
}

/* `s := e`: the state's elements become the value's (every read of the state saw the old value) */
EVAL(ev_assign)
{
	if (!it->a->params)
		FAIL("assign needs params");
	memcpy(it->a->params + it->poff[n->attr[0]], X(1), sizeof(double) * (size_t)S(1)->n);
	y[0] = 0;
	return true;
}

/* y = (keep ? acc : 0) + w * grad; acc = y, acc the gradient block at the param's offset */
EVAL(ev_grad_acc)
{
	if (!it->a->grads)
		FAIL("grad_acc needs the gradient block");
	double *acc = it->a->grads + it->poff[n->attr[0]], w = X(1)[0];
	bool keep = X(2)[0] != 0;
	for (int64_t i = 0; i < YS->n; i++)
		acc[i] = y[i] = (keep ? acc[i] : 0) + w * X(0)[i];
	return true;
}

/* ---- loops ---- */

static bool node_shape(Interp *it, const Node *n, Shape *s);

/* The element count of each of loop l's results (the body's outputs, a yield times T) into sz;
   the loop's value is these results one after the other. */
static bool loop_sizes(Interp *it, const Node *l, int64_t T, int64_t *sz)
{
	const Graph *b = l->sub[0];
	for (int k = 0; k < b->outputs.n; k++) {
		Shape s;
		if (!node_shape(it, b->outputs.v[k].node, &s))
			return false;
		sz[k] = k < l->attr[2] ? s.n : s.n * T;
	}
	return true;
}

/* The body interpreted once per iteration (ir_interp on the region) */
EVAL(ev_loop)
{
	const Graph *b = n->sub[0];
	int nc = (int)n->attr[2], ns = (int)n->attr[3], nout = b->outputs.n;
	int64_t T, total = 0;
	if (!ir_dim_eval(it->g->prog, n->attr[0], it->a->syms, &T))
		FAIL("%%%d: the trip count cannot be evaluated", n->id);
	int64_t *sz = calloc((size_t)nout + 1, sizeof *sz), *slice = calloc((size_t)n->nin + 1, sizeof *slice);
	double **cur = calloc((size_t)nc + 1, sizeof *cur), **outs = calloc((size_t)nout + 1, sizeof *outs);
	const double **ins = calloc((size_t)n->nin + 2, sizeof *ins);
	bool ok = loop_sizes(it, n, T, sz);
	for (int k = 0; ok && k < nout; k++)
		total += sz[k];
	double *res = it->val[n->id] = xrealloc(it->val[n->id], sizeof(double) * (size_t)(total ? total : 1));
	for (int j = nc; j < nc + ns; j++)
		slice[j] = T ? S(j)->n / T : 0;
	for (int j = 0; ok && j < nc; j++) {
		cur[j] = xrealloc(NULL, sizeof(double) * (size_t)(sz[j] ? sz[j] : 1));
		memcpy(cur[j], X(j), sizeof(double) * (size_t)sz[j]);
	}
	InterpArgs ba = *it->a;
	ba.inputs = ins;
	ba.outputs = outs;
	for (int64_t k = 0; ok && k < T; k++) {
		int64_t i = n->attr[1] ? T - 1 - k : k;
		double di = (double)i;
		ins[0] = &di;
		for (int j = 0; j < n->nin; j++)
			ins[j + 1] = j < nc ? cur[j] : j < nc + ns ? X(j) + i * slice[j] : X(j);
		ok = ir_interp(b, &ba, it->err, it->errlen);
		for (int o = 0, off = 0; ok && o < nout; off += sz[o], o++) {
			if (o < nc) {
				free(cur[o]);
				cur[o] = outs[o];
			} else {
				memcpy(res + off + i * (sz[o] / T), outs[o], sizeof(double) * (size_t)(sz[o] / T));
				free(outs[o]);
			}
			outs[o] = NULL;
		}
	}
	for (int j = 0, off = 0; j < nc; off += sz[j], j++) {
		if (ok)
			memcpy(res + off, cur[j], sizeof(double) * (size_t)sz[j]);
		free(cur[j]);
	}
	free(sz), free(slice), free(cur), free(outs), free(ins);
	return ok;
}

EVAL(ev_loop_out)
{
	const Node *l = n->in[0];
	int64_t T, off = 0, *sz = calloc((size_t)l->sub[0]->outputs.n + 1, sizeof *sz);
	bool ok = ir_dim_eval(it->g->prog, l->attr[0], it->a->syms, &T) && loop_sizes(it, l, T, sz);
	for (int k = 0; ok && k < n->attr[0]; k++)
		off += sz[k];
	if (ok)
		memcpy(y, X(0) + off, sizeof *y * (size_t)YS->n);
	free(sz);
	if (!ok)
		FAIL("%%%d: the loop's sizes cannot be evaluated", n->id);
	return true;
}

/* ---- run-time if ---- */

/* Only the branch the condition chooses runs (ir_interp on that region); the if's value is its
   results one after the other, which if_out reads by offset */
EVAL(ev_if)
{
	const Graph *b = n->sub[X(0)[0] != 0 ? 0 : 1];
	int nout = b->outputs.n;
	double **outs = calloc((size_t)nout + 1, sizeof *outs);
	const double **ins = calloc((size_t)n->nin + 1, sizeof *ins);
	for (int j = 1; j < n->nin; j++)
		ins[j - 1] = X(j);
	InterpArgs ba = *it->a;
	ba.inputs = ins;
	ba.outputs = outs;
	bool ok = ir_interp(b, &ba, it->err, it->errlen);
	int64_t total = 0, *sz = calloc((size_t)nout + 1, sizeof *sz);
	for (int k = 0; ok && k < nout; k++) {
		Shape s;
		ok = node_shape(it, b->outputs.v[k].node, &s);
		total += sz[k] = s.n;
	}
	double *res = it->val[n->id] = xrealloc(it->val[n->id], sizeof(double) * (size_t)(total ? total : 1));
	for (int k = 0, off = 0; k < nout; off += (int)sz[k], k++) {
		if (ok)
			memcpy(res + off, outs[k], sizeof(double) * (size_t)sz[k]);
		free(outs[k]);
	}
	free(outs), free(ins), free(sz);
	return ok;
}

EVAL(ev_if_out)
{
	const Node *c = n->in[0];
	int64_t off = 0;
	for (int k = 0; k < n->attr[0]; k++) {
		Shape s;
		if (!node_shape(it, c->sub[0]->outputs.v[k].node, &s))
			return false;
		off += s.n;
	}
	memcpy(y, X(0) + off, sizeof *y * (size_t)YS->n);
	return true;
}

typedef bool (*EvalFn)(Interp *, const Node *, double *);
static const EvalFn eval_fn[OP_COUNT] = {
	[OP_INPUT] = ev_input, [OP_PARAM] = ev_param, [OP_CONST] = ev_const, [OP_HYPER] = ev_hyper,
	[OP_CAST] = ev_cast, [OP_RESHAPE] = ev_copy, [OP_TRANSPOSE] = ev_transpose,
	[OP_BROADCAST] = ev_broadcast, [OP_SUM_TO] = ev_sum_to,
	[OP_NEG] = ev_unary, [OP_EXP] = ev_unary, [OP_LOG] = ev_unary, [OP_SQRT] = ev_unary,
	[OP_TANH] = ev_unary, [OP_SIGMOID] = ev_unary, [OP_RELU] = ev_unary, [OP_NOT] = ev_unary,
	[OP_ADD] = ev_binary, [OP_SUB] = ev_binary, [OP_MUL] = ev_binary, [OP_DIV] = ev_binary,
	[OP_MAXIMUM] = ev_binary, [OP_MINIMUM] = ev_binary, [OP_POW] = ev_binary,
	[OP_EQ] = ev_binary, [OP_NE] = ev_binary, [OP_LT] = ev_binary, [OP_LE] = ev_binary,
	[OP_GT] = ev_binary, [OP_GE] = ev_binary, [OP_AND] = ev_binary, [OP_OR] = ev_binary,
	[OP_WHERE] = ev_where, [OP_RELU_BWD] = ev_binary,
	[OP_ABS] = ev_unary, [OP_LOG1P] = ev_unary, [OP_RSQRT] = ev_unary, [OP_SQUARE] = ev_unary,
	[OP_SIN] = ev_unary, [OP_COS] = ev_unary, [OP_ERF] = ev_unary, [OP_RELU6] = ev_unary,
	[OP_GELU] = ev_unary, [OP_SILU] = ev_unary, [OP_SOFTPLUS] = ev_unary, [OP_MISH] = ev_unary,
	[OP_HARDSWISH] = ev_unary, [OP_HARDSIGMOID] = ev_unary, [OP_SIGN] = ev_unary, [OP_FLOOR] = ev_unary,
	[OP_CEIL] = ev_unary, [OP_ROUND] = ev_unary, [OP_STOP_GRADIENT] = ev_unary,
	[OP_LEAKY_RELU] = ev_binary, [OP_ELU] = ev_binary, [OP_GRAD_SCALE] = ev_binary,
	[OP_SUM] = ev_reduce, [OP_MEAN] = ev_reduce, [OP_MAX] = ev_reduce, [OP_ARGMAX] = ev_argmax,
	[OP_MIN] = ev_reduce, [OP_PROD] = ev_reduce, [OP_ARGMIN] = ev_argmax,
	[OP_LOGSUMEXP] = ev_softmax, [OP_SOFTMAX] = ev_softmax, [OP_LOG_SOFTMAX] = ev_softmax, [OP_CUMSUM] = ev_cumsum,
	[OP_CONCAT] = ev_concat, [OP_SLICE] = ev_slice, [OP_PAD] = ev_pad, [OP_TRIL] = ev_tril,
	[OP_ARANGE] = ev_arange, [OP_ONE_HOT] = ev_one_hot, [OP_GATHER] = ev_gather, [OP_INDEX_ADD] = ev_gather,
	[OP_TAKE_ALONG] = ev_take_along, [OP_SCATTER_ADD] = ev_take_along,
	[OP_MATMUL] = ev_matmul,
	[OP_CROSS_ENTROPY] = ev_xent, [OP_XENT_BWD] = ev_xent_bwd,
	[OP_OPT_UPDATE] = ev_opt_update, [OP_ASSIGN] = ev_assign, [OP_GRAD_ACC] = ev_grad_acc,
	[OP_CONV] = ev_conv, [OP_CONV_TRANSPOSE] = ev_conv, [OP_CONV_BWD_WEIGHT] = ev_conv,
	[OP_MAX_POOL2D] = ev_max_pool2d, [OP_MAX_POOL2D_BWD] = ev_max_pool2d, [OP_MAX_POOL2D_INDICES] = ev_max_pool2d, [OP_DROPOUT] = ev_dropout,
	[OP_RAND] = ev_rand,
	[OP_TOP_K] = ev_top_k, [OP_CTC_LOSS] = ev_ctc, [OP_CTC_BWD] = ev_ctc, [OP_CTC_GREEDY] = ev_ctc_greedy,
	[OP_LOOP] = ev_loop, [OP_LOOP_OUT] = ev_loop_out,
	[OP_IF] = ev_if, [OP_IF_OUT] = ev_if_out,
	[OP_CUSTOM_GRAD] = ev_copy, /* y; its region is only for autodiff */
};

bool ir_interp_supports(Op op) { return op < OP_COUNT && eval_fn[op] != NULL; }

static bool node_shape(Interp *it, const Node *n, Shape *s)
{
	s->rank = n->type.rank;
	s->n = 1;
	for (int d = 0; d < s->rank; d++) {
		if (!ir_dim_eval(it->g->prog, n->type.dim[d], it->a->syms, &s->d[d]) || s->d[d] < 0)
			FAIL("%%%d: dimension %d cannot be evaluated (division by zero or a missing size)", n->id, d);
		s->n *= s->d[d];
	}
	return true;
}

static bool eval_node(Interp *it, const Node *n)
{
	Shape *s = &it->shp[n->id];
	if (!eval_fn[n->op])
		FAIL("%%%d: the interpreter has no case for op %s", n->id, op_info[n->op].name);
	if (!node_shape(it, n, s))
		return false;
	it->val[n->id] = xrealloc(NULL, sizeof(double) * (size_t)(s->n ? s->n : 1));
	return eval_fn[n->op](it, n, it->val[n->id]); /* a loop replaces its buffer (ev_loop) */
}

bool ir_interp(const Graph *g, const InterpArgs *a, char *err, size_t errlen)
{
	const Prog *p = g->prog;
	Interp st = {g, a, NULL, NULL, NULL, err, errlen}, *it = &st;
	int nid = g->next_id;
	it->val = calloc((size_t)nid + 1, sizeof *it->val);
	it->shp = calloc((size_t)nid + 1, sizeof *it->shp);
	it->poff = calloc((size_t)p->params.n + 1, sizeof *it->poff);
	if (!it->val || !it->shp || !it->poff)
		BUG("out of memory");
	for (int i = 1; i < p->params.n; i++)
		it->poff[i] = it->poff[i - 1] + ir_type_numel((Prog *)p, p->params.v[i - 1].type);
	bool ok = true;
	for (int i = 0; ok && i < g->nodes.n; i++)
		if (!(op_info[g->nodes.v[i]->op].flags & OPF_EFFECT))
			ok = eval_node(it, g->nodes.v[i]);
	for (int i = 0; ok && i < g->effects.n; i++)
		ok = eval_node(it, g->effects.v[i]);
	for (int i = 0; ok && i < g->outputs.n; i++) {
		const Node *n = g->outputs.v[i].node;
		if (n->id < 0 || n->id >= nid || !it->val[n->id]) {
			snprintf(err, errlen, "output '%s' (%%%d) was not computed", g->outputs.v[i].name, n->id);
			ok = false;
			break;
		}
		size_t bytes = sizeof(double) * (size_t)(it->shp[n->id].n ? it->shp[n->id].n : 1);
		a->outputs[i] = xrealloc(NULL, bytes);
		memcpy(a->outputs[i], it->val[n->id], bytes);
	}
	for (int i = 0; i <= nid; i++)
		free(it->val[i]);
	free(it->val);
	free(it->shp);
	free(it->poff);
	return ok;
}
