/* lang/elab.c: elaboration of expressions, statements, functions and modules.
 *
 * The checker and the IR builder are one walk: every expression is evaluated at compile time to a
 * Value. Numbers, sizes, modules and functions are compile-time values; tensors are IR nodes of the
 * graph being built, each with its type, so a shape error is found at the expression that causes it.
 * A reported error yields V_ERR, which every consumer passes on silently: one mistake, one message.
 */
#include "lang/lang.h"

#include <stdlib.h>
#include <string.h>

static Value err_value = {.k = V_ERR};

Value *val_err(void) { return &err_value; }

Value *val_new(Elab *e, VKind k)
{
	Value *v = arena_alloc(e->arena, sizeof *v);
	v->k = k;
	return v;
}

Value *val_int(Elab *e, int64_t i)
{
	Value *v = val_new(e, V_INT);
	v->i = i;
	return v;
}

Value *val_float(Elab *e, double f)
{
	Value *v = val_new(e, V_FLOAT);
	v->f = f;
	return v;
}

Value *val_bool(Elab *e, bool b)
{
	Value *v = val_new(e, V_BOOL);
	v->i = b;
	return v;
}

Value *val_tensor(Elab *e, Node *n)
{
	if (!n)
		return val_err();
	Value *v = val_new(e, V_TENSOR);
	v->t = n;
	return v;
}

const char *val_describe(Elab *e, const Value *v)
{
	char buf[512];
	switch (v->k) {
	case V_ERR: return "<error>";
	case V_NONE: return "nothing";
	case V_INT: return arena_printf(e->arena, "int %lld", (long long)v->i);
	case V_FLOAT: return arena_printf(e->arena, "float %g", v->f);
	case V_BOOL: return v->i ? "bool true" : "bool false";
	case V_STR: return arena_printf(e->arena, "string \"%s\"", v->s);
	case V_DIM: ir_dim_format(e->prog, v->d, buf, sizeof buf); return arena_printf(e->arena, "size %s", buf);
	case V_TENSOR: ir_type_format(e->prog, v->t->type, buf, sizeof buf); return arena_strdup(e->arena, buf);
	case V_TUPLE: return arena_printf(e->arena, "a tuple of %d", v->list.n);
	case V_LIST: return arena_printf(e->arena, "a list of %d", v->list.n);
	case V_RANGE: return "a range";
	case V_PARAMREF: return arena_printf(e->arena, "parameter '%s'", e->prog->params.v[v->i].name);
	case V_INST: return arena_printf(e->arena, "module %s", v->inst->def->name);
	case V_MODDEF: return arena_printf(e->arena, "module definition %s", v->def.ast->name);
	case V_FNDEF: return arena_printf(e->arena, "function %s", v->def.ast->name);
	case V_METHOD: return arena_printf(e->arena, "method %s", v->method->name);
	case V_BUILTIN: return "a built-in function";
	case V_INIT: return "an initialiser";
	case V_SOURCE: return "a data source";
	case V_NAMESPACE: return arena_printf(e->arena, "imported library '%s'", v->ns.name);
	}
	return "?";
}

/* ---- scopes ---- */

Scope *scope_new(Elab *e, Scope *parent)
{
	Scope *s = arena_alloc(e->arena, sizeof *s);
	s->parent = parent;
	return s;
}

void scope_bind(Elab *e, Scope *s, const char *name, Value *v, Loc loc)
{
	for (int i = 0; i < s->b.n; i++)
		if (s->b.v[i].name == name) { /* a new `let` of the same name in the same scope shadows */
			s->b.v[i].v = v;
			s->b.v[i].loc = loc;
			return;
		}
	vec_push(&s->b, ((Binding){name, v, loc}));
}

Binding *scope_lookup(Scope *s, const char *name)
{
	for (; s; s = s->parent)
		for (int i = s->b.n - 1; i >= 0; i--)
			if (s->b.v[i].name == name)
				return &s->b.v[i];
	return NULL;
}

static int edit_distance(const char *a, const char *b)
{
	int la = (int)strlen(a), lb = (int)strlen(b);
	if (la > 30 || lb > 30)
		return 99;
	int d[32][32];
	for (int i = 0; i <= la; i++)
		d[i][0] = i;
	for (int j = 0; j <= lb; j++)
		d[0][j] = j;
	for (int i = 1; i <= la; i++)
		for (int j = 1; j <= lb; j++) {
			int c = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
			if (d[i - 1][j] + 1 < c)
				c = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < c)
				c = d[i][j - 1] + 1;
			d[i][j] = c;
		}
	return d[la][lb];
}

extern const char *const builtin_names[];

/* The visible name closest to `name`, for "did you mean" */
static const char *closest_name(Scope *s, const char *name)
{
	const char *best = NULL;
	int bestd = (int)strlen(name) / 3 + 1;
	for (; s; s = s->parent)
		for (int i = 0; i < s->b.n; i++) {
			int d = edit_distance(name, s->b.v[i].name);
			if (d < bestd || (d == bestd && !best)) {
				if (d < bestd || !best)
					best = s->b.v[i].name;
				bestd = d;
			}
		}
	for (int i = 0; builtin_names[i]; i++) {
		int d = edit_distance(name, builtin_names[i]);
		if (d < bestd) {
			best = builtin_names[i];
			bestd = d;
		}
	}
	return best;
}

/* ---- tensors ---- */

Node *elab_param_node(Elab *e, int index, Loc loc)
{
	if (!e->g)
		BUG("param node outside a graph");
	if (index >= e->nparam_node) {
		int n = e->prog->params.n + 16;
		Node **t = arena_alloc(e->arena, sizeof(Node *) * (size_t)n);
		if (e->nparam_node)
			memcpy(t, e->param_node, sizeof(Node *) * (size_t)e->nparam_node);
		e->param_node = t;
		e->nparam_node = n;
	}
	if (!e->param_node[index])
		e->param_node[index] = ir_param(e->g, index, loc);
	return e->param_node[index];
}

bool elab_dim_of(Elab *e, Value *v, Dim *out, Loc loc)
{
	if (v->k == V_INT && v->i >= 0) {
		*out = v->i;
		return true;
	}
	if (v->k == V_DIM) {
		*out = v->d;
		return true;
	}
	if (v->k != V_ERR)
		diag_error(loc, "expected a size (a non-negative integer), found %s", val_describe(e, v));
	return false;
}

Node *elab_to_tensor(Elab *e, Value *v, DType like, Loc loc)
{
	switch (v->k) {
	case V_TENSOR: return v->t;
	case V_INT: return ir_const(e->g, like, (double)v->i, loc);
	case V_FLOAT: return ir_const(e->g, dtype_is_float(like) ? like : TY_F32, v->f, loc);
	case V_BOOL: return ir_const(e->g, TY_BOOL, (double)v->i, loc);
	case V_ERR: return NULL;
	default:
		diag_error(loc, "expected a tensor, found %s", val_describe(e, v));
		return NULL;
	}
}

/* ---- types and unification ----
 * A declared tensor type is checked against an actual one dimension by dimension. A dimension
 * written as an identifier that is not bound is a size variable: with `bind` it is bound to the
 * actual size (in scope s) and remembered for notes; otherwise it must already be bound.
 */

static const char *type_text(Elab *e, Type t)
{
	char buf[512];
	ir_type_format(e->prog, t, buf, sizeof buf);
	return arena_strdup(e->arena, buf);
}

static void note_size_vars(Elab *e, Scope *s, Ast *ty)
{
	for (int i = 0; i < ty->list.n; i++) {
		Ast *d = ty->list.v[i];
		if (d->kind != A_IDENT)
			continue;
		Binding *b = scope_lookup(s, d->name);
		if (b && b->v->k == V_DIM && b->loc.file) {
			char buf[128];
			ir_dim_format(e->prog, b->v->d, buf, sizeof buf);
			diag_note(b->loc, "'%s' is %s, bound here", d->name, buf);
		} else if (b && b->v->k == V_INT && b->loc.file)
			diag_note(b->loc, "'%s' is %lld here", d->name, (long long)b->v->i);
	}
}

/* Checks `actual` against the declared type `ty`, binding size variables in s. `what` names the
   checked thing for messages ("argument 'x' of 'forward'"). */
static bool unify(Elab *e, Scope *s, Ast *ty, Type actual, Loc loc, const char *what)
{
	if (ty->kind != A_TYPE || dtype_from_name(ty->name) < 0) {
		diag_error(loc, "%s: expected %s, found a tensor %s", what, ty->name ? ty->name : "a tuple", type_text(e, actual));
		return false;
	}
	DType dt = (DType)dtype_from_name(ty->name);
	int nd = ty->list.n, ell = -1;
	for (int i = 0; i < nd; i++)
		if (ty->list.v[i]->kind == A_ELLIPSIS)
			ell = i;
	int fixed = ell >= 0 ? nd - 1 : nd;
	bool ok = dt == actual.dtype && (ell >= 0 ? actual.rank >= fixed : actual.rank == fixed);
	/* bind in two passes: first check what is known, then bind new names */
	for (int i = 0, j = 0; ok && i < nd; i++) {
		Ast *d = ty->list.v[i];
		if (d->kind == A_ELLIPSIS) {
			j += actual.rank - fixed;
			continue;
		}
		Dim a = actual.dim[j++];
		if (d->kind == A_IDENT && !scope_lookup(s, d->name)) {
			Value *v = DIM_IS_CONST(a) ? val_int(e, a) : val_new(e, V_DIM);
			if (!DIM_IS_CONST(a))
				v->d = a;
			scope_bind(e, s, d->name, v, loc);
			continue;
		}
		Value *dv = elab_expr(e, s, d);
		Dim want;
		if (dv->k == V_ERR)
			return false;
		if (!elab_dim_of(e, dv, &want, d->loc))
			return false;
		if (want != a)
			ok = false;
	}
	if (ok)
		return true;
	/* describe the declared type with what is bound so far */
	char decl[512];
	size_t k = (size_t)snprintf(decl, sizeof decl, "%s[", ty->name);
	for (int i = 0; i < nd && k < sizeof decl; i++) {
		Ast *d = ty->list.v[i];
		char buf[128] = "?";
		if (d->kind == A_ELLIPSIS)
			snprintf(buf, sizeof buf, "...");
		else if (d->kind == A_IDENT && !scope_lookup(s, d->name))
			snprintf(buf, sizeof buf, "%s", d->name);
		else if (d->kind == A_IDENT || d->kind == A_INT) {
			Value *dv = elab_expr(e, s, d);
			Dim dd = 0;
			if (dv->k == V_INT || dv->k == V_DIM) {
				elab_dim_of(e, dv, &dd, d->loc);
				ir_dim_format(e->prog, dd, buf, sizeof buf);
			}
			if (d->kind == A_IDENT && strcmp(buf, d->name) != 0) {
				char t[128];
				int nn = (int)strlen(d->name);
				snprintf(t, sizeof t, "%.*s", (int)sizeof t - 1, buf);
				snprintf(buf, sizeof buf, "%.*s=%.*s", nn > 60 ? 60 : nn, d->name, 60, t);
			}
		}
		k += (size_t)snprintf(decl + k, sizeof decl - k, "%s%s", i ? ", " : "", buf);
	}
	if (k < sizeof decl)
		snprintf(decl + k, sizeof decl - k, "]");
	if (nd == 0 && !ty->ival)
		snprintf(decl, sizeof decl, "%s", ty->name);
	diag_error(loc, "%s: expected %s, found %s", what, decl, type_text(e, actual));
	note_size_vars(e, s, ty);
	return false;
}

/* The type of an entry point's input: size variables become run-time size variables. */
static bool entry_type(Elab *e, Scope *s, Ast *ty, Type *out)
{
	if (!ty || ty->kind != A_TYPE || dtype_from_name(ty->name) < 0) {
		diag_error(ty ? ty->loc : (Loc){0}, "an entry point's inputs must be tensors with a declared type");
		return false;
	}
	Type t = {.dtype = (DType)dtype_from_name(ty->name)};
	if (ty->list.n > MAX_RANK) {
		diag_error(ty->loc, "tensors have at most %d dimensions", MAX_RANK);
		return false;
	}
	for (int i = 0; i < ty->list.n; i++) {
		Ast *d = ty->list.v[i];
		if (d->kind == A_ELLIPSIS) {
			diag_error(d->loc, "an entry point's input needs every dimension spelled out; '...' is not allowed here");
			return false;
		}
		if (d->kind == A_IDENT && !scope_lookup(s, d->name)) {
			Value *v = val_new(e, V_DIM);
			v->d = ir_dim_sym(e->prog, ir_sym_add(e->prog, d->name));
			scope_bind(e, s, d->name, v, d->loc);
		}
		Value *dv = elab_expr(e, s, d);
		if (!elab_dim_of(e, dv, &t.dim[t.rank++], d->loc))
			return false;
	}
	*out = t;
	return true;
}

Type elab_type(Elab *e, Scope *s, Ast *ty, bool bind_syms, bool runtime_syms, Loc argloc, const Type *actual, bool *ok)
{
	Type t = {0};
	if (runtime_syms)
		*ok = entry_type(e, s, ty, &t);
	else if (actual) {
		*ok = unify(e, s, ty, *actual, argloc, "value");
		t = *actual;
	} else {
		*ok = false;
		if (ty->kind != A_TYPE || dtype_from_name(ty->name) < 0) {
			diag_error(ty->loc, "expected a tensor type");
			return t;
		}
		t.dtype = (DType)dtype_from_name(ty->name);
		for (int i = 0; i < ty->list.n; i++) {
			Ast *d = ty->list.v[i];
			if (d->kind == A_ELLIPSIS) {
				diag_error(d->loc, "'...' is only allowed in a function's signature");
				return t;
			}
			Value *dv = elab_expr(e, s, d);
			if (dv->k == V_ERR || !elab_dim_of(e, dv, &t.dim[t.rank++], d->loc))
				return t;
		}
		*ok = true;
	}
	return t;
}

/* ---- functions and modules ---- */

static bool is_scalar_type_name(const char *n)
{
	return !strcmp(n, "int") || !strcmp(n, "float") || !strcmp(n, "bool") || !strcmp(n, "str");
}

/* Checks a value against a declared compile-time or tensor type of a parameter */
static bool check_arg(Elab *e, Scope *s, Ast *pd, Value *v, Loc loc, const char *fname)
{
	Ast *ty = pd->a;
	if (!ty || v->k == V_ERR)
		return true;
	const char *what = arena_printf(e->arena, "argument '%s' of '%s'", pd->name, fname);
	if (ty->kind == A_TYPE && is_scalar_type_name(ty->name)) {
		const char *n = ty->name;
		bool ok = (!strcmp(n, "int") && (v->k == V_INT || v->k == V_DIM)) ||
		          (!strcmp(n, "float") && (v->k == V_FLOAT || v->k == V_INT)) ||
		          (!strcmp(n, "bool") && v->k == V_BOOL) || (!strcmp(n, "str") && v->k == V_STR);
		if (!ok)
			diag_error(loc, "%s: expected %s, found %s", what, n, val_describe(e, v));
		if (ok && !strcmp(n, "float") && v->k == V_INT) {
			v = val_float(e, (double)v->i);
		}
		return ok;
	}
	if (v->k == V_PARAMREF)
		v = val_tensor(e, elab_param_node(e, (int)v->i, loc));
	if (v->k != V_TENSOR) {
		if (v->k == V_INT || v->k == V_FLOAT)
			return true; /* a number given for a tensor: broadcast by the operations that use it */
		diag_error(loc, "%s: expected a tensor, found %s", what, val_describe(e, v));
		return false;
	}
	return unify(e, s, ty, v->t->type, loc, what);
}

typedef struct Yield {
	Value *v;
	Loc loc;
} Yield;
typedef VEC(Yield) YieldVec;

typedef struct Flow {
	bool returned;
	Value *ret;
	Loc retloc;       /* the return statement's expression */
	YieldVec *yields; /* in the body of a `for` expression: the values yielded so far, else NULL */
	Ast **rest;       /* the statements after the one being elaborated in its block (a run-time */
	int nrest;        /* `if` that returns takes them as its else branch) */
} Flow;

static void elab_block(Elab *e, Scope *s, Ast *blk, Flow *fl);

/* Binds arguments to parameters: positional, then named, then defaults. */
static bool bind_args(Elab *e, Scope *s, AstList *params, Value **args, const Loc *arglocs, int nargs, Ast **named,
                      Value **namedv, int nnamed, Loc loc, const char *fname)
{
	bool ok = true;
	if (nargs > params->n) {
		diag_error(loc, "'%s' takes %d argument%s, given %d", fname, params->n, params->n == 1 ? "" : "s", nargs);
		return false;
	}
	Value **got = arena_alloc(e->arena, sizeof(Value *) * (size_t)(params->n + 1));
	Loc *gotloc = arena_alloc(e->arena, sizeof(Loc) * (size_t)(params->n + 1));
	for (int i = 0; i < nargs; i++) {
		got[i] = args[i];
		gotloc[i] = arglocs ? arglocs[i] : loc;
	}
	for (int j = 0; j < nnamed; j++) {
		int k = -1;
		for (int i = 0; i < params->n; i++)
			if (params->v[i]->name == named[j]->name)
				k = i;
		if (k < 0) {
			diag_error(named[j]->loc, "'%s' has no parameter named '%s'", fname, named[j]->name);
			ok = false;
			continue;
		}
		if (got[k]) {
			diag_error(named[j]->loc, "argument '%s' of '%s' is given twice", named[j]->name, fname);
			ok = false;
			continue;
		}
		got[k] = namedv[j];
		gotloc[k] = named[j]->loc;
	}
	for (int i = 0; i < params->n; i++) {
		Ast *pd = params->v[i];
		if (!got[i]) {
			if (!pd->b) {
				diag_error(loc, "missing argument '%s' of '%s'", pd->name, fname);
				ok = false;
				continue;
			}
			got[i] = elab_expr(e, s, pd->b);
			gotloc[i] = pd->b->loc;
		}
		if (!check_arg(e, s, pd, got[i], gotloc[i], fname))
			ok = false;
		Value *v = got[i];
		if (pd->a && pd->a->kind == A_TYPE && !strcmp(pd->a->name, "float") && v->k == V_INT)
			v = val_float(e, (double)v->i);
		scope_bind(e, s, pd->name, v, gotloc[i]);
	}
	return ok;
}

static Value *check_result(Elab *e, Scope *s, Ast *rty, Value *v, Loc loc, const char *fname)
{
	if (!rty || v->k == V_ERR)
		return v;
	if (v->k == V_PARAMREF)
		v = val_tensor(e, elab_param_node(e, (int)v->i, loc));
	if (rty->kind == A_TUPLE_TYPE) {
		if (v->k != V_TUPLE || v->list.n != rty->list.n) {
			diag_error(loc, "'%s' must return a tuple of %d, found %s", fname, rty->list.n, val_describe(e, v));
			return val_err();
		}
		for (int i = 0; i < v->list.n; i++)
			if (v->list.v[i]->k == V_TENSOR &&
			    !unify(e, s, rty->list.v[i], v->list.v[i]->t->type, loc, arena_printf(e->arena, "result %d of '%s'", i, fname)))
				return val_err();
		return v;
	}
	if (rty->kind == A_TYPE && is_scalar_type_name(rty->name))
		return v;
	if (v->k == V_TENSOR) {
		if (!unify(e, s, rty, v->t->type, loc, arena_printf(e->arena, "the result of '%s'", fname)))
			return val_err();
		return v;
	}
	if (v->k == V_INT || v->k == V_FLOAT) {
		DType dt = rty->kind == A_TYPE && dtype_from_name(rty->name) >= 0 ? (DType)dtype_from_name(rty->name) : TY_F32;
		if (rty->list.n == 0)
			return val_tensor(e, elab_to_tensor(e, v, dt, loc));
	}
	diag_error(loc, "'%s' must return a tensor, found %s", fname, val_describe(e, v));
	return val_err();
}

/* Runs a function's body in s, where its parameters are bound, and checks the result's type */
Value *elab_fn_body(Elab *e, Ast *fn, Scope *s, const char *fname)
{
	Value *res;
	Loc loc = fn->b ? fn->b->loc : fn->loc;
	if (fn->b && fn->b->kind == A_BLOCK) {
		Flow fl = {0};
		elab_block(e, scope_new(e, s), fn->b, &fl);
		if (!fl.returned) {
			if (fn->a) {
				diag_error(fn->loc, "'%s' declares a result but can end without 'return'", fname);
				return val_err();
			}
			return val_new(e, V_NONE);
		}
		res = fl.ret;
		loc = fl.retloc;
	} else if (fn->b)
		res = elab_expr(e, s, fn->b);
	else
		res = val_new(e, V_NONE);
	return check_result(e, s, fn->a, res, loc, fname);
}

static Value *custom_grad(Elab *e, Ast *fn, Scope *s, Value *y, Loc loc, const char *fname);

Value *elab_call_fn(Elab *e, Ast *fn, Scope *closure, Inst *self, Value **args, const Loc *arglocs, int nargs,
                    Ast **named, Value **namedv, int nnamed, Loc loc)
{
	const char *fname = fn->name ? fn->name : "function";
	if (self)
		fname = arena_printf(e->arena, "%s.%s", self->def->name, fname);
	if (++e->depth > 200) {
		diag_error(loc, "calls nest more than 200 deep: is '%s' recursive?", fname);
		e->depth--;
		return val_err();
	}
	Scope *s = scope_new(e, self ? self->scope : closure);
	Value *res = val_err();
	if (bind_args(e, s, &fn->list, args, arglocs, nargs, named, namedv, nnamed, loc, fname)) {
		res = elab_fn_body(e, fn, s, fname);
		if (fn->c && res->k != V_ERR)
			res = custom_grad(e, fn, s, res, loc, fname);
	}
	e->depth--;
	/* the predict graph's output: the model's first forward call outside any region (a call inside
	   a loop body or a run-time if is a node of that region) */
	if (self && e->capture_inst == self && !e->captured && !e->loop && !e->in_region && fn->name && !strcmp(fn->name, "forward"))
		e->captured = res;
	return res;
}

static void inst_items(Elab *e, Inst *in, AstList *items);

static Value *instantiate(Elab *e, Ast *def, Scope *closure, Value **args, const Loc *arglocs, int nargs, Ast **named,
                          Value **namedv, int nnamed, Loc loc, const char *path)
{
	if (++e->depth > 64) {
		diag_error(loc, "recursive module instantiation: '%s' contains itself (modules nest more than 64 deep)", def->name);
		e->depth--;
		return val_err();
	}
	Inst *in = arena_alloc(e->arena, sizeof *in);
	in->def = def;
	in->path = path;
	in->scope = scope_new(e, closure);
	Value *res = val_err();
	if (bind_args(e, in->scope, &def->list, args, arglocs, nargs, named, namedv, nnamed, loc, def->name)) {
		in->nargs = in->scope->b.n;
		Graph *saved = e->g;
		e->g = NULL; /* declarations are compile-time */
		inst_items(e, in, &def->list2);
		e->g = saved;
		res = val_new(e, V_INST);
		res->inst = in;
	}
	e->depth--;
	return res;
}

/* The path the next instantiation gets (set while elaborating a submodule declaration) */
static const char *next_path;

Value *elab_call_value(Elab *e, Value *callee, Value **args, const Loc *arglocs, int nargs, Ast **named, Value **namedv,
                       int nnamed, Loc loc)
{
	for (int i = 0; i < nargs; i++)
		if (args[i]->k == V_ERR)
			return val_err();
	for (int i = 0; i < nnamed; i++)
		if (namedv[i]->k == V_ERR)
			return val_err();
	switch (callee->k) {
	case V_ERR: return val_err();
	case V_BUILTIN: return builtin_call(e, (int)callee->i, args, nargs, named, namedv, nnamed, loc);
	case V_FNDEF: return elab_call_fn(e, callee->def.ast, callee->def.scope, NULL, args, arglocs, nargs, named, namedv, nnamed, loc);
	case V_METHOD: {
		bool training = e->training;
		e->training &= !callee->inst->frozen;
		Value *r = elab_call_fn(e, callee->method, NULL, callee->inst, args, arglocs, nargs, named, namedv, nnamed, loc);
		e->training = training;
		return r;
	}
	case V_MODDEF: {
		const char *path = next_path ? next_path : "";
		next_path = NULL;
		return instantiate(e, callee->def.ast, callee->def.scope, args, arglocs, nargs, named, namedv, nnamed, loc, path);
	}
	case V_INST: {
		Ast *fwd = NULL;
		for (int i = 0; i < callee->inst->def->list2.n; i++) {
			Ast *it = callee->inst->def->list2.v[i];
			if (it->kind == A_FN && it->name && !strcmp(it->name, "forward"))
				fwd = it;
		}
		if (!fwd) {
			diag_error(loc, "module '%s' has no 'forward' to call", callee->inst->def->name);
			return val_err();
		}
		if (!e->g) {
			diag_error(loc, "a module can only be called inside a function");
			return val_err();
		}
		bool training = e->training;
		e->training &= !callee->inst->frozen; /* a frozen model runs in eval mode */
		Value *r = elab_call_fn(e, fwd, NULL, callee->inst, args, arglocs, nargs, named, namedv, nnamed, loc);
		e->training = training;
		return r;
	}
	default:
		diag_error(loc, "%s cannot be called", val_describe(e, callee));
		return val_err();
	}
}

/* A member of an instance (param, state, submodule, method): one per name; a member may shadow a
   compile-time parameter (Linear's `bias: bool` and `param bias`) */
static void member_bind(Elab *e, Inst *in, const char *name, Value *v, Loc loc)
{
	for (int j = in->nargs; j < in->scope->b.n; j++)
		if (in->scope->b.v[j].name == name) {
			diag_error(loc, "'%s' is already defined in module '%s'", name, in->def->name);
			diag_note(in->scope->b.v[j].loc, "the earlier definition is here");
			return;
		}
	scope_bind(e, in->scope, name, v, loc);
}

/* module items: param, state, submodules, compile-time if, methods */
static void inst_items(Elab *e, Inst *in, AstList *items)
{
	for (int i = 0; i < items->n; i++) {
		Ast *it = items->v[i];
		switch (it->kind) {
		case A_MPARAM:
		case A_MSTATE: {
			bool ok;
			Type t = elab_type(e, in->scope, it->a, false, false, it->loc, NULL, &ok);
			if (!ok)
				break;
			for (int d = 0; d < t.rank; d++)
				if (!DIM_IS_CONST(t.dim[d])) {
					diag_error(it->a->loc, "the size of '%s' must be known at compile time", it->name);
					ok = false;
				}
			if (!ok)
				break;
			if (t.dtype != TY_F32) {
				diag_error(it->a->loc, "parameters are f32 for now, '%s' is declared %s", it->name, dtype_name[t.dtype]);
				break;
			}
			Param prm = {.name = str_intern(arena_printf(e->arena, "%s%s", in->path, it->name)),
			             .kind = it->kind == A_MSTATE ? PK_STATE : PK_PARAM,
			             .type = t,
			             .init = it->kind == A_MSTATE ? INIT_ZEROS : INIT_KAIMING_UNIFORM,
			             .trainable = it->kind == A_MPARAM,
			             .loc = it->loc};
			if (it->kind == A_MPARAM)
				prm.init_args[0] = 2.23606797749979; /* sqrt(5): PyTorch's default for weights */
			if (it->b) {
				Value *iv = elab_expr(e, in->scope, it->b);
				if (iv->k == V_INIT) {
					prm.init = iv->init.kind;
					memcpy(prm.init_args, iv->init.args, sizeof prm.init_args);
				} else if (iv->k != V_ERR) {
					diag_error(it->b->loc, "expected an initialiser such as zeros() or kaiming_uniform(), found %s",
					           val_describe(e, iv));
					break;
				}
			}
			Value *v = val_new(e, V_PARAMREF);
			v->i = ir_param_add(e->prog, prm);
			member_bind(e, in, it->name, v, it->loc);
			break;
		}
		case A_MSUB: {
			const char *path = arena_printf(e->arena, "%s%s.", in->path, it->name);
			Value *v;
			if (it->a->kind == A_LISTCOMP) {
				/* [Block(d) for i in 0..n]: each element its own module at path name.i. */
				Value *r = elab_expr(e, in->scope, it->a->b);
				if (r->k != V_RANGE || r->range.n < 0) {
					if (r->k != V_ERR)
						diag_error(it->a->b->loc, "expected a compile-time range such as 0..n, found %s", val_describe(e, r));
					break;
				}
				v = val_new(e, V_LIST);
				int64_t n = r->range.hi > r->range.lo ? r->range.hi - r->range.lo : 0;
				v->list.v = arena_alloc(e->arena, sizeof(Value *) * (size_t)(n + 1));
				for (int64_t k = 0; k < n; k++) {
					Scope *ls = scope_new(e, in->scope);
					scope_bind(e, ls, it->a->name, val_int(e, r->range.lo + k), it->a->loc);
					next_path = arena_printf(e->arena, "%s%lld.", path, (long long)k);
					v->list.v[v->list.n++] = elab_expr(e, ls, it->a->a);
					next_path = NULL;
				}
			} else {
				next_path = path;
				v = elab_expr(e, in->scope, it->a);
				next_path = NULL;
			}
			member_bind(e, in, it->name, v, it->loc);
			break;
		}
		case A_IF: {
			Value *c = elab_expr(e, in->scope, it->a);
			if (c->k == V_ERR)
				break;
			if (c->k != V_BOOL) {
				diag_error(it->a->loc, "a condition in a module body must be a compile-time bool, found %s", val_describe(e, c));
				break;
			}
			Ast *br = c->i ? it->b : it->c;
			if (br && br->kind == A_BLOCK)
				inst_items(e, in, &br->list);
			else if (br) {
				AstList one = {0};
				vec_push(&one, br);
				inst_items(e, in, &one);
			}
			break;
		}
		case A_FN: { /* a method: `m.name(x)` outside, `name(x)` in the module's own methods (same weights) */
			Value *m = val_new(e, V_METHOD);
			m->inst = in;
			m->method = it;
			member_bind(e, in, it->name, m, it->loc);
			break;
		}
		case A_CONST:
		case A_LET: {
			Value *v = elab_expr(e, in->scope, it->kind == A_CONST ? it->a : it->b);
			const char *name = it->kind == A_CONST ? it->name : it->a->name;
			if (name)
				scope_bind(e, in->scope, name, v, it->loc);
			break;
		}
		default:
			diag_error(it->loc, "this is not allowed in a module body (expected param, state, a submodule, forward or fn)");
		}
	}
}

/* ---- statements ---- */

static void bind_pattern(Elab *e, Scope *s, Ast *pat, Value *v, bool rebind)
{
	if (pat->kind == A_TUPLE) {
		if (v->k == V_ERR) {
			for (int i = 0; i < pat->list.n; i++)
				bind_pattern(e, s, pat->list.v[i], v, rebind);
			return;
		}
		if ((v->k != V_TUPLE && v->k != V_LIST) || v->list.n != pat->list.n) {
			diag_error(pat->loc, "cannot destructure %s into %d names", val_describe(e, v), pat->list.n);
			for (int i = 0; i < pat->list.n; i++)
				bind_pattern(e, s, pat->list.v[i], val_err(), rebind);
			return;
		}
		for (int i = 0; i < pat->list.n; i++)
			bind_pattern(e, s, pat->list.v[i], v->list.v[i], rebind);
		return;
	}
	if (pat->kind != A_IDENT) {
		diag_error(pat->loc, "expected a name or a tuple of names to bind");
		return;
	}
	if (rebind) {
		Binding *b = scope_lookup(s, pat->name);
		if (!b) {
			diag_error(pat->loc, "'%s' is not bound; use 'let %s = ...' to bind it", pat->name, pat->name);
			return;
		}
		b->v = v; /* rebinding may change the type, as in Python */
		return;
	}
	if (pat->name[0] == '_' && pat->name[1] == 0)
		return;
	scope_bind(e, s, pat->name, v, pat->loc);
}

/* ---- loops compiled as loops ----
 * A `for` over a range whose trip count is a run-time size, or more than UNROLL_MAX, becomes one
 * LOOP node (ir/ops.def) whose body is elaborated once into a region graph:
 *   - the names the body rebinds (found in its assignments) that hold tensors outside are the
 *     carried values: body inputs, whose values at the end of the body go to the next iteration;
 *   - `x[.., t, ..]` of a tensor from outside whose axis has the trip count, t the loop variable
 *     of a 0-based range, is a sequence: the loop slices it (moved to axis 0) per iteration;
 *   - every other value from outside is captured when the body is closed (close_body);
 *   - the yielded value (one `yield` per iteration) is stacked by the loop.
 * Smaller compile-time ranges and lists are unrolled (run_for).
 */
enum { UNROLL_MAX = 16 };

typedef struct Carried {
	Binding *b;
	const char *name;
	Node *init, *in; /* the value before the loop; the body input */
	Loc loc;         /* the first assignment in the body */
} Carried;

typedef struct Seq {
	Node *x, *outer, *in; /* x as indexed; moved to axis 0 (the loop's input); the slice */
	int axis;
} Seq;

struct ElabLoop {
	struct ElabLoop *parent;
	struct ElabLoop *around; /* the loop compiled as a loop around this one, even through regions */
	Graph *body, *outer;
	Node *index;       /* the body's index input i (the loop variable is lo + i) */
	Node *iter;        /* loop_iteration, made on first use */
	Dim T;
	VEC(Seq) seqs;
	VEC(Node *) caps;    /* outer nodes captured, in input order */
	VEC(Node *) capins;  /* their body inputs */
};

typedef VEC(Binding) NameVec;

/* The names assigned (`x = e`, `(a, b) = e`) anywhere in a loop's body, nested blocks, branches
   and loops (statements or expressions) included, with the first assignment's location */
static void assigned_names(Ast *x, NameVec *out)
{
	if (!x)
		return;
	if (x->kind == A_ASSIGN) {
		Ast *p = x->a;
		for (int i = 0; i < (p->kind == A_TUPLE ? p->list.n : 1); i++) {
			Ast *id = p->kind == A_TUPLE ? p->list.v[i] : p;
			int k = 0;
			while (k < out->n && out->v[k].name != id->name)
				k++;
			if (id->kind == A_IDENT && k == out->n)
				vec_push(out, ((Binding){id->name, NULL, id->loc}));
		}
	}
	assigned_names(x->a, out), assigned_names(x->b, out), assigned_names(x->c, out);
	for (int i = 0; i < x->list.n; i++)
		assigned_names(x->list.v[i], out);
	for (int i = 0; i < x->list2.n; i++)
		assigned_names(x->list2.v[i], out);
}

static bool in_graph(const Graph *g, const Node *n)
{
	for (int i = 0; i < g->nodes.n; i++)
		if (g->nodes.v[i] == n)
			return true;
	return false;
}

/* Moves leaf n (just appended) to the front of g's nodes, so it comes before every user */
static void to_front(Graph *g, Node *n)
{
	int i = g->nodes.n - 1;
	if (g->nodes.v[i] != n)
		BUG("to_front: not the last node");
	memmove(g->nodes.v + 1, g->nodes.v, sizeof *g->nodes.v * (size_t)i);
	g->nodes.v[0] = n;
}

/* x[.., t, ..] in a loop body: the slice of a sequence of the loop whose index t is (this loop or
   an enclosing one), or NULL when x, the axis or t do not make one (the caller gathers instead) */
static Node *loop_slice(Elab *e, Node *x, int axis, Node *t, Loc loc)
{
	struct ElabLoop *L = e->loop;
	for (; L; L = L->parent) {
		if (in_graph(L->body, x))
			return NULL; /* computed inside: not a sequence */
		if (t == L->index)
			break;
	}
	if (!L || x->type.dim[axis] != L->T)
		return NULL;
	for (int k = 0; k < L->seqs.n; k++)
		if (L->seqs.v[k].x == x && L->seqs.v[k].axis == axis)
			return L->seqs.v[k].in;
	Node *outer = x;
	if (axis) { /* the loop slices along axis 0 */
		int64_t perm[MAX_RANK];
		perm[0] = axis;
		for (int d = 0, k = 1; d < x->type.rank; d++)
			if (d != axis)
				perm[k++] = d;
		Graph *g = e->g;
		e->g = L->outer;
		outer = elab_node(e, OP_TRANSPOSE, &x, 1, perm, x->type.rank, NULL, loc);
		e->g = g;
	}
	Type t1 = outer->type;
	t1.rank--;
	for (int d = 0; d < t1.rank; d++)
		t1.dim[d] = t1.dim[d + 1];
	Node *in = ir_input(L->body, t1, x->name, loc);
	vec_push(&L->seqs, ((Seq){x, outer, in, axis}));
	return in;
}

/* The body input standing for outer node x (captured once) */
static Node *capture(Elab *e, struct ElabLoop *L, Node *x)
{
	for (int k = 0; k < L->caps.n; k++)
		if (L->caps.v[k] == x)
			return L->capins.v[k];
	Node *in = ir_input(L->body, x->type, x->name, x->loc);
	in->aux = L; /* a node of the body (close_body) */
	to_front(L->body, in);
	vec_push(&L->caps, x);
	vec_push(&L->capins, in);
	return in;
}

/* The number of loop L's running iteration among all the iterations of the loops compiled as
   loops around it (i, or around's number times T plus i), an i64 scalar of L's body, made once.
   A run-time T is counted once per run of the loop, in the graph around it. */
static Node *loop_iteration(Elab *e, struct ElabLoop *L, Loc loc)
{
	if (L->iter || !L->around)
		return L->iter ? L->iter : (L->iter = L->index);
	Graph *g = e->g;
	Node *T;
	if (DIM_IS_CONST(L->T))
		T = ir_const(L->body, TY_I64, (double)L->T, loc);
	else {
		Type ct = {.dtype = TY_I64, .rank = 1, .dim = {L->T}};
		e->g = L->outer;
		Node *ones = elab_node(e, OP_CONST, NULL, 0, NULL, 0, &ct, loc);
		ones->fval = 1;
		T = elab_node(e, OP_SUM, &ones, 1, (int64_t[]){1, 0}, 2, NULL, loc); /* over axis 0 */
	}
	Node *in[2] = {loop_iteration(e, L->around, loc), T};
	e->g = L->body;
	in[0] = elab_node(e, OP_MUL, in, 2, NULL, 0, NULL, loc);
	in[1] = L->index;
	L->iter = elab_node(e, OP_ADD, in, 2, NULL, 0, NULL, loc);
	e->g = g;
	return L->iter;
}

/* The step input of a random op (dropout, rand): inside a loop compiled as a loop, step + 2^24
   times the iteration's number (loop_iteration), an i64 scalar, so each iteration draws other
   numbers as an unrolled loop's do (by their nodes' salts), and a backward body, recomputing its
   forward iteration, draws the same ones. Distinct for steps below 2^24 (f32 steps are exact
   there); exact in the interpreter's doubles up to 2^29 iterations per step. Else step itself. */
Node *elab_random_step(Elab *e, Node *step, Loc loc)
{
	if (!e->rand_loop || !step)
		return step;
	Node *in[2] = {loop_iteration(e, e->rand_loop, loc), ir_const(e->g, TY_I64, 16777216.0, loc)};
	in[1] = elab_node(e, OP_MUL, in, 2, NULL, 0, NULL, loc);
	in[0] = elab_cast(e, step, TY_I64, loc);
	return elab_node(e, OP_ADD, in, 2, NULL, 0, NULL, loc);
}

/* Makes the body closed: each value from outside becomes a captured input, a constant is copied
   in, and the PARAM nodes made inside read the outer graph's instead (so that autodiff sees every
   parameter of the loop as one of its inputs). e->g is the outer graph again. */
static void close_body(Elab *e, struct ElabLoop *L)
{
	Graph *b = L->body;
	int n0 = b->nodes.n;
	for (int i = 0; i < n0; i++)
		b->nodes.v[i]->aux = L;
	for (int i = 0; i < b->nodes.n; i++) {
		Node *n = b->nodes.v[i];
		if (n->op == OP_PARAM && n->aux == L) {
			ir_node_replace_uses(b, n, capture(e, L, elab_param_node(e, (int)n->attr[0], n->loc)));
			continue;
		}
		for (int j = 0; j < n->nin; j++) {
			Node *x = n->in[j];
			if (x->aux == L)
				continue;
			if (x->op == OP_CONST) {
				Node *c = ir_op(b, OP_CONST, NULL, 0, NULL, 0, &x->type, x->loc);
				c->fval = x->fval;
				c->aux = L;
				to_front(b, c);
				ir_node_replace_uses(b, x, c);
			} else
				n->in[j] = capture(e, L, x);
		}
	}
	for (int k = 0; k < b->outputs.n; k++) {
		Node *x = b->outputs.v[k].node;
		if (x->aux != L && !in_graph(b, x))
			b->outputs.v[k].node = capture(e, L, x);
	}
	int k = 0; /* drop the PARAM nodes replaced above */
	for (int i = 0; i < b->nodes.n; i++)
		if (b->nodes.v[i]->op != OP_PARAM)
			b->nodes.v[k++] = b->nodes.v[i];
	b->nodes.n = k;
	for (int i = 0; i < b->nodes.n; i++)
		b->nodes.v[i]->aux = NULL;
}

/* ---- custom grad blocks ----
 * `fn f(x.., s: float) { .. } grad(x.., dy) { .. }`: the tensor parameters of f are those not
 * declared `int`, `float`, `bool` or `str`; the grad block takes one parameter per tensor parameter,
 * in order, then dy (the gradient of f's result), sees f's other parameters by name, and returns
 * one gradient per tensor parameter (a tuple when several), each of its argument's type (a number
 * is the same gradient everywhere). The body gives f's value y as usual (inline); the grad block is
 * elaborated once per call into a closed region (inputs: the tensor arguments, dy, captures), and
 * y becomes CUSTOM_GRAD(y, tensor arguments.., captures..), whose adjoint autodiff takes from the
 * region instead of from y's own operations.
 */
static bool tensor_param(const Ast *pd)
{
	return !pd->a || pd->a->kind != A_TYPE || !is_scalar_type_name(pd->a->name);
}

static Value *custom_grad(Elab *e, Ast *fn, Scope *s, Value *y, Loc loc, const char *fname)
{
	Ast *gb = fn->c;
	int nt = 0;
	for (int i = 0; i < fn->list.n; i++)
		nt += tensor_param(fn->list.v[i]);
	if (gb->list.n != nt + 1) {
		diag_error(gb->loc, "the grad block of '%s' takes %d parameter%s (one per tensor parameter of '%s', then the "
		           "gradient of its result), found %d", fname, nt + 1, nt ? "s" : "", fname, gb->list.n);
		return val_err();
	}
	if (!e->g)
		return y; /* a call at compile time: no gradients */
	if (y->k != V_TENSOR || !dtype_is_float(y->t->type.dtype)) {
		diag_error(loc, "'%s' has a grad block, so it must return one float tensor; it returns %s", fname, val_describe(e, y));
		return val_err();
	}
	struct ElabLoop L = {.outer = e->g};
	L.body = ir_region_new(e->prog, "grad");
	Scope *gs = scope_new(e, s);
	VEC(Node *) xs = {0};
	for (int i = 0; i < fn->list.n; i++) { /* s binds the parameters first, in order */
		if (!tensor_param(fn->list.v[i]))
			continue;
		Value *v = s->b.v[i].v;
		Ast *gp = gb->list.v[xs.n];
		Node *x = v->k == V_PARAMREF ? elab_param_node(e, (int)v->i, loc)
		        : v->k == V_INT || v->k == V_FLOAT ? elab_to_tensor(e, v, TY_F32, loc) : v->k == V_TENSOR ? v->t : NULL;
		if (!x) {
			diag_error(loc, "argument '%s' of '%s' is %s: a function with a grad block takes tensors (or parameters "
			           "declared int, float, bool or str)", fn->list.v[i]->name, fname, val_describe(e, v));
			free(xs.v);
			return val_err();
		}
		vec_push(&xs, x);
		scope_bind(e, gs, gp->name, val_tensor(e, ir_input(L.body, x->type, gp->name, gp->loc)), gp->loc);
	}
	Ast *dyp = gb->list.v[nt];
	scope_bind(e, gs, dyp->name, val_tensor(e, ir_input(L.body, y->t->type, dyp->name, dyp->loc)), dyp->loc);
	Node **saved_pn = e->param_node; /* PARAM nodes made in the region stay there until close_body */
	int saved_npn = e->nparam_node;
	struct ElabLoop *saved_loop = e->loop;
	const char *saved_region = e->in_region;
	Graph *outer = e->g;
	e->param_node = NULL, e->nparam_node = 0, e->g = L.body, e->loop = NULL, e->in_region = "a grad block";
	Flow fl = {0};
	int errs = diag_error_count();
	elab_block(e, gs, gb->b, &fl);
	bool ok = diag_error_count() == errs;
	if (ok && !fl.returned) {
		diag_error(gb->loc, "the grad block of '%s' must return the gradient of each tensor input", fname);
		ok = false;
	}
	Value *r = ok ? fl.ret : NULL;
	int nr = r && r->k == V_TUPLE ? r->list.n : r && r->k != V_NONE ? 1 : 0;
	if (ok && nr != xs.n) {
		diag_error(fl.retloc, "the grad block of '%s' returns %d gradient%s, one per tensor input of this call: expected %d",
		           fname, nr, nr == 1 ? "" : "s", xs.n);
		ok = false;
	}
	for (int i = 0; ok && i < xs.n; i++) {
		Value *v = r->k == V_TUPLE ? r->list.v[i] : r;
		Node *d = v->k == V_TENSOR || v->k == V_INT || v->k == V_FLOAT ? elab_to_tensor(e, v, xs.v[i]->type.dtype, fl.retloc) : NULL;
		if (d && v->k != V_TENSOR && xs.v[i]->type.rank) /* a number: the same gradient everywhere */
			d = elab_node(e, OP_BROADCAST, &d, 1, NULL, 0, &xs.v[i]->type, fl.retloc);
		if (!d || !ir_type_equal(d->type, xs.v[i]->type)) {
			diag_error(fl.retloc, "gradient %d of the grad block of '%s' must have its input's type %s, found %s", i, fname,
			           type_text(e, xs.v[i]->type), d ? type_text(e, d->type) : val_describe(e, v));
			ok = false;
		} else
			ir_graph_output(L.body, arena_printf(e->arena, "d%s", L.body->inputs.v[i]->name), d);
	}
	e->g = outer, e->loop = saved_loop, e->in_region = saved_region, e->param_node = saved_pn, e->nparam_node = saved_npn;
	if (!ok) {
		free(xs.v);
		return val_err();
	}
	close_body(e, &L);
	int nin = 1 + xs.n + L.caps.n;
	Node **in = arena_alloc(e->arena, sizeof(Node *) * (size_t)nin);
	in[0] = y->t;
	for (int i = 0; i < xs.n; i++)
		in[1 + i] = xs.v[i];
	for (int i = 0; i < L.caps.n; i++)
		in[1 + xs.n + i] = L.caps.v[i];
	int64_t k = xs.n;
	char err[512];
	Node *n = ir_region_node(e->g, OP_CUSTOM_GRAD, in, nin, &k, 1, &L.body, 1, loc, err, sizeof err);
	if (!n)
		BUG("custom_grad: %s", err);
	n->name = y->t->name;
	free(xs.v), free(L.caps.v), free(L.capins.v);
	return val_tensor(e, n);
}

/* The yielded values stacked by i, in iteration order: a loop over reverse(..) stacked by i runs
   backwards, so its stack is read with the indices T-1, ..., 0 (a reversed cumulative count) */
static Node *iteration_order(Elab *e, Node *y, Dim T, Loc loc)
{
	Type ct = {.dtype = TY_I64, .rank = 1, .dim = {T}};
	Node *ones = elab_node(e, OP_CONST, NULL, 0, NULL, 0, &ct, loc);
	ones->fval = 1;
	int64_t attr[2] = {0, 1};
	Node *in[2] = {elab_node(e, OP_CUMSUM, &ones, 1, attr, 2, NULL, loc), ir_const(e->g, TY_I64, 1, loc)};
	in[1] = elab_node(e, OP_SUB, in, 2, NULL, 0, NULL, loc);
	in[0] = y;
	int64_t axis = 0;
	return elab_node(e, OP_GATHER, in, 2, &axis, 1, NULL, loc);
}

/* `for` over range r compiled as a loop; the stacked yields for a `for` expression (expr), else
   NULL. Names rebound in the body are rebound, after the loop, to their final values. */
static Value *compile_loop(Elab *e, Scope *s, Ast *st, Value *r, Dim T, bool expr)
{
	Graph *outer = e->g;
	NameVec names = {0};
	VEC(Carried) car = {0};
	assigned_names(st->b, &names);
	struct ElabLoop L = {.parent = e->loop, .around = e->rand_loop, .outer = outer, .T = T};
	L.body = ir_region_new(e->prog, "body");
	L.index = ir_input(L.body, ir_scalar_type(TY_I64), st->name, st->loc);
	bool ok = true;
	for (int i = 0; i < names.n; i++) {
		Binding *b = scope_lookup(s, names.v[i].name);
		if (!b)
			continue; /* bound in the body, or unbound: the body reports it */
		Node *init = b->v->k == V_INT || b->v->k == V_FLOAT ? elab_to_tensor(e, b->v, b->v->k == V_INT ? TY_I64 : TY_F32, b->loc)
		           : b->v->k == V_TENSOR ? b->v->t : NULL;
		if (!init) {
			if (b->v->k != V_ERR)
				diag_error(names.v[i].loc, "'%s' is %s: a loop over a run-time or large range (compiled as a loop) "
				           "can carry only tensors and numbers from one iteration to the next", b->name, val_describe(e, b->v));
			ok = false;
			continue;
		}
		vec_push(&car, ((Carried){b, b->name, init, NULL, names.v[i].loc}));
	}
	free(names.v);
	for (int k = 0; ok && k < car.n; k++) {
		car.v[k].in = ir_input(L.body, car.v[k].init->type, car.v[k].name, car.v[k].loc);
		car.v[k].b->v = val_tensor(e, car.v[k].in);
	}
	if (!ok) {
		free(car.v);
		return val_err();
	}
	Node **saved_pn = e->param_node; /* PARAM nodes made in the body stay there until close_body */
	int saved_npn = e->nparam_node;
	e->param_node = NULL;
	e->nparam_node = 0;
	e->g = L.body;
	e->loop = e->rand_loop = &L;
	Scope *ls = scope_new(e, s);
	Node *var = L.index;
	if (r->range.lo) {
		Node *in[2] = {L.index, ir_const(e->g, TY_I64, (double)r->range.lo, st->loc)};
		var = elab_node(e, OP_ADD, in, 2, NULL, 0, NULL, st->loc);
	}
	scope_bind(e, ls, st->name, val_tensor(e, var), st->loc);
	YieldVec ys = {0};
	Flow bfl = {.yields = &ys};
	int errs = diag_error_count();
	elab_block(e, ls, st->b, &bfl);
	e->loop = L.parent;
	e->rand_loop = L.around;
	e->g = outer;
	e->param_node = saved_pn;
	e->nparam_node = saved_npn;
	ok = diag_error_count() == errs;
	if (bfl.returned) {
		diag_error(bfl.retloc, "'return' inside a loop over a run-time or large range (compiled as a loop)");
		ok = false;
	} else if (ok && !expr && ys.n) {
		diag_error(ys.v[0].loc, "this 'yield' is inside a loop statement compiled as a loop: only the loop's own "
		           "'for' expression can stack it");
		ok = false;
	} else if (ok && expr && ys.n != 1) {
		if (ys.n)
			diag_error(ys.v[1].loc, "a 'for' compiled as a loop runs 'yield' once per iteration; this body runs it %d times", ys.n);
		else
			diag_error(st->loc, "this 'for' expression yields nothing: it needs at least one iteration that runs 'yield'");
		ok = false;
	}
	/* the carried values at the end of the body, then the yielded tensors */
	for (int k = 0; ok && k < car.n; k++) {
		Carried *c = &car.v[k];
		Graph *g = e->g;
		e->g = L.body;
		Node *v = elab_to_tensor(e, c->b->v, c->init->type.dtype, c->loc);
		e->g = g;
		if (v && !ir_type_equal(v->type, c->init->type)) {
			diag_error(c->loc, "'%s' enters the loop as %s and is %s at the end of its body: a value carried from one "
			           "iteration to the next keeps its type", c->name, type_text(e, c->init->type), type_text(e, v->type));
			diag_note(c->b->loc, "'%s' is bound here", c->name);
		}
		if (!v || !ir_type_equal(v->type, c->init->type))
			ok = false;
		else
			ir_graph_output(L.body, c->name, v);
	}
	Value *y = expr && ok ? ys.v[0].v : NULL;
	int ny = 0;
	Value **parts = y && y->k == V_TUPLE ? y->list.v : &y;
	int nparts = y && y->k == V_TUPLE ? y->list.n : y ? 1 : 0;
	for (int k = 0; ok && k < nparts; k++) {
		Value *v = parts[k];
		Graph *g = e->g;
		e->g = L.body;
		Node *t = v->k == V_TENSOR || v->k == V_INT || v->k == V_FLOAT || v->k == V_BOOL
		        ? elab_to_tensor(e, v, v->k == V_INT ? TY_I64 : TY_F32, ys.v[0].loc) : NULL;
		e->g = g;
		if (!t) {
			if (v->k != V_ERR)
				diag_error(ys.v[0].loc, "a 'for' expression stacks tensors; 'yield' gives %s", val_describe(e, v));
			ok = false;
		} else
			ir_graph_output(L.body, "yield", t), ny++;
	}
	for (int k = 0; k < car.n; k++) /* after the loop, each name holds its final value (or an error) */
		car.v[k].b->v = val_err();
	if (!ok) {
		free(car.v), free(ys.v), free(L.seqs.v), free(L.caps.v), free(L.capins.v);
		return val_err();
	}
	close_body(e, &L);
	int nin = car.n + L.seqs.n + L.caps.n;
	Node **in = arena_alloc(e->arena, sizeof(Node *) * (size_t)(nin + 1));
	for (int k = 0; k < car.n; k++)
		in[k] = car.v[k].init;
	for (int k = 0; k < L.seqs.n; k++)
		in[car.n + k] = L.seqs.v[k].outer;
	for (int k = 0; k < L.caps.n; k++)
		in[car.n + L.seqs.n + k] = L.caps.v[k];
	int64_t attr[4] = {T, r->range.rev, car.n, L.seqs.n};
	char err[512];
	Node *loop = ir_region_node(e->g, OP_LOOP, in, nin, attr, 4, &L.body, 1, st->loc, err, sizeof err);
	if (!loop)
		BUG("loop: %s", err);
	for (int k = 0; k < car.n; k++) {
		int64_t j = k;
		Node *o = elab_node(e, OP_LOOP_OUT, &loop, 1, &j, 1, NULL, car.v[k].loc);
		o->name = car.v[k].name;
		car.v[k].b->v = val_tensor(e, o);
	}
	Value *res = NULL;
	if (expr) {
		Value **stacks = arena_alloc(e->arena, sizeof(Value *) * (size_t)(ny + 1));
		for (int k = 0; k < ny; k++) {
			int64_t j = car.n + k;
			Node *o = elab_node(e, OP_LOOP_OUT, &loop, 1, &j, 1, NULL, ys.v[0].loc);
			stacks[k] = val_tensor(e, r->range.rev ? iteration_order(e, o, T, ys.v[0].loc) : o);
		}
		res = stacks[0];
		if (y->k == V_TUPLE) {
			res = val_new(e, V_TUPLE);
			res->list.v = stacks;
			res->list.n = ny;
		}
	}
	free(car.v), free(ys.v), free(L.seqs.v), free(L.caps.v), free(L.capins.v);
	return res;
}

/* `for name in iterable { body }`: a loop (compile_loop) over a run-time or large range, else
   unrolled: each iteration gets a scope of its own for the loop variable, and names rebound in the
   body are rebound where they were bound, so they carry over. For a `for` expression (expr) a
   compiled loop returns its stacked yields; otherwise NULL. */
static Value *run_for(Elab *e, Scope *s, Ast *st, Flow *fl, bool expr)
{
	Value *it = elab_expr(e, s, st->a);
	if (it->k == V_ERR)
		return expr ? it : NULL;
	if (it->k == V_RANGE && (it->range.n < 0 || it->range.hi - it->range.lo > UNROLL_MAX)) {
		if (!e->g) {
			diag_error(st->loc, "a loop over a run-time or large range is only allowed inside a function");
			return val_err();
		}
		return compile_loop(e, s, st, it, it->range.n < 0 ? it->range.n : it->range.hi - it->range.lo, expr);
	}
	if (it->k == V_RANGE) {
		int64_t n = it->range.hi - it->range.lo;
		for (int64_t k = 0; k < n && !fl->returned; k++) {
			Scope *ls = scope_new(e, s);
			int64_t i = it->range.rev ? it->range.hi - 1 - k : it->range.lo + k;
			scope_bind(e, ls, st->name, val_int(e, i), st->loc);
			elab_block(e, ls, st->b, fl);
		}
	} else if (it->k == V_LIST || it->k == V_TUPLE) {
		for (int k = 0; k < it->list.n && !fl->returned; k++) {
			Scope *ls = scope_new(e, s);
			scope_bind(e, ls, st->name, it->list.v[k], st->loc);
			elab_block(e, ls, st->b, fl);
		}
	} else
		diag_error(st->a->loc, "'for' needs a range (0..n) or a list, found %s", val_describe(e, it));
	return NULL;
}

/* `s := e`: an ASSIGN effect writing e into the state s (a name or a field such as bn.running_mean).
   Every read of s in the graph sees its value on entry; the update runs after the last of them
   (codegen/entry.c), so at most one update per state and graph. The value's type must be the
   state's exactly (no broadcasting or conversion). */
static void elab_update(Elab *e, Scope *s, Ast *st)
{
	Ast *tgt = st->a;
	const char *name = tgt->kind == A_IDENT || tgt->kind == A_FIELD ? tgt->name : "this expression";
	if (!e->g) {
		diag_error(st->loc, "':=' is only allowed inside a function");
		return;
	}
	if (e->loop) {
		diag_error(st->loc, "':=' inside a loop over a run-time or large range (compiled as a loop) is not supported");
		return;
	}
	if (e->in_region) {
		diag_error(st->loc, "':=' inside %s is not supported", e->in_region);
		return;
	}
	Binding *b = tgt->kind == A_IDENT ? scope_lookup(s, tgt->name) : NULL;
	Value *t = b && b->v->k != V_PARAMREF ? b->v : elab_expr(e, s, tgt);
	Value *v = elab_expr(e, s, st->b);
	if (t->k == V_ERR || v->k == V_ERR)
		return;
	Node *pn = t->k == V_TENSOR ? t->t : NULL;
	if (!pn || pn->op != OP_PARAM || (b && b->v->k != V_PARAMREF)) {
		diag_error(tgt->loc, "':=' updates a 'state' of a module; '%s' is %s", name, val_describe(e, t));
		if (b)
			diag_note(b->loc, "'%s' is bound here; use '%s = ...' to rebind a name", name, name);
		return;
	}
	Param *prm = &e->prog->params.v[pn->attr[0]];
	if (prm->kind != PK_STATE) {
		diag_error(tgt->loc, "':=' updates a 'state'; '%s' is a trainable 'param' (%s), changed only by the optimiser",
		           prm->name, val_describe(e, t));
		diag_note(prm->loc, "'%s' is declared here", prm->name);
		return;
	}
	if (prm->from) {
		diag_error(st->loc, "state '%s' belongs to a frozen model, which keeps the values of its file; update it only "
		           "`if training` (a frozen model runs with training false)", prm->name);
		return;
	}
	Node *x = elab_to_tensor(e, v, pn->type.dtype, st->b->loc);
	if (!x)
		return;
	if (!ir_type_equal(x->type, pn->type)) {
		diag_error(st->b->loc, "the new value of state '%s' must be %s, found %s", prm->name, val_describe(e, t),
		           val_describe(e, v));
		diag_note(prm->loc, "'%s' is declared here", prm->name);
		return;
	}
	for (int i = 0; i < e->g->effects.n; i++)
		if (e->g->effects.v[i]->op == OP_ASSIGN && e->g->effects.v[i]->attr[0] == pn->attr[0]) {
			diag_error(st->loc, "state '%s' is already updated in this graph (every read sees its value on entry)",
			           prm->name);
			diag_note(e->g->effects.v[i]->loc, "the first update is here");
			return;
		}
	if (x == pn)
		return; /* s := s */
	Node *in[2] = {pn, x};
	Node *a = elab_node(e, OP_ASSIGN, in, 2, &pn->attr[0], 1, NULL, st->loc);
	if (a)
		ir_graph_effect(e->g, a);
}

/* ---- run-time if ----
 * `if c { } else { }` on a bool scalar tensor c becomes an IF node (ir/ops.def) owning both
 * branches, each elaborated once into a closed region (close_body: what a branch reads from
 * outside is a capture; the two branches' captures are merged into one list of inputs) whose
 * results are read by IF_OUT projections. Its results are:
 *   IF_VALUE:  an `if` used as a value: each branch's value (a tensor, a number or a tuple of them);
 *   IF_STMT:   an `if` statement: the names the branches rebind, which must hold tensors or numbers
 *              before it and keep their types; after it each is rebound to its IF_OUT;
 *   IF_RETURN: an `if` statement that returns: the rest of the block (after the `else` branch, if
 *              any) is its else branch, both return, and the value returned is the if's.
 * The condition is one scalar: the whole batch takes the same branch.
 */
enum { IF_VALUE, IF_STMT, IF_RETURN };

typedef VEC(Node *) NodeVec;

static void elab_stmts(Elab *e, Scope *s, Ast **st, int n, Flow *fl);
static void elab_stmt(Elab *e, Scope *s, Ast *st, Flow *fl);
static Value *block_value(Elab *e, Scope *s, Ast *blk);

static bool has_return(const Ast *st)
{
	if (!st)
		return false;
	switch (st->kind) {
	case A_RETURN: return true;
	case A_BLOCK:
		for (int i = 0; i < st->list.n; i++)
			if (has_return(st->list.v[i]))
				return true;
		return false;
	case A_IF: return has_return(st->b) || has_return(st->c);
	case A_FOR: return has_return(st->b);
	default: return false;
	}
}

/* The tensors of value v (a tensor, a number, or a tuple of them) appended to out, made in the
   current graph; false (with an error at loc) when v has anything else */
static bool value_tensors(Elab *e, Value *v, Loc loc, NodeVec *out)
{
	if (v->k == V_TUPLE) {
		for (int i = 0; i < v->list.n; i++)
			if (!value_tensors(e, v->list.v[i], loc, out))
				return false;
		return true;
	}
	if (v->k == V_PARAMREF)
		v = val_tensor(e, elab_param_node(e, (int)v->i, loc));
	if (v->k == V_TENSOR || v->k == V_INT || v->k == V_FLOAT || v->k == V_BOOL) {
		vec_push(out, elab_to_tensor(e, v, v->k == V_INT ? TY_I64 : v->k == V_BOOL ? TY_BOOL : TY_F32, loc));
		return true;
	}
	if (v->k != V_ERR)
		diag_error(loc, "a branch of a run-time 'if' gives %s: only tensors, numbers and tuples of them can be chosen at run time",
		           val_describe(e, v));
	return false;
}

/* v (a branch's value) rebuilt with the if_outs outs[*k..] in place of its tensors */
static Value *value_from(Elab *e, Value *v, Node **outs, int *k)
{
	if (v->k != V_TUPLE)
		return val_tensor(e, outs[(*k)++]);
	Value *t = val_new(e, V_TUPLE);
	t->list.n = v->list.n;
	t->list.v = arena_alloc(e->arena, sizeof(Value *) * (size_t)(v->list.n + 1));
	for (int i = 0; i < v->list.n; i++)
		t->list.v[i] = value_from(e, v->list.v[i], outs, k);
	return t;
}

/* The inputs of region b (its captures caps, their inputs capins) put in the order of the merged
   list u, with an unused input for each capture of the other branch */
static void order_inputs(Graph *b, Node **caps, Node **capins, int ncaps, Node **u, int nu)
{
	Node **in = xrealloc(NULL, sizeof *in * (size_t)(nu + 1));
	for (int j = 0; j < nu; j++) {
		in[j] = NULL;
		for (int k = 0; k < ncaps; k++)
			if (caps[k] == u[j])
				in[j] = capins[k];
		if (!in[j])
			in[j] = ir_input(b, u[j]->type, u[j]->name, u[j]->loc);
	}
	for (int j = 0; j < nu; j++) {
		b->inputs.v[j] = in[j];
		in[j]->attr[0] = j;
	}
	free(in);
}

static Value *compile_if(Elab *e, Scope *s, Ast *x, Node *c, int mode, Flow *fl)
{
	NameVec names = {0};
	VEC(Carried) car = {0};
	bool ok = true;
	if (mode == IF_STMT) {
		assigned_names(x->b, &names);
		assigned_names(x->c, &names);
	}
	for (int i = 0; i < names.n; i++) {
		Binding *b = scope_lookup(s, names.v[i].name);
		if (!b)
			continue; /* bound in a branch, or unbound: the branch reports it */
		Node *init = b->v->k == V_INT || b->v->k == V_FLOAT ? elab_to_tensor(e, b->v, b->v->k == V_INT ? TY_I64 : TY_F32, b->loc)
		           : b->v->k == V_TENSOR ? b->v->t : NULL;
		if (!init) {
			if (b->v->k != V_ERR)
				diag_error(names.v[i].loc, "'%s' is %s: a branch of a run-time 'if' can rebind only names holding "
				           "tensors or numbers", b->name, val_describe(e, b->v));
			ok = false;
			continue;
		}
		vec_push(&car, ((Carried){b, b->name, init, NULL, names.v[i].loc}));
	}
	free(names.v);
	struct ElabLoop L[2] = {{.outer = e->g}, {.outer = e->g}};
	NodeVec outs[2] = {{0}, {0}};
	Value *val[2] = {NULL, NULL};
	for (int k = 0; ok && k < 2; k++) {
		for (int j = 0; j < car.n; j++)
			car.v[j].b->v = val_tensor(e, car.v[j].init);
		L[k].body = ir_region_new(e->prog, k ? "else" : "then");
		Node **saved_pn = e->param_node; /* PARAM nodes made in the branch stay there until close_body */
		int saved_npn = e->nparam_node;
		struct ElabLoop *saved_loop = e->loop;
		const char *saved_region = e->in_region;
		Graph *outer = e->g;
		e->param_node = NULL, e->nparam_node = 0, e->g = L[k].body, e->loop = NULL, e->in_region = "a run-time 'if'";
		int errs = diag_error_count();
		Ast *br = k ? x->c : x->b;
		Loc vloc = br ? br->loc : x->loc;
		if (mode == IF_VALUE)
			val[k] = br->kind == A_BLOCK ? block_value(e, scope_new(e, s), br) : elab_expr(e, s, br);
		else {
			Flow f2 = {0};
			Scope *bs = scope_new(e, s);
			if (br && br->kind == A_BLOCK)
				elab_block(e, bs, br, &f2);
			else if (br) { /* else if: in IF_RETURN, what follows is its else branch too */
				if (mode == IF_RETURN)
					f2.rest = fl->rest, f2.nrest = fl->nrest;
				elab_stmt(e, bs, br, &f2);
			}
			if (mode == IF_RETURN && k == 1 && !f2.returned)
				elab_stmts(e, bs, fl->rest, fl->nrest, &f2);
			if (mode == IF_RETURN && !f2.returned && diag_error_count() == errs)
				diag_error(k ? x->loc : br->loc, k ? "this run-time 'if' returns in its first branch, so what follows it "
				           "in the block (its else branch) must return too" : "this branch of a run-time 'if' can end without 'return'");
			val[k] = mode == IF_RETURN && f2.returned ? f2.ret : NULL;
			vloc = f2.returned ? f2.retloc : vloc;
		}
		ok = diag_error_count() == errs;
		if (ok && mode != IF_STMT)
			ok = value_tensors(e, val[k], vloc, &outs[k]);
		for (int j = 0; ok && j < car.n; j++) {
			Carried *cv = &car.v[j];
			Node *v = elab_to_tensor(e, cv->b->v, cv->init->type.dtype, cv->loc);
			if (v && !ir_type_equal(v->type, cv->init->type)) {
				diag_error(cv->loc, "'%s' is %s before this run-time 'if' and %s after its %s branch: a name rebound in "
				           "a branch keeps its type", cv->name, type_text(e, cv->init->type), type_text(e, v->type), k ? "else" : "then");
				diag_note(cv->b->loc, "'%s' is bound here", cv->name);
			}
			if (!v || !ir_type_equal(v->type, cv->init->type))
				ok = false;
			else
				vec_push(&outs[k], v);
		}
		for (int j = 0; ok && j < outs[k].n; j++)
			ir_graph_output(L[k].body, j < outs[k].n - car.n ? "value" : car.v[j - (outs[k].n - car.n)].name, outs[k].v[j]);
		e->g = outer, e->loop = saved_loop, e->in_region = saved_region, e->param_node = saved_pn, e->nparam_node = saved_npn;
		if (ok)
			close_body(e, &L[k]);
	}
	if (ok && outs[0].n != outs[1].n) {
		diag_error(x->loc, "the branches of this run-time 'if' give %d and %d values: both must give values of the same types",
		           outs[0].n, outs[1].n);
		ok = false;
	}
	for (int j = 0; ok && j < outs[0].n; j++)
		if (!ir_type_equal(outs[0].v[j]->type, outs[1].v[j]->type)) {
			diag_error(x->loc, "the branches of this run-time 'if' give %s and %s%s: both must give values of the same types",
			           type_text(e, outs[0].v[j]->type), type_text(e, outs[1].v[j]->type),
			           outs[0].n > 1 ? arena_printf(e->arena, " (value %d)", j) : "");
			ok = false;
		}
	Value *res = val_err();
	if (ok) {
		NodeVec u = {0};
		for (int k = 0; k < 2; k++)
			for (int j = 0; j < L[k].caps.n; j++) {
				int m = 0;
				while (m < u.n && u.v[m] != L[k].caps.v[j])
					m++;
				if (m == u.n)
					vec_push(&u, L[k].caps.v[j]);
			}
		for (int k = 0; k < 2; k++)
			order_inputs(L[k].body, L[k].caps.v, L[k].capins.v, L[k].caps.n, u.v, u.n);
		Node **in = arena_alloc(e->arena, sizeof(Node *) * (size_t)(u.n + 1));
		in[0] = c;
		for (int j = 0; j < u.n; j++)
			in[j + 1] = u.v[j];
		Graph *sub[2] = {L[0].body, L[1].body};
		char err[512];
		Node *n = ir_region_node(e->g, OP_IF, in, u.n + 1, NULL, 0, sub, 2, x->loc, err, sizeof err);
		if (!n)
			BUG("if: %s", err);
		Node **o = arena_alloc(e->arena, sizeof(Node *) * (size_t)(outs[0].n + 1));
		for (int j = 0; j < outs[0].n; j++) {
			int64_t a = j;
			o[j] = elab_node(e, OP_IF_OUT, &n, 1, &a, 1, NULL, x->loc);
		}
		int nv = outs[0].n - car.n, k = 0;
		for (int j = 0; j < car.n; j++) {
			o[nv + j]->name = car.v[j].name;
			car.v[j].b->v = val_tensor(e, o[nv + j]);
		}
		res = mode == IF_STMT ? val_new(e, V_NONE) : value_from(e, val[0], o, &k);
		free(u.v);
	} else
		for (int j = 0; j < car.n; j++) /* after a failed if, each name holds an error */
			car.v[j].b->v = val_err();
	for (int k = 0; k < 2; k++)
		free(outs[k].v), free(L[k].caps.v), free(L[k].capins.v);
	free(car.v);
	return res;
}

/* An `if` statement on a run-time condition: IF_RETURN when it returns (then the function's
   flow has returned its value), else IF_STMT */
static void run_time_if_stmt(Elab *e, Scope *s, Ast *st, Node *c, Flow *fl)
{
	if (!has_return(st)) {
		compile_if(e, s, st, c, IF_STMT, fl);
		return;
	}
	Value *v = compile_if(e, s, st, c, IF_RETURN, fl);
	fl->returned = true;
	fl->ret = v;
	fl->retloc = st->loc;
}

static void elab_stmt(Elab *e, Scope *s, Ast *st, Flow *fl)
{
	switch (st->kind) {
	case A_LET: bind_pattern(e, s, st->a, elab_expr(e, s, st->b), false); break;
	case A_ASSIGN: bind_pattern(e, s, st->a, elab_expr(e, s, st->b), true); break;
	case A_RETURN:
		fl->returned = true;
		fl->ret = st->a ? elab_expr(e, s, st->a) : val_new(e, V_NONE);
		fl->retloc = st->a ? st->a->loc : st->loc;
		break;
	case A_EXPRSTMT: elab_expr(e, s, st->a); break;
	case A_METRIC: {
		Value *v = elab_expr(e, s, st->a);
		if (!e->in_loss || e->loop || e->in_region) {
			if (e->in_region)
				diag_error(st->loc, "'metric' inside %s: compute it outside", e->in_region);
			else
				diag_error(st->loc, e->loop ? "'metric' inside a loop compiled as a loop: compute it after the loop"
				                            : "'metric' is only allowed in a recipe's loss");
			break;
		}
		for (int i = 0; i < e->metrics.n; i++)
			if (e->metrics.v[i].name == st->name) {
				diag_error(st->loc, "metric '%s' is already defined", st->name);
				diag_note(e->metrics.v[i].loc, "the first definition is here");
				return;
			}
		vec_push(&e->metrics, ((Binding){st->name, v, st->loc}));
		break;
	}
	case A_IF: {
		Value *c = elab_expr(e, s, st->a);
		if (c->k == V_ERR)
			break;
		if (c->k == V_TENSOR && c->t->type.dtype == TY_BOOL && c->t->type.rank == 0) {
			run_time_if_stmt(e, s, st, c->t, fl);
			break;
		}
		if (c->k != V_BOOL) {
			diag_error(st->a->loc, "an 'if' condition must be a compile-time bool or a bool scalar, found %s", val_describe(e, c));
			break;
		}
		Ast *br = c->i ? st->b : st->c;
		if (!br)
			break;
		if (br->kind == A_BLOCK)
			elab_block(e, scope_new(e, s), br, fl);
		else
			elab_stmt(e, s, br, fl);
		break;
	}
	case A_FOR: run_for(e, s, st, fl, false); break;
	case A_YIELD: {
		Value *v = elab_expr(e, s, st->a);
		if (!fl->yields)
			diag_error(st->loc, "'yield' outside a 'for' expression: a loop that yields is a value, as in let hs = for t in 0..T { yield h }");
		else
			vec_push(fl->yields, ((Yield){v, st->a->loc}));
		break;
	}
	case A_UPDATE: elab_update(e, s, st); break;
	case A_BLOCK: elab_block(e, scope_new(e, s), st, fl); break;
	default: diag_error(st->loc, "expected a statement");
	}
}

static void elab_stmts(Elab *e, Scope *s, Ast **st, int n, Flow *fl)
{
	for (int i = 0; i < n && !fl->returned; i++) {
		fl->rest = st + i + 1, fl->nrest = n - i - 1;
		elab_stmt(e, s, st[i], fl);
	}
	fl->rest = NULL, fl->nrest = 0;
}

static void elab_block(Elab *e, Scope *s, Ast *blk, Flow *fl) { elab_stmts(e, s, blk->list.v, blk->list.n, fl); }

/* ---- expressions ---- */

static Value *elab_ident(Elab *e, Scope *s, Ast *x)
{
	Binding *b = scope_lookup(s, x->name);
	if (b) {
		Value *v = b->v;
		if (v->k == V_PARAMREF && e->g)
			return val_tensor(e, elab_param_node(e, (int)v->i, x->loc));
		return v;
	}
	if (!strcmp(x->name, "training"))
		return val_bool(e, e->training);
	int k = builtin_lookup(x->name);
	if (k >= 0) {
		Value *v = val_new(e, V_BUILTIN);
		v->i = k;
		return v;
	}
	const char *near = closest_name(s, x->name);
	if (near)
		diag_error(x->loc, "unknown name '%s'; did you mean '%s'?", x->name, near);
	else
		diag_error(x->loc, "unknown name '%s'", x->name);
	return val_err();
}

static Value *elab_field(Elab *e, Scope *s, Ast *x)
{
	Value *b = elab_expr(e, s, x->a);
	if (b->k == V_ERR)
		return b;
	if (b->k == V_TENSOR && !strcmp(x->name, "T")) {
		Type t = b->t->type;
		if (t.rank < 2) {
			diag_error(x->loc, ".T transposes the last two axes; %s has fewer", val_describe(e, b));
			return val_err();
		}
		int64_t perm[MAX_RANK];
		for (int i = 0; i < t.rank; i++)
			perm[i] = i;
		perm[t.rank - 2] = t.rank - 1;
		perm[t.rank - 1] = t.rank - 2;
		return val_tensor(e, elab_node(e, OP_TRANSPOSE, &b->t, 1, perm, t.rank, NULL, x->loc));
	}
	if (b->k == V_NAMESPACE) {
		Scope *ns = b->ns.scope;
		const char *best = NULL;
		int bestd = (int)strlen(x->name) / 3 + 1;
		for (int i = ns->b.n - 1; i >= 0; i--) {
			if (ns->b.v[i].name == x->name) {
				Value *v = ns->b.v[i].v;
				if (v->k == V_PARAMREF && e->g)
					return val_tensor(e, elab_param_node(e, (int)v->i, x->loc));
				return v;
			}
			int d = edit_distance(x->name, ns->b.v[i].name);
			if (d < bestd) {
				best = ns->b.v[i].name;
				bestd = d;
			}
		}
		if (best)
			diag_error(x->loc, "'%s' has no '%s'; did you mean '%s.%s'?", b->ns.name, x->name, b->ns.name, best);
		else
			diag_error(x->loc, "'%s' has no '%s'", b->ns.name, x->name);
		return val_err();
	}
	if (b->k == V_INST) {
		Inst *in = b->inst;
		for (int i = 0; i < in->scope->b.n; i++)
			if (in->scope->b.v[i].name == x->name) {
				Value *v = in->scope->b.v[i].v;
				if (v->k == V_PARAMREF && e->g)
					return val_tensor(e, elab_param_node(e, (int)v->i, x->loc));
				return v;
			}
		diag_error(x->loc, "module '%s' has no member '%s'", in->def->name, x->name);
		return val_err();
	}
	diag_error(x->loc, "%s has no field '%s'", val_describe(e, b), x->name);
	return val_err();
}

static Value *elab_list(Elab *e, Scope *s, Ast *x, VKind k)
{
	Value *v = val_new(e, k);
	v->list.v = arena_alloc(e->arena, sizeof(Value *) * (size_t)(x->list.n + 1));
	for (int i = 0; i < x->list.n; i++) {
		v->list.v[i] = elab_expr(e, s, x->list.v[i]);
		if (v->list.v[i]->k == V_PARAMREF && e->g)
			v->list.v[i] = val_tensor(e, elab_param_node(e, (int)v->list.v[i]->i, x->list.v[i]->loc));
	}
	v->list.n = x->list.n;
	return v;
}

/* ---- tensor indexing: x[i], x[a:b], x[a:b:s], x[..., i], x[idx] ----
 * Each index takes one axis of x (`...` takes as many as are left). An int keeps one element and
 * removes the axis; a slice with step 1 is a slice node; another step gathers arange(n)*step+start;
 * an int tensor gathers along the axis (numpy take). Bounds follow Python: ints must be in range,
 * slices are clipped to the axis. An axis whose size is a run-time size can only be taken whole.
 */

static bool index_int(Elab *e, Scope *s, Ast *x, int64_t dflt, int64_t *out)
{
	if (!x) {
		*out = dflt;
		return true;
	}
	Value *v = elab_expr(e, s, x);
	if (v->k == V_INT) {
		*out = v->i;
		return true;
	}
	if (v->k != V_ERR)
		diag_error(x->loc, "a slice bound must be a compile-time int, found %s", val_describe(e, v));
	return false;
}

/* start, length and step of a slice of an axis of size n (Python's rules); false after an error */
static bool slice_bounds(Elab *e, Scope *s, Ast *sl, int64_t n, int64_t *start, int64_t *len, int64_t *step)
{
	int64_t st, sp;
	if (!index_int(e, s, sl->c, 1, step))
		return false;
	if (*step == 0) {
		diag_error(sl->c->loc, "a slice step cannot be zero");
		return false;
	}
	bool up = *step > 0;
	if (!index_int(e, s, sl->a, up ? 0 : n - 1, &st) || !index_int(e, s, sl->b, up ? n : -1, &sp))
		return false;
	int64_t lo = up ? 0 : -1, hi = up ? n : n - 1;
	if (sl->a && st < 0)
		st += n;
	if (sl->b && sp < 0)
		sp += n;
	st = st < lo ? lo : st > hi ? hi : st;
	sp = sp < lo ? lo : sp > hi ? hi : sp;
	*start = st;
	*len = up ? (st < sp ? (sp - st - 1) / *step + 1 : 0) : (sp < st ? (st - sp - 1) / -*step + 1 : 0);
	return true;
}

static Node *take_range(Elab *e, Node *x, int ax, int64_t start, int64_t len, int64_t step, Loc loc)
{
	Type ty = x->type;
	if (start == 0 && len == ty.dim[ax] && step == 1)
		return x;
	if (step == 1 || len == 1) {
		int64_t attr[2] = {ax, start};
		ty.dim[ax] = len;
		return elab_node(e, OP_SLICE, &x, 1, attr, 2, &ty, loc);
	}
	Type it = {.dtype = TY_I64, .rank = 1, .dim = {len}};
	Node *idx = elab_node(e, OP_ARANGE, NULL, 0, NULL, 0, &it, loc);
	Node *in[2] = {idx, ir_const(e->g, TY_I64, (double)step, loc)};
	idx = elab_node(e, OP_MUL, in, 2, NULL, 0, NULL, loc);
	if (start) {
		in[0] = idx;
		in[1] = ir_const(e->g, TY_I64, (double)start, loc);
		idx = elab_node(e, OP_ADD, in, 2, NULL, 0, NULL, loc);
	}
	in[0] = x;
	in[1] = idx;
	int64_t a = ax;
	return elab_node(e, OP_GATHER, in, 2, &a, 1, NULL, loc);
}

static Value *index_tensor(Elab *e, Scope *s, Ast *x, Node *t)
{
	int nidx = 0, ell = 0, rank = t->type.rank;
	for (int i = 0; i < x->list.n; i++) {
		if (x->list.v[i]->kind == A_ELLIPSIS)
			ell++;
		else
			nidx++;
	}
	if (ell > 1) {
		diag_error(x->loc, "an index can have only one '...'");
		return val_err();
	}
	if (nidx > rank) {
		diag_error(x->loc, "too many indices: %s has %d ax%s, given %d", type_text(e, t->type), rank,
		           rank == 1 ? "is" : "es", nidx);
		return val_err();
	}
	bool drop[MAX_RANK] = {0};
	int cur = 0, ax = 0; /* the axis of the result so far, the axis of the input */
	for (int i = 0; i < x->list.n && t; i++) {
		Ast *ix = x->list.v[i];
		if (ix->kind == A_ELLIPSIS) {
			cur += rank - nidx;
			ax += rank - nidx;
			continue;
		}
		Dim n = t->type.dim[cur];
		char nb[128];
		ir_dim_format(e->prog, n, nb, sizeof nb);
		if (ix->kind == A_SLICE) {
			if (!ix->a && !ix->b && !ix->c) { /* `:` takes the whole axis */
				cur++, ax++;
				continue;
			}
			if (!DIM_IS_CONST(n)) {
				diag_error(ix->loc, "cannot slice axis %d of %s: its size %s is only known at run time", ax,
				           type_text(e, t->type), nb);
				return val_err();
			}
			int64_t start, len, step;
			if (!slice_bounds(e, s, ix, n, &start, &len, &step))
				return val_err();
			if (len == 0) {
				diag_error(ix->loc, "the slice is empty: axis %d of %s has size %lld", ax, type_text(e, t->type), (long long)n);
				return val_err();
			}
			t = take_range(e, t, cur, start, len, step, ix->loc);
			cur++, ax++;
			continue;
		}
		Value *v = elab_expr(e, s, ix);
		if (v->k == V_ERR)
			return v;
		Node *sl = v->k == V_TENSOR ? loop_slice(e, t, cur, v->t, ix->loc) : NULL;
		if (sl) { /* a sequence of the loop being built, sliced at its index */
			t = sl;
			ax++;
			continue;
		}
		if (v->k == V_TENSOR && dtype_is_int(v->t->type.dtype)) {
			Node *in[2] = {t, v->t};
			int64_t a = cur;
			t = elab_node(e, OP_GATHER, in, 2, &a, 1, NULL, ix->loc);
			cur += v->t->type.rank, ax++;
			continue;
		}
		if (v->k != V_INT) {
			diag_error(ix->loc, "a tensor index must be a compile-time int, a slice or an int tensor, found %s", val_describe(e, v));
			return val_err();
		}
		if (!DIM_IS_CONST(n)) {
			diag_error(ix->loc, "cannot index axis %d of %s: its size %s is only known at run time", ax, type_text(e, t->type), nb);
			return val_err();
		}
		int64_t k = v->i < 0 ? v->i + n : v->i;
		if (k < 0 || k >= n) {
			diag_error(ix->loc, "index %lld is out of range for axis %d of %s (size %lld)", (long long)v->i, ax,
			           type_text(e, t->type), (long long)n);
			return val_err();
		}
		t = take_range(e, t, cur, k, 1, 1, ix->loc);
		drop[cur] = true;
		cur++, ax++;
	}
	if (!t)
		return val_err();
	Type r = {.dtype = t->type.dtype};
	bool any = false;
	for (int d = 0; d < t->type.rank; d++) {
		if (d < MAX_RANK && drop[d])
			any = true;
		else
			r.dim[r.rank++] = t->type.dim[d];
	}
	if (any)
		t = elab_node(e, OP_RESHAPE, &t, 1, NULL, 0, &r, x->loc);
	return val_tensor(e, t);
}

/* ---- `for` and `if` as expressions ---- */

/* The yielded values stacked along a new axis 0; tuples are stacked element by element */
static Value *stack_yields(Elab *e, Yield *ys, int n, Loc loc)
{
	Value *first = ys[0].v;
	for (int i = 0; i < n; i++)
		if (ys[i].v->k == V_ERR)
			return val_err();
	if (first->k == V_TUPLE) {
		Value *r = val_new(e, V_TUPLE);
		r->list.v = arena_alloc(e->arena, sizeof(Value *) * (size_t)(first->list.n + 1));
		Yield *col = arena_alloc(e->arena, sizeof(Yield) * (size_t)n);
		for (int j = 0; j < first->list.n; j++) {
			for (int i = 0; i < n; i++) {
				if (ys[i].v->k != V_TUPLE || ys[i].v->list.n != first->list.n) {
					diag_error(ys[i].loc, "every 'yield' of a 'for' must give the same kind of value: %s here, %s first",
					           val_describe(e, ys[i].v), val_describe(e, first));
					diag_note(ys[0].loc, "the first value yielded");
					return val_err();
				}
				col[i] = (Yield){ys[i].v->list.v[j], ys[i].loc};
			}
			if ((r->list.v[r->list.n++] = stack_yields(e, col, n, loc))->k == V_ERR)
				return val_err();
		}
		return r;
	}
	Value *list = val_new(e, V_LIST);
	list->list.v = arena_alloc(e->arena, sizeof(Value *) * (size_t)n);
	Node *t0 = NULL;
	for (int i = 0; i < n; i++) {
		Value *v = ys[i].v;
		DType like = v->k == V_INT ? TY_I64 : TY_F32;
		Node *t = v->k == V_TENSOR || v->k == V_INT || v->k == V_FLOAT || v->k == V_BOOL ? elab_to_tensor(e, v, like, ys[i].loc) : NULL;
		if (!t) {
			diag_error(ys[i].loc, "a 'for' expression stacks tensors; 'yield' gives %s", val_describe(e, v));
			return val_err();
		}
		if (t0 && !ir_type_equal(t->type, t0->type)) {
			diag_error(ys[i].loc, "every 'yield' of a 'for' must give the same type: %s here, %s first",
			           type_text(e, t->type), type_text(e, t0->type));
			diag_note(ys[0].loc, "the first value yielded");
			return val_err();
		}
		t0 = t0 ? t0 : t;
		list->list.v[list->list.n++] = val_tensor(e, t);
	}
	return builtin_call(e, builtin_lookup("stack"), &list, 1, NULL, NULL, 0, loc);
}

/* The first `yield` a statement runs (in its blocks, `if` branches and `for` statements; not in
   nested expressions, which collect their own), or NULL */
static Ast *first_yield(Ast *st)
{
	Ast *y = NULL;
	switch (st ? st->kind : A_KIND_COUNT) {
	case A_YIELD: return st;
	case A_BLOCK:
		for (int i = 0; i < st->list.n && !y; i++)
			y = first_yield(st->list.v[i]);
		return y;
	case A_IF: return (y = first_yield(st->b)) ? y : first_yield(st->c);
	case A_FOR: return first_yield(st->b);
	default: return NULL;
	}
}

/* In a `for` expression's body, an `if` yields in both branches or in neither: an iteration's
   values must not depend on which branch runs. Checked once per loop, before it is unrolled. */
static bool check_yield_branches(Ast *st)
{
	bool ok = true;
	switch (st ? st->kind : A_KIND_COUNT) {
	case A_BLOCK:
		for (int i = 0; i < st->list.n; i++)
			ok &= check_yield_branches(st->list.v[i]);
		return ok;
	case A_FOR: return check_yield_branches(st->b);
	case A_IF: {
		Ast *yb = first_yield(st->b), *yc = first_yield(st->c);
		if (!yb != !yc) {
			if (!st->c)
				diag_error(st->loc, "this 'if' yields but has no 'else': in a 'for' expression both branches of an "
				           "'if' must yield (or neither), so every iteration gives the same values");
			else
				diag_error(yb ? st->c->loc : st->b->loc, "this branch yields nothing but the other branch of the 'if' "
				           "does: in a 'for' expression both branches must yield (or neither)");
			diag_note((yb ? yb : yc)->loc, "the yield is here");
			return false;
		}
		return check_yield_branches(st->b) & check_yield_branches(st->c);
	}
	default: return true;
	}
}

static Value *elab_for_expr(Elab *e, Scope *s, Ast *x)
{
	if (!e->g) {
		diag_error(x->loc, "a 'for' expression computes tensors: it is only allowed inside a function");
		return val_err();
	}
	if (!check_yield_branches(x->b))
		return val_err();
	YieldVec ys = {0};
	Flow fl = {.yields = &ys};
	int errs = diag_error_count();
	Value *r = run_for(e, s, x, &fl, true);
	if (r) { /* compiled as a loop */
		free(ys.v);
		return r;
	}
	r = val_err();
	if (fl.returned)
		diag_error(fl.retloc, "'return' inside a 'for' expression: the loop's value is what it yields");
	else if (ys.n)
		r = stack_yields(e, ys.v, ys.n, x->loc);
	else if (diag_error_count() == errs)
		diag_error(x->loc, "this 'for' expression yields nothing: it needs at least one iteration that runs 'yield'");
	free(ys.v);
	return r;
}

/* The value of a block used as an expression: its statements, then its last expression */
static Value *block_value(Elab *e, Scope *s, Ast *blk)
{
	Flow fl = {0};
	int n = blk->list.n;
	for (int i = 0; i + 1 < n && !fl.returned; i++)
		elab_stmt(e, s, blk->list.v[i], &fl);
	if (fl.returned) {
		diag_error(fl.retloc, "'return' inside an 'if' used as a value; give the value as the branch's last line");
		return val_err();
	}
	Ast *last = n ? blk->list.v[n - 1] : NULL;
	if (last && last->kind == A_EXPRSTMT)
		return elab_expr(e, s, last->a);
	if (last && (last->kind == A_IF || last->kind == A_FOR))
		return elab_expr(e, s, last);
	diag_error(last ? last->loc : blk->loc, "a branch of an 'if' used as a value must end with an expression");
	return val_err();
}

static Value *elab_if_expr(Elab *e, Scope *s, Ast *x)
{
	Value *c = elab_expr(e, s, x->a);
	if (c->k == V_ERR)
		return c;
	if (!x->c) {
		diag_error(x->loc, "an 'if' used as a value needs an 'else'");
		return val_err();
	}
	if (c->k == V_TENSOR && c->t->type.dtype == TY_BOOL && c->t->type.rank == 0)
		return compile_if(e, s, x, c->t, IF_VALUE, NULL);
	if (c->k != V_BOOL) {
		diag_error(x->a->loc, "an 'if' condition must be a compile-time bool or a bool scalar, found %s", val_describe(e, c));
		return val_err();
	}
	Ast *br = c->i ? x->b : x->c;
	return br->kind == A_BLOCK ? block_value(e, scope_new(e, s), br) : elab_expr(e, s, br);
}

/* reverse(0..n) and reverse(list) */
static Value *elab_reverse(Elab *e, Scope *s, Ast *x)
{
	if (x->list.n != 1 || x->list2.n) {
		diag_error(x->loc, "'reverse' takes 1 argument (a range or a list)");
		return val_err();
	}
	Value *v = elab_expr(e, s, x->list.v[0]);
	if (v->k == V_RANGE) {
		Value *r = val_new(e, V_RANGE);
		r->range = v->range;
		r->range.rev = !v->range.rev;
		return r;
	}
	if (v->k == V_LIST || v->k == V_TUPLE) {
		Value *r = val_new(e, v->k);
		r->list.v = arena_alloc(e->arena, sizeof(Value *) * (size_t)(v->list.n + 1));
		for (int i = 0; i < v->list.n; i++)
			r->list.v[i] = v->list.v[v->list.n - 1 - i];
		r->list.n = v->list.n;
		return r;
	}
	if (v->k != V_ERR)
		diag_error(x->list.v[0]->loc, "'reverse' needs a range or a list, found %s", val_describe(e, v));
	return val_err();
}

static Value *elab_index(Elab *e, Scope *s, Ast *x)
{
	Value *b = elab_expr(e, s, x->a);
	if (b->k == V_ERR)
		return b;
	if ((b->k == V_LIST || b->k == V_TUPLE) && x->list.n == 1 && x->list.v[0]->kind != A_SLICE) {
		Value *i = elab_expr(e, s, x->list.v[0]);
		if (i->k == V_ERR)
			return i;
		if (i->k != V_INT) {
			diag_error(x->list.v[0]->loc, "a list index must be a compile-time int, found %s", val_describe(e, i));
			return val_err();
		}
		int64_t k = i->i < 0 ? i->i + b->list.n : i->i;
		if (k < 0 || k >= b->list.n) {
			diag_error(x->list.v[0]->loc, "index %lld is out of range for %s", (long long)i->i, val_describe(e, b));
			return val_err();
		}
		return b->list.v[k];
	}
	if (b->k == V_TENSOR)
		return index_tensor(e, s, x, b->t);
	diag_error(x->a->loc, "%s cannot be indexed", val_describe(e, b));
	return val_err();
}

Value *elab_expr(Elab *e, Scope *s, Ast *x)
{
	switch (x->kind) {
	case A_INT: return val_int(e, x->ival);
	case A_FLOAT: return val_float(e, x->fval);
	case A_BOOL: return val_bool(e, x->ival != 0);
	case A_STR: {
		Value *v = val_new(e, V_STR);
		v->s = x->sval;
		return v;
	}
	case A_IDENT: return elab_ident(e, s, x);
	case A_BINARY: {
		Value *a = elab_expr(e, s, x->a), *b = elab_expr(e, s, x->b);
		return elab_binary(e, x->op, a, b, x->loc);
	}
	case A_UNARY: return elab_unary(e, x->op, elab_expr(e, s, x->a), x->loc);
	case A_CALL: {
		if (x->a->kind == A_IDENT && x->a->name == str_intern("reverse") && !scope_lookup(s, x->a->name))
			return elab_reverse(e, s, x);
		const char *saved_path = next_path; /* arguments do not take the submodule's path */
		next_path = NULL;
		Value *callee = elab_expr(e, s, x->a);
		Value **args = arena_alloc(e->arena, sizeof(Value *) * (size_t)(x->list.n + 1));
		Value **namedv = arena_alloc(e->arena, sizeof(Value *) * (size_t)(x->list2.n + 1));
		Loc *arglocs = arena_alloc(e->arena, sizeof(Loc) * (size_t)(x->list.n + 1));
		for (int i = 0; i < x->list.n; i++) {
			args[i] = elab_expr(e, s, x->list.v[i]);
			arglocs[i] = x->list.v[i]->loc;
		}
		for (int i = 0; i < x->list2.n; i++)
			namedv[i] = elab_expr(e, s, x->list2.v[i]->a);
		next_path = saved_path;
		return elab_call_value(e, callee, args, arglocs, x->list.n, x->list2.v, namedv, x->list2.n, x->loc);
	}
	case A_FIELD_ACCESS: return elab_field(e, s, x);
	case A_INDEX: return elab_index(e, s, x);
	case A_LIST: return elab_list(e, s, x, V_LIST);
	case A_TUPLE: return elab_list(e, s, x, V_TUPLE);
	case A_RANGE: {
		Value *lo = elab_expr(e, s, x->a), *hi = elab_expr(e, s, x->b);
		if (lo->k == V_ERR || hi->k == V_ERR)
			return val_err();
		if (lo->k == V_INT && lo->i >= 0 && hi->k == V_DIM && !DIM_IS_CONST(hi->d)) { /* a run-time trip count */
			Value *v = val_new(e, V_RANGE);
			v->range.lo = lo->i;
			v->range.n = ir_dim_binop(e->prog, DE_SUB, hi->d, lo->i);
			return v;
		}
		if (hi->k == V_DIM && DIM_IS_CONST(hi->d))
			hi = val_int(e, hi->d);
		if (lo->k != V_INT || hi->k != V_INT) {
			diag_error(x->loc, "a range needs compile-time ints, found %s..%s", val_describe(e, lo), val_describe(e, hi));
			return val_err();
		}
		Value *v = val_new(e, V_RANGE);
		v->range.lo = lo->i;
		v->range.hi = hi->i;
		return v;
	}
	case A_LISTCOMP: {
		Value *r = elab_expr(e, s, x->b);
		if (r->k == V_ERR)
			return r;
		if ((r->k != V_RANGE && r->k != V_LIST) || (r->k == V_RANGE && r->range.n < 0)) {
			diag_error(x->b->loc, "a list comprehension needs a compile-time range or a list, found %s", val_describe(e, r));
			return val_err();
		}
		int64_t n = r->k == V_RANGE ? (r->range.hi > r->range.lo ? r->range.hi - r->range.lo : 0) : r->list.n;
		Value *v = val_new(e, V_LIST);
		v->list.v = arena_alloc(e->arena, sizeof(Value *) * (size_t)(n + 1));
		for (int64_t k = 0; k < n; k++) {
			Scope *ls = scope_new(e, s);
			int64_t i = r->range.rev ? r->range.hi - 1 - k : r->range.lo + k;
			scope_bind(e, ls, x->name, r->k == V_RANGE ? val_int(e, i) : r->list.v[k], x->loc);
			v->list.v[v->list.n++] = elab_expr(e, ls, x->a);
		}
		return v;
	}
	case A_FOR: return elab_for_expr(e, s, x);
	case A_IF: return elab_if_expr(e, s, x);
	default: diag_error(x->loc, "expected an expression"); return val_err();
	}
}

/* ---- declarations and imports ---- */

void elab_decls(Elab *e, Ast *prog, Scope *into)
{
	for (int i = 0; i < prog->list.n; i++) {
		Ast *d = prog->list.v[i];
		Binding *old = NULL;
		if (d->name && (d->kind == A_FN || d->kind == A_MODULE || d->kind == A_CONST)) {
			for (int j = 0; j < into->b.n; j++)
				if (into->b.v[j].name == d->name)
					old = &into->b.v[j];
			if (old && old->loc.file == d->loc.file) {
				diag_error(d->loc, "'%s' is already defined", d->name);
				diag_note(old->loc, "the earlier definition is here");
				continue;
			}
		}
		switch (d->kind) {
		case A_IMPORT: elab_import(e, d, into); break;
		case A_CONST: scope_bind(e, into, d->name, elab_expr(e, into, d->a), d->loc); break;
		case A_FN:
		case A_MODULE: {
			Value *v = val_new(e, d->kind == A_FN ? V_FNDEF : V_MODDEF);
			v->def.ast = d;
			v->def.scope = into;
			scope_bind(e, into, d->name, v, d->loc);
			break;
		}
		case A_TRAIN: break; /* recipes are elaborated by lang/recipe.c */
		default: diag_error(d->loc, "expected a declaration (import, const, fn, module or train)");
		}
	}
}

bool elab_import(Elab *e, Ast *imp, Scope *into)
{
	const char *path;
	if (imp->sval) {
		const char *dir = imp->loc.file ? imp->loc.file : "";
		const char *slash = strrchr(dir, '/');
		path = (imp->sval[0] == '/' || !slash) ? imp->sval
		                                     : arena_printf(e->arena, "%.*s/%s", (int)(slash - dir), dir, imp->sval);
	} else {
		if (strncmp(imp->name, "std.", 4) != 0) {
			diag_error(imp->loc, "unknown library '%s': the standard library's modules are named std.NAME", imp->name);
			return false;
		}
		path = arena_printf(e->arena, "%s/%s.nnd", e->stdlib_dir, imp->name + 4);
	}
	path = str_intern(path);
	for (int i = 0; i < e->importing.n; i++)
		if (e->importing.v[i] == path) {
			const char *chain = "";
			for (int k = i; k < e->importing.n; k++)
				chain = arena_printf(e->arena, "%s%s -> ", chain, e->importing.v[k]);
			diag_error(imp->loc, "import cycle: %s%s", chain, path);
			return false;
		}
	/* `import X as nn`: X's declarations go into a scope of their own, bound to nn (elaborated
	   again even if X was imported unqualified, so that nn holds all of them) */
	Scope *target = into;
	if (imp->alias) {
		Binding *old = scope_lookup(into, imp->alias);
		if (old && old->loc.file == imp->loc.file) {
			diag_error(imp->loc, "'%s' is already defined", imp->alias);
			diag_note(old->loc, "the earlier definition is here");
			return false;
		}
		target = scope_new(e, NULL);
		Value *ns = val_new(e, V_NAMESPACE);
		ns->ns.scope = target;
		ns->ns.name = imp->alias;
		scope_bind(e, into, imp->alias, ns, imp->loc);
	} else
		for (int i = 0; i < e->imported.n; i++)
			if (e->imported.v[i].path == path && e->imported.v[i].into == into)
				return true;
	FILE *f = fopen(path, "rb");
	if (!f) {
		if (imp->alias) /* uses of the alias then pass the error on silently */
			scope_bind(e, into, imp->alias, val_err(), imp->loc);
		diag_error(imp->loc, "cannot import '%s': file '%s' not found", imp->name ? imp->name : imp->sval, path);
		return false;
	}
	fclose(f);
	Ast *prog = parse_file(e->arena, path);
	if (!prog)
		return false;
	if (!imp->alias)
		vec_push(&e->imported, ((Imported){path, into}));
	vec_push(&e->importing, path);
	elab_decls(e, prog, target);
	e->importing.n--;
	return true;
}
