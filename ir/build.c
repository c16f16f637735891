/* ir/build.c: programs, graphs, nodes, types and symbolic dimensions. */
#include "ir/ir.h"

#include <stddef.h>
#include <string.h>

const OpInfo op_info[OP_COUNT] = {
#define OP(e, text, nin, flags, shape) [OP_##e] = {text, nin, flags},
#include "ops.def"
#undef OP
};

int op_from_name(const char *s)
{
	for (int i = 0; i < OP_COUNT; i++)
		if (strcmp(op_info[i].name, s) == 0)
			return i;
	return -1;
}

const char *const dtype_name[TY_COUNT] = {"f32", "f64", "f16", "bf16", "i8", "u8", "i16", "i32", "i64", "bool"};
static const int dtype_bytes[TY_COUNT] = {4, 8, 2, 2, 1, 1, 2, 4, 8, 1};

int dtype_size(DType t) { return dtype_bytes[t]; }
bool dtype_is_float(DType t) { return t <= TY_BF16; }
bool dtype_is_int(DType t) { return t >= TY_I8 && t <= TY_I64; }

int dtype_from_name(const char *s)
{
	for (int i = 0; i < TY_COUNT; i++)
		if (strcmp(dtype_name[i], s) == 0)
			return i;
	return -1;
}

const char *const init_name[INIT_COUNT] = {
	"zeros", "ones", "constant", "normal", "uniform", "kaiming_uniform", "kaiming_normal",
	"xavier_uniform", "xavier_normal", "orthogonal",
};

#define RF(f, t, part) {#f, offsetof(Recipe, f), t, part}
const RecipeField recipe_fields[] = {
	RF(batch, 'i', 0), RF(epochs, 'i', 0), RF(steps, 'i', 0), RF(seed, 'i', 0), RF(clip_grad_norm, 'd', 0),
	RF(accumulate, 'i', 0), RF(noise_eta, 'd', 0), RF(noise_gamma, 'd', 0),
	RF(lr, 'd', 1), RF(momentum, 'd', 1), RF(weight_decay, 'd', 1), RF(dampening, 'd', 1), RF(beta1, 'd', 1),
	RF(beta2, 'd', 1), RF(eps, 'd', 1), RF(nesterov, 'b', 1), RF(alpha, 'd', 1), RF(centered, 'b', 1),
	RF(lr_decay, 'd', 1), RF(initial_accumulator_value, 'd', 1),
	RF(warmup, 'i', 2), RF(min_lr, 'd', 2), RF(step_every, 'i', 2), RF(gamma, 'd', 2), RF(max_lr, 'd', 2),
	RF(pct_start, 'd', 2), RF(div_factor, 'd', 2), RF(final_div_factor, 'd', 2),
	{NULL, 0, 0, 0},
};
const char *const opt_name[OPT_COUNT] = {"sgd", "adam", "adamw", "rmsprop", "adagrad", "lion"};
const char *const sched_name[SCHED_COUNT] = {"constant", "cosine", "step", "exponential", "linear", "onecycle"};
const char *const data_name[DATA_COUNT] = {"none", "idx", "npy", "npz", "csv", "text"};

/* ---- programs and graphs ---- */

Prog *ir_prog_new(Arena *a)
{
	Prog *p = arena_alloc(a, sizeof *p);
	p->arena = a;
	return p;
}

Graph *ir_graph_new(Prog *p, const char *name)
{
	Graph *g = arena_alloc(p->arena, sizeof *g);
	g->prog = p;
	g->name = str_intern(name);
	vec_push(&p->graphs, g);
	return g;
}

Graph *ir_region_new(Prog *p, const char *name)
{
	Graph *g = arena_alloc(p->arena, sizeof *g);
	g->prog = p;
	g->name = str_intern(name);
	return g;
}

Graph *ir_prog_graph(Prog *p, const char *name)
{
	for (int i = 0; i < p->graphs.n; i++)
		if (strcmp(p->graphs.v[i]->name, name) == 0)
			return p->graphs.v[i];
	return NULL;
}

int ir_param_add(Prog *p, Param prm)
{
	vec_push(&p->params, prm);
	return p->params.n - 1;
}

int ir_sym_add(Prog *p, const char *name)
{
	name = str_intern(name);
	for (int i = 0; i < p->syms.n; i++)
		if (p->syms.v[i] == name)
			return i;
	vec_push(&p->syms, name);
	return p->syms.n - 1;
}

int64_t ir_prog_param_numel(const Prog *p)
{
	int64_t n = 0;
	for (int i = 0; i < p->params.n; i++) {
		int64_t k = 1;
		for (int d = 0; d < p->params.v[i].type.rank; d++)
			k *= p->params.v[i].type.dim[d];
		n += k;
	}
	return n;
}

/* ---- symbolic dimensions ---- */

static Dim dim_intern(Prog *p, DimExpr e)
{
	for (int i = 0; i < p->dims.n; i++) {
		DimExpr *d = &p->dims.v[i];
		if (d->op == e.op && d->sym == e.sym && d->a == e.a && d->b == e.b)
			return -(Dim)(i + 1);
	}
	vec_push(&p->dims, e);
	return -(Dim)p->dims.n;
}

const DimExpr *ir_dim_expr(const Prog *p, Dim d)
{
	if (DIM_IS_CONST(d))
		return NULL;
	int64_t k = -d - 1;
	if (k >= p->dims.n)
		BUG("dimension %lld out of range", (long long)d);
	return &p->dims.v[k];
}

Dim ir_dim_sym(Prog *p, int sym) { return dim_intern(p, (DimExpr){DE_SYM, sym, 0, 0}); }

/* A key that orders the factors of a product the same way whatever was created first: size
   variables by their index in Prog.syms (B*T, not T*B when T came first), then other expressions */
static int64_t dim_order(const Prog *p, Dim d)
{
	const DimExpr *e = ir_dim_expr(p, d);
	return e->op == DE_SYM ? e->sym : (int64_t)p->syms.n + (-d - 1);
}

/* Folds constants and keeps products and sums in one canonical shape, (symbolic op constant),
   so that B*28*28 and B*784 are the same Dim. */
Dim ir_dim_binop(Prog *p, DimOp op, Dim a, Dim b)
{
	if (DIM_IS_CONST(a) && DIM_IS_CONST(b)) {
		switch (op) {
		case DE_ADD: return a + b;
		case DE_SUB: return a - b >= 0 ? a - b : 0;
		case DE_MUL: return a * b;
		case DE_DIV: return b ? a / b : 0;
		case DE_MOD: return b ? a % b : 0;
		default: BUG("bad dim op");
		}
	}
	if ((op == DE_ADD || op == DE_MUL) && DIM_IS_CONST(a)) { /* constant to the right */
		Dim t = a;
		a = b;
		b = t;
	}
	if (op == DE_MUL && b == 1)
		return a;
	if (op == DE_MUL && b == 0)
		return 0;
	if ((op == DE_ADD || op == DE_SUB) && b == 0)
		return a;
	if (op == DE_DIV && b == 1)
		return a;
	if ((op == DE_MUL || op == DE_ADD) && DIM_IS_CONST(b)) {
		const DimExpr *e = ir_dim_expr(p, a);
		if (e->op == op && DIM_IS_CONST(e->b)) /* (x*c1)*c2 = x*(c1*c2) */
			return ir_dim_binop(p, op, e->a, op == DE_MUL ? e->b * b : e->b + b);
	}
	if (op == DE_MUL && !DIM_IS_CONST(b) && DIM_IS_CONST(a) == 0) {
		/* (x*c)*y = (x*y)*c so constants collect on the right */
		const DimExpr *ea = ir_dim_expr(p, a), *eb = ir_dim_expr(p, b);
		if (ea->op == DE_MUL && DIM_IS_CONST(ea->b))
			return ir_dim_binop(p, DE_MUL, ir_dim_binop(p, DE_MUL, ea->a, b), ea->b);
		if (eb->op == DE_MUL && DIM_IS_CONST(eb->b))
			return ir_dim_binop(p, DE_MUL, ir_dim_binop(p, DE_MUL, a, eb->a), eb->b);
		if (dim_order(p, a) > dim_order(p, b)) { /* order symbolic factors */
			Dim t = a;
			a = b;
			b = t;
		}
	}
	return dim_intern(p, (DimExpr){op, -1, a, b});
}

bool ir_dim_eval(const Prog *p, Dim d, const int64_t *syms, int64_t *out)
{
	if (DIM_IS_CONST(d)) {
		*out = d;
		return true;
	}
	const DimExpr *e = ir_dim_expr(p, d);
	if (e->op == DE_SYM) {
		*out = syms[e->sym];
		return true;
	}
	int64_t a, b;
	if (!ir_dim_eval(p, e->a, syms, &a) || !ir_dim_eval(p, e->b, syms, &b))
		return false;
	switch (e->op) {
	case DE_ADD: *out = a + b; return true;
	case DE_SUB: *out = a - b; return *out >= 0; /* a size below zero: the caller reports it */
	case DE_MUL: *out = a * b; return true;
	case DE_DIV: if (!b) return false; *out = a / b; return true;
	case DE_MOD: if (!b) return false; *out = a % b; return true;
	default: return false;
	}
}

static int dim_format_prec(const Prog *p, Dim d, char *buf, size_t n, int prec)
{
	if (DIM_IS_CONST(d))
		return snprintf(buf, n, "%lld", (long long)d);
	const DimExpr *e = ir_dim_expr(p, d);
	if (e->op == DE_SYM)
		return snprintf(buf, n, "%s", p->syms.v[e->sym]);
	static const char *const opch[] = {"", "+", "-", "*", "/", "%"};
	int myprec = (e->op == DE_ADD || e->op == DE_SUB) ? 1 : 2;
	char l[128], r[128];
	dim_format_prec(p, e->a, l, sizeof l, myprec);
	dim_format_prec(p, e->b, r, sizeof r, myprec + 1);
	if (myprec < prec)
		return snprintf(buf, n, "(%s%s%s)", l, opch[e->op], r);
	return snprintf(buf, n, "%s%s%s", l, opch[e->op], r);
}

int ir_dim_format(const Prog *p, Dim d, char *buf, size_t n) { return dim_format_prec(p, d, buf, n, 0); }

/* ---- types ---- */

Type ir_type(DType t, int rank, const Dim *dims)
{
	Type ty = {.dtype = t, .rank = rank};
	for (int i = 0; i < rank; i++)
		ty.dim[i] = dims[i];
	return ty;
}

Type ir_scalar_type(DType t) { return (Type){.dtype = t, .rank = 0}; }

bool ir_type_equal(Type a, Type b)
{
	if (a.dtype != b.dtype || a.rank != b.rank)
		return false;
	for (int i = 0; i < a.rank; i++)
		if (a.dim[i] != b.dim[i])
			return false;
	return true;
}

int ir_type_format(const Prog *p, Type t, char *buf, size_t n)
{
	size_t k = (size_t)snprintf(buf, n, "%s", dtype_name[t.dtype]);
	if (t.rank == 0)
		return (int)k;
	for (int i = 0; i < t.rank && k < n; i++) {
		char d[128];
		ir_dim_format(p, t.dim[i], d, sizeof d);
		k += (size_t)snprintf(buf + k, n - k, "%s%s", i ? ", " : "[", d);
	}
	if (k < n)
		k += (size_t)snprintf(buf + k, n - k, "]");
	return (int)k;
}

Dim ir_type_numel(Prog *p, Type t)
{
	Dim n = 1;
	for (int i = 0; i < t.rank; i++)
		n = ir_dim_binop(p, DE_MUL, n, t.dim[i]);
	return n;
}

/* ---- nodes ---- */

static Node *node_new(Graph *g, Op op, Node **in, int nin, const int64_t *attr, int nattr, Graph **sub, int nsub,
                      const Type *given, Loc loc, char *errbuf, size_t errlen)
{
	if (op_info[op].nin >= 0 && nin != op_info[op].nin)
		BUG("%s takes %d inputs, given %d", op_info[op].name, op_info[op].nin, nin);
	if (nattr > MAX_ATTR)
		BUG("too many attributes");
	Node *n = arena_alloc(g->prog->arena, sizeof *n);
	n->id = g->next_id++;
	n->op = op;
	n->nin = nin;
	n->in = arena_alloc(g->prog->arena, sizeof(Node *) * (size_t)(nin ? nin : 1));
	for (int i = 0; i < nin; i++)
		n->in[i] = in[i];
	for (int i = 0; i < nattr; i++)
		n->attr[i] = attr[i];
	n->nattr = nattr;
	if (nsub) {
		n->sub = arena_alloc(g->prog->arena, sizeof(Graph *) * (size_t)nsub);
		for (int i = 0; i < nsub; i++)
			n->sub[i] = sub[i];
		n->nsub = nsub;
	}
	n->loc = loc;
	if (given)
		n->type = *given;
	if (!ir_shape_infer(g, n, errbuf, errlen)) {
		g->next_id--;
		return NULL;
	}
	vec_push(&g->nodes, n);
	return n;
}

Node *ir_node_new(Graph *g, Op op, Node **in, int nin, const int64_t *attr, int nattr,
                  const Type *given, Loc loc, char *errbuf, size_t errlen)
{
	return node_new(g, op, in, nin, attr, nattr, NULL, 0, given, loc, errbuf, errlen);
}

Node *ir_region_node(Graph *g, Op op, Node **in, int nin, const int64_t *attr, int nattr, Graph **sub, int nsub,
                     Loc loc, char *errbuf, size_t errlen)
{
	return node_new(g, op, in, nin, attr, nattr, sub, nsub, NULL, loc, errbuf, errlen);
}

Node *ir_op(Graph *g, Op op, Node **in, int nin, const int64_t *attr, int nattr, const Type *given, Loc loc)
{
	char err[512];
	Node *n = ir_node_new(g, op, in, nin, attr, nattr, given, loc, err, sizeof err);
	if (!n)
		BUG("%s: %s", op_info[op].name, err);
	return n;
}

Node *ir_op1(Graph *g, Op op, Node *a, Loc loc) { return ir_op(g, op, &a, 1, NULL, 0, NULL, loc); }

Node *ir_op2(Graph *g, Op op, Node *a, Node *b, Loc loc)
{
	Node *in[2] = {a, b};
	return ir_op(g, op, in, 2, NULL, 0, NULL, loc);
}

Node *ir_const(Graph *g, DType t, double v, Loc loc)
{
	Type ty = ir_scalar_type(t);
	Node *n = ir_op(g, OP_CONST, NULL, 0, NULL, 0, &ty, loc);
	n->fval = v;
	return n;
}

Node *ir_input(Graph *g, Type t, const char *name, Loc loc)
{
	int64_t k = g->inputs.n;
	Node *n = ir_op(g, OP_INPUT, NULL, 0, &k, 1, &t, loc);
	n->name = name ? str_intern(name) : NULL;
	vec_push(&g->inputs, n);
	return n;
}

Node *ir_param(Graph *g, int index, Loc loc)
{
	int64_t k = index;
	Node *n = ir_op(g, OP_PARAM, NULL, 0, &k, 1, &g->prog->params.v[index].type, loc);
	n->name = g->prog->params.v[index].name;
	return n;
}

void ir_graph_output(Graph *g, const char *name, Node *n) { vec_push(&g->outputs, ((Output){str_intern(name), n})); }

void ir_graph_effect(Graph *g, Node *n) { vec_push(&g->effects, n); }

void ir_node_replace_uses(Graph *g, Node *old, Node *new)
{
	for (int i = 0; i < g->nodes.n; i++) {
		Node *n = g->nodes.v[i];
		for (int j = 0; j < n->nin; j++)
			if (n->in[j] == old)
				n->in[j] = new;
	}
	for (int i = 0; i < g->outputs.n; i++)
		if (g->outputs.v[i].node == old)
			g->outputs.v[i].node = new;
}
