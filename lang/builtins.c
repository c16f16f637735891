/* lang/builtins.c: operators and built-in functions: their argument conventions, type promotion
 * and folding of compile-time numbers. Each built-in is one row of the table at the bottom.
 */
#include "lang/lang.h"

#include <math.h>
#include <string.h>

Node *elab_node(Elab *e, Op op, Node **in, int nin, const int64_t *attr, int nattr, const Type *given, Loc loc)
{
	char err[1024];
	for (int i = 0; i < nin; i++)
		if (!in[i])
			return NULL;
	Node *n = ir_node_new(e->g, op, in, nin, attr, nattr, given, loc, err, sizeof err);
	if (!n)
		diag_error(loc, "%s", err);
	return n;
}

Node *elab_cast(Elab *e, Node *n, DType t, Loc loc)
{
	if (!n || n->type.dtype == t)
		return n;
	Type ty = n->type;
	ty.dtype = t;
	return elab_node(e, OP_CAST, &n, 1, NULL, 0, &ty, loc);
}

/* ---- type promotion ---- */

static int dtype_rank(DType t)
{
	static const int r[TY_COUNT] = {[TY_BOOL] = 0, [TY_U8] = 1, [TY_I8] = 2, [TY_I16] = 3, [TY_I32] = 4, [TY_I64] = 5,
	                                [TY_F16] = 6,  [TY_BF16] = 6, [TY_F32] = 7, [TY_F64] = 8};
	return r[t];
}

static DType promote(DType a, DType b) { return dtype_rank(a) >= dtype_rank(b) ? a : b; }

static bool is_number(const Value *v) { return v->k == V_INT || v->k == V_FLOAT || v->k == V_BOOL; }

/* The element type two operands meet in: a number adopts the tensor's type unless it is a float
   meeting an integer tensor (then f32). */
static DType meet(const Value *a, const Value *b)
{
	if (a->k == V_TENSOR && b->k == V_TENSOR)
		return promote(a->t->type.dtype, b->t->type.dtype);
	const Value *t = a->k == V_TENSOR ? a : b, *n = a->k == V_TENSOR ? b : a;
	DType dt = t->t->type.dtype;
	if (n->k == V_FLOAT && !dtype_is_float(dt))
		return TY_F32;
	if (n->k == V_INT && dt == TY_BOOL)
		return TY_I64;
	return dt;
}

static Value *fold_numbers(Elab *e, AstOp op, Value *a, Value *b, Loc loc)
{
	if (a->k == V_DIM || b->k == V_DIM) {
		Dim x, y;
		static const DimOp dop[] = {[AOP_ADD] = DE_ADD, [AOP_SUB] = DE_SUB, [AOP_MUL] = DE_MUL, [AOP_DIV] = DE_DIV, [AOP_MOD] = DE_MOD};
		if (op > AOP_MOD || op == AOP_MATMUL || !elab_dim_of(e, a, &x, loc) || !elab_dim_of(e, b, &y, loc)) {
			if (op == AOP_EQ || op == AOP_NE) {
				Dim x2 = a->k == V_DIM ? a->d : -1, y2 = b->k == V_DIM ? b->d : -2;
				return val_bool(e, (x2 == y2) == (op == AOP_EQ));
			}
			diag_error(loc, "'%s' is not defined on sizes", aop_text[op]);
			return val_err();
		}
		Value *v = val_new(e, V_DIM);
		v->d = ir_dim_binop(e->prog, dop[op], x, y);
		if (DIM_IS_CONST(v->d))
			return val_int(e, v->d);
		return v;
	}
	if (a->k == V_BOOL && b->k == V_BOOL && (op == AOP_AND || op == AOP_OR || op == AOP_EQ || op == AOP_NE)) {
		bool x = a->i, y = b->i;
		return val_bool(e, op == AOP_AND ? x && y : op == AOP_OR ? x || y : op == AOP_EQ ? x == y : x != y);
	}
	if (op == AOP_AND || op == AOP_OR) {
		diag_error(loc, "'%s' needs bools, found %s and %s", aop_text[op], val_describe(e, a), val_describe(e, b));
		return val_err();
	}
	if (a->k == V_INT && b->k == V_INT) {
		int64_t x = a->i, y = b->i;
		switch (op) {
		case AOP_ADD: return val_int(e, x + y);
		case AOP_SUB: return val_int(e, x - y);
		case AOP_MUL: return val_int(e, x * y);
		case AOP_DIV:
		case AOP_MOD:
			if (y == 0) {
				diag_error(loc, "division by zero");
				return val_err();
			}
			return val_int(e, op == AOP_DIV ? x / y : x % y);
		case AOP_POW: return val_int(e, (int64_t)pow((double)x, (double)y));
		case AOP_EQ: return val_bool(e, x == y);
		case AOP_NE: return val_bool(e, x != y);
		case AOP_LT: return val_bool(e, x < y);
		case AOP_LE: return val_bool(e, x <= y);
		case AOP_GT: return val_bool(e, x > y);
		case AOP_GE: return val_bool(e, x >= y);
		default: break;
		}
	} else if ((a->k == V_INT || a->k == V_FLOAT) && (b->k == V_INT || b->k == V_FLOAT)) {
		double x = a->k == V_INT ? (double)a->i : a->f, y = b->k == V_INT ? (double)b->i : b->f;
		switch (op) {
		case AOP_ADD: return val_float(e, x + y);
		case AOP_SUB: return val_float(e, x - y);
		case AOP_MUL: return val_float(e, x * y);
		case AOP_DIV: return val_float(e, x / y);
		case AOP_MOD: return val_float(e, fmod(x, y));
		case AOP_POW: return val_float(e, pow(x, y));
		case AOP_EQ: return val_bool(e, x == y);
		case AOP_NE: return val_bool(e, x != y);
		case AOP_LT: return val_bool(e, x < y);
		case AOP_LE: return val_bool(e, x <= y);
		case AOP_GT: return val_bool(e, x > y);
		case AOP_GE: return val_bool(e, x >= y);
		default: break;
		}
	}
	diag_error(loc, "'%s' is not defined for %s and %s", aop_text[op], val_describe(e, a), val_describe(e, b));
	return val_err();
}

Value *elab_binary(Elab *e, AstOp op, Value *a, Value *b, Loc loc)
{
	if (a->k == V_ERR || b->k == V_ERR)
		return val_err();
	if (a->k != V_TENSOR && b->k != V_TENSOR)
		return fold_numbers(e, op, a, b, loc);
	const Value *other = a->k == V_TENSOR ? b : a;
	if (other->k != V_TENSOR && !is_number(other)) {
		diag_error(loc, "'%s' is not defined for %s and %s", aop_text[op], val_describe(e, a), val_describe(e, b));
		return val_err();
	}
	if (!e->g) {
		diag_error(loc, "tensor arithmetic is only allowed inside a function");
		return val_err();
	}
	DType dt = meet(a, b);
	if (op == AOP_DIV && !dtype_is_float(dt))
		dt = TY_F32; /* true division, as in PyTorch */
	if (op == AOP_AND || op == AOP_OR)
		dt = TY_BOOL;
	if (op == AOP_MATMUL && (a->k != V_TENSOR || b->k != V_TENSOR)) {
		diag_error(loc, "'@' needs two tensors, found %s and %s", val_describe(e, a), val_describe(e, b));
		return val_err();
	}
	Node *x = elab_cast(e, elab_to_tensor(e, a, dt, loc), dt, loc);
	Node *y = elab_cast(e, elab_to_tensor(e, b, dt, loc), dt, loc);
	if (!x || !y)
		return val_err();
	static const Op opof[AOP_COUNT] = {
		[AOP_ADD] = OP_ADD, [AOP_SUB] = OP_SUB, [AOP_MUL] = OP_MUL, [AOP_DIV] = OP_DIV, [AOP_MATMUL] = OP_MATMUL,
		[AOP_POW] = OP_POW, [AOP_EQ] = OP_EQ,   [AOP_NE] = OP_NE,   [AOP_LT] = OP_LT,   [AOP_LE] = OP_LE,
		[AOP_GT] = OP_GT,   [AOP_GE] = OP_GE,   [AOP_AND] = OP_AND, [AOP_OR] = OP_OR,
	};
	if (op == AOP_MOD) {
		diag_error(loc, "'%%' on tensors is not compiled yet");
		return val_err();
	}
	if (op == AOP_MATMUL && !dtype_is_float(dt)) {
		diag_error(loc, "'@' needs float tensors, found %s and %s", val_describe(e, a), val_describe(e, b));
		return val_err();
	}
	Node *in[2] = {x, y};
	int64_t attr[2] = {0, 0};
	return val_tensor(e, elab_node(e, opof[op], in, 2, attr, op == AOP_MATMUL ? 2 : 0, NULL, loc));
}

Value *elab_unary(Elab *e, AstOp op, Value *a, Loc loc)
{
	if (a->k == V_ERR)
		return a;
	if (op == AOP_NEG) {
		if (a->k == V_INT)
			return val_int(e, -a->i);
		if (a->k == V_FLOAT)
			return val_float(e, -a->f);
		if (a->k == V_TENSOR)
			return val_tensor(e, elab_node(e, OP_NEG, &a->t, 1, NULL, 0, NULL, loc));
	} else {
		if (a->k == V_BOOL)
			return val_bool(e, !a->i);
		if (a->k == V_TENSOR && a->t->type.dtype == TY_BOOL)
			return val_tensor(e, elab_node(e, OP_NOT, &a->t, 1, NULL, 0, NULL, loc));
	}
	diag_error(loc, "'%s' is not defined for %s", aop_text[op], val_describe(e, a));
	return val_err();
}

/* ---- argument matching ---- */

/* Matches arguments to a built-in's parameter names (spec: names; a trailing '?' marks optional).
   out[i] is NULL for an optional argument not given. */
static bool match_args(Elab *e, const char *fname, const char *const *spec, Value **out, Value **args, int nargs,
                       Ast **named, Value **namedv, int nnamed, Loc loc)
{
	int n = 0;
	while (spec[n])
		n++;
	for (int i = 0; i < n; i++)
		out[i] = NULL;
	if (nargs > n) {
		diag_error(loc, "'%s' takes at most %d argument%s, given %d", fname, n, n == 1 ? "" : "s", nargs);
		return false;
	}
	for (int i = 0; i < nargs; i++)
		out[i] = args[i];
	for (int j = 0; j < nnamed; j++) {
		int k = -1;
		for (int i = 0; i < n; i++) {
			size_t len = strcspn(spec[i], "?");
			if (strlen(named[j]->name) == len && !strncmp(spec[i], named[j]->name, len))
				k = i;
		}
		if (k < 0) {
			diag_error(named[j]->loc, "'%s' has no parameter named '%s'", fname, named[j]->name);
			return false;
		}
		if (out[k]) {
			diag_error(named[j]->loc, "argument '%s' of '%s' is given twice", named[j]->name, fname);
			return false;
		}
		out[k] = namedv[j];
	}
	for (int i = 0; i < n; i++)
		if (!out[i] && !strchr(spec[i], '?')) {
			diag_error(loc, "missing argument '%s' of '%s'", spec[i], fname);
			return false;
		}
	return true;
}

static Node *want_tensor(Elab *e, Value *v, const char *fname, const char *arg, Loc loc)
{
	if (v->k == V_TENSOR)
		return v->t;
	if (v->k != V_ERR)
		diag_error(loc, "argument '%s' of '%s' must be a tensor, found %s", arg, fname, val_describe(e, v));
	return NULL;
}

static bool want_int(Elab *e, Value *v, int64_t dflt, int64_t *out, const char *fname, const char *arg, Loc loc)
{
	if (!v) {
		*out = dflt;
		return true;
	}
	if (v->k == V_INT) {
		*out = v->i;
		return true;
	}
	if (v->k == V_BOOL) {
		*out = v->i;
		return true;
	}
	if (v->k != V_ERR)
		diag_error(loc, "argument '%s' of '%s' must be a compile-time int, found %s", arg, fname, val_describe(e, v));
	return false;
}

static bool want_axis(Elab *e, Value *v, int rank, int64_t *out, const char *fname, Loc loc)
{
	if (!want_int(e, v, 0, out, fname, "axis", loc))
		return false;
	if (*out < -rank || *out >= rank) {
		diag_error(loc, "axis %lld is out of range for a tensor of rank %d", (long long)*out, rank);
		return false;
	}
	if (*out < 0)
		*out += rank;
	return true;
}

/* ---- built-ins ---- */

typedef Value *(*BuiltinFn)(Elab *e, int id, Value **a, Loc loc);
typedef struct Builtin {
	const char *name;
	const char *spec[6];
	BuiltinFn fn;
	int op;       /* the IR op or dtype or initialiser the handler needs */
} Builtin;

static const Builtin builtins[];

static Value *b_unary(Elab *e, int id, Value **a, Loc loc)
{
	const Builtin *b = &builtins[id];
	if (a[0]->k == V_INT || a[0]->k == V_FLOAT) {
		double x = a[0]->k == V_INT ? (double)a[0]->i : a[0]->f;
		switch (b->op) {
		case OP_EXP: return val_float(e, exp(x));
		case OP_LOG: return val_float(e, log(x));
		case OP_SQRT: return val_float(e, sqrt(x));
		case OP_TANH: return val_float(e, tanh(x));
		case OP_SIGMOID: return val_float(e, 1 / (1 + exp(-x)));
		case OP_RELU: return val_float(e, x > 0 ? x : 0);
		default: break;
		}
	}
	Node *x = want_tensor(e, a[0], b->name, "x", loc);
	if (!x)
		return val_err();
	if (!dtype_is_float(x->type.dtype))
		x = elab_cast(e, x, TY_F32, loc);
	return val_tensor(e, elab_node(e, (Op)b->op, &x, 1, NULL, 0, NULL, loc));
}

static Value *b_binary(Elab *e, int id, Value **a, Loc loc)
{
	const Builtin *b = &builtins[id];
	if (is_number(a[0]) && is_number(a[1])) {
		double x = a[0]->k == V_FLOAT ? a[0]->f : (double)a[0]->i, y = a[1]->k == V_FLOAT ? a[1]->f : (double)a[1]->i;
		double r = b->op == OP_MAXIMUM ? fmax(x, y) : fmin(x, y);
		return a[0]->k == V_INT && a[1]->k == V_INT ? val_int(e, (int64_t)r) : val_float(e, r);
	}
	if (a[0]->k != V_TENSOR && a[1]->k != V_TENSOR) {
		diag_error(loc, "'%s' needs tensors or numbers", b->name);
		return val_err();
	}
	DType dt = meet(a[0], a[1]);
	Node *in[2] = {elab_cast(e, elab_to_tensor(e, a[0], dt, loc), dt, loc), elab_cast(e, elab_to_tensor(e, a[1], dt, loc), dt, loc)};
	return val_tensor(e, elab_node(e, (Op)b->op, in, 2, NULL, 0, NULL, loc));
}

static Value *b_where(Elab *e, int id, Value **a, Loc loc)
{
	Node *c = want_tensor(e, a[0], "where", "cond", loc);
	if (!c)
		return val_err();
	if (a[1]->k != V_TENSOR && a[2]->k != V_TENSOR) {
		diag_error(loc, "where needs at least one tensor among its values");
		return val_err();
	}
	DType dt = meet(a[1], a[2]);
	Node *in[3] = {c, elab_cast(e, elab_to_tensor(e, a[1], dt, loc), dt, loc), elab_cast(e, elab_to_tensor(e, a[2], dt, loc), dt, loc)};
	return val_tensor(e, elab_node(e, OP_WHERE, in, 3, NULL, 0, NULL, loc));
}

static Value *b_cast(Elab *e, int id, Value **a, Loc loc)
{
	DType t = (DType)builtins[id].op;
	if (is_number(a[0])) {
		double x = a[0]->k == V_FLOAT ? a[0]->f : (double)a[0]->i;
		if (t == TY_BOOL)
			return val_bool(e, x != 0);
		return dtype_is_float(t) ? val_float(e, x) : val_int(e, (int64_t)x);
	}
	Node *x = want_tensor(e, a[0], builtins[id].name, "x", loc);
	return x ? val_tensor(e, elab_cast(e, x, t, loc)) : val_err();
}

static Value *b_number(Elab *e, int id, Value **a, Loc loc)
{
	bool to_int = builtins[id].op;
	if (a[0]->k == V_INT || a[0]->k == V_BOOL)
		return to_int ? val_int(e, a[0]->i) : val_float(e, (double)a[0]->i);
	if (a[0]->k == V_FLOAT)
		return to_int ? val_int(e, (int64_t)a[0]->f) : val_float(e, a[0]->f);
	if (a[0]->k != V_ERR)
		diag_error(loc, "'%s' converts compile-time numbers; for tensors use %s", builtins[id].name, to_int ? "i64(x)" : "f32(x)");
	return val_err();
}

/* reshape(x, [dims]): one -1 is inferred */
static Value *b_reshape(Elab *e, int id, Value **a, Loc loc)
{
	Node *x = want_tensor(e, a[0], "reshape", "x", loc);
	if (!x)
		return val_err();
	if (a[1]->k != V_LIST && a[1]->k != V_TUPLE) {
		diag_error(loc, "reshape's shape must be a list such as [B, 784], found %s", val_describe(e, a[1]));
		return val_err();
	}
	Type t = {.dtype = x->type.dtype, .rank = a[1]->list.n};
	int infer = -1;
	if (t.rank > MAX_RANK) {
		diag_error(loc, "tensors have at most %d dimensions", MAX_RANK);
		return val_err();
	}
	Dim known = 1;
	for (int i = 0; i < t.rank; i++) {
		Value *d = a[1]->list.v[i];
		if (d->k == V_INT && d->i == -1) {
			if (infer >= 0) {
				diag_error(loc, "reshape allows one -1, found two");
				return val_err();
			}
			infer = i;
			continue;
		}
		if (!elab_dim_of(e, d, &t.dim[i], loc))
			return val_err();
		known = ir_dim_binop(e->prog, DE_MUL, known, t.dim[i]);
	}
	Dim total = ir_type_numel(e->prog, x->type);
	if (infer >= 0) {
		Dim q = ir_dim_binop(e->prog, DE_DIV, total, known);
		if (ir_dim_binop(e->prog, DE_MUL, q, known) != total) {
			char s[256];
			ir_type_format(e->prog, x->type, s, sizeof s);
			diag_error(loc, "cannot infer the -1 of reshape: %s does not divide evenly", s);
			return val_err();
		}
		t.dim[infer] = q;
	}
	return val_tensor(e, elab_node(e, OP_RESHAPE, &x, 1, NULL, 0, &t, loc));
}

static Value *b_flatten(Elab *e, int id, Value **a, Loc loc)
{
	Node *x = want_tensor(e, a[0], "flatten", "x", loc);
	int64_t from;
	if (!x || !want_int(e, a[1], 1, &from, "flatten", "from", loc))
		return val_err();
	if (from < 0)
		from += x->type.rank;
	if (from < 0 || from >= x->type.rank) {
		diag_error(loc, "flatten: 'from' is out of range for a tensor of rank %d", x->type.rank);
		return val_err();
	}
	Type t = {.dtype = x->type.dtype, .rank = (int)from + 1};
	for (int i = 0; i < from; i++)
		t.dim[i] = x->type.dim[i];
	t.dim[from] = 1;
	for (int i = (int)from; i < x->type.rank; i++)
		t.dim[from] = ir_dim_binop(e->prog, DE_MUL, t.dim[from], x->type.dim[i]);
	return val_tensor(e, elab_node(e, OP_RESHAPE, &x, 1, NULL, 0, &t, loc));
}

static Value *b_transpose(Elab *e, int id, Value **a, Loc loc)
{
	Node *x = want_tensor(e, a[0], "transpose", "x", loc);
	if (!x)
		return val_err();
	int64_t perm[MAX_RANK];
	int n = x->type.rank;
	if (!a[1]) {
		for (int i = 0; i < n; i++)
			perm[i] = n - 1 - i;
	} else {
		if (a[1]->k != V_LIST || a[1]->list.n != n) {
			diag_error(loc, "transpose needs a permutation of %d axes, found %s", n, val_describe(e, a[1]));
			return val_err();
		}
		for (int i = 0; i < n; i++)
			if (!want_int(e, a[1]->list.v[i], 0, &perm[i], "transpose", "perm", loc))
				return val_err();
	}
	return val_tensor(e, elab_node(e, OP_TRANSPOSE, &x, 1, perm, n, NULL, loc));
}

/* sum/mean/max(x, axis: k | axes: [..], keepdim: b); no axis: every axis */
static Value *b_reduce(Elab *e, int id, Value **a, Loc loc)
{
	const Builtin *b = &builtins[id];
	Node *x = want_tensor(e, a[0], b->name, "x", loc);
	int64_t keep, mask = 0;
	if (!x || !want_int(e, a[3], 0, &keep, b->name, "keepdim", loc))
		return val_err();
	int rank = x->type.rank;
	if (a[1] && a[2]) {
		diag_error(loc, "'%s' takes 'axis' or 'axes', not both", b->name);
		return val_err();
	}
	if (a[1]) {
		int64_t ax;
		if (!want_axis(e, a[1], rank, &ax, b->name, loc))
			return val_err();
		mask = (int64_t)1 << ax;
	} else if (a[2]) {
		if (a[2]->k != V_LIST && a[2]->k != V_TUPLE) {
			diag_error(loc, "'axes' must be a list of ints");
			return val_err();
		}
		for (int i = 0; i < a[2]->list.n; i++) {
			int64_t ax;
			if (!want_axis(e, a[2]->list.v[i], rank, &ax, b->name, loc))
				return val_err();
			mask |= (int64_t)1 << ax;
		}
	} else
		mask = rank ? ((int64_t)1 << rank) - 1 : 0;
	if (b->op == OP_MEAN && !dtype_is_float(x->type.dtype))
		x = elab_cast(e, x, TY_F32, loc);
	int64_t attr[2] = {mask, keep};
	return val_tensor(e, elab_node(e, (Op)b->op, &x, 1, attr, 2, NULL, loc));
}

static Value *b_argmax(Elab *e, int id, Value **a, Loc loc)
{
	Node *x = want_tensor(e, a[0], "argmax", "x", loc);
	int64_t axis, keep;
	if (!x || !want_int(e, a[2], 0, &keep, "argmax", "keepdim", loc))
		return val_err();
	if (!a[1]) {
		int64_t rank = x->type.rank;
		if (rank != 1) {
			diag_error(loc, "argmax of a rank-%lld tensor needs 'axis'", (long long)rank);
			return val_err();
		}
		axis = 0;
	} else if (!want_axis(e, a[1], x->type.rank, &axis, "argmax", loc))
		return val_err();
	int64_t attr[2] = {axis, keep};
	return val_tensor(e, elab_node(e, OP_ARGMAX, &x, 1, attr, 2, NULL, loc));
}

static Value *b_matmul(Elab *e, int id, Value **a, Loc loc) { return elab_binary(e, AOP_MATMUL, a[0], a[1], loc); }

/* linear(x, weight, bias): x @ weight.T + bias, PyTorch's F.linear; bias may be false. Leading
   dimensions of x are flattened for one matrix product. */
static Value *b_linear(Elab *e, int id, Value **a, Loc loc)
{
	Node *x = want_tensor(e, a[0], "linear", "x", loc), *w = want_tensor(e, a[1], "linear", "weight", loc);
	if (!x || !w)
		return val_err();
	if (w->type.rank != 2 || x->type.rank < 1) {
		diag_error(loc, "linear needs a weight f32[out, in] and an input f32[..., in]");
		return val_err();
	}
	Type xt = x->type;
	Node *x2 = x;
	if (xt.rank != 2) {
		Dim rows = 1;
		for (int i = 0; i < xt.rank - 1; i++)
			rows = ir_dim_binop(e->prog, DE_MUL, rows, xt.dim[i]);
		Type t2 = {.dtype = xt.dtype, .rank = 2, .dim = {rows, xt.dim[xt.rank - 1]}};
		x2 = elab_node(e, OP_RESHAPE, &x, 1, NULL, 0, &t2, loc);
	}
	Node *in[2] = {x2, w};
	int64_t attr[2] = {0, 1};
	Node *y = elab_node(e, OP_MATMUL, in, 2, attr, 2, NULL, loc);
	if (!y)
		return val_err();
	if (a[2] && a[2]->k != V_BOOL) {
		Node *bias = want_tensor(e, a[2], "linear", "bias", loc);
		Node *in2[2] = {y, bias};
		y = elab_node(e, OP_ADD, in2, 2, NULL, 0, NULL, loc);
	} else if (a[2] && a[2]->i) {
		diag_error(loc, "linear's bias must be a tensor or false");
		return val_err();
	}
	if (y && xt.rank != 2) {
		Type t = xt;
		t.dim[t.rank - 1] = w->type.dim[0];
		y = elab_node(e, OP_RESHAPE, &y, 1, NULL, 0, &t, loc);
	}
	return val_tensor(e, y);
}

static Value *b_cross_entropy(Elab *e, int id, Value **a, Loc loc)
{
	Node *l = want_tensor(e, a[0], "cross_entropy", "logits", loc), *y = want_tensor(e, a[1], "cross_entropy", "labels", loc);
	if (!l || !y)
		return val_err();
	Node *in[2] = {l, y};
	return val_tensor(e, elab_node(e, OP_CROSS_ENTROPY, in, 2, NULL, 0, NULL, loc));
}

static bool num_arg(Elab *e, Value *v, double dflt, double *out, const char *fname, const char *arg, Loc loc)
{
	if (!v) {
		*out = dflt;
		return true;
	}
	if (v->k == V_INT || v->k == V_FLOAT) {
		*out = v->k == V_INT ? (double)v->i : v->f;
		return true;
	}
	if (v->k != V_ERR)
		diag_error(loc, "argument '%s' of '%s' must be a compile-time number, found %s", arg, fname, val_describe(e, v));
	return false;
}

/* Initialisers: arguments in the order of Param.init_args */
static Value *b_init(Elab *e, int id, Value **a, Loc loc)
{
	const Builtin *b = &builtins[id];
	Value *v = val_new(e, V_INIT);
	v->init.kind = (InitKind)b->op;
	static const double dflt[INIT_COUNT][2] = {
		[INIT_NORMAL] = {0, 1}, [INIT_UNIFORM] = {0, 1}, [INIT_KAIMING_UNIFORM] = {0, 0},
		[INIT_KAIMING_NORMAL] = {0, 0}, [INIT_XAVIER_UNIFORM] = {1, 0}, [INIT_XAVIER_NORMAL] = {1, 0}, [INIT_ORTHOGONAL] = {1, 0},
	};
	for (int i = 0; b->spec[i]; i++) {
		size_t len = strcspn(b->spec[i], "?");
		char nm[32];
		snprintf(nm, sizeof nm, "%.*s", (int)len, b->spec[i]);
		if (!num_arg(e, a[i], dflt[b->op][i], &v->init.args[i], b->name, nm, loc))
			return val_err();
	}
	if (b->op == INIT_NORMAL) { /* normal(std:, mean:) is stored as (mean, std) */
		double t = v->init.args[0];
		v->init.args[0] = v->init.args[1];
		v->init.args[1] = t;
	}
	return v;
}

static Value *b_idx(Elab *e, int id, Value **a, Loc loc)
{
	DataSource *src = arena_alloc(e->arena, sizeof *src);
	src->kind = DATA_IDX;
	src->loc = loc;
	for (int i = 0; i < 2; i++) {
		if (a[i]->k != V_STR) {
			if (a[i]->k != V_ERR)
				diag_error(loc, "idx(images, labels) takes two file names, found %s", val_describe(e, a[i]));
			return val_err();
		}
		src->paths[src->npaths++] = a[i]->s;
	}
	Value *v = val_new(e, V_SOURCE);
	v->src = src;
	return v;
}

#define UNARY(name, op) {name, {"x"}, b_unary, op}
#define CAST(name, t) {name, {"x"}, b_cast, t}
static const Builtin builtins[] = {
	UNARY("exp", OP_EXP), UNARY("log", OP_LOG), UNARY("sqrt", OP_SQRT), UNARY("tanh", OP_TANH),
	UNARY("sigmoid", OP_SIGMOID), UNARY("relu", OP_RELU),
	{"maximum", {"a", "b"}, b_binary, OP_MAXIMUM},
	{"minimum", {"a", "b"}, b_binary, OP_MINIMUM},
	{"where", {"cond", "a", "b"}, b_where, 0},
	CAST("f32", TY_F32), CAST("f64", TY_F64), CAST("i8", TY_I8), CAST("u8", TY_U8), CAST("i16", TY_I16),
	CAST("i32", TY_I32), CAST("i64", TY_I64), CAST("bool", TY_BOOL),
	{"int", {"x"}, b_number, 1},
	{"float", {"x"}, b_number, 0},
	{"reshape", {"x", "shape"}, b_reshape, 0},
	{"flatten", {"x", "from?"}, b_flatten, 0},
	{"transpose", {"x", "perm?"}, b_transpose, 0},
	{"sum", {"x", "axis?", "axes?", "keepdim?"}, b_reduce, OP_SUM},
	{"mean", {"x", "axis?", "axes?", "keepdim?"}, b_reduce, OP_MEAN},
	{"max", {"x", "axis?", "axes?", "keepdim?"}, b_reduce, OP_MAX},
	{"argmax", {"x", "axis?", "keepdim?"}, b_argmax, 0},
	{"matmul", {"a", "b"}, b_matmul, 0},
	{"linear", {"x", "weight", "bias?"}, b_linear, 0},
	{"cross_entropy", {"logits", "labels"}, b_cross_entropy, 0},
	{"zeros", {NULL}, b_init, INIT_ZEROS},
	{"ones", {NULL}, b_init, INIT_ONES},
	{"constant", {"value"}, b_init, INIT_CONSTANT},
	{"normal", {"std?", "mean?"}, b_init, INIT_NORMAL},
	{"uniform", {"lo?", "hi?"}, b_init, INIT_UNIFORM},
	{"kaiming_uniform", {"a?"}, b_init, INIT_KAIMING_UNIFORM},
	{"kaiming_normal", {"a?"}, b_init, INIT_KAIMING_NORMAL},
	{"xavier_uniform", {"gain?"}, b_init, INIT_XAVIER_UNIFORM},
	{"xavier_normal", {"gain?"}, b_init, INIT_XAVIER_NORMAL},
	{"orthogonal", {"gain?"}, b_init, INIT_ORTHOGONAL},
	{"idx", {"images", "labels"}, b_idx, 0},
	{NULL, {NULL}, NULL, 0},
};

const char *const builtin_names[] = {
	"exp", "log", "sqrt", "tanh", "sigmoid", "relu", "maximum", "minimum", "where", "f32", "f64", "i8", "u8",
	"i16", "i32", "i64", "bool", "int", "float", "reshape", "flatten", "transpose", "sum", "mean", "max", "argmax",
	"matmul", "linear", "cross_entropy", "zeros", "ones", "constant", "normal", "uniform", "kaiming_uniform",
	"kaiming_normal", "xavier_uniform", "xavier_normal", "orthogonal", "idx", NULL,
};

int builtin_lookup(const char *name)
{
	for (int i = 0; builtins[i].name; i++)
		if (!strcmp(builtins[i].name, name))
			return i;
	return -1;
}

Value *builtin_call(Elab *e, int id, Value **args, int nargs, Ast **named, Value **namedv, int nnamed, Loc loc)
{
	const Builtin *b = &builtins[id];
	Value *a[8];
	if (!match_args(e, b->name, b->spec, a, args, nargs, named, namedv, nnamed, loc))
		return val_err();
	for (int i = 0; b->spec[i]; i++) {
		if (a[i] && a[i]->k == V_ERR)
			return val_err();
		if (a[i] && a[i]->k == V_PARAMREF && e->g)
			a[i] = val_tensor(e, elab_param_node(e, (int)a[i]->i, loc));
	}
	bool compile_time = b->fn == b_init || b->fn == b_idx || b->fn == b_number;
	if (!compile_time && !e->g) {
		bool numbers = true;
		for (int i = 0; b->spec[i]; i++)
			if (a[i] && !is_number(a[i]))
				numbers = false;
		if (!numbers) {
			diag_error(loc, "'%s' on tensors is only allowed inside a function", b->name);
			return val_err();
		}
	}
	return b->fn(e, id, a, loc);
}
