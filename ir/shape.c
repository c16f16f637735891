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
