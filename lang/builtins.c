/* lang/builtins.c: operators and built-in functions: their argument conventions, type promotion
 * and folding of compile-time numbers. Each built-in is one row of the table at the bottom.
 */
#include "lang/lang.h"
#include "runtime/nnd_model.h"

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

/* graph-building shorthands: a NULL input gives NULL (the error is already reported) */
static Node *nd1(Elab *e, Op op, Node *x, Loc loc) { return elab_node(e, op, &x, 1, NULL, 0, NULL, loc); }
static Node *nd2(Elab *e, Op op, Node *a, Node *b, Loc loc)
{
	Node *in[2] = {a, b};
	return elab_node(e, op, in, 2, NULL, 0, NULL, loc);
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

/* A comparison of two compile-time numbers, from their order c (<0, 0, >0); unordered (a NaN)
   makes every comparison false but != */
static Value *fold_compare(Elab *e, AstOp op, int c, bool unordered)
{
	if (unordered)
		return val_bool(e, op == AOP_NE);
	switch (op) {
	case AOP_EQ: return val_bool(e, c == 0);
	case AOP_NE: return val_bool(e, c != 0);
	case AOP_LT: return val_bool(e, c < 0);
	case AOP_LE: return val_bool(e, c <= 0);
	case AOP_GT: return val_bool(e, c > 0);
	default: return val_bool(e, c >= 0);
	}
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
		int64_t x = a->i, y = b->i, r = 0;
		bool over = false;
		switch (op) {
		case AOP_ADD: over = __builtin_add_overflow(x, y, &r); break;
		case AOP_SUB: over = __builtin_sub_overflow(x, y, &r); break;
		case AOP_MUL: over = __builtin_mul_overflow(x, y, &r); break;
		case AOP_DIV:
		case AOP_MOD:
			if (y == 0) {
				diag_error(loc, "division by zero");
				return val_err();
			}
			over = x == INT64_MIN && y == -1;
			r = over ? 0 : op == AOP_DIV ? x / y : x % y;
			break;
		default: break;
		}
		if (over) {
			diag_error(loc, "integer overflow: %lld %s %lld does not fit in 64 bits", (long long)x, aop_text[op], (long long)y);
			return val_err();
		}
		switch (op) {
		case AOP_ADD: case AOP_SUB: case AOP_MUL: case AOP_DIV: case AOP_MOD: return val_int(e, r);
		case AOP_POW: return val_int(e, (int64_t)pow((double)x, (double)y));
		case AOP_EQ: case AOP_NE: case AOP_LT: case AOP_LE: case AOP_GT: case AOP_GE:
			return fold_compare(e, op, (x > y) - (x < y), false);
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
		case AOP_EQ: case AOP_NE: case AOP_LT: case AOP_LE: case AOP_GT: case AOP_GE:
			return fold_compare(e, op, (x > y) - (x < y), isnan(x) || isnan(y));
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
	if (op == AOP_MOD) { /* the remainder of C and of numbers here (torch.fmod): x - y trunc(x / y) */
		Node *q = nd2(e, OP_DIV, x, y, loc);
		Node *tq = nd2(e, OP_MUL, nd1(e, OP_SIGN, q, loc), nd1(e, OP_FLOOR, nd1(e, OP_ABS, q, loc), loc), loc);
		return val_tensor(e, nd2(e, OP_SUB, x, nd2(e, OP_MUL, y, tq, loc), loc));
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
	const char *spec[9]; /* at most 8 arguments, NULL-terminated */
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

static Value *b_argmax(Elab *e, int id, Value **a, Loc loc) /* argmax, argmin */
{
	const char *fname = builtins[id].name;
	Node *x = want_tensor(e, a[0], fname, "x", loc);
	int64_t axis, keep;
	if (!x || !want_int(e, a[2], 0, &keep, fname, "keepdim", loc))
		return val_err();
	if (!a[1]) {
		int64_t rank = x->type.rank;
		if (rank != 1) {
			diag_error(loc, "%s of a rank-%lld tensor needs 'axis'", fname, (long long)rank);
			return val_err();
		}
		axis = 0;
	} else if (!want_axis(e, a[1], x->type.rank, &axis, fname, loc))
		return val_err();
	int64_t attr[2] = {axis, keep};
	return val_tensor(e, elab_node(e, (Op)builtins[id].op, &x, 1, attr, 2, NULL, loc));
}

static Value *b_matmul(Elab *e, int id, Value **a, Loc loc) { return elab_binary(e, AOP_MATMUL, a[0], a[1], loc); }
static Value *b_pow(Elab *e, int id, Value **a, Loc loc) { return elab_binary(e, AOP_POW, a[0], a[1], loc); }

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

/* ---- the operations of LANGUAGE.md section 6 (lang/REFERENCE.md lists their signatures) ---- */

/* graph-building shorthands (more below): a NULL input gives NULL (the error is already reported) */
static Node *ndc(Elab *e, Node *like, double v, Loc loc) /* a scalar constant of like's element type */
{
	if (!like)
		return NULL;
	Node *c = elab_node(e, OP_CONST, NULL, 0, NULL, 0, &(Type){.dtype = like->type.dtype}, loc);
	if (c)
		c->fval = v;
	return c;
}
static Node *ndred(Elab *e, Op op, Node *x, int64_t mask, int64_t keep, Loc loc)
{
	int64_t attr[2] = {mask, keep};
	return x ? elab_node(e, op, &x, 1, attr, 2, NULL, loc) : NULL;
}
static Node *ndall(Elab *e, Op op, Node *x, Loc loc) { return x ? ndred(e, op, x, ((int64_t)1 << x->type.rank) - 1, 0, loc) : NULL; }
static Node *ndview(Elab *e, Node *x, Type t, Loc loc) { return x ? elab_node(e, OP_RESHAPE, &x, 1, NULL, 0, &t, loc) : NULL; }

/* a float tensor argument (integer tensors are converted to f32) */
static Node *want_float(Elab *e, Value *v, const char *fname, const char *arg, Loc loc)
{
	Node *x = v && is_number(v) && e->g ? elab_to_tensor(e, v, TY_F32, loc) : v ? want_tensor(e, v, fname, arg, loc) : NULL;
	if (x && !dtype_is_float(x->type.dtype))
		x = elab_cast(e, x, TY_F32, loc);
	return x;
}

static Node *want_ints(Elab *e, Value *v, const char *fname, const char *arg, Loc loc)
{
	Node *x = want_tensor(e, v, fname, arg, loc);
	if (x && !dtype_is_int(x->type.dtype)) {
		diag_error(loc, "argument '%s' of '%s' must be an integer tensor, found %s", arg, fname, val_describe(e, v));
		return NULL;
	}
	return x;
}

/* float x and b of x's element type, broadcast-compatible */
static bool pair(Elab *e, Value **a, const char *fname, Node **x, Node **y, Loc loc)
{
	*x = want_float(e, a[0], fname, "input", loc);
	*y = *x ? elab_cast(e, elab_to_tensor(e, a[1], (*x)->type.dtype, loc), (*x)->type.dtype, loc) : NULL;
	return *x && *y;
}

static const char *want_str(Elab *e, Value *v, const char *dflt, const char *fname, const char *arg, Loc loc)
{
	if (!v)
		return dflt;
	if (v->k == V_STR)
		return v->s;
	if (v->k != V_ERR)
		diag_error(loc, "argument '%s' of '%s' must be a string, found %s", arg, fname, val_describe(e, v));
	return NULL;
}

/* reduction: "mean" (over all elements, as torch), "sum" or "none"; `batch` divides the sum by
   the first dimension instead ("batchmean", kl_div's default) */
static Value *reduce_loss(Elab *e, Node *l, Value *v, const char *dflt, const char *fname, Loc loc)
{
	const char *r = want_str(e, v, dflt, fname, "reduction", loc);
	if (!r || !l)
		return val_err();
	if (!strcmp(r, "none"))
		return val_tensor(e, l);
	if (!strcmp(r, "sum"))
		return val_tensor(e, ndall(e, OP_SUM, l, loc));
	if (!strcmp(r, "mean"))
		return val_tensor(e, ndall(e, OP_MEAN, l, loc));
	if (!strcmp(r, "batchmean") && l->type.rank >= 1) {
		Node *s = ndall(e, OP_SUM, l, loc);
		Node *one = elab_node(e, OP_CONST, NULL, 0, NULL, 0, &(Type){.dtype = l->type.dtype, .rank = 1, .dim = {l->type.dim[0]}}, loc);
		if (one)
			one->fval = 1;
		return val_tensor(e, nd2(e, OP_DIV, s, ndall(e, OP_SUM, one, loc), loc));
	}
	diag_error(loc, "'%s': reduction must be \"mean\", \"sum\" or \"none\"%s, found \"%s\"", fname,
	           !strcmp(dflt, "batchmean") ? " or \"batchmean\"" : "", r);
	return val_err();
}

/* the float ops of one tensor; abs, square, sign, floor, ceil, round, neg keep integer types */
static Value *b_unary_ext(Elab *e, int id, Value **a, Loc loc)
{
	Op op = (Op)builtins[id].op;
	if (is_number(a[0])) {
		double x = a[0]->k == V_FLOAT ? a[0]->f : (double)a[0]->i;
		switch (op) {
		case OP_ABS: return a[0]->k == V_FLOAT ? val_float(e, fabs(x)) : val_int(e, (int64_t)fabs(x));
		case OP_SQUARE: return a[0]->k == V_FLOAT ? val_float(e, x * x) : val_int(e, (int64_t)(x * x));
		case OP_SIN: return val_float(e, sin(x));
		case OP_COS: return val_float(e, cos(x));
		case OP_ERF: return val_float(e, erf(x));
		case OP_LOG1P: return val_float(e, log1p(x));
		case OP_FLOOR: return val_int(e, (int64_t)floor(x));
		case OP_CEIL: return val_int(e, (int64_t)ceil(x));
		default: break;
		}
	}
	Node *x = want_tensor(e, a[0], builtins[id].name, "x", loc);
	if (!x)
		return val_err();
	bool keeps_int = op == OP_ABS || op == OP_SQUARE || op == OP_SIGN || op == OP_FLOOR || op == OP_CEIL || op == OP_ROUND ||
	                 op == OP_NEG || op == OP_STOP_GRADIENT;
	if (!dtype_is_float(x->type.dtype) && !(keeps_int && x->type.dtype != TY_BOOL))
		x = elab_cast(e, x, TY_F32, loc);
	return val_tensor(e, nd1(e, op, x, loc));
}

/* leaky_relu(x, slope: 0.01), elu(x, alpha: 1), grad_scale(x, s), grad_reverse(x, scale: 1) */
static Value *b_scalar_op(Elab *e, int id, Value **a, Loc loc)
{
	const Builtin *b = &builtins[id];
	static const double dflt[] = {[OP_LEAKY_RELU] = 0.01, [OP_ELU] = 1, [OP_GRAD_SCALE] = 1};
	double v;
	size_t len = strcspn(b->spec[1], "?");
	char nm[32];
	snprintf(nm, sizeof nm, "%.*s", (int)len, b->spec[1]);
	Node *x = want_float(e, a[0], b->name, "x", loc);
	if (!x || !num_arg(e, a[1], dflt[b->op], &v, b->name, nm, loc))
		return val_err();
	if (!strcmp(b->name, "grad_reverse"))
		v = -v;
	return val_tensor(e, nd2(e, (Op)b->op, x, ndc(e, x, v, loc), loc));
}

/* clamp(x, lo, hi): either bound may be left out; the gradient passes where lo <= x <= hi */
static Value *b_clamp(Elab *e, int id, Value **a, Loc loc)
{
	Node *x = want_tensor(e, a[0], "clamp", "x", loc);
	if (!x)
		return val_err();
	if (!a[1] && !a[2]) {
		diag_error(loc, "clamp needs 'lo', 'hi' or both");
		return val_err();
	}
	Value *v = val_tensor(e, x);
	if (a[1]) {
		Value *in[2] = {v, a[1]};
		v = b_binary(e, builtin_lookup("maximum"), in, loc);
	}
	if (a[2] && v->k != V_ERR) {
		Value *in[2] = {v, a[2]};
		v = b_binary(e, builtin_lookup("minimum"), in, loc);
	}
	return v;
}

/* the axes mask of (axis, axes) arguments; none: every axis */
static bool axes_mask(Elab *e, Value *axis, Value *axes, int rank, int64_t *mask, const char *fname, Loc loc)
{
	*mask = 0;
	if (axis && axes) {
		diag_error(loc, "'%s' takes 'axis' or 'axes', not both", fname);
		return false;
	}
	if (axis) {
		int64_t ax;
		if (!want_axis(e, axis, rank, &ax, fname, loc))
			return false;
		*mask = (int64_t)1 << ax;
	} else if (axes) {
		if (axes->k != V_LIST && axes->k != V_TUPLE) {
			diag_error(loc, "'axes' must be a list of ints, found %s", val_describe(e, axes));
			return false;
		}
		for (int i = 0; i < axes->list.n; i++) {
			int64_t ax;
			if (!want_axis(e, axes->list.v[i], rank, &ax, fname, loc))
				return false;
			*mask |= (int64_t)1 << ax;
		}
	} else
		*mask = rank ? ((int64_t)1 << rank) - 1 : 0;
	return true;
}

/* variance/std(x, axis | axes, keepdim, correction: 1): sum((x - mean)^2) / (n - correction), as
   torch.var's default (unbiased); the reduced sizes must be known at compile time */
static Value *b_variance(Elab *e, int id, Value **a, Loc loc)
{
	const char *fname = builtins[id].name;
	Node *x = want_float(e, a[0], fname, "x", loc);
	int64_t mask, keep, corr, n = 1;
	if (!x || !want_int(e, a[3], 0, &keep, fname, "keepdim", loc) || !want_int(e, a[4], 1, &corr, fname, "correction", loc) ||
	    !axes_mask(e, a[1], a[2], x->type.rank, &mask, fname, loc))
		return val_err();
	for (int d = 0; d < x->type.rank; d++)
		if (mask >> d & 1) {
			if (!DIM_IS_CONST(x->type.dim[d])) {
				diag_error(loc, "'%s' over axis %d: its size must be known at compile time", fname, d);
				return val_err();
			}
			n *= x->type.dim[d];
		}
	Node *dev = nd2(e, OP_SUB, x, ndred(e, OP_MEAN, x, mask, 1, loc), loc);
	Node *v = nd2(e, OP_DIV, ndred(e, OP_SUM, nd1(e, OP_SQUARE, dev, loc), mask, keep, loc), ndc(e, x, (double)(n - corr), loc), loc);
	return val_tensor(e, builtins[id].op == OP_SQRT ? nd1(e, OP_SQRT, v, loc) : v);
}

/* one axis (default: the last): softmax, log_softmax, cumsum; logsumexp(x, axis, keepdim) */
static Value *b_axis_op(Elab *e, int id, Value **a, Loc loc)
{
	const Builtin *b = &builtins[id];
	Node *x = b->op == OP_CUMSUM ? want_tensor(e, a[0], b->name, "x", loc) : want_float(e, a[0], b->name, "x", loc);
	int64_t ax, keep = 0;
	if (!x)
		return val_err();
	if (!a[1])
		ax = x->type.rank - 1;
	else if (!want_axis(e, a[1], x->type.rank, &ax, b->name, loc))
		return val_err();
	if (x->type.rank == 0) {
		diag_error(loc, "'%s' needs a tensor of rank 1 or more", b->name);
		return val_err();
	}
	if (b->op == OP_LOGSUMEXP && !want_int(e, a[2], 0, &keep, b->name, "keepdim", loc))
		return val_err();
	if (b->op == OP_CUMSUM && x->type.dtype == TY_BOOL)
		x = elab_cast(e, x, TY_I64, loc);
	int64_t attr[2] = {ax, keep};
	return val_tensor(e, elab_node(e, (Op)b->op, &x, 1, attr, 2, NULL, loc));
}

/* a list of ints (sizes, widths); dims allowed when `dims` */
static int int_list(Elab *e, Value *v, int64_t *out, int max, const char *fname, const char *arg, Loc loc)
{
	if (!v || (v->k != V_LIST && v->k != V_TUPLE)) {
		diag_error(loc, "argument '%s' of '%s' must be a list of ints, found %s", arg, fname, v ? val_describe(e, v) : "nothing");
		return -1;
	}
	if (v->list.n > max) {
		diag_error(loc, "argument '%s' of '%s' has %d entries, at most %d allowed", arg, fname, v->list.n, max);
		return -1;
	}
	for (int i = 0; i < v->list.n; i++)
		if (!want_int(e, v->list.v[i], 0, &out[i], fname, arg, loc))
			return -1;
	return v->list.n;
}

/* a shape: a list of sizes (ints or size variables) */
static bool shape_arg(Elab *e, Value *v, DType dt, Type *t, const char *fname, Loc loc)
{
	if (!v || (v->k != V_LIST && v->k != V_TUPLE) || v->list.n > MAX_RANK) {
		diag_error(loc, "'%s' needs a shape such as [B, 10], found %s", fname, v ? val_describe(e, v) : "nothing");
		return false;
	}
	*t = (Type){.dtype = dt, .rank = v->list.n};
	for (int i = 0; i < t->rank; i++)
		if (!elab_dim_of(e, v->list.v[i], &t->dim[i], loc))
			return false;
	return true;
}

static Value *b_squeeze(Elab *e, int id, Value **a, Loc loc)
{
	Node *x = want_tensor(e, a[0], builtins[id].name, "x", loc);
	int64_t ax = -1;
	if (!x)
		return val_err();
	bool unsq = builtins[id].op;
	Type t = x->type, r = {.dtype = t.dtype};
	if (unsq) {
		if (t.rank >= MAX_RANK || !want_axis(e, a[1], t.rank + 1, &ax, "unsqueeze", loc))
			return val_err();
		for (int d = 0; d <= t.rank; d++)
			r.dim[r.rank++] = d == ax ? 1 : t.dim[d - (d > ax)];
		return val_tensor(e, ndview(e, x, r, loc));
	}
	if (a[1] && !want_axis(e, a[1], t.rank, &ax, "squeeze", loc))
		return val_err();
	if (ax >= 0 && t.dim[ax] != 1) {
		diag_error(loc, "squeeze: axis %lld has size %s, not 1", (long long)ax, val_describe(e, a[0]));
		return val_err();
	}
	for (int d = 0; d < t.rank; d++)
		if (!(t.dim[d] == 1 && (ax < 0 || d == ax)))
			r.dim[r.rank++] = t.dim[d];
	return val_tensor(e, ndview(e, x, r, loc));
}

static Value *b_broadcast_to(Elab *e, int id, Value **a, Loc loc)
{
	Node *x = want_tensor(e, a[0], "broadcast_to", "x", loc);
	Type t, r;
	char err[512];
	if (!x || !shape_arg(e, a[1], x->type.dtype, &t, "broadcast_to", loc))
		return val_err();
	if (!ir_broadcast(e->prog, x->type, t, &r, err, sizeof err) || !ir_type_equal(r, t)) {
		diag_error(loc, "broadcast_to: %s cannot be broadcast to the shape %s", val_describe(e, a[0]), val_describe(e, a[1]));
		return val_err();
	}
	return val_tensor(e, elab_node(e, OP_BROADCAST, &x, 1, NULL, 0, &t, loc));
}

/* the tensors of a list or tuple, cast to their common element type */
static int tensor_list(Elab *e, Value *v, Node **out, int max, const char *fname, Loc loc)
{
	if (!v || (v->k != V_LIST && v->k != V_TUPLE) || v->list.n == 0) {
		diag_error(loc, "'%s' needs a non-empty list of tensors, found %s", fname, v ? val_describe(e, v) : "nothing");
		return -1;
	}
	if (v->list.n > max) {
		diag_error(loc, "'%s' takes at most %d tensors, given %d", fname, max, v->list.n);
		return -1;
	}
	DType dt = TY_BOOL;
	for (int i = 0; i < v->list.n; i++) {
		if (!(out[i] = want_tensor(e, v->list.v[i], fname, "xs", loc)))
			return -1;
		dt = promote(dt, out[i]->type.dtype);
	}
	for (int i = 0; i < v->list.n; i++)
		out[i] = elab_cast(e, out[i], dt, loc);
	return v->list.n;
}

/* concat(xs, axis: 0); more than 6 pieces are joined in groups (a kernel takes 6 inputs) */
static Node *concat_nodes(Elab *e, Node **xs, int n, int64_t ax, Loc loc)
{
	while (n > 6) {
		int m = 0;
		for (int i = 0; i < n; i += 6) {
			int k = n - i < 6 ? n - i : 6;
			xs[m++] = k == 1 ? xs[i] : elab_node(e, OP_CONCAT, xs + i, k, &ax, 1, NULL, loc);
		}
		n = m;
	}
	return elab_node(e, OP_CONCAT, xs, n, &ax, 1, NULL, loc);
}

static Value *b_concat(Elab *e, int id, Value **a, Loc loc)
{
	const char *fname = builtins[id].name;
	bool stack = builtins[id].op;
	Node *xs[64];
	int64_t ax;
	int n = tensor_list(e, a[0], xs, 64, fname, loc);
	if (n < 0 || !want_axis(e, a[1], xs[0]->type.rank + stack, &ax, fname, loc))
		return val_err();
	Type first = xs[0]->type;
	for (int i = 0; stack && i < n; i++) {
		Type t = xs[i]->type, r = {.dtype = t.dtype};
		if (!ir_type_equal(t, first)) {
			diag_error(loc, "stack needs tensors of one shape: %s and %s", val_describe(e, a[0]->list.v[0]), val_describe(e, a[0]->list.v[i]));
			return val_err();
		}
		for (int d = 0; d <= t.rank; d++)
			r.dim[r.rank++] = d == ax ? 1 : t.dim[d - (d > ax)];
		xs[i] = ndview(e, xs[i], r, loc);
	}
	return val_tensor(e, concat_nodes(e, xs, n, ax, loc));
}

/* the tuple (xs[0], ..., xs[n-1]) of tensors: a built-in with several results */
static Value *tensor_tuple(Elab *e, Node *const *xs, int n)
{
	Value *t = val_new(e, V_TUPLE);
	t->list.v = arena_alloc(e->arena, sizeof(Value *) * (size_t)n);
	for (int i = 0; i < n; i++)
		t->list.v[i] = val_tensor(e, xs[i]);
	t->list.n = n;
	return t;
}

/* a tuple of slices of x along axis with the given sizes */
static Value *slices(Elab *e, Node *x, int64_t ax, const int64_t *sizes, int n, Loc loc)
{
	Value *t = val_new(e, V_TUPLE);
	t->list.v = arena_alloc(e->arena, sizeof(Value *) * (size_t)n);
	int64_t attr[2] = {ax, 0};
	for (int i = 0; i < n; i++) {
		Type ty = x->type;
		ty.dim[ax] = sizes[i];
		Node *s = elab_node(e, OP_SLICE, &x, 1, attr, 2, &ty, loc);
		if (!s)
			return val_err();
		t->list.v[t->list.n++] = val_tensor(e, s);
		attr[1] += sizes[i];
	}
	return t;
}

/* split(x, sizes, axis: 0): sizes is a list (summing to the axis size) or one size (the last piece
   may be smaller, as torch.split); chunk(x, n, axis: 0): pieces of ceil(size / n), as torch.chunk */
static Value *b_split(Elab *e, int id, Value **a, Loc loc)
{
	const char *fname = builtins[id].name;
	Node *x = want_tensor(e, a[0], fname, "x", loc);
	int64_t ax, sizes[256], n = 0, each = 0;
	if (!x || !want_axis(e, a[2], x->type.rank, &ax, fname, loc))
		return val_err();
	Dim K = x->type.dim[ax];
	if (!DIM_IS_CONST(K)) {
		diag_error(loc, "'%s' along axis %lld: its size must be known at compile time", fname, (long long)ax);
		return val_err();
	}
	if (builtins[id].op || a[1]->k == V_INT) { /* chunk(n) or split(size) */
		if (!want_int(e, a[1], 0, &each, fname, builtins[id].op ? "chunks" : "sizes", loc))
			return val_err();
		if (each < 1) {
			diag_error(loc, "'%s' needs a positive count, found %lld", fname, (long long)each);
			return val_err();
		}
		if (builtins[id].op)
			each = (K + each - 1) / each;
		for (int64_t at = 0; at < K && n < 256; at += each)
			sizes[n++] = at + each <= K ? each : K - at;
	} else {
		int64_t total = 0;
		if ((n = int_list(e, a[1], sizes, 256, fname, "sizes", loc)) < 0)
			return val_err();
		for (int i = 0; i < n; i++)
			total += sizes[i];
		if (total != K) {
			diag_error(loc, "split: the sizes add up to %lld, the axis has %lld", (long long)total, (long long)K);
			return val_err();
		}
	}
	return slices(e, x, ax, sizes, (int)n, loc);
}

/* pad(x, widths, value: 0): widths as torch.nn.functional.pad, pairs from the last axis backwards */
static Value *b_pad(Elab *e, int id, Value **a, Loc loc)
{
	Node *x = want_tensor(e, a[0], "pad", "x", loc);
	int64_t w[8], attr[8];
	double v;
	int n;
	if (!x || (n = int_list(e, a[1], w, 8, "pad", "widths", loc)) < 0 || !num_arg(e, a[2], 0, &v, "pad", "value", loc))
		return val_err();
	if (n % 2 || n / 2 > x->type.rank || n == 0) {
		diag_error(loc, "pad: widths must be (before, after) pairs for at most %d axes, found %d numbers", x->type.rank, n);
		return val_err();
	}
	for (int i = 0; i < n / 2; i++) { /* torch's order: the last axis first */
		attr[n - 2 - 2 * i] = w[2 * i];
		attr[n - 1 - 2 * i] = w[2 * i + 1];
	}
	Node *in[2] = {x, ndc(e, x, v, loc)};
	return val_tensor(e, elab_node(e, OP_PAD, in, 2, attr, n, NULL, loc));
}

static Value *b_tril(Elab *e, int id, Value **a, Loc loc)
{
	Node *x = want_tensor(e, a[0], builtins[id].name, "x", loc);
	int64_t attr[2] = {0, builtins[id].op};
	if (!x || !want_int(e, a[1], 0, &attr[0], builtins[id].name, "diagonal", loc))
		return val_err();
	return val_tensor(e, elab_node(e, OP_TRIL, &x, 1, attr, 2, NULL, loc));
}

static Value *b_arange(Elab *e, int id, Value **a, Loc loc)
{
	Type t = {.dtype = TY_I64, .rank = 1};
	if (!elab_dim_of(e, a[0], &t.dim[0], loc))
		return val_err();
	return val_tensor(e, elab_node(e, OP_ARANGE, NULL, 0, NULL, 0, &t, loc));
}

/* zeros(shape) ones(shape) full(shape, value): f32 tensors; zeros() and ones() without a shape
   are the parameter initialisers */
static Value *b_fill(Elab *e, int id, Value **a, Loc loc)
{
	const Builtin *b = &builtins[id];
	if (!a[0] && b->op != 2) /* the initialiser: op is INIT_ZEROS or INIT_ONES */
		return b_init(e, id, a, loc);
	double v = b->op;
	Type t;
	if (!shape_arg(e, a[0], TY_F32, &t, b->name, loc) || (b->op == 2 && !num_arg(e, a[1], 0, &v, b->name, "value", loc)))
		return val_err();
	if (!e->g) {
		diag_error(loc, "'%s' with a shape is only allowed inside a function", b->name);
		return val_err();
	}
	Node *c = elab_node(e, OP_CONST, NULL, 0, NULL, 0, &t, loc);
	if (c)
		c->fval = v;
	return val_tensor(e, c);
}

static Value *b_one_hot(Elab *e, int id, Value **a, Loc loc)
{
	Node *y = want_ints(e, a[0], "one_hot", "labels", loc);
	int64_t n;
	if (!y || !want_int(e, a[1], 0, &n, "one_hot", "num_classes", loc))
		return val_err();
	return val_tensor(e, elab_node(e, OP_ONE_HOT, &y, 1, &n, 1, NULL, loc));
}

/* embedding(table, ids) = gather(table, ids, 0); gather(x, idx, axis); take_along(x, idx, axis) */
static Value *b_gather(Elab *e, int id, Value **a, Loc loc)
{
	const Builtin *b = &builtins[id];
	Node *x = want_tensor(e, a[0], b->name, "x", loc), *idx = want_ints(e, a[1], b->name, "indices", loc);
	int64_t ax = 0;
	if (!x || !idx || (b->spec[2] && !want_axis(e, a[2], x->type.rank, &ax, b->name, loc)))
		return val_err();
	Node *in[2] = {x, idx};
	return val_tensor(e, elab_node(e, (Op)b->op, in, 2, &ax, 1, NULL, loc));
}

static Value *b_scatter_add(Elab *e, int id, Value **a, Loc loc)
{
	Node *x = want_tensor(e, a[0], "scatter_add", "x", loc), *idx = want_ints(e, a[1], "scatter_add", "indices", loc);
	Node *src = want_tensor(e, a[2], "scatter_add", "src", loc);
	int64_t ax;
	if (!x || !idx || !src || !want_axis(e, a[3], x->type.rank, &ax, "scatter_add", loc))
		return val_err();
	Node *in[3] = {x, idx, elab_cast(e, src, x->type.dtype, loc)};
	return val_tensor(e, elab_node(e, OP_SCATTER_ADD, in, 3, &ax, 1, NULL, loc));
}

/* ---- losses ---- */

/* -log_p[i, y_i] per row ([N]); rows whose label is ignore_index give 0, *count = how many do not */
static Node *nll_rows(Elab *e, Node *lp, Node *y, int64_t ignore, bool has_ignore, Node **count, const char *fname, Loc loc)
{
	if (!lp || !y)
		return NULL;
	if (lp->type.rank != 2 || y->type.rank != 1 || lp->type.dim[0] != y->type.dim[0]) {
		char s1[256], s2[256];
		ir_type_format(e->prog, lp->type, s1, sizeof s1);
		ir_type_format(e->prog, y->type, s2, sizeof s2);
		diag_error(loc, "'%s' expects scores [N, C] and labels [N], found %s and %s", fname, s1, s2);
		return NULL;
	}
	Node *keep = NULL, *yy = y;
	if (has_ignore) {
		keep = nd2(e, OP_NE, y, ndc(e, y, (double)ignore, loc), loc);
		Node *in[3] = {keep, y, ndc(e, y, 0, loc)};
		yy = elab_node(e, OP_WHERE, in, 3, NULL, 0, NULL, loc);
	}
	Type col = {.dtype = y->type.dtype, .rank = 2, .dim = {y->type.dim[0], 1}};
	Node *in[2] = {lp, ndview(e, yy, col, loc)};
	int64_t ax = 1;
	Node *picked = elab_node(e, OP_TAKE_ALONG, in, 2, &ax, 1, NULL, loc);
	Node *rows = nd1(e, OP_NEG, ndview(e, picked, (Type){.dtype = lp->type.dtype, .rank = 1, .dim = {y->type.dim[0]}}, loc), loc);
	if (!has_ignore) {
		*count = NULL;
		return rows;
	}
	Type ft = keep ? keep->type : y->type;
	ft.dtype = lp->type.dtype;
	Node *kf = keep ? elab_node(e, OP_CAST, &keep, 1, NULL, 0, &ft, loc) : NULL;
	*count = ndall(e, OP_SUM, kf, loc);
	return nd2(e, OP_MUL, rows, kf, loc);
}

/* mean over the rows that count (ignore_index), or the reduction asked */
static Value *rows_loss(Elab *e, Node *rows, Node *count, Value *red, const char *fname, Loc loc)
{
	const char *r = want_str(e, red, "mean", fname, "reduction", loc);
	if (r && !strcmp(r, "mean") && count)
		return val_tensor(e, nd2(e, OP_DIV, ndall(e, OP_SUM, rows, loc), count, loc));
	return reduce_loss(e, rows, red, "mean", fname, loc);
}

static Value *b_nll_loss(Elab *e, int id, Value **a, Loc loc)
{
	Node *lp = want_float(e, a[0], "nll_loss", "log_probs", loc), *y = want_ints(e, a[1], "nll_loss", "labels", loc), *count;
	int64_t ign;
	if (!lp || !y || !want_int(e, a[3], -100, &ign, "nll_loss", "ignore_index", loc))
		return val_err();
	Node *rows = nll_rows(e, lp, y, ign, a[3] != NULL, &count, "nll_loss", loc);
	return rows ? rows_loss(e, rows, count, a[2], "nll_loss", loc) : val_err();
}

/* cross_entropy(logits, labels, label_smoothing: 0, ignore_index:, reduction: "mean"): the fused
   op when nothing else is asked, else (1 - eps) nll(log_softmax) + eps mean_c(-log_softmax) */
static Value *b_cross_entropy_ext(Elab *e, int id, Value **a, Loc loc)
{
	if (!a[2] && !a[3] && !a[4])
		return b_cross_entropy(e, id, a, loc);
	Node *l = want_float(e, a[0], "cross_entropy", "logits", loc), *y = want_ints(e, a[1], "cross_entropy", "labels", loc), *count;
	double eps;
	int64_t ign;
	if (!l || !y || !num_arg(e, a[2], 0, &eps, "cross_entropy", "label_smoothing", loc) ||
	    !want_int(e, a[3], -100, &ign, "cross_entropy", "ignore_index", loc))
		return val_err();
	if (eps < 0 || eps > 1) {
		diag_error(loc, "cross_entropy: label_smoothing must be in [0, 1], found %g", eps);
		return val_err();
	}
	int64_t ax = 1;
	Node *lp = l->type.rank == 2 ? elab_node(e, OP_LOG_SOFTMAX, &l, 1, &ax, 1, NULL, loc) : l;
	Node *rows = nll_rows(e, lp, y, ign, a[3] != NULL, &count, "cross_entropy", loc);
	if (!rows)
		return val_err();
	if (eps > 0) {
		Node *smooth = nd1(e, OP_NEG, ndred(e, OP_MEAN, lp, 2, 0, loc), loc);
		if (count) { /* ignored rows contribute nothing */
			Node *keep = nd2(e, OP_NE, y, ndc(e, y, (double)ign, loc), loc);
			Node *in[3] = {keep, smooth, ndc(e, smooth, 0, loc)};
			smooth = elab_node(e, OP_WHERE, in, 3, NULL, 0, NULL, loc);
		}
		rows = nd2(e, OP_ADD, nd2(e, OP_MUL, rows, ndc(e, rows, 1 - eps, loc), loc), nd2(e, OP_MUL, smooth, ndc(e, smooth, eps, loc), loc), loc);
	}
	return rows_loss(e, rows, count, a[4], "cross_entropy", loc);
}

/* ---- top-k and CTC ---- */

/* top_k(x, k, axis: -1, largest: true, sorted: true) -> (values, indices), as torch.topk: the
   indices from OP_TOP_K (always sorted, best first), the values take_along them (and get their
   gradient from it) */
static Value *b_top_k(Elab *e, int id, Value **a, Loc loc)
{
	Node *x = want_tensor(e, a[0], "top_k", "x", loc);
	int64_t attr[3], sorted;
	if (!x || !want_int(e, a[1], 0, &attr[1], "top_k", "k", loc) || !want_int(e, a[3], 1, &attr[2], "top_k", "largest", loc) ||
	    !want_int(e, a[4], 1, &sorted, "top_k", "sorted", loc))
		return val_err();
	if (x->type.rank == 0) {
		diag_error(loc, "'top_k' needs a tensor of rank 1 or more");
		return val_err();
	}
	attr[0] = x->type.rank - 1;
	if (a[2] && !want_axis(e, a[2], x->type.rank, &attr[0], "top_k", loc))
		return val_err();
	Node *idx = elab_node(e, OP_TOP_K, &x, 1, attr, 3, NULL, loc);
	Node *in[2] = {x, idx};
	Node *vals = elab_node(e, OP_TAKE_ALONG, in, 2, attr, 1, NULL, loc);
	if (!vals)
		return val_err();
	return tensor_tuple(e, (Node *[]){vals, idx}, 2);
}

/* ctc_loss(log_probs, targets, input_lengths, target_lengths, blank: 0, reduction: "mean",
   zero_infinity: false), as F.ctc_loss with padded targets [N, S]: OP_CTC_LOSS gives each sample's
   loss; "mean" divides each by its target length (at least 1) and averages them, as torch */
static Value *b_ctc_loss(Elab *e, int id, Value **a, Loc loc)
{
	Node *lp = want_float(e, a[0], "ctc_loss", "log_probs", loc), *in[4] = {lp};
	static const char *const names[4] = {"log_probs", "targets", "input_lengths", "target_lengths"};
	for (int i = 1; i < 4; i++)
		in[i] = want_ints(e, a[i], "ctc_loss", names[i], loc);
	int64_t attr[2];
	const char *r = want_str(e, a[5], "mean", "ctc_loss", "reduction", loc);
	if (!lp || !in[1] || !in[2] || !in[3] || !r || !want_int(e, a[4], 0, &attr[0], "ctc_loss", "blank", loc) ||
	    !want_int(e, a[6], 0, &attr[1], "ctc_loss", "zero_infinity", loc))
		return val_err();
	Dim N = lp->type.rank == 3 ? lp->type.dim[1] : -1;
	if (lp->type.rank != 3 || in[1]->type.rank != 2 || in[1]->type.dim[0] != N || in[2]->type.rank != 1 ||
	    in[2]->type.dim[0] != N || in[3]->type.rank != 1 || in[3]->type.dim[0] != N) {
		diag_error(loc, "ctc_loss expects log_probs [T, N, C], targets [N, S], input_lengths [N] and target_lengths [N], found %s, %s, %s and %s",
		           val_describe(e, a[0]), val_describe(e, a[1]), val_describe(e, a[2]), val_describe(e, a[3]));
		return val_err();
	}
	for (int i = 1; i < 4; i++)
		in[i] = elab_cast(e, in[i], TY_I64, loc);
	if (strcmp(r, "mean") && strcmp(r, "sum") && strcmp(r, "none")) {
		diag_error(loc, "ctc_loss: reduction must be \"mean\", \"sum\" or \"none\", found \"%s\"", r);
		return val_err();
	}
	Node *l = elab_node(e, OP_CTC_LOSS, in, 4, attr, 2, NULL, loc);
	if (l && !strcmp(r, "mean")) {
		Node *len = elab_cast(e, nd2(e, OP_MAXIMUM, in[3], ndc(e, in[3], 1, loc), loc), lp->type.dtype, loc);
		return val_tensor(e, ndall(e, OP_MEAN, nd2(e, OP_DIV, l, len, loc), loc));
	}
	return val_tensor(e, l && !strcmp(r, "sum") ? ndall(e, OP_SUM, l, loc) : l);
}

/* ctc_greedy_decode(log_probs, input_lengths, blank: 0) -> i32[N, T]: best-path decoding, each
   row the labels found then -1 */
static Value *b_ctc_greedy(Elab *e, int id, Value **a, Loc loc)
{
	Node *in[2] = {want_tensor(e, a[0], "ctc_greedy_decode", "log_probs", loc), want_ints(e, a[1], "ctc_greedy_decode", "input_lengths", loc)};
	int64_t blank;
	if (!in[0] || !in[1] || !want_int(e, a[2], 0, &blank, "ctc_greedy_decode", "blank", loc))
		return val_err();
	return val_tensor(e, elab_node(e, OP_CTC_GREEDY, in, 2, &blank, 1, NULL, loc));
}

/* elementwise losses of (input, target): mse l1 smooth_l1(beta) huber(delta) bce_with_logits */
static Value *b_pair_loss(Elab *e, int id, Value **a, Loc loc)
{
	const Builtin *b = &builtins[id];
	Node *x, *t;
	double p = 1;
	int nparam = b->spec[2] && strncmp(b->spec[2], "reduction", 9) ? 1 : 0;
	if (!pair(e, a, b->name, &x, &t, loc) || (nparam && !num_arg(e, a[2], 1, &p, b->name, b->op == 3 ? "beta" : "delta", loc)))
		return val_err();
	Node *d = nd2(e, OP_SUB, x, t, loc), *l = NULL, *ad = nd1(e, OP_ABS, d, loc);
	switch (b->op) {
	case 1: l = nd1(e, OP_SQUARE, d, loc); break; /* mse */
	case 2: l = ad; break;                        /* l1 */
	case 3:                                       /* smooth_l1: |d| < beta ? d^2 / (2 beta) : |d| - beta / 2 */
	case 4: {                                     /* huber: |d| < delta ? d^2 / 2 : delta (|d| - delta / 2) */
		if (p <= 0) {
			diag_error(loc, "'%s': %s must be > 0, found %g", b->name, b->op == 3 ? "beta" : "delta", p);
			return val_err();
		}
		Node *quad = nd2(e, OP_MUL, nd1(e, OP_SQUARE, d, loc), ndc(e, d, b->op == 3 ? 0.5 / p : 0.5, loc), loc);
		Node *lin = nd2(e, OP_SUB, ad, ndc(e, d, p / 2, loc), loc);
		if (b->op == 4)
			lin = nd2(e, OP_MUL, lin, ndc(e, d, p, loc), loc);
		Node *in[3] = {nd2(e, OP_LT, ad, ndc(e, d, p, loc), loc), quad, lin};
		l = elab_node(e, OP_WHERE, in, 3, NULL, 0, NULL, loc);
		break;
	}
	case 5: /* bce_with_logits: max(x, 0) - x t + log1p(e^-|x|) */
		l = nd2(e, OP_ADD, nd2(e, OP_SUB, nd1(e, OP_RELU, x, loc), nd2(e, OP_MUL, x, t, loc), loc),
		        nd1(e, OP_LOG1P, nd1(e, OP_EXP, nd1(e, OP_NEG, nd1(e, OP_ABS, x, loc), loc), loc), loc), loc);
		break;
	}
	return reduce_loss(e, l, a[2 + nparam], "mean", b->name, loc);
}

/* kl_div(log_p, q, reduction: "batchmean"): q (log q - log_p), 0 where q = 0 */
static Value *b_kl_div(Elab *e, int id, Value **a, Loc loc)
{
	Node *lp, *q;
	if (!pair(e, a, "kl_div", &lp, &q, loc))
		return val_err();
	Node *pos = nd2(e, OP_GT, q, ndc(e, q, 0, loc), loc);
	Node *sq[3] = {pos, q, ndc(e, q, 1, loc)}; /* log of 1 where q = 0 */
	Node *lq = nd1(e, OP_LOG, elab_node(e, OP_WHERE, sq, 3, NULL, 0, NULL, loc), loc);
	Node *l = nd2(e, OP_MUL, q, nd2(e, OP_SUB, lq, lp, loc), loc);
	return reduce_loss(e, l, a[2], "batchmean", "kl_div", loc);
}

/* cosine_similarity(a, b, axis: 1, eps: 1e-8): a.b / sqrt(max(|a|^2 |b|^2, eps^2)), as torch */
static Value *b_cosine(Elab *e, int id, Value **a, Loc loc)
{
	Node *x, *y;
	int64_t ax;
	double eps;
	if (!pair(e, a, "cosine_similarity", &x, &y, loc) || !num_arg(e, a[3], 1e-8, &eps, "cosine_similarity", "eps", loc))
		return val_err();
	Node *xy = nd2(e, OP_MUL, x, y, loc);
	if (!xy || !want_axis(e, a[2] ? a[2] : val_int(e, 1), xy->type.rank, &ax, "cosine_similarity", loc))
		return val_err();
	int64_t m = (int64_t)1 << ax;
	Node *dot = ndred(e, OP_SUM, xy, m, 0, loc);
	Node *nn = nd2(e, OP_MUL, ndred(e, OP_SUM, nd1(e, OP_SQUARE, x, loc), m, 0, loc), ndred(e, OP_SUM, nd1(e, OP_SQUARE, y, loc), m, 0, loc), loc);
	Node *den = nd1(e, OP_SQRT, nd2(e, OP_MAXIMUM, nn, ndc(e, nn, eps * eps, loc), loc), loc);
	return val_tensor(e, nd2(e, OP_DIV, dot, den, loc));
}

/* giou(boxes1, boxes2, reduction: "mean", eps: 1e-7): the generalized-IoU loss 1 - GIoU of boxes
   (x1, y1, x2, y2) along the last axis, as torchvision.ops.generalized_box_iou_loss */
static Value *b_giou(Elab *e, int id, Value **a, Loc loc)
{
	Node *p, *q;
	double eps;
	if (!pair(e, a, "giou", &p, &q, loc) || !num_arg(e, a[3], 1e-7, &eps, "giou", "eps", loc))
		return val_err();
	Node *b[2] = {p, q};
	for (int i = 0; i < 2; i++)
		if (b[i]->type.rank == 0 || b[i]->type.dim[b[i]->type.rank - 1] != 4) {
			diag_error(loc, "giou: boxes are (x1, y1, x2, y2) along the last axis, of size 4; boxes%d is %s", i + 1,
			           val_describe(e, a[i]));
			return val_err();
		}
	const int64_t ones[4] = {1, 1, 1, 1};
	Value *bp = slices(e, p, p->type.rank - 1, ones, 4, loc), *bq = slices(e, q, q->type.rank - 1, ones, 4, loc);
	if (bp->k != V_TUPLE || bq->k != V_TUPLE)
		return val_err();
	Node *c[2][4];
	for (int i = 0; i < 4; i++)
		c[0][i] = bp->list.v[i]->t, c[1][i] = bq->list.v[i]->t;
	Node *area[2], *inner[2], *outer[2];
	for (int i = 0; i < 2; i++)
		area[i] = nd2(e, OP_MUL, nd2(e, OP_SUB, c[i][2], c[i][0], loc), nd2(e, OP_SUB, c[i][3], c[i][1], loc), loc);
	for (int k = 0; k < 2; k++) { /* along x, then y: the overlap (0 when none) and the enclosing span */
		inner[k] = nd1(e, OP_RELU, nd2(e, OP_SUB, nd2(e, OP_MINIMUM, c[0][k + 2], c[1][k + 2], loc),
		                                      nd2(e, OP_MAXIMUM, c[0][k], c[1][k], loc), loc), loc);
		outer[k] = nd2(e, OP_SUB, nd2(e, OP_MAXIMUM, c[0][k + 2], c[1][k + 2], loc), nd2(e, OP_MINIMUM, c[0][k], c[1][k], loc), loc);
	}
	Node *inter = nd2(e, OP_MUL, inner[0], inner[1], loc);
	Node *uni = nd2(e, OP_SUB, nd2(e, OP_ADD, area[0], area[1], loc), inter, loc);
	Node *hull = nd2(e, OP_MUL, outer[0], outer[1], loc);
	Node *iou = nd2(e, OP_DIV, inter, nd2(e, OP_ADD, uni, ndc(e, uni, eps, loc), loc), loc);
	Node *gap = nd2(e, OP_DIV, nd2(e, OP_SUB, hull, uni, loc), nd2(e, OP_ADD, hull, ndc(e, hull, eps, loc), loc), loc);
	Node *l = nd2(e, OP_SUB, ndc(e, iou, 1, loc), nd2(e, OP_SUB, iou, gap, loc), loc);
	if (!l)
		return val_err();
	Type t = l->type;
	t.rank--;
	return reduce_loss(e, ndview(e, l, t, loc), a[2], "mean", "giou", loc);
}

/* layer_norm(x, weight, bias, eps: 1e-5) and rms_norm(x, weight, eps: f32 epsilon, as torch) over the
   last axis; weight and bias may be left out */
static Value *b_norm(Elab *e, int id, Value **a, Loc loc)
{
	const Builtin *b = &builtins[id];
	bool rms = b->op;
	Node *x = want_float(e, a[0], b->name, "x", loc);
	double eps;
	Value *ev = rms ? a[2] : a[3];
	if (!x || !num_arg(e, ev, rms ? 1.1920928955078125e-07 : 1e-5, &eps, b->name, "eps", loc))
		return val_err();
	if (x->type.rank == 0) {
		diag_error(loc, "'%s' needs a tensor of rank 1 or more", b->name);
		return val_err();
	}
	int64_t m = (int64_t)1 << (x->type.rank - 1);
	Node *c = rms ? x : nd2(e, OP_SUB, x, ndred(e, OP_MEAN, x, m, 1, loc), loc);
	Node *var = ndred(e, OP_MEAN, nd1(e, OP_SQUARE, c, loc), m, 1, loc);
	Node *y = nd2(e, OP_MUL, c, nd1(e, OP_RSQRT, nd2(e, OP_ADD, var, ndc(e, var, eps, loc), loc), loc), loc);
	if (a[1] && a[1]->k != V_BOOL)
		y = nd2(e, OP_MUL, y, want_float(e, a[1], b->name, "weight", loc), loc);
	if (!rms && a[2] && a[2]->k != V_BOOL)
		y = nd2(e, OP_ADD, y, want_float(e, a[2], b->name, "bias", loc), loc);
	return val_tensor(e, y);
}

/* a per-channel tensor [C] as [1, C, 1, ...] of rank r, to broadcast against NC... */
static Node *channel_view(Elab *e, Node *v, int r, Loc loc)
{
	if (!v)
		return NULL;
	Type t = {.dtype = v->type.dtype, .rank = r};
	for (int d = 0; d < r; d++)
		t.dim[d] = d == 1 ? v->type.dim[0] : 1;
	return ndview(e, v, t, loc);
}

/* batch_norm(x, running_mean, running_var, weight, bias, training: <the graph's>, momentum: 0.1,
   eps: 1e-5) as F.batch_norm on x [N, C, ...] with per-channel statistics over every axis but 1.
   Training: x is normalised with the batch's mean and biased variance; eval: with the running
   statistics. Returns (y, new running_mean, new running_var): in training (1 - momentum) * running
   + momentum * batch statistic, the variance unbiased (n / (n - 1), n = N * H * W, as torch);
   in eval the running statistics unchanged. The caller stores them with `:=` (std.nn BatchNorm2d). */
static Value *b_batch_norm(Elab *e, int id, Value **a, Loc loc)
{
	const char *fname = builtins[id].name;
	Node *x = want_float(e, a[0], fname, "x", loc);
	Node *rm = want_float(e, a[1], fname, "running_mean", loc), *rv = want_float(e, a[2], fname, "running_var", loc);
	int64_t train;
	double mom, eps;
	if (!x || !rm || !rv || !want_int(e, a[5], e->training, &train, fname, "training", loc) ||
	    !num_arg(e, a[6], 0.1, &mom, fname, "momentum", loc) || !num_arg(e, a[7], 1e-5, &eps, fname, "eps", loc))
		return val_err();
	int r = x->type.rank;
	if (r < 2) {
		diag_error(loc, "'%s' needs x of rank 2 or more ([N, C, ...]), found %s", fname, val_describe(e, a[0]));
		return val_err();
	}
	Node *st[4] = {rm, rv, NULL, NULL};
	const char *nm[4] = {"running_mean", "running_var", "weight", "bias"};
	for (int k = 2; k < 4; k++)
		if (a[k + 1] && a[k + 1]->k != V_NONE && a[k + 1]->k != V_BOOL && !(st[k] = want_float(e, a[k + 1], fname, nm[k], loc)))
			return val_err();
	for (int k = 0; k < 4; k++)
		if (st[k] && (st[k]->type.rank != 1 || st[k]->type.dim[0] != x->type.dim[1] || st[k]->type.dtype != x->type.dtype)) {
			char want[256];
			ir_type_format(e->prog, (Type){.dtype = x->type.dtype, .rank = 1, .dim = {x->type.dim[1]}}, want, sizeof want);
			diag_error(loc, "argument '%s' of '%s' must be %s (one per channel of x: %s), found %s", nm[k], fname, want,
			           val_describe(e, a[0]), val_describe(e, val_tensor(e, st[k])));
			return val_err();
		}
	int64_t mask = (((int64_t)1 << r) - 1) & ~(int64_t)2;
	Node *mean, *var, *y, *nm_out = rm, *nv_out = rv;
	if (train) {
		mean = ndred(e, OP_MEAN, x, mask, 1, loc);
		Node *c = nd2(e, OP_SUB, x, mean, loc);
		Node *sq = nd1(e, OP_SQUARE, c, loc);
		var = ndred(e, OP_MEAN, sq, mask, 1, loc);
		y = nd2(e, OP_MUL, c, nd1(e, OP_RSQRT, nd2(e, OP_ADD, var, ndc(e, var, eps, loc), loc), loc), loc);
		/* the count n of the reduced axes: a number, or sum(1) over them when N is a run-time size */
		Type one = x->type;
		one.dim[1] = 1;
		int64_t n = 1;
		for (int d = 0; d < r && n > 0; d++)
			n = d == 1 ? n : DIM_IS_CONST(one.dim[d]) ? n * one.dim[d] : -1;
		Node *cnt;
		if (n > 0)
			cnt = ndc(e, x, (double)n, loc);
		else {
			Node *c1 = ndc(e, x, 1, loc);
			cnt = ndall(e, OP_SUM, c1 ? elab_node(e, OP_BROADCAST, &c1, 1, NULL, 0, &one, loc) : NULL, loc);
		}
		/* unbiased variance = sum(sq) / (n - 1) */
		Node *uvar = nd2(e, OP_DIV, ndred(e, OP_SUM, sq, mask, 0, loc), nd2(e, OP_SUB, cnt, ndc(e, x, 1, loc), loc), loc);
		Type ct = rm->type;
		Node *m1 = ndc(e, x, 1 - mom, loc), *m2 = ndc(e, x, mom, loc);
		nm_out = nd2(e, OP_ADD, nd2(e, OP_MUL, m1, rm, loc), nd2(e, OP_MUL, m2, ndview(e, mean, ct, loc), loc), loc);
		nv_out = nd2(e, OP_ADD, nd2(e, OP_MUL, m1, rv, loc), nd2(e, OP_MUL, m2, uvar, loc), loc);
	} else {
		Node *inv = nd1(e, OP_RSQRT, nd2(e, OP_ADD, rv, ndc(e, rv, eps, loc), loc), loc);
		y = nd2(e, OP_MUL, nd2(e, OP_SUB, x, channel_view(e, rm, r, loc), loc), channel_view(e, inv, r, loc), loc);
	}
	if (st[2])
		y = nd2(e, OP_MUL, y, channel_view(e, st[2], r, loc), loc);
	if (st[3])
		y = nd2(e, OP_ADD, y, channel_view(e, st[3], r, loc), loc);
	if (!y || !nm_out || !nv_out)
		return val_err();
	return tensor_tuple(e, (Node *[]){y, nm_out, nv_out}, 3);
}

/* ---- convolution, pooling, dropout (NCHW, as torch.nn.functional) ---- */

/* an int or a list of n ints (torch's _pair); each >= lo */
static bool int_pair(Elab *e, Value *v, int64_t dflt, int n, int64_t lo, int64_t *out, const char *fname, const char *arg, Loc loc)
{
	if (v && (v->k == V_LIST || v->k == V_TUPLE)) {
		if (v->list.n != n) {
			diag_error(loc, "argument '%s' of '%s' must be an int or a list of %d (one per spatial axis), found %d ints", arg, fname, n, v->list.n);
			return false;
		}
		if (int_list(e, v, out, n, fname, arg, loc) < 0)
			return false;
	} else {
		if (!want_int(e, v, dflt, &out[0], fname, arg, loc))
			return false;
		for (int i = 1; i < n; i++)
			out[i] = out[0];
	}
	for (int i = 0; i < n; i++)
		if (out[i] < lo) {
			diag_error(loc, "argument '%s' of '%s' must be >= %lld, found %lld", arg, fname, (long long)lo, (long long)out[i]);
			return false;
		}
	return true;
}

static Node *conv_bias(Elab *e, Node *y, Value *bv, int spatial, const char *fname, Loc loc)
{
	if (!y || !bv || bv->k == V_BOOL) /* bias: false, or left out */
		return y;
	Node *b = want_float(e, bv, fname, "bias", loc);
	if (!b)
		return NULL;
	if (b->type.rank != 1 || b->type.dim[0] != y->type.dim[1]) {
		char s1[256];
		ir_type_format(e->prog, b->type, s1, sizeof s1);
		diag_error(loc, "'%s': bias must be [%lld] (one per output channel), found %s", fname, (long long)y->type.dim[1], s1);
		return NULL;
	}
	Type t = ir_type(b->type.dtype, 1 + spatial, (Dim[]){b->type.dim[0], 1, 1, 1});
	return nd2(e, OP_ADD, y, ndview(e, b, t, loc), loc);
}

/* x [N, C, <sp spatial sizes>] and weight [<wdims>, <sp kernel sizes>], all but N known at compile time */
static bool conv_operands(Elab *e, Node *x, Node *w, int sp, const char *wdims, const char *fname, Loc loc)
{
	static const char *const xs[] = {"", "L", "H, W", "D, H, W"}, *const ks[] = {"", "K", "KH, KW", "KD, KH, KW"};
	bool ok = x->type.rank == sp + 2 && w->type.rank == sp + 2;
	for (int d = 0; ok && d < sp + 2; d++)
		ok = (d == 0 || DIM_IS_CONST(x->type.dim[d])) && DIM_IS_CONST(w->type.dim[d]);
	if (!ok) {
		char s1[256], s2[256];
		ir_type_format(e->prog, x->type, s1, sizeof s1);
		ir_type_format(e->prog, w->type, s2, sizeof s2);
		diag_error(loc, "'%s' expects x [N, C, %s] and weight [%s, %s] (sizes but N known at compile time), found %s and %s", fname,
		           xs[sp], wdims, ks[sp], s1, s2);
	}
	return ok;
}

/* conv1d, conv2d, conv3d (x, weight, bias, stride: 1, padding: 0 | "valid" | "same", dilation: 1,
   groups: 1) on [N, C, L], [N, C, H, W], [N, C, D, H, W]: one conv op over sp spatial axes */
static Value *b_conv(Elab *e, int id, Value **a, Loc loc)
{
	const char *fname = builtins[id].name;
	int sp = builtins[id].op; /* spatial axes */
	Node *x = want_float(e, a[0], fname, "x", loc), *w = want_float(e, a[1], fname, "weight", loc);
	int64_t attr[10] = {0}, *st = attr, *pad = attr + sp, *dil = attr + 2 * sp, groups;
	if (!x || !w || !conv_operands(e, x, w, sp, "O, C/groups", fname, loc) || !int_pair(e, a[3], 1, sp, 1, st, fname, "stride", loc) ||
	    !int_pair(e, a[5], 1, sp, 1, dil, fname, "dilation", loc) || !want_int(e, a[6], 1, &groups, fname, "groups", loc))
		return val_err();
	if (groups < 1) {
		diag_error(loc, "argument 'groups' of '%s' must be >= 1, found %lld", fname, (long long)groups);
		return val_err();
	}
	if (a[4] && a[4]->k == V_STR) {
		const char *m = a[4]->s;
		if (!strcmp(m, "same")) {
			for (int i = 0; i < sp; i++) {
				int64_t k = w->type.dim[2 + i], tot = dil[i] * (k - 1);
				if (st[i] != 1 || tot % 2) {
					diag_error(loc, "'%s': padding \"same\" needs stride 1 and an odd dilated kernel here", fname);
					return val_err();
				}
				pad[i] = tot / 2;
			}
		} else if (strcmp(m, "valid")) {
			diag_error(loc, "argument 'padding' of '%s' must be an int, a list of ints, \"same\" or \"valid\", found \"%s\"", fname, m);
			return val_err();
		}
	} else if (!int_pair(e, a[4], 0, sp, 0, pad, fname, "padding", loc))
		return val_err();
	attr[3 * sp] = groups;
	Node *y = elab_node(e, OP_CONV, (Node *[]){x, w}, 2, attr, 3 * sp + 1, NULL, loc);
	y = conv_bias(e, y, a[2], sp, fname, loc);
	return y ? val_tensor(e, y) : val_err();
}

/* conv_transpose1d, 2d, 3d (x, weight, bias, stride: 1, padding: 0, output_padding: 0, groups: 1,
   dilation: 1), torch's argument order: x [N, Cin, ...] and weight [Cin, Cout/groups, K...] give
   [N, Cout, ...], each size (I - 1) stride - 2 padding + dilation (K - 1) + output_padding + 1.
   It is conv's input gradient (the conv_transpose op) with conv's attributes. */
static Value *b_conv_transpose(Elab *e, int id, Value **a, Loc loc)
{
	const char *fname = builtins[id].name;
	int sp = builtins[id].op;
	Node *x = want_float(e, a[0], fname, "x", loc), *w = want_float(e, a[1], fname, "weight", loc);
	int64_t attr[10] = {0}, *st = attr, *pad = attr + sp, *dil = attr + 2 * sp, opad[3], groups;
	if (!x || !w || !conv_operands(e, x, w, sp, "Cin, Cout/groups", fname, loc) || !int_pair(e, a[3], 1, sp, 1, st, fname, "stride", loc) ||
	    !int_pair(e, a[4], 0, sp, 0, pad, fname, "padding", loc) || !int_pair(e, a[5], 0, sp, 0, opad, fname, "output_padding", loc) ||
	    !want_int(e, a[6], 1, &groups, fname, "groups", loc) || !int_pair(e, a[7], 1, sp, 1, dil, fname, "dilation", loc))
		return val_err();
	int64_t C = x->type.dim[1];
	if (groups < 1 || C != w->type.dim[0] || C % groups) {
		diag_error(loc, "'%s': x has %lld channels, weight's in_channels (its first size) is %lld, groups %lld: they must be equal "
		           "and divisible by groups", fname, (long long)C, (long long)w->type.dim[0], (long long)groups);
		return val_err();
	}
	Type t = x->type;
	t.dim[1] = w->type.dim[1] * groups;
	for (int i = 0; i < sp; i++) {
		if (opad[i] >= st[i] && opad[i] >= dil[i]) {
			diag_error(loc, "'%s': output_padding (%lld) must be smaller than stride (%lld) or dilation (%lld)", fname,
			           (long long)opad[i], (long long)st[i], (long long)dil[i]);
			return val_err();
		}
		t.dim[2 + i] = (x->type.dim[2 + i] - 1) * st[i] - 2 * pad[i] + dil[i] * (w->type.dim[2 + i] - 1) + opad[i] + 1;
		if (t.dim[2 + i] < 1) {
			diag_error(loc, "'%s': the output size along spatial axis %d would be %lld (padding too large)", fname, i,
			           (long long)t.dim[2 + i]);
			return val_err();
		}
	}
	attr[3 * sp] = groups;
	Node *y = elab_node(e, OP_CONV_TRANSPOSE, (Node *[]){x, w}, 2, attr, 3 * sp + 1, &t, loc);
	y = conv_bias(e, y, a[2], sp, fname, loc);
	return y ? val_tensor(e, y) : val_err();
}

/* a CONST tensor filled with v */
static Node *filled(Elab *e, Type t, double v, Loc loc)
{
	Node *c = elab_node(e, OP_CONST, NULL, 0, NULL, 0, &t, loc);
	if (c)
		c->fval = v;
	return c;
}

/* kernel_size, stride (default: the kernel), padding of a pooling over sp (1 or 2) spatial axes,
   into the 2-D attributes [kh, kw, sh, sw, ph, pw] (1-D: height 1) */
static bool pool_args(Elab *e, Value **a, int sp, int64_t *attr, const char *fname, Loc loc)
{
	int64_t k[2], st[2], p[2];
	if (!int_pair(e, a[1], 0, sp, 1, k, fname, "kernel_size", loc))
		return false;
	bool dflt = !a[2] || a[2]->k == V_NONE;
	if (!int_pair(e, dflt ? NULL : a[2], k[0], sp, 1, st, fname, "stride", loc))
		return false;
	if (dflt)
		st[sp - 1] = k[sp - 1];
	if (!int_pair(e, a[3], 0, sp, 0, p, fname, "padding", loc))
		return false;
	int64_t *o = attr;
	if (sp == 1) /* height 1: kernel 1, stride 1, padding 0 */
		o[0] = 1, o[1] = k[0], o[2] = 1, o[3] = st[0], o[4] = 0, o[5] = p[0];
	else
		o[0] = k[0], o[1] = k[1], o[2] = st[0], o[3] = st[1], o[4] = p[0], o[5] = p[1];
	return true;
}

/* x [N, C, L] viewed as [N, C, 1, L] (up), and y back (down) */
static Node *nchw_up(Elab *e, Node *x, const char *fname, Loc loc)
{
	if (x->type.rank != 3) {
		char s1[256];
		ir_type_format(e->prog, x->type, s1, sizeof s1);
		diag_error(loc, "'%s' expects x [N, C, L], found %s", fname, s1);
		return NULL;
	}
	return ndview(e, x, ir_type(x->type.dtype, 4, (Dim[]){x->type.dim[0], x->type.dim[1], 1, x->type.dim[2]}), loc);
}
static Node *ncl_down(Elab *e, Node *y, Loc loc)
{
	return y ? ndview(e, y, ir_type(y->type.dtype, 3, (Dim[]){y->type.dim[0], y->type.dim[1], y->type.dim[3]}), loc) : NULL;
}

/* max_pool2d(x, kernel_size, stride: kernel_size, padding: 0); max_pool1d: on [N, C, L] */
static Value *b_max_pool(Elab *e, int id, Value **a, Loc loc)
{
	const char *fname = builtins[id].name;
	int sp = builtins[id].op;
	Node *x = want_float(e, a[0], fname, "x", loc);
	int64_t attr[6];
	if (!x || !pool_args(e, a, sp, attr, fname, loc) || (sp == 1 && !(x = nchw_up(e, x, fname, loc))))
		return val_err();
	Node *y = elab_node(e, OP_MAX_POOL2D, &x, 1, attr, 6, NULL, loc);
	if (sp == 1)
		y = ncl_down(e, y, loc);
	return y ? val_tensor(e, y) : val_err();
}

/* max_pool2d_with_indices(x, kernel_size, stride:, padding:) -> (values, i64 indices ih W + iw
   in each plane, as torch's return_indices; no gradient) */
static Value *b_max_pool2d_with_indices(Elab *e, int id, Value **a, Loc loc)
{
	const char *fname = builtins[id].name;
	Node *x = want_float(e, a[0], fname, "x", loc);
	int64_t attr[6];
	if (!x || !pool_args(e, a, 2, attr, fname, loc))
		return val_err();
	Node *y = elab_node(e, OP_MAX_POOL2D, &x, 1, attr, 6, NULL, loc), *i = elab_node(e, OP_MAX_POOL2D_INDICES, &x, 1, attr, 6, NULL, loc);
	if (!y || !i)
		return val_err();
	return tensor_tuple(e, (Node *[]){y, i}, 2);
}

/* max_unpool2d(x, indices, kernel_size, stride: kernel_size, padding: 0, output_size:): zeros of
   [N, C, OH, OW] (default (H - 1) stride - 2 padding + kernel) with x[n, c, i] added at plane index
   indices[n, c, i]: a scatter_add over the flattened planes, whose gradient gathers dy back */
static Value *b_max_unpool2d(Elab *e, int id, Value **a, Loc loc)
{
	const char *fname = builtins[id].name;
	Node *x = want_float(e, a[0], fname, "x", loc), *idx = want_ints(e, a[1], fname, "indices", loc);
	int64_t p[6], o[2];
	if (!x || !idx || !pool_args(e, (Value *[]){a[0], a[2], a[3], a[4]}, 2, p, fname, loc))
		return val_err();
	char s1[256], s2[256];
	ir_type_format(e->prog, x->type, s1, sizeof s1);
	ir_type_format(e->prog, idx->type, s2, sizeof s2);
	Type xt = x->type;
	if (xt.rank != 4 || !DIM_IS_CONST(xt.dim[1]) || !DIM_IS_CONST(xt.dim[2]) || !DIM_IS_CONST(xt.dim[3]) || idx->type.rank != 4 ||
	    memcmp(idx->type.dim, xt.dim, sizeof(Dim) * 4)) {
		diag_error(loc, "'%s' expects x [N, C, H, W] (C, H, W known at compile time) and indices of the same sizes, found %s and %s",
		           fname, s1, s2);
		return val_err();
	}
	int64_t dflt[2];
	for (int i = 0; i < 2; i++)
		o[i] = dflt[i] = (xt.dim[2 + i] - 1) * p[2 + i] - 2 * p[4 + i] + p[i];
	Value *os = a[5] && a[5]->k != V_NONE ? a[5] : NULL;
	if (os && (os->k == V_LIST || os->k == V_TUPLE) && os->list.n == 4) { /* torch also takes [N, C, OH, OW] */
		Value *last = val_new(e, os->k);
		last->list.v = os->list.v + 2;
		last->list.n = 2;
		os = last;
	}
	if (os && !int_pair(e, os, 0, 2, 1, o, fname, "output_size", loc))
		return val_err();
	for (int i = 0; i < 2; i++) /* torch's range: strictly within a stride of the default */
		if (o[i] < 1 || o[i] <= dflt[i] - p[2 + i] || o[i] >= dflt[i] + p[2 + i]) {
			diag_error(loc, "'%s': output size %lld along axis %d must be between %lld and %lld (the default %lld give or take less "
			           "than the stride)", fname, (long long)o[i], 2 + i, (long long)(dflt[i] - p[2 + i] + 1),
			           (long long)(dflt[i] + p[2 + i] - 1), (long long)dflt[i]);
			return val_err();
		}
	Dim N = xt.dim[0], C = xt.dim[1], HW = xt.dim[2] * xt.dim[3];
	Node *src = ndview(e, x, ir_type(xt.dtype, 3, (Dim[]){N, C, HW}), loc);
	Node *at = ndview(e, idx, ir_type(idx->type.dtype, 3, (Dim[]){N, C, HW}), loc);
	Node *z = filled(e, ir_type(xt.dtype, 3, (Dim[]){N, C, o[0] * o[1]}), 0, loc);
	int64_t axis = 2;
	Node *y = z && src && at ? elab_node(e, OP_SCATTER_ADD, (Node *[]){z, at, src}, 3, &axis, 1, NULL, loc) : NULL;
	y = ndview(e, y, ir_type(xt.dtype, 4, (Dim[]){N, C, o[0], o[1]}), loc);
	return y ? val_tensor(e, y) : val_err();
}

/* avg_pool2d: a depthwise convolution with weights 1 / (kh kw); without count_include_pad, the
   sums divided by the number of input elements under each window */
static Node *avg_pool(Elab *e, Node *x, const int64_t *p, bool include_pad, const char *fname, Loc loc)
{
	if (x->type.rank != 4 || !DIM_IS_CONST(x->type.dim[1])) {
		char s1[256];
		ir_type_format(e->prog, x->type, s1, sizeof s1);
		diag_error(loc, "'%s' expects x [N, C, H, W] with C known at compile time, found %s", fname, s1);
		return NULL;
	}
	if (2 * p[4] > p[0] || 2 * p[5] > p[1]) {
		diag_error(loc, "'%s': padding (%lld, %lld) must be at most half the kernel (%lld, %lld)", fname, (long long)p[4],
		           (long long)p[5], (long long)p[0], (long long)p[1]);
		return NULL;
	}
	int64_t C = x->type.dim[1], attr[7] = {p[2], p[3], p[4], p[5], 1, 1, C};
	DType dt = x->type.dtype;
	Node *in[2] = {x, filled(e, ir_type(dt, 4, (Dim[]){C, 1, p[0], p[1]}), include_pad ? 1.0 / (double)(p[0] * p[1]) : 1, loc)};
	Node *y = elab_node(e, OP_CONV, in, 2, attr, 7, NULL, loc);
	if (!y || include_pad)
		return y;
	Node *ones[2] = {filled(e, ir_type(dt, 4, (Dim[]){1, 1, x->type.dim[2], x->type.dim[3]}), 1, loc),
	                 filled(e, ir_type(dt, 4, (Dim[]){1, 1, p[0], p[1]}), 1, loc)};
	attr[6] = 1;
	return nd2(e, OP_DIV, y, elab_node(e, OP_CONV, ones, 2, attr, 7, NULL, loc), loc);
}

/* avg_pool2d(x, kernel_size, stride: kernel_size, padding: 0, count_include_pad: true); avg_pool1d: on [N, C, L] */
static Value *b_avg_pool(Elab *e, int id, Value **a, Loc loc)
{
	const char *fname = builtins[id].name;
	int sp = builtins[id].op;
	Node *x = want_float(e, a[0], fname, "x", loc);
	int64_t attr[6], inc;
	if (!x || !pool_args(e, a, sp, attr, fname, loc) || !want_int(e, a[4], 1, &inc, fname, "count_include_pad", loc) ||
	    (sp == 1 && !(x = nchw_up(e, x, fname, loc))))
		return val_err();
	Node *y = avg_pool(e, x, attr, inc != 0, fname, loc);
	if (sp == 1)
		y = ncl_down(e, y, loc);
	return y ? val_tensor(e, y) : val_err();
}

/* adaptive_avg_pool2d(x, output_size): windows of H/OH x W/OW (sizes must divide) */
static Value *b_adaptive_avg_pool2d(Elab *e, int id, Value **a, Loc loc)
{
	Node *x = want_float(e, a[0], "adaptive_avg_pool2d", "x", loc);
	int64_t o[2];
	if (!x || !int_pair(e, a[1], 1, 2, 1, o, "adaptive_avg_pool2d", "output_size", loc))
		return val_err();
	if (x->type.rank != 4 || !DIM_IS_CONST(x->type.dim[2]) || !DIM_IS_CONST(x->type.dim[3]) || x->type.dim[2] % o[0] ||
	    x->type.dim[3] % o[1]) {
		char s1[256];
		ir_type_format(e->prog, x->type, s1, sizeof s1);
		diag_error(loc, "adaptive_avg_pool2d to %lld x %lld needs x [N, C, H, W] with H and W multiples of it, found %s",
		           (long long)o[0], (long long)o[1], s1);
		return val_err();
	}
	int64_t kh = x->type.dim[2] / o[0], kw = x->type.dim[3] / o[1], attr[6] = {kh, kw, kh, kw, 0, 0};
	Node *y = avg_pool(e, x, attr, true, "adaptive_avg_pool2d", loc);
	return y ? val_tensor(e, y) : val_err();
}

/* global_avg_pool(x [N, C, ...]) -> [N, C]: the mean over every axis after C */
static Value *b_global_avg_pool(Elab *e, int id, Value **a, Loc loc)
{
	Node *x = want_float(e, a[0], "global_avg_pool", "x", loc);
	if (!x)
		return val_err();
	if (x->type.rank < 3) {
		diag_error(loc, "global_avg_pool expects x [N, C, ...] with at least one spatial axis");
		return val_err();
	}
	int64_t m = (((int64_t)1 << x->type.rank) - 1) & ~(int64_t)3;
	return val_tensor(e, ndred(e, OP_MEAN, x, m, 0, loc));
}

/* one axis of bilinear resampling by s (align_corners false, as F.interpolate): output i reads
   src = max((i + 0.5) / s - 0.5, 0) between floor(src) and floor(src) + 1 (clamped to n - 1) */
static Node *lerp_axis(Elab *e, Node *x, int ax, int64_t s, Loc loc)
{
	int64_t n = x->type.dim[ax], axis = ax;
	Type it = {.dtype = TY_I64, .rank = 1, .dim = {n * s}};
	Node *f = elab_cast(e, elab_node(e, OP_ARANGE, NULL, 0, NULL, 0, &it, loc), x->type.dtype, loc);
	Node *src = nd2(e, OP_DIV, nd2(e, OP_ADD, f, ndc(e, f, 0.5, loc), loc), ndc(e, f, (double)s, loc), loc);
	src = nd2(e, OP_MAXIMUM, nd2(e, OP_SUB, src, ndc(e, f, 0.5, loc), loc), ndc(e, f, 0, loc), loc);
	Node *lo = nd1(e, OP_FLOOR, src, loc);
	Node *i0 = elab_cast(e, lo, TY_I64, loc);
	Node *i1 = nd2(e, OP_MINIMUM, nd2(e, OP_ADD, i0, ndc(e, i0, 1, loc), loc), ndc(e, i0, (double)(n - 1), loc), loc);
	Node *g0 = elab_node(e, OP_GATHER, (Node *[]){x, i0}, 2, &axis, 1, NULL, loc);
	Node *g1 = elab_node(e, OP_GATHER, (Node *[]){x, i1}, 2, &axis, 1, NULL, loc);
	Type wt = ir_type(x->type.dtype, 4, (Dim[]){1, 1, 1, 1});
	wt.dim[ax] = n * s;
	Node *w = ndview(e, nd2(e, OP_SUB, src, lo, loc), wt, loc);
	return nd2(e, OP_ADD, g0, nd2(e, OP_MUL, nd2(e, OP_SUB, g1, g0, loc), w, loc), loc);
}

/* upsample(x [N, C, H, W], scale_factor, mode: "nearest"): each pixel repeated s x s times
   ("nearest"), or bilinear interpolation (align_corners false; H and W known at compile time) */
static Value *b_upsample(Elab *e, int id, Value **a, Loc loc)
{
	Node *x = want_float(e, a[0], "upsample", "x", loc);
	int64_t s[2];
	const char *mode = want_str(e, a[2], "nearest", "upsample", "mode", loc);
	if (!x || !mode || !int_pair(e, a[1], 1, 2, 1, s, "upsample", "scale_factor", loc))
		return val_err();
	if (strcmp(mode, "nearest") && strcmp(mode, "bilinear")) {
		diag_error(loc, "upsample: expected mode \"nearest\" or \"bilinear\", found \"%s\"", mode);
		return val_err();
	}
	if (x->type.rank != 4) {
		diag_error(loc, "upsample expects x [N, C, H, W]");
		return val_err();
	}
	if (!strcmp(mode, "bilinear")) {
		if (!DIM_IS_CONST(x->type.dim[2]) || !DIM_IS_CONST(x->type.dim[3])) {
			char s1[256];
			ir_type_format(e->prog, x->type, s1, sizeof s1);
			diag_error(loc, "bilinear upsample needs H and W known at compile time, found x %s", s1);
			return val_err();
		}
		Node *y = lerp_axis(e, lerp_axis(e, x, 2, s[0], loc), 3, s[1], loc);
		return y ? val_tensor(e, y) : val_err();
	}
	const Dim *d = x->type.dim;
	DType dt = x->type.dtype;
	Node *v = ndview(e, x, ir_type(dt, 6, (Dim[]){d[0], d[1], d[2], 1, d[3], 1}), loc);
	Type bt = ir_type(dt, 6, (Dim[]){d[0], d[1], d[2], s[0], d[3], s[1]});
	Node *b = v ? elab_node(e, OP_BROADCAST, &v, 1, NULL, 0, &bt, loc) : NULL;
	Prog *p = e->prog;
	Type yt = ir_type(dt, 4, (Dim[]){d[0], d[1], ir_dim_binop(p, DE_MUL, d[2], s[0]), ir_dim_binop(p, DE_MUL, d[3], s[1])});
	Node *y = ndview(e, b, yt, loc);
	return y ? val_tensor(e, y) : val_err();
}

/* The hyper-parameters random ops read: the step (NND_H_STEP; in a loop compiled as a loop, mixed
   with the iteration, elab_random_step) and the run's seed (NND_H_SEED) */
static bool rand_inputs(Elab *e, Node **in, Loc loc)
{
	Type f32 = ir_scalar_type(TY_F32);
	in[0] = elab_random_step(e, elab_node(e, OP_HYPER, NULL, 0, (int64_t[]){NND_H_STEP}, 1, &f32, loc), loc);
	in[1] = elab_node(e, OP_HYPER, NULL, 0, (int64_t[]){NND_H_SEED}, 1, &f32, loc);
	return in[0] && in[1];
}

/* dropout(x, p: 0.5): x when `training` is false or p is 0; else x * keep / (1 - p) with a mask from
   (salt, step, seed, element index): the salt is this node's id and source position, the step
   and seed the hyper-parameters NND_H_STEP and NND_H_SEED, so the mask is the same in the
   backward pass and after --resume, and another seed draws other masks */
static Value *b_dropout(Elab *e, int id, Value **a, Loc loc)
{
	Node *x = want_float(e, a[0], "dropout", "x", loc);
	double p;
	if (!x || !num_arg(e, a[1], 0.5, &p, "dropout", "p", loc))
		return val_err();
	if (!(p >= 0 && p < 1)) {
		diag_error(loc, "dropout probability has to be in [0, 1), found %g", p);
		return val_err();
	}
	int64_t t = (int64_t)llround(p * 16777216.0);
	if (!e->training || t == 0)
		return val_tensor(e, x);
	Node *in[3] = {x};
	if (!rand_inputs(e, in + 1, loc))
		return val_err();
	uint64_t salt = (uint64_t)e->g->next_id * 1000003u + (uint64_t)loc.line * 4099u + (uint64_t)loc.col;
	int64_t attr[2] = {(int64_t)(salt & 0x7fffffffffffll), t};
	Node *y = elab_node(e, OP_DROPOUT, in, 3, attr, 2, NULL, loc);
	return y ? val_tensor(e, y) : val_err();
}

/* rand(shape) uniform in [0, 1), randn(shape) standard normal: f32, from (salt, step, seed,
   element index) as dropout's mask, so a step draws the same values in the forward and backward
   passes (inference: step 0 and the recipe's seed or --seed) */
static Value *b_rand(Elab *e, int id, Value **a, Loc loc)
{
	const char *fname = builtins[id].name;
	Type t;
	if (!shape_arg(e, a[0], TY_F32, &t, fname, loc))
		return val_err();
	Node *in[2];
	if (!rand_inputs(e, in, loc))
		return val_err();
	uint64_t salt = (uint64_t)e->g->next_id * 1000003u + (uint64_t)loc.line * 4099u + (uint64_t)loc.col;
	int64_t attr[2] = {(int64_t)(salt & 0x7fffffffffffll), builtins[id].op};
	Node *y = elab_node(e, OP_RAND, in, 2, attr, 2, &t, loc);
	return y ? val_tensor(e, y) : val_err();
}

/* ---- attention, einsum, repeat/tile, group/instance norm: composites of the ops above ---- */

static Node *ndperm(Elab *e, Node *x, const int64_t *perm, Loc loc)
{
	bool id = true;
	for (int i = 0; x && i < x->type.rank; i++)
		id = id && perm[i] == i;
	return !x || id ? x : elab_node(e, OP_TRANSPOSE, &x, 1, perm, x->type.rank, NULL, loc);
}

/* attention(q, k, v, mask:, causal: false, scale: 1/sqrt(D)) as F.scaled_dot_product_attention:
   softmax(q k^T * scale + mask) v on q [.., L, D], k [.., S, D], v [.., S, Dv]. A bool mask keeps
   the places that are true (the others get -inf), a float mask is added; causal keeps j <= i. */
static Value *b_attention(Elab *e, int id, Value **a, Loc loc)
{
	const char *fname = "attention";
	Node *q = want_float(e, a[0], fname, "q", loc), *k = want_float(e, a[1], fname, "k", loc), *v = want_float(e, a[2], fname, "v", loc);
	int64_t causal;
	if (!q || !k || !v || !want_int(e, a[4], 0, &causal, fname, "causal", loc))
		return val_err();
	if (q->type.rank < 2 || k->type.rank < 2 || v->type.rank < 2) {
		diag_error(loc, "attention needs q, k and v of rank 2 or more ([.., L, D]), found %s, %s and %s",
		           val_describe(e, a[0]), val_describe(e, a[1]), val_describe(e, a[2]));
		return val_err();
	}
	Dim D = q->type.dim[q->type.rank - 1], L = q->type.dim[q->type.rank - 2], S = k->type.dim[k->type.rank - 2];
	double scale;
	if (!a[5] && !DIM_IS_CONST(D)) {
		diag_error(loc, "attention: the size of q's last axis is not known at compile time; give 'scale'");
		return val_err();
	}
	if (!num_arg(e, a[5], a[5] ? 0 : 1 / sqrt((double)D), &scale, fname, "scale", loc))
		return val_err();
	k = elab_cast(e, k, q->type.dtype, loc);
	v = elab_cast(e, v, q->type.dtype, loc);
	Node *in[2] = {q, k};
	Node *s = elab_node(e, OP_MATMUL, in, 2, (int64_t[]){0, 1}, 2, NULL, loc);
	s = nd2(e, OP_MUL, s, ndc(e, q, scale, loc), loc);
	if (!s)
		return val_err();
	Node *ninf = ndc(e, s, -INFINITY, loc);
	if (causal) {
		Type t = {.dtype = TY_F32, .rank = 2, .dim = {L, S}};
		Node *keep = nd2(e, OP_GT, elab_node(e, OP_TRIL, (Node *[]){filled(e, t, 1, loc)}, 1, (int64_t[]){0, 0}, 2, NULL, loc),
		                 filled(e, (Type){.dtype = TY_F32}, 0.5, loc), loc);
		s = elab_node(e, OP_WHERE, (Node *[]){keep, s, ninf}, 3, NULL, 0, NULL, loc);
	}
	if (a[3] && a[3]->k != V_BOOL) {
		Node *m = want_tensor(e, a[3], fname, "mask", loc);
		if (!m)
			return val_err();
		if (m->type.dtype == TY_BOOL)
			s = elab_node(e, OP_WHERE, (Node *[]){m, s, ninf}, 3, NULL, 0, NULL, loc);
		else
			s = nd2(e, OP_ADD, s, elab_cast(e, m, s->type.dtype, loc), loc);
	}
	if (!s)
		return val_err();
	Node *p = elab_node(e, OP_SOFTMAX, &s, 1, (int64_t[]){s->type.rank - 1}, 1, NULL, loc);
	return val_tensor(e, elab_node(e, OP_MATMUL, (Node *[]){p, v}, 2, (int64_t[]){0, 0}, 2, NULL, loc));
}

/* einsum's letters of one operand; false (reported) when the text is not a-z letters */
static bool ein_letters(const char *s, int n, char *out, int max, Loc loc)
{
	if (n > max) {
		diag_error(loc, "einsum: an operand has %d letters, at most %d allowed", n, max);
		return false;
	}
	for (int i = 0; i < n; i++)
		if (!(s[i] >= 'a' && s[i] <= 'z')) {
			diag_error(loc, "einsum: expected lower-case letters, found '%c' in the equation (no '...')", s[i]);
			return false;
		}
	memcpy(out, s, n);
	out[n] = 0;
	return true;
}

/* rank-2 x with the letters "ii": the diagonal (x * I summed along axis 1), letters becomes "i" */
static Node *ein_diag(Elab *e, Node *x, char *let, Loc loc)
{
	if (x->type.rank != 2 || let[0] != let[1]) {
		diag_error(loc, "einsum: a letter repeated in one operand is only supported as \"ii\" (trace or diagonal)");
		return NULL;
	}
	if (x->type.dim[0] != x->type.dim[1]) {
		diag_error(loc, "einsum: \"%s\" needs a square matrix, found %s", let, "a rectangular one");
		return NULL;
	}
	Type t = x->type;
	Node *eye = elab_node(e, OP_TRIL, (Node *[]){filled(e, t, 1, loc)}, 1, (int64_t[]){0, 0}, 2, NULL, loc);
	eye = elab_node(e, OP_TRIL, &eye, 1, (int64_t[]){0, 1}, 2, NULL, loc);
	let[1] = 0;
	return ndred(e, OP_SUM, nd2(e, OP_MUL, x, eye, loc), 2, 0, loc);
}

/* sum x over the letters not in keep1 or keep2 (rank, letters updated) */
static Node *ein_sum_unused(Elab *e, Node *x, char *let, const char *keep1, const char *keep2, Loc loc)
{
	int64_t mask = 0;
	int n = 0;
	char kept[MAX_RANK + 1];
	for (int i = 0; let[i]; i++)
		if (!strchr(keep1, let[i]) && !(keep2 && strchr(keep2, let[i])))
			mask |= (int64_t)1 << i;
		else
			kept[n++] = let[i];
	kept[n] = 0;
	strcpy(let, kept);
	return mask ? ndred(e, OP_SUM, x, mask, 0, loc) : x;
}

/* einsum("bqd,bkd->bqk", a, b): one or two operands, lower-case letters, no "...". Letters left out of
   the output are summed; two operands meet in one batched matmul ([batch, free a, shared] @
   [batch, shared, free b]); without "->" the output is the letters seen once, in alphabetical order. */
static Value *b_einsum(Elab *e, int id, Value **a, Loc loc)
{
	const char *eq = want_str(e, a[0], NULL, "einsum", "equation", loc);
	if (!eq)
		return val_err();
	char let[2][MAX_RANK + 1], out[MAX_RANK + 1], buf[64];
	int j = 0;
	for (const char *c = eq; *c && j < 63; c++)
		if (*c != ' ')
			buf[j++] = *c;
	buf[j] = 0;
	const char *arrow = strstr(buf, "->"), *comma = strchr(buf, ',');
	int nop = comma ? 2 : 1;
	const char *end0 = comma ? comma : arrow ? arrow : buf + strlen(buf);
	if (!ein_letters(buf, (int)(end0 - buf), let[0], MAX_RANK, loc))
		return val_err();
	if (comma) {
		const char *end1 = arrow ? arrow : buf + strlen(buf);
		if (end1 < comma || !ein_letters(comma + 1, (int)(end1 - comma - 1), let[1], MAX_RANK, loc))
			return val_err();
	}
	if ((nop == 2) != (a[2] != NULL)) {
		diag_error(loc, "einsum: the equation \"%s\" has %d operand%s, given %d", eq, nop, nop == 1 ? "" : "s", a[2] ? 2 : 1);
		return val_err();
	}
	if (arrow) {
		if (!ein_letters(arrow + 2, (int)strlen(arrow + 2), out, MAX_RANK, loc))
			return val_err();
	} else {
		int n = 0;
		for (char c = 'a'; c <= 'z'; c++) {
			int cnt = 0;
			for (int o = 0; o < nop; o++)
				for (int i = 0; let[o][i]; i++)
					cnt += let[o][i] == c;
			if (cnt == 1) {
				if (n == MAX_RANK) {
					diag_error(loc, "einsum: \"%s\" gives more than %d output axes", eq, MAX_RANK);
					return val_err();
				}
				out[n++] = c;
			}
		}
		out[n] = 0;
	}
	Node *x[2];
	Dim size[26];
	bool seen[26] = {0};
	for (int o = 0; o < nop; o++) {
		if (!(x[o] = want_float(e, a[1 + o], "einsum", o ? "b" : "a", loc)))
			return val_err();
		if ((int)strlen(let[o]) != x[o]->type.rank) {
			diag_error(loc, "einsum: operand %d has rank %d but \"%s\" names %d axes", o + 1, x[o]->type.rank, let[o], (int)strlen(let[o]));
			return val_err();
		}
		for (int i = 0; let[o][i]; i++) {
			int c = let[o][i] - 'a';
			if (seen[c] && size[c] != x[o]->type.dim[i]) {
				char d1[64], d2[64];
				ir_dim_format(e->prog, size[c], d1, sizeof d1);
				ir_dim_format(e->prog, x[o]->type.dim[i], d2, sizeof d2);
				diag_error(loc, "einsum: letter '%c' stands for axes of different sizes (%s, then %s)", let[o][i], d1, d2);
				return val_err();
			}
			seen[c] = true;
			size[c] = x[o]->type.dim[i];
		}
		bool dup = false;
		for (int i = 0; let[o][i]; i++)
			dup = dup || strchr(let[o] + i + 1, let[o][i]);
		if (dup)
			x[o] = ein_diag(e, x[o], let[o], loc);
		if (!x[o])
			return val_err();
	}
	for (int i = 0; out[i]; i++)
		if (!seen[out[i] - 'a'] || strchr(out + i + 1, out[i])) {
			diag_error(loc, "einsum: output letter '%c' %s", out[i], seen[out[i] - 'a'] ? "appears twice" : "is in no operand");
			return val_err();
		}
	if (nop == 2 && x[1]->type.dtype != x[0]->type.dtype)
		x[1] = elab_cast(e, x[1], x[0]->type.dtype, loc);
	x[0] = ein_sum_unused(e, x[0], let[0], out, nop == 2 ? let[1] : NULL, loc);
	if (nop == 2)
		x[1] = ein_sum_unused(e, x[1], let[1], out, let[0], loc);
	char cur[3 * MAX_RANK + 1]; /* the letters of the result before the final transpose */
	Node *r = x[0];
	if (nop == 2) {
		/* batch: in a, b and out; shared: in a and b only; fa / fb: in one of them and out */
		char grp[4][MAX_RANK + 1];
		int ng[4] = {0};
		for (int i = 0; let[0][i]; i++) {
			char c = let[0][i];
			int g = strchr(let[1], c) ? (strchr(out, c) ? 0 : 1) : 2;
			grp[g][ng[g]++] = c;
		}
		for (int i = 0; let[1][i]; i++)
			if (!strchr(let[0], let[1][i]))
				grp[3][ng[3]++] = let[1][i];
		Dim prod[4];
		for (int g = 0; g < 4; g++) {
			grp[g][ng[g]] = 0;
			prod[g] = 1;
			for (int i = 0; i < ng[g]; i++)
				prod[g] = ir_dim_binop(e->prog, DE_MUL, prod[g], size[grp[g][i] - 'a']);
		}
		static const int order[2][3] = {{0, 2, 1}, {0, 1, 3}};
		Node *m[2];
		for (int o = 0; o < 2; o++) {
			int64_t perm[MAX_RANK];
			int n = 0;
			for (int gi = 0; gi < 3; gi++)
				for (int i = 0; i < ng[order[o][gi]]; i++)
					perm[n++] = strchr(let[o], grp[order[o][gi]][i]) - let[o];
			Type t = {.dtype = x[0]->type.dtype, .rank = 3, .dim = {prod[0], prod[order[o][1]], prod[order[o][2]]}};
			m[o] = ndview(e, ndperm(e, x[o], perm, loc), t, loc);
		}
		r = elab_node(e, OP_MATMUL, m, 2, (int64_t[]){0, 0}, 2, NULL, loc);
		snprintf(cur, sizeof cur, "%s%s%s", grp[0], grp[2], grp[3]);
		Type t = {.dtype = x[0]->type.dtype, .rank = (int)strlen(cur)};
		if (t.rank > MAX_RANK) {
			diag_error(loc, "einsum: the result has more than %d axes", MAX_RANK);
			return val_err();
		}
		for (int i = 0; cur[i]; i++)
			t.dim[i] = size[cur[i] - 'a'];
		r = ndview(e, r, t, loc);
	} else
		strcpy(cur, let[0]);
	int64_t perm[MAX_RANK];
	for (int i = 0; out[i]; i++)
		perm[i] = strchr(cur, out[i]) - cur;
	return val_tensor(e, ndperm(e, r, perm, loc));
}

/* repeat(x, repeats) as torch.Tensor.repeat (len(repeats) >= rank, new leading axes) and tile(x,
   reps) as torch.tile (reps padded with leading 1s): x viewed as [1, d, ..], broadcast to
   [r, d, ..] and viewed as [r d, ..] for each axis repeated */
static Value *b_repeat(Elab *e, int id, Value **a, Loc loc)
{
	const char *fname = builtins[id].name;
	Node *x = want_tensor(e, a[0], fname, "x", loc);
	int64_t r[MAX_RANK], rr[MAX_RANK];
	int n;
	if (!x || (n = int_list(e, a[1], r, MAX_RANK, fname, "repeats", loc)) < 0)
		return val_err();
	int rank = x->type.rank;
	if (n < rank) {
		if (!builtins[id].op) {
			diag_error(loc, "repeat: %d repeats given for a tensor of rank %d (at least %d needed)", n, rank, rank);
			return val_err();
		}
		for (int i = 0; i < rank; i++)
			rr[i] = i < rank - n ? 1 : r[i - (rank - n)];
		memcpy(r, rr, sizeof r);
		n = rank;
	}
	Type v = {.dtype = x->type.dtype}, b = v, o = v;
	for (int i = 0; i < n; i++) {
		if (r[i] < 0) {
			diag_error(loc, "%s: repeats must be >= 0, found %lld", fname, (long long)r[i]);
			return val_err();
		}
		Dim d = i < n - rank ? 1 : x->type.dim[i - (n - rank)];
		if (r[i] != 1 && d != 1) {
			v.dim[v.rank++] = 1;
			b.dim[b.rank++] = r[i];
		}
		v.dim[v.rank++] = d;
		b.dim[b.rank++] = d == 1 ? r[i] : d;
		o.dim[o.rank++] = ir_dim_binop(e->prog, DE_MUL, d, r[i]);
		if (v.rank > MAX_RANK) {
			diag_error(loc, "%s: too many repeated axes (at most %d intermediate axes)", fname, MAX_RANK);
			return val_err();
		}
	}
	Node *y = ndview(e, x, v, loc);
	if (!ir_type_equal(v, b))
		y = elab_node(e, OP_BROADCAST, &y, 1, NULL, 0, &b, loc);
	return val_tensor(e, ndview(e, y, o, loc));
}

/* group_norm(x, groups, weight, bias, eps: 1e-5) as F.group_norm on x [N, C, ..]: statistics over
   each group of C / groups channels and the spatial axes; instance_norm(x, weight, bias, eps) is
   group_norm with one channel a group (F.instance_norm without running statistics) */
static Value *b_group_norm(Elab *e, int id, Value **a, Loc loc)
{
	const char *fname = builtins[id].name;
	bool inst = builtins[id].op;
	Node *x = want_float(e, a[0], fname, "x", loc);
	int64_t G = 0;
	double eps;
	Value *wv = a[inst ? 1 : 2], *bv = a[inst ? 2 : 3];
	if (!x || (!inst && !want_int(e, a[1], 0, &G, fname, "groups", loc)) || !num_arg(e, a[inst ? 3 : 4], 1e-5, &eps, fname, "eps", loc))
		return val_err();
	Type t = x->type;
	if (t.rank < 2 || !DIM_IS_CONST(t.dim[1]) || (inst && t.rank < 3)) {
		diag_error(loc, "%s needs x [N, C%s] with C known at compile time, found %s", fname, inst ? ", L, .." : ", ..", val_describe(e, a[0]));
		return val_err();
	}
	if (inst)
		G = t.dim[1];
	if (G <= 0 || t.dim[1] % G) {
		diag_error(loc, "group_norm: %lld channels cannot be divided into %lld groups", (long long)t.dim[1], (long long)G);
		return val_err();
	}
	Type g = {.dtype = t.dtype, .rank = 3, .dim = {t.dim[0], G, t.dim[1] / G}};
	for (int d = 2; d < t.rank; d++)
		g.dim[2] = ir_dim_binop(e->prog, DE_MUL, g.dim[2], t.dim[d]);
	Node *xg = ndview(e, x, g, loc);
	Node *c = nd2(e, OP_SUB, xg, ndred(e, OP_MEAN, xg, 4, 1, loc), loc);
	Node *var = ndred(e, OP_MEAN, nd1(e, OP_SQUARE, c, loc), 4, 1, loc);
	Node *y = ndview(e, nd2(e, OP_MUL, c, nd1(e, OP_RSQRT, nd2(e, OP_ADD, var, ndc(e, var, eps, loc), loc), loc), loc), t, loc);
	if (wv && wv->k != V_BOOL)
		y = nd2(e, OP_MUL, y, channel_view(e, want_float(e, wv, fname, "weight", loc), t.rank, loc), loc);
	if (bv && bv->k != V_BOOL)
		y = nd2(e, OP_ADD, y, channel_view(e, want_float(e, bv, fname, "bias", loc), t.rank, loc), loc);
	return y ? val_tensor(e, y) : val_err();
}

#define UNARY(name, op) {name, {"x"}, b_unary, op}
#define UNX(name, op) {name, {"x"}, b_unary_ext, op}
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
	{"argmax", {"x", "axis?", "keepdim?"}, b_argmax, OP_ARGMAX},
	{"matmul", {"a", "b"}, b_matmul, 0},
	{"pow", {"x", "exponent"}, b_pow, 0},
	{"linear", {"x", "weight", "bias?"}, b_linear, 0},
	{"cross_entropy", {"logits", "labels", "label_smoothing?", "ignore_index?", "reduction?"}, b_cross_entropy_ext, 0},
	{"zeros", {"shape?"}, b_fill, INIT_ZEROS},
	{"ones", {"shape?"}, b_fill, INIT_ONES},
	{"full", {"shape", "value"}, b_fill, 2},
	UNX("neg", OP_NEG), UNX("abs", OP_ABS), UNX("log1p", OP_LOG1P), UNX("rsqrt", OP_RSQRT), UNX("square", OP_SQUARE),
	UNX("sin", OP_SIN), UNX("cos", OP_COS), UNX("erf", OP_ERF), UNX("relu6", OP_RELU6), UNX("gelu", OP_GELU),
	UNX("silu", OP_SILU), UNX("softplus", OP_SOFTPLUS), UNX("mish", OP_MISH), UNX("hardswish", OP_HARDSWISH),
	UNX("hardsigmoid", OP_HARDSIGMOID), UNX("sign", OP_SIGN), UNX("floor", OP_FLOOR), UNX("ceil", OP_CEIL),
	UNX("round", OP_ROUND), UNX("stop_gradient", OP_STOP_GRADIENT),
	{"leaky_relu", {"x", "slope?"}, b_scalar_op, OP_LEAKY_RELU},
	{"elu", {"x", "alpha?"}, b_scalar_op, OP_ELU},
	{"grad_scale", {"x", "s"}, b_scalar_op, OP_GRAD_SCALE},
	{"grad_reverse", {"x", "scale?"}, b_scalar_op, OP_GRAD_SCALE},
	{"clamp", {"x", "lo?", "hi?"}, b_clamp, 0},
	{"min", {"x", "axis?", "axes?", "keepdim?"}, b_reduce, OP_MIN},
	{"prod", {"x", "axis?", "axes?", "keepdim?"}, b_reduce, OP_PROD},
	{"argmin", {"x", "axis?", "keepdim?"}, b_argmax, OP_ARGMIN},
	{"variance", {"x", "axis?", "axes?", "keepdim?", "correction?"}, b_variance, OP_MEAN},
	{"std", {"x", "axis?", "axes?", "keepdim?", "correction?"}, b_variance, OP_SQRT},
	{"logsumexp", {"x", "axis?", "keepdim?"}, b_axis_op, OP_LOGSUMEXP},
	{"softmax", {"x", "axis?"}, b_axis_op, OP_SOFTMAX},
	{"log_softmax", {"x", "axis?"}, b_axis_op, OP_LOG_SOFTMAX},
	{"cumsum", {"x", "axis?"}, b_axis_op, OP_CUMSUM},
	{"squeeze", {"x", "axis?"}, b_squeeze, 0},
	{"unsqueeze", {"x", "axis"}, b_squeeze, 1},
	{"broadcast_to", {"x", "shape"}, b_broadcast_to, 0},
	{"concat", {"xs", "axis?"}, b_concat, 0},
	{"stack", {"xs", "axis?"}, b_concat, 1},
	{"split", {"x", "sizes", "axis?"}, b_split, 0},
	{"chunk", {"x", "chunks", "axis?"}, b_split, 1},
	{"pad", {"x", "widths", "value?"}, b_pad, 0},
	{"tril", {"x", "diagonal?"}, b_tril, 0},
	{"triu", {"x", "diagonal?"}, b_tril, 1},
	{"arange", {"n"}, b_arange, 0},
	{"one_hot", {"labels", "num_classes"}, b_one_hot, 0},
	{"embedding", {"table", "ids"}, b_gather, OP_GATHER},
	{"gather", {"x", "indices", "axis"}, b_gather, OP_GATHER},
	{"take_along", {"x", "indices", "axis"}, b_gather, OP_TAKE_ALONG},
	{"scatter_add", {"x", "indices", "src", "axis"}, b_scatter_add, 0},
	{"nll_loss", {"log_probs", "labels", "reduction?", "ignore_index?"}, b_nll_loss, 0},
	{"mse", {"input", "target", "reduction?"}, b_pair_loss, 1},
	{"l1", {"input", "target", "reduction?"}, b_pair_loss, 2},
	{"smooth_l1", {"input", "target", "beta?", "reduction?"}, b_pair_loss, 3},
	{"huber", {"input", "target", "delta?", "reduction?"}, b_pair_loss, 4},
	{"bce_with_logits", {"input", "target", "reduction?"}, b_pair_loss, 5},
	{"kl_div", {"log_p", "q", "reduction?"}, b_kl_div, 0},
	{"cosine_similarity", {"a", "b", "axis?", "eps?"}, b_cosine, 0},
	{"giou", {"boxes1", "boxes2", "reduction?", "eps?"}, b_giou, 0},
	{"layer_norm", {"x", "weight?", "bias?", "eps?"}, b_norm, 0},
	{"rms_norm", {"x", "weight?", "eps?"}, b_norm, 1},
	{"batch_norm", {"x", "running_mean", "running_var", "weight?", "bias?", "training?", "momentum?", "eps?"}, b_batch_norm, 0},
	{"constant", {"value"}, b_init, INIT_CONSTANT},
	{"normal", {"std?", "mean?"}, b_init, INIT_NORMAL},
	{"uniform", {"lo?", "hi?"}, b_init, INIT_UNIFORM},
	{"kaiming_uniform", {"a?"}, b_init, INIT_KAIMING_UNIFORM},
	{"kaiming_normal", {"a?"}, b_init, INIT_KAIMING_NORMAL},
	{"xavier_uniform", {"gain?"}, b_init, INIT_XAVIER_UNIFORM},
	{"xavier_normal", {"gain?"}, b_init, INIT_XAVIER_NORMAL},
	{"orthogonal", {"gain?"}, b_init, INIT_ORTHOGONAL},
	{"idx", {"images", "labels"}, b_idx, 0},
	{"conv2d", {"x", "weight", "bias?", "stride?", "padding?", "dilation?", "groups?"}, b_conv, 2},
	{"conv1d", {"x", "weight", "bias?", "stride?", "padding?", "dilation?", "groups?"}, b_conv, 1},
	{"conv3d", {"x", "weight", "bias?", "stride?", "padding?", "dilation?", "groups?"}, b_conv, 3},
	{"conv_transpose1d", {"x", "weight", "bias?", "stride?", "padding?", "output_padding?", "groups?", "dilation?"}, b_conv_transpose, 1},
	{"conv_transpose2d", {"x", "weight", "bias?", "stride?", "padding?", "output_padding?", "groups?", "dilation?"}, b_conv_transpose, 2},
	{"conv_transpose3d", {"x", "weight", "bias?", "stride?", "padding?", "output_padding?", "groups?", "dilation?"}, b_conv_transpose, 3},
	{"max_pool2d", {"x", "kernel_size", "stride?", "padding?"}, b_max_pool, 2},
	{"max_pool1d", {"x", "kernel_size", "stride?", "padding?"}, b_max_pool, 1},
	{"avg_pool2d", {"x", "kernel_size", "stride?", "padding?", "count_include_pad?"}, b_avg_pool, 2},
	{"avg_pool1d", {"x", "kernel_size", "stride?", "padding?", "count_include_pad?"}, b_avg_pool, 1},
	{"max_pool2d_with_indices", {"x", "kernel_size", "stride?", "padding?"}, b_max_pool2d_with_indices, 0},
	{"max_unpool2d", {"x", "indices", "kernel_size", "stride?", "padding?", "output_size?"}, b_max_unpool2d, 0},
	{"adaptive_avg_pool2d", {"x", "output_size"}, b_adaptive_avg_pool2d, 0},
	{"global_avg_pool", {"x"}, b_global_avg_pool, 0},
	{"upsample", {"x", "scale_factor", "mode?"}, b_upsample, 0},
	{"dropout", {"x", "p?"}, b_dropout, 0},
	{"rand", {"shape"}, b_rand, 0},
	{"randn", {"shape"}, b_rand, 1},
	{"attention", {"q", "k", "v", "mask?", "causal?", "scale?"}, b_attention, 0},
	{"einsum", {"equation", "a", "b?"}, b_einsum, 0},
	{"repeat", {"x", "repeats"}, b_repeat, 0},
	{"tile", {"x", "reps"}, b_repeat, 1},
	{"group_norm", {"x", "groups", "weight?", "bias?", "eps?"}, b_group_norm, 0},
	{"instance_norm", {"x", "weight?", "bias?", "eps?"}, b_group_norm, 1},
	{"top_k", {"x", "k", "axis?", "largest?", "sorted?"}, b_top_k, 0},
	{"ctc_loss", {"log_probs", "targets", "input_lengths", "target_lengths", "blank?", "reduction?", "zero_infinity?"}, b_ctc_loss, 0},
	{"ctc_greedy_decode", {"log_probs", "input_lengths", "blank?"}, b_ctc_greedy, 0},
	{NULL, {NULL}, NULL, 0},
};

const char *const builtin_names[] = {
	"exp", "log", "sqrt", "tanh", "sigmoid", "relu", "maximum", "minimum", "where", "f32", "f64", "i8", "u8",
	"i16", "i32", "i64", "bool", "int", "float", "reshape", "flatten", "transpose", "sum", "mean", "max", "argmax",
	"matmul", "linear", "cross_entropy", "zeros", "ones", "constant", "normal", "uniform", "kaiming_uniform",
	"kaiming_normal", "xavier_uniform", "xavier_normal", "orthogonal", "idx", "full", "neg", "abs", "log1p", "rsqrt",
	"square", "sin", "cos", "erf", "relu6", "gelu", "silu", "softplus", "mish", "hardswish", "hardsigmoid", "sign",
	"floor", "ceil", "round", "stop_gradient", "leaky_relu", "elu", "grad_scale", "grad_reverse", "clamp", "min",
	"prod", "argmin", "variance", "std", "logsumexp", "softmax", "log_softmax", "cumsum", "squeeze", "unsqueeze",
	"broadcast_to", "concat", "stack", "split", "chunk", "pad", "tril", "triu", "arange", "one_hot", "embedding",
	"gather", "take_along", "scatter_add", "nll_loss", "mse", "l1", "smooth_l1", "huber", "bce_with_logits", "kl_div",
	"cosine_similarity", "giou", "layer_norm", "rms_norm", "batch_norm", "pow", "conv2d", "conv1d", "conv3d", "conv_transpose1d",
	"conv_transpose2d", "conv_transpose3d", "max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d", "max_pool2d_with_indices",
	"max_unpool2d",
	"adaptive_avg_pool2d", "global_avg_pool", "upsample", "dropout", "rand", "randn", "attention",
	"einsum", "repeat", "tile", "group_norm", "instance_norm", "top_k", "ctc_loss", "ctc_greedy_decode", NULL,
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
	Value *a[9];
	if (!match_args(e, b->name, b->spec, a, args, nargs, named, namedv, nnamed, loc))
		return val_err();
	for (int i = 0; b->spec[i]; i++) {
		if (a[i] && a[i]->k == V_ERR)
			return val_err();
		if (a[i] && a[i]->k == V_PARAMREF && e->g)
			a[i] = val_tensor(e, elab_param_node(e, (int)a[i]->i, loc));
	}
	bool compile_time = b->fn == b_init || b->fn == b_idx || b->fn == b_number || (b->fn == b_fill && !a[0]);
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
