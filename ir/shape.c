/* ir/shape.c: the shape rules named in ops.def. Each computes n->type from n's inputs and
 * attributes, or writes why they are not acceptable into err and returns false. The front end
 * turns such a message into a diagnostic at the node's location; after the front end a failing
 * rule is a compiler bug.
 */
#include "ir/ir.h"

#include <string.h>

#define FAIL(...) return (snprintf(err, errlen, __VA_ARGS__), false)
#define RULE(name) static bool name(Graph *g, Node *n, char *err, size_t errlen)

static const char *tyname(Graph *g, Type t, char *buf)
{
	ir_type_format(g->prog, t, buf, 256);
	return buf;
}

bool ir_broadcast(Prog *p, Type a, Type b, Type *out, char *err, size_t errlen)
{
	Type r = {.dtype = a.dtype, .rank = a.rank > b.rank ? a.rank : b.rank};
	for (int i = 0; i < r.rank; i++) {
		int ia = a.rank - r.rank + i, ib = b.rank - r.rank + i;
		Dim da = ia >= 0 ? a.dim[ia] : 1, db = ib >= 0 ? b.dim[ib] : 1;
		if (da == db || db == 1)
			r.dim[i] = da;
		else if (da == 1)
			r.dim[i] = db;
		else {
			char sa[256], sb[256], d1[64], d2[64];
			ir_type_format(p, a, sa, sizeof sa);
			ir_type_format(p, b, sb, sizeof sb);
			ir_dim_format(p, da, d1, sizeof d1);
			ir_dim_format(p, db, d2, sizeof d2);
			snprintf(err, errlen, "shapes do not broadcast: %s and %s (axis %d: %s vs %s)", sa, sb, i - r.rank, d1, d2);
			return false;
		}
	}
	*out = r;
	return true;
}

RULE(shape_given) { return true; }

RULE(shape_effect)
{
	n->type = ir_scalar_type(TY_F32);
	return true;
}

RULE(shape_assign)
{
	char s1[256], s2[256];
	if (n->nattr < 1 || n->in[0]->op != OP_PARAM || n->in[0]->attr[0] != n->attr[0])
		FAIL("assign: input 0 must be the PARAM node of param %lld", (long long)(n->nattr ? n->attr[0] : -1));
	if (!ir_type_equal(n->in[0]->type, n->in[1]->type))
		FAIL("the new value must have the state's type %s, found %s", tyname(g, n->in[0]->type, s1), tyname(g, n->in[1]->type, s2));
	n->type = ir_scalar_type(TY_F32);
	return true;
}

RULE(shape_grad_acc)
{
	char s1[256];
	if (n->nattr < 1 || n->in[0]->type.dtype != TY_F32)
		FAIL("grad_acc takes an f32 gradient and the param index, found %s", tyname(g, n->in[0]->type, s1));
	for (int k = 1; k < 3; k++)
		if (n->in[k]->type.rank != 0 || n->in[k]->type.dtype != TY_F32)
			FAIL("grad_acc's %s must be an f32 scalar, found %s", k == 1 ? "weight" : "keep", tyname(g, n->in[k]->type, s1));
	n->type = n->in[0]->type;
	return true;
}

RULE(shape_unary)
{
	n->type = n->in[0]->type;
	return true;
}

RULE(shape_binary)
{
	char s1[256], s2[256];
	Type a = n->in[0]->type, b = n->in[1]->type;
	if (a.dtype != b.dtype)
		FAIL("element types differ: %s and %s", tyname(g, a, s1), tyname(g, b, s2));
	return ir_broadcast(g->prog, a, b, &n->type, err, errlen);
}

RULE(shape_compare)
{
	if (!shape_binary(g, n, err, errlen))
		return false;
	n->type.dtype = TY_BOOL;
	return true;
}

RULE(shape_where)
{
	char s1[256], s2[256];
	Type c = n->in[0]->type, a = n->in[1]->type, b = n->in[2]->type, t;
	if (c.dtype != TY_BOOL)
		FAIL("where's condition must be bool, found %s", tyname(g, c, s1));
	if (a.dtype != b.dtype)
		FAIL("element types differ: %s and %s", tyname(g, a, s1), tyname(g, b, s2));
	if (!ir_broadcast(g->prog, a, b, &t, err, errlen) || !ir_broadcast(g->prog, t, c, &t, err, errlen))
		return false;
	t.dtype = a.dtype;
	n->type = t;
	return true;
}

RULE(shape_reduce)
{
	Type a = n->in[0]->type, r = {.dtype = a.dtype};
	int64_t mask = n->attr[0], keep = n->attr[1];
	if (mask >> a.rank)
		FAIL("reduction axis out of range for rank %d", a.rank);
	for (int i = 0; i < a.rank; i++) {
		if (mask >> i & 1) {
			if (keep)
				r.dim[r.rank++] = 1;
		} else
			r.dim[r.rank++] = a.dim[i];
	}
	n->type = r;
	return true;
}

RULE(shape_argmax)
{
	Type a = n->in[0]->type;
	int64_t axis = n->attr[0];
	if (axis < 0 || axis >= a.rank)
		FAIL("axis %lld out of range for rank %d", (long long)axis, a.rank);
	Type r = {.dtype = TY_I64};
	for (int i = 0; i < a.rank; i++)
		if (i != axis)
			r.dim[r.rank++] = a.dim[i];
		else if (n->attr[1])
			r.dim[r.rank++] = 1;
	n->type = r;
	return true;
}

RULE(shape_reshape)
{
	char s1[256], s2[256];
	Prog *p = g->prog;
	if (ir_type_numel(p, n->in[0]->type) != ir_type_numel(p, n->type))
		FAIL("cannot reshape %s to %s: the element counts differ", tyname(g, n->in[0]->type, s1), tyname(g, n->type, s2));
	if (n->type.dtype != n->in[0]->type.dtype)
		FAIL("reshape keeps the element type");
	return true;
}

RULE(shape_transpose)
{
	Type a = n->in[0]->type, r = {.dtype = a.dtype, .rank = a.rank};
	int seen = 0;
	if (n->nattr != a.rank)
		FAIL("transpose of a rank-%d tensor needs %d axes, given %d", a.rank, a.rank, n->nattr);
	for (int i = 0; i < a.rank; i++) {
		int64_t k = n->attr[i];
		if (k < 0 || k >= a.rank || (seen >> k & 1))
			FAIL("transpose axes are not a permutation of 0..%d", a.rank - 1);
		seen |= 1 << k;
		r.dim[i] = a.dim[k];
	}
	n->type = r;
	return true;
}

RULE(shape_matmul)
{
	char s1[256], s2[256], d1[64], d2[64];
	Type a = n->in[0]->type, b = n->in[1]->type;
	if (a.rank < 2 || b.rank < 2)
		FAIL("matmul needs operands of rank 2 or more: %s @ %s", tyname(g, a, s1), tyname(g, b, s2));
	if (a.dtype != b.dtype)
		FAIL("element types differ: %s @ %s", tyname(g, a, s1), tyname(g, b, s2));
	bool ta = n->attr[0], tb = n->attr[1];
	Dim m = a.dim[a.rank - (ta ? 1 : 2)], ka = a.dim[a.rank - (ta ? 2 : 1)];
	Dim kb = b.dim[b.rank - (tb ? 1 : 2)], nn = b.dim[b.rank - (tb ? 2 : 1)];
	if (ka != kb) {
		ir_dim_format(g->prog, ka, d1, sizeof d1);
		ir_dim_format(g->prog, kb, d2, sizeof d2);
		FAIL("matmul inner dimensions differ (%s vs %s): %s @ %s%s", d1, d2, tyname(g, a, s1), tyname(g, b, s2),
		     ta || tb ? " (after transposition)" : "");
	}
	Type ba = a, bb = b, r;
	ba.rank -= 2;
	bb.rank -= 2;
	if (!ir_broadcast(g->prog, ba, bb, &r, err, errlen))
		return false;
	r.dim[r.rank++] = m;
	r.dim[r.rank++] = nn;
	r.dtype = a.dtype;
	n->type = r;
	return true;
}

RULE(shape_xent)
{
	char s1[256], s2[256];
	Type l = n->in[0]->type, y = n->in[1]->type;
	if (l.rank != 2 || !dtype_is_float(l.dtype))
		FAIL("cross_entropy expects logits f32[N, C], found %s", tyname(g, l, s1));
	if (y.rank != 1 || !dtype_is_int(y.dtype))
		FAIL("cross_entropy expects integer labels [N], found %s", tyname(g, y, s2));
	if (y.dim[0] != l.dim[0])
		FAIL("cross_entropy: logits %s and labels %s differ in N", tyname(g, l, s1), tyname(g, y, s2));
	n->type = ir_scalar_type(l.dtype);
	return true;
}

RULE(shape_xent_bwd)
{
	n->type = n->in[0]->type;
	return true;
}

static bool axis_ok(Node *n, int rank, char *err, size_t errlen)
{
	if (n->nattr < 1 || n->attr[0] < 0 || n->attr[0] >= rank)
		FAIL("axis %lld out of range for rank %d", (long long)(n->nattr ? n->attr[0] : -1), rank);
	return true;
}

RULE(shape_axis)
{
	char s1[256];
	if (!axis_ok(n, n->in[0]->type.rank, err, errlen))
		return false;
	if (!dtype_is_float(n->in[0]->type.dtype) && n->op != OP_CUMSUM)
		FAIL("%s needs a float tensor, found %s", op_info[n->op].name, tyname(g, n->in[0]->type, s1));
	n->type = n->in[0]->type;
	return true;
}

RULE(shape_axis_reduce)
{
	if (!shape_axis(g, n, err, errlen) || !shape_argmax(g, n, err, errlen))
		return false;
	n->type.dtype = n->in[0]->type.dtype;
	return true;
}

static bool dims_equal_but(Graph *g, Type a, Type b, int axis, const char *what, char *err, size_t errlen)
{
	char s1[256], s2[256];
	bool ok = a.rank == b.rank;
	for (int d = 0; ok && d < a.rank; d++)
		ok = d == axis || a.dim[d] == b.dim[d];
	if (!ok)
		FAIL("%s: %s and %s must have equal sizes except along axis %d", what, tyname(g, a, s1), tyname(g, b, s2), axis);
	return true;
}

RULE(shape_concat)
{
	char s1[256], s2[256];
	if (n->nin < 1 || n->nin > 6)
		FAIL("concat takes 1 to 6 tensors, given %d", n->nin);
	Type r = n->in[0]->type;
	if (!axis_ok(n, r.rank, err, errlen))
		return false;
	int ax = (int)n->attr[0];
	for (int i = 0; i < n->nin; i++)
		if (!DIM_IS_CONST(n->in[i]->type.dim[ax]))
			FAIL("concat along axis %d: its sizes must be known at compile time, found %s", ax, tyname(g, n->in[i]->type, s1));
	for (int i = 1; i < n->nin; i++) {
		Type t = n->in[i]->type;
		if (t.dtype != r.dtype)
			FAIL("concat: element types differ: %s and %s", tyname(g, r, s1), tyname(g, t, s2));
		if (!dims_equal_but(g, n->in[0]->type, t, ax, "concat", err, errlen))
			return false;
		r.dim[ax] = ir_dim_binop(g->prog, DE_ADD, r.dim[ax], t.dim[ax]);
	}
	n->type = r;
	return true;
}

RULE(shape_slice)
{
	char s1[256], s2[256];
	Type x = n->in[0]->type, y = n->type;
	if (n->nattr != 2 || !axis_ok(n, x.rank, err, errlen))
		FAIL("slice needs the attributes [axis, start]");
	int ax = (int)n->attr[0];
	y.dtype = x.dtype;
	if (!DIM_IS_CONST(x.dim[ax]) || !DIM_IS_CONST(y.dim[ax]))
		FAIL("slice along axis %d: its size must be known at compile time, found %s", ax, tyname(g, x, s1));
	if (!dims_equal_but(g, x, y, ax, "slice", err, errlen))
		return false;
	if (n->attr[1] < 0 || n->attr[1] + y.dim[ax] > x.dim[ax])
		FAIL("slice [%lld, +%s) is outside axis %d of %s", (long long)n->attr[1], tyname(g, y, s2), ax, tyname(g, x, s1));
	n->type = y;
	return true;
}

RULE(shape_pad)
{
	char s1[256];
	Type x = n->in[0]->type, r = x;
	int np = n->nattr / 2;
	if (n->nattr % 2 || np > x.rank || np == 0)
		FAIL("pad of a rank-%d tensor needs 1 to %d (before, after) pairs, given %d attributes", x.rank, x.rank, n->nattr);
	if (n->in[1]->type.rank != 0 || n->in[1]->type.dtype != x.dtype)
		FAIL("pad's value must be a scalar of the tensor's element type, found %s", tyname(g, n->in[1]->type, s1));
	for (int i = 0; i < np; i++) {
		int d = x.rank - np + i;
		if (n->attr[2 * i] < 0 || n->attr[2 * i + 1] < 0)
			FAIL("pad widths must be >= 0");
		r.dim[d] = ir_dim_binop(g->prog, DE_ADD, x.dim[d], n->attr[2 * i] + n->attr[2 * i + 1]);
	}
	n->type = r;
	return true;
}

RULE(shape_tril)
{
	char s1[256];
	if (n->in[0]->type.rank < 2)
		FAIL("%s needs a tensor of rank 2 or more, found %s", n->attr[1] ? "triu" : "tril", tyname(g, n->in[0]->type, s1));
	n->type = n->in[0]->type;
	return true;
}

RULE(shape_one_hot)
{
	char s1[256];
	Type y = n->in[0]->type;
	if (!dtype_is_int(y.dtype))
		FAIL("one_hot needs integer labels, found %s", tyname(g, y, s1));
	if (y.rank >= MAX_RANK || n->attr[0] < 1)
		FAIL("one_hot needs at least one class and a result of rank <= %d", MAX_RANK);
	y.dtype = TY_I64;
	y.dim[y.rank++] = n->attr[0];
	n->type = y;
	return true;
}

static bool want_index(Graph *g, Type idx, const char *what, char *err, size_t errlen)
{
	char s1[256];
	if (!dtype_is_int(idx.dtype))
		FAIL("%s: indices must be integers, found %s", what, tyname(g, idx, s1));
	return true;
}

/* x[pre, A, post], idx[J..] -> [pre, J.., post] */
static bool gather_type(Graph *g, Node *n, Type x, Type idx, Type *out, char *err, size_t errlen)
{
	if (!axis_ok(n, x.rank, err, errlen) || !want_index(g, idx, "gather", err, errlen))
		return false;
	int ax = (int)n->attr[0];
	if (x.rank - 1 + idx.rank > MAX_RANK)
		FAIL("gather: the result would have rank %d, more than %d", x.rank - 1 + idx.rank, MAX_RANK);
	Type r = {.dtype = x.dtype};
	for (int d = 0; d < ax; d++)
		r.dim[r.rank++] = x.dim[d];
	for (int d = 0; d < idx.rank; d++)
		r.dim[r.rank++] = idx.dim[d];
	for (int d = ax + 1; d < x.rank; d++)
		r.dim[r.rank++] = x.dim[d];
	*out = r;
	return true;
}

RULE(shape_gather) { return gather_type(g, n, n->in[0]->type, n->in[1]->type, &n->type, err, errlen); }

RULE(shape_index_add)
{
	char s1[256], s2[256];
	Type want;
	if (!gather_type(g, n, n->in[0]->type, n->in[1]->type, &want, err, errlen))
		return false;
	if (!ir_type_equal(want, n->in[2]->type))
		FAIL("index_add: the source must be %s, found %s", tyname(g, want, s1), tyname(g, n->in[2]->type, s2));
	n->type = n->in[0]->type;
	return true;
}

RULE(shape_take_along)
{
	Type x = n->in[0]->type, idx = n->in[1]->type;
	if (!axis_ok(n, x.rank, err, errlen) || !want_index(g, idx, "take_along", err, errlen))
		return false;
	if (!dims_equal_but(g, x, idx, (int)n->attr[0], "take_along", err, errlen))
		return false;
	n->type = idx;
	n->type.dtype = x.dtype;
	return true;
}

RULE(shape_scatter_add)
{
	char s1[256], s2[256];
	Type x = n->in[0]->type, idx = n->in[1]->type, src = n->in[2]->type;
	if (!axis_ok(n, x.rank, err, errlen) || !want_index(g, idx, "scatter_add", err, errlen))
		return false;
	if (!dims_equal_but(g, x, idx, (int)n->attr[0], "scatter_add", err, errlen))
		return false;
	Type want = idx;
	want.dtype = x.dtype;
	if (!ir_type_equal(want, src))
		FAIL("scatter_add: the source must be %s, found %s", tyname(g, want, s1), tyname(g, src, s2));
	n->type = x;
	return true;
}

/* ---- top-k and CTC ---- */

RULE(shape_top_k)
{
	char s1[256];
	Type x = n->in[0]->type;
	if (n->nattr != 3 || !axis_ok(n, x.rank, err, errlen))
		FAIL("top_k needs the attributes [axis, k, largest]");
	int ax = (int)n->attr[0];
	if (!DIM_IS_CONST(x.dim[ax]))
		FAIL("top_k along axis %d: its size must be known at compile time, found %s", ax, tyname(g, x, s1));
	if (n->attr[1] < 0 || n->attr[1] > x.dim[ax])
		FAIL("top_k: k = %lld is outside [0, %lld], the size of axis %d of %s", (long long)n->attr[1], (long long)x.dim[ax], ax,
		     tyname(g, x, s1));
	x.dim[ax] = n->attr[1];
	x.dtype = TY_I64;
	n->type = x;
	return true;
}

/* ctc_loss (log_probs f[T, N, C], targets i64[N, S], input_lengths i64[N], target_lengths i64[N])
   -> f[N]; ctc_loss_bwd takes dloss f[N] too and gives log_probs' type */
RULE(shape_ctc)
{
	char s1[256], s2[256];
	Type lp = n->in[0]->type, tg = n->in[1]->type, il = n->in[2]->type, tl = n->in[3]->type;
	Type loss = {.dtype = lp.dtype, .rank = 1, .dim = {lp.dim[1]}};
	if (lp.rank != 3 || (lp.dtype != TY_F32 && lp.dtype != TY_F64))
		FAIL("ctc_loss expects log_probs f32[T, N, C] or f64, found %s", tyname(g, lp, s1));
	if (tg.rank != 2 || tg.dtype != TY_I64 || tg.dim[0] != lp.dim[1])
		FAIL("ctc_loss expects targets i64[N, S] with the N of log_probs %s, found %s", tyname(g, lp, s1), tyname(g, tg, s2));
	if (il.rank != 1 || il.dtype != TY_I64 || il.dim[0] != lp.dim[1] || !ir_type_equal(il, tl))
		FAIL("ctc_loss expects input_lengths and target_lengths i64[N], found %s and %s", tyname(g, il, s1), tyname(g, tl, s2));
	if (n->nattr != 2 || n->attr[0] < 0 || (DIM_IS_CONST(lp.dim[2]) && n->attr[0] >= lp.dim[2]))
		FAIL("ctc_loss: blank = %lld is not a class of %s", (long long)(n->nattr ? n->attr[0] : -1), tyname(g, lp, s1));
	if (n->op == OP_CTC_BWD && !ir_type_equal(n->in[4]->type, loss))
		FAIL("ctc_loss_bwd: the loss gradient must be %s, found %s", tyname(g, loss, s1), tyname(g, n->in[4]->type, s2));
	n->type = n->op == OP_CTC_BWD ? lp : loss;
	return true;
}

RULE(shape_ctc_greedy)
{
	char s1[256], s2[256];
	Type lp = n->in[0]->type, il = n->in[1]->type;
	if (lp.rank != 3 || !dtype_is_float(lp.dtype) || il.rank != 1 || !dtype_is_int(il.dtype) || il.dim[0] != lp.dim[1])
		FAIL("ctc_greedy_decode expects log_probs [T, N, C] (float) and input_lengths [N] (integers), found %s and %s",
		     tyname(g, lp, s1), tyname(g, il, s2));
	if (n->nattr != 1 || n->attr[0] < 0 || (DIM_IS_CONST(lp.dim[2]) && n->attr[0] >= lp.dim[2]))
		FAIL("ctc_greedy_decode: blank = %lld is not a class of %s", (long long)(n->nattr ? n->attr[0] : -1), tyname(g, lp, s1));
	n->type = ir_type(TY_I32, 2, (Dim[]){lp.dim[1], lp.dim[0]});
	return true;
}

/* ---- convolution and pooling (NCHW) ---- */

/* output size of a window op along one axis; < 1 when the window does not fit */
static int64_t window_out(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d)
{
	int64_t span = in + 2 * p - d * (k - 1) - 1;
	return span < 0 ? 0 : span / s + 1;
}

static bool want_nchw(Graph *g, Type x, const char *what, char *err, size_t errlen)
{
	char s1[256];
	if (x.rank != 4 || !dtype_is_float(x.dtype))
		FAIL("%s expects a float input [N, C, H, W], found %s", what, tyname(g, x, s1));
	for (int d = 1; d < 4; d++)
		if (!DIM_IS_CONST(x.dim[d]))
			FAIL("%s: C, H and W must be known at compile time, found %s", what, tyname(g, x, s1));
	return true;
}

/* the result of conv(x, w) with n's attributes [stride x S, padding x S, dilation x S, groups],
   S = rank - 2 spatial axes (1 to 3), into *out */
static bool conv_type(Graph *g, Node *n, Type x, Type w, Type *out, char *err, size_t errlen)
{
	char s1[256], s2[256];
	int S = x.rank - 2;
	const int64_t *a = n->attr, *st = a, *pd = a + S, *dl = a + 2 * S;
	if (S < 1 || S > 3 || !dtype_is_float(x.dtype))
		FAIL("conv expects a float input [N, C, ...] with 1 to 3 spatial axes, found %s", tyname(g, x, s1));
	for (int d = 1; d < x.rank; d++)
		if (!DIM_IS_CONST(x.dim[d]))
			FAIL("conv: the channels and spatial sizes must be known at compile time, found %s", tyname(g, x, s1));
	bool wok = w.rank == x.rank && w.dtype == x.dtype;
	for (int d = 0; d < w.rank; d++)
		wok &= DIM_IS_CONST(w.dim[d]);
	if (!wok)
		FAIL("conv of %s expects a weight %s[O, C/groups, <%d kernel sizes>] of known sizes, found %s", tyname(g, x, s1),
		     dtype_name[x.dtype], S, tyname(g, w, s2));
	bool aok = n->nattr == 3 * S + 1 && a[3 * S] >= 1;
	for (int i = 0; i < S; i++)
		aok &= st[i] >= 1 && pd[i] >= 0 && dl[i] >= 1;
	if (!aok)
		FAIL("conv over %d spatial axes needs %d attributes: stride >= 1, padding >= 0, dilation >= 1 (each x %d) and groups >= 1",
		     S, 3 * S + 1, S);
	int64_t C = x.dim[1], O = w.dim[0], G = a[3 * S];
	if (C % G || O % G)
		FAIL("conv: in_channels (%lld) and out_channels (%lld) must both be divisible by groups (%lld)", (long long)C, (long long)O, (long long)G);
	if (w.dim[1] != C / G)
		FAIL("conv: given groups=%lld, weight %s expects the input %s to have %lld channels, but it has %lld",
		     (long long)G, tyname(g, w, s1), tyname(g, x, s2), (long long)(w.dim[1] * G), (long long)C);
	*out = x;
	out->dim[1] = O;
	for (int i = 0; i < S; i++) {
		int64_t k = w.dim[2 + i], o = window_out(x.dim[2 + i], k, st[i], pd[i], dl[i]);
		if (o < 1)
			FAIL("conv: spatial axis %d of the padded input (%lld) is smaller than the dilated kernel (%lld)", i,
			     (long long)(x.dim[2 + i] + 2 * pd[i]), (long long)(dl[i] * (k - 1) + 1));
		out->dim[2 + i] = o;
	}
	return true;
}

RULE(shape_conv) { return conv_type(g, n, n->in[0]->type, n->in[1]->type, &n->type, err, errlen); }

/* conv_transpose (dy, w) -> x's type; conv_bwd_weight (x, dy) -> w's type (both given): conv(x, w)
   must have dy's batch and channels, and along each spatial axis x's size X and dy's Y must satisfy
   0 <= X - ((Y-1)s - 2p + d(K-1) + 1) < max(s, d) (torch's output_padding range; X - that is the
   output_padding). Y is conv's output size, or one less per whole stride in output_padding. */
RULE(shape_conv_bwd)
{
	char s1[256], s2[256], s3[256], s4[256];
	bool tr = n->op == OP_CONV_TRANSPOSE;
	Type x = tr ? n->type : n->in[0]->type, w = tr ? n->in[1]->type : n->type, dy = tr ? n->in[0]->type : n->in[1]->type, y;
	if (!conv_type(g, n, x, w, &y, err, errlen))
		return false;
	int S = x.rank - 2;
	bool ok = dy.rank == y.rank && dy.dtype == y.dtype && dy.dim[0] == y.dim[0] && dy.dim[1] == y.dim[1];
	for (int i = 0; ok && i < S; i++) {
		int64_t s = n->attr[i], p = n->attr[S + i], d = n->attr[2 * S + i], k = w.dim[2 + i];
		int64_t extra = x.dim[2 + i] - ((dy.dim[2 + i] - 1) * s - 2 * p + d * (k - 1) + 1);
		ok = DIM_IS_CONST(dy.dim[2 + i]) && extra >= 0 && extra < (s > d ? s : d);
	}
	if (!ok)
		FAIL("%s: %s is not a convolution output of %s by %s (which gives %s)", op_info[n->op].name, tyname(g, dy, s1),
		     tyname(g, x, s2), tyname(g, w, s3), tyname(g, y, s4));
	return true;
}

static bool pool2d_type(Graph *g, Node *n, Type x, Type *out, char *err, size_t errlen)
{
	const int64_t *a = n->attr;
	if (!want_nchw(g, x, op_info[n->op].name, err, errlen))
		return false;
	if (n->nattr != 6 || a[0] < 1 || a[1] < 1 || a[2] < 1 || a[3] < 1 || a[4] < 0 || a[5] < 0)
		FAIL("max_pool2d needs kernel >= 1, stride >= 1 and padding >= 0");
	if (2 * a[4] > a[0] || 2 * a[5] > a[1])
		FAIL("max_pool2d: padding (%lld, %lld) must be at most half the kernel (%lld, %lld)", (long long)a[4], (long long)a[5],
		     (long long)a[0], (long long)a[1]);
	int64_t oh = window_out(x.dim[2], a[0], a[2], a[4], 1), ow = window_out(x.dim[3], a[1], a[3], a[5], 1);
	if (oh < 1 || ow < 1)
		FAIL("max_pool2d: the padded input (%lld x %lld) is smaller than the kernel (%lld x %lld)", (long long)(x.dim[2] + 2 * a[4]),
		     (long long)(x.dim[3] + 2 * a[5]), (long long)a[0], (long long)a[1]);
	*out = ir_type(n->op == OP_MAX_POOL2D_INDICES ? TY_I64 : x.dtype, 4, (Dim[]){x.dim[0], x.dim[1], oh, ow});
	return true;
}

RULE(shape_pool2d) { return pool2d_type(g, n, n->in[0]->type, &n->type, err, errlen); }

RULE(shape_pool2d_bwd)
{
	char s1[256], s2[256];
	Type y;
	if (!pool2d_type(g, n, n->in[0]->type, &y, err, errlen))
		return false;
	if (!ir_type_equal(y, n->in[1]->type))
		FAIL("max_pool2d_bwd: the output gradient must be %s, found %s", tyname(g, y, s1), tyname(g, n->in[1]->type, s2));
	n->type = n->in[0]->type;
	return true;
}

/* a random op's step (f32, or i64 in a loop compiled as a loop: lang/elab.c elab_random_step) and seed */
static bool rand_scalars(const Node *step, const Node *seed)
{
	return step->type.rank == 0 && (step->type.dtype == TY_F32 || step->type.dtype == TY_I64) &&
	       seed->type.rank == 0 && seed->type.dtype == TY_F32;
}

RULE(shape_dropout)
{
	char s1[256], s2[256];
	if (!dtype_is_float(n->in[0]->type.dtype))
		FAIL("dropout needs a float tensor, found %s", tyname(g, n->in[0]->type, s1));
	if (!rand_scalars(n->in[1], n->in[2]))
		FAIL("dropout's step must be an f32 or i64 scalar and its seed an f32 scalar, found %s and %s",
		     tyname(g, n->in[1]->type, s1), tyname(g, n->in[2]->type, s2));
	if (n->nattr != 2 || n->attr[1] < 0 || n->attr[1] >= (1 << 24))
		FAIL("dropout needs the attributes [salt, p 2^24] with p in [0, 1)");
	n->type = n->in[0]->type;
	return true;
}

RULE(shape_rand)
{
	char s1[256], s2[256];
	if (!rand_scalars(n->in[0], n->in[1]))
		FAIL("rand's step must be an f32 or i64 scalar and its seed an f32 scalar, found %s and %s",
		     tyname(g, n->in[0]->type, s1), tyname(g, n->in[1]->type, s2));
	if (!dtype_is_float(n->type.dtype))
		FAIL("rand makes float tensors, found %s", tyname(g, n->type, s1));
	if (n->nattr != 2 || (n->attr[1] != 0 && n->attr[1] != 1))
		FAIL("rand needs the attributes [salt, normal] with normal 0 or 1");
	return true;
}

/* loop: the body's inputs are (i, one per loop input, a sequence's without its axis 0 of size T)
   and its first ncarry outputs have the carried values' types */
RULE(shape_loop)
{
	char s1[256], s2[256];
	if (n->nsub != 1 || n->nattr != 4)
		FAIL("loop needs one body and the attributes [trip count, reverse, ncarry, nseq]");
	const Graph *b = n->sub[0];
	Dim T = n->attr[0];
	int64_t nc = n->attr[2], ns = n->attr[3];
	if (nc < 0 || ns < 0 || nc + ns > n->nin || (n->attr[1] != 0 && n->attr[1] != 1))
		FAIL("loop's attributes [T, reverse, ncarry %lld, nseq %lld] do not fit its %d inputs", (long long)nc, (long long)ns, n->nin);
	if (b->inputs.n != n->nin + 1)
		FAIL("loop's body takes %d inputs (the index, then one per loop input), found %d", n->nin + 1, b->inputs.n);
	Type it = b->inputs.v[0]->type;
	if (it.rank != 0 || it.dtype != TY_I64)
		FAIL("loop's body takes the index as an i64 scalar, found %s", tyname(g, it, s1));
	for (int j = 0; j < n->nin; j++) {
		Type want = n->in[j]->type;
		if (j >= nc && j < nc + ns) {
			if (want.rank == 0 || want.dim[0] != T)
				FAIL("loop's sequence %lld must have T along axis 0, found %s", (long long)(j - nc), tyname(g, want, s1));
			want.rank--;
			for (int d = 0; d < want.rank; d++)
				want.dim[d] = want.dim[d + 1];
		}
		if (!ir_type_equal(want, b->inputs.v[j + 1]->type))
			FAIL("loop's body input %d is %s, the loop gives %s", j + 1, tyname(g, b->inputs.v[j + 1]->type, s1), tyname(g, want, s2));
	}
	if (b->outputs.n < nc)
		FAIL("loop's body returns %d values, fewer than its %lld carried ones", b->outputs.n, (long long)nc);
	for (int k = 0; k < nc; k++)
		if (!ir_type_equal(b->outputs.v[k].node->type, n->in[k]->type))
			FAIL("carried value %d of the loop enters as %s and leaves the body as %s", k,
			     tyname(g, n->in[k]->type, s1), tyname(g, b->outputs.v[k].node->type, s2));
	for (int k = (int)nc; k < b->outputs.n; k++)
		if (b->outputs.v[k].node->type.rank == MAX_RANK)
			FAIL("loop's yield %lld has rank %d: stacked it would exceed %d", (long long)(k - nc), MAX_RANK, MAX_RANK);
	n->type = ir_scalar_type(TY_F32);
	return true;
}

RULE(shape_loop_out)
{
	const Node *l = n->in[0];
	if (l->op != OP_LOOP)
		FAIL("loop_out reads a loop, found %s", op_info[l->op].name);
	const Graph *b = l->sub[0];
	if (n->nattr != 1 || n->attr[0] < 0 || n->attr[0] >= b->outputs.n)
		FAIL("loop_out needs a result index in [0, %d)", b->outputs.n);
	Type t = b->outputs.v[n->attr[0]].node->type;
	if (n->attr[0] >= l->attr[2]) {
		for (int d = t.rank; d > 0; d--)
			t.dim[d] = t.dim[d - 1];
		t.dim[0] = l->attr[0];
		t.rank++;
	}
	n->type = t;
	return true;
}

/* if: both branches take the captures (inputs 1..) and return the same number of values, of the
   same types */
RULE(shape_if)
{
	char s1[256], s2[256];
	if (n->nsub != 2 || n->nattr != 0 || n->nin < 1)
		FAIL("if needs a condition, two branches and no attributes");
	if (n->in[0]->type.dtype != TY_BOOL || n->in[0]->type.rank != 0)
		FAIL("if's condition must be a bool scalar, found %s", tyname(g, n->in[0]->type, s1));
	for (int k = 0; k < 2; k++) {
		const Graph *b = n->sub[k];
		if (b->inputs.n != n->nin - 1)
			FAIL("if's branch %d takes %d inputs (one per capture), found %d", k, n->nin - 1, b->inputs.n);
		for (int j = 0; j < b->inputs.n; j++)
			if (!ir_type_equal(b->inputs.v[j]->type, n->in[j + 1]->type))
				FAIL("if's branch %d input %d is %s, the if gives %s", k, j, tyname(g, b->inputs.v[j]->type, s1),
				     tyname(g, n->in[j + 1]->type, s2));
	}
	const Graph *a = n->sub[0], *b = n->sub[1];
	if (a->outputs.n != b->outputs.n)
		FAIL("if's branches return %d and %d values", a->outputs.n, b->outputs.n);
	for (int k = 0; k < a->outputs.n; k++)
		if (!ir_type_equal(a->outputs.v[k].node->type, b->outputs.v[k].node->type))
			FAIL("if's result %d is %s in one branch and %s in the other", k, tyname(g, a->outputs.v[k].node->type, s1),
			     tyname(g, b->outputs.v[k].node->type, s2));
	n->type = ir_scalar_type(TY_F32);
	return true;
}

RULE(shape_if_out)
{
	const Node *c = n->in[0];
	if (c->op != OP_IF)
		FAIL("if_out reads an if, found %s", op_info[c->op].name);
	if (n->nattr != 1 || n->attr[0] < 0 || n->attr[0] >= c->sub[0]->outputs.n)
		FAIL("if_out needs a result index in [0, %d)", c->sub[0]->outputs.n);
	n->type = c->sub[0]->outputs.v[n->attr[0]].node->type;
	return true;
}

/* custom_grad: grad's inputs are (the k x, dy of y's type, the captures), its outputs one per x */
RULE(shape_custom_grad)
{
	char s1[256], s2[256];
	if (n->nsub != 1 || n->nattr != 1 || n->nin < 1 || n->attr[0] < 0 || n->attr[0] >= n->nin)
		FAIL("custom_grad needs one grad region, the attribute [k] and the inputs (y, k x.., captures..)");
	const Graph *b = n->sub[0];
	int k = (int)n->attr[0];
	if (!dtype_is_float(n->in[0]->type.dtype))
		FAIL("custom_grad's value must be a float tensor, found %s", tyname(g, n->in[0]->type, s1));
	if (b->inputs.n != n->nin || b->outputs.n != k)
		FAIL("custom_grad's region takes %d inputs (x.., dy, captures..) and returns %d, found %d and %d", n->nin, k,
		     b->inputs.n, b->outputs.n);
	for (int j = 0; j < n->nin; j++) {
		Type want = n->in[j < k ? j + 1 : j == k ? 0 : j]->type;
		if (!ir_type_equal(want, b->inputs.v[j]->type))
			FAIL("custom_grad's region input %d is %s, the node gives %s", j, tyname(g, b->inputs.v[j]->type, s1), tyname(g, want, s2));
	}
	for (int j = 0; j < k; j++)
		if (!ir_type_equal(b->outputs.v[j].node->type, n->in[j + 1]->type))
			FAIL("custom_grad's gradient %d is %s, its input is %s", j, tyname(g, b->outputs.v[j].node->type, s1),
			     tyname(g, n->in[j + 1]->type, s2));
	n->type = n->in[0]->type;
	return true;
}

typedef bool (*ShapeRule)(Graph *, Node *, char *, size_t);
static const ShapeRule shape_rule[OP_COUNT] = {
#define OP(e, text, nin, flags, shape) [OP_##e] = shape,
#include "ops.def"
#undef OP
};

bool ir_shape_infer(Graph *g, Node *n, char *err, size_t errlen)
{
	for (int i = 0; i < n->nin; i++)
		if (!n->in[i])
			BUG("%s: input %d missing", op_info[n->op].name, i);
	return shape_rule[n->op](g, n, err, errlen);
}
