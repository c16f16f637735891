/* lang/lang.h: the front end's shared types: the AST (built by parser/, read by lang/),
 * diagnostics, and the elaborator that turns a checked program into the graph IR.
 */
#ifndef NND_LANG_H
#define NND_LANG_H

#include "ir/ir.h"

/* ---- the AST -------------------------------------------------------------------------------
 * One node type; which fields a kind uses is listed beside it. Lists are AstList. Every node has
 * a Loc spanning its source text (start of first token to end of last). Strings are interned.
 */
typedef enum {
	/* top level */
	A_PROGRAM,     /* list: declarations */
	A_IMPORT,      /* name: dotted module name "std.nn" or NULL; sval: file path for `import "x.nnd"`; alias: `as` name or NULL */
	A_CONST,       /* name, a: value */
	A_FN,          /* name, list: A_PARAMDECL, a: return type or NULL, b: body (A_BLOCK, or an expression for `fn f(x) = e`), c: A_GRAD or NULL */
	A_GRAD,        /* list: A_PARAMDECL (inputs then the result's gradient), b: A_BLOCK */
	A_MODULE,      /* name, list: A_PARAMDECL (compile-time parameters), list2: items (A_MPARAM A_MSTATE A_MSUB A_FN A_IF ...) */
	A_PARAMDECL,   /* name, a: type or NULL (generic), b: default value or NULL */
	A_MPARAM,      /* `param name: type = init`: name, a: A_TYPE, b: initialiser or NULL */
	A_MSTATE,      /* `state name: type = init`: as A_MPARAM */
	A_MSUB,        /* `name = expr` in a module (submodule, list of submodules): name, a: expr */
	A_TRAIN,       /* name, list: A_FIELD and A_FN (the `loss`, and other functions) */
	A_FIELD,       /* recipe field `name = expr` or `name PATH = expr` (optimizer/schedule of a parameter group):
	                  name, a: expr, b: PATH expression or NULL, sval: `from "file"` or NULL, ival: 1 if `frozen` */
	/* statements */
	A_BLOCK,       /* list: statements */
	A_LET,         /* a: pattern (A_IDENT, or A_TUPLE of patterns), b: expr */
	A_ASSIGN,      /* a: pattern, b: expr (rebinding) */
	A_UPDATE,      /* `target := expr`: a: target (A_IDENT or A_FIELD), b: expr */
	A_RETURN,      /* a: expr or NULL */
	A_YIELD,       /* a: expr */
	A_METRIC,      /* `metric name = expr`: name, a: expr */
	A_EXPRSTMT,    /* a: expr */
	A_IF,          /* a: condition, b: A_BLOCK, c: else (A_BLOCK, A_IF) or NULL; also a module item and an expression */
	A_FOR,         /* name: loop variable, a: iterable (A_RANGE, call of reverse, a name), b: A_BLOCK; a statement, or an expression when its body yields */
	/* expressions */
	A_INT,         /* ival */
	A_FLOAT,       /* fval */
	A_STR,         /* sval (escapes decoded) */
	A_BOOL,        /* ival: 0 or 1 */
	A_IDENT,       /* name */
	A_BINARY,      /* op: AOP_*, a, b */
	A_UNARY,       /* op: AOP_NEG or AOP_NOT, a */
	A_CALL,        /* a: callee, list: positional args, list2: A_NAMEDARG */
	A_NAMEDARG,    /* name, a: value */
	A_INDEX,       /* a: base, list: indices (exprs, A_SLICE, A_ELLIPSIS) */
	A_SLICE,       /* a: start or NULL, b: stop or NULL, c: step or NULL */
	A_ELLIPSIS,    /* `...` in an index or a tensor type */
	A_FIELD_ACCESS,/* a: base, name (`x.T` is a field access named "T"; the checker decides) */
	A_LIST,        /* list: elements `[a, b]` */
	A_LISTCOMP,    /* `[a for name in b]`: a: element, name, b: iterable */
	A_TUPLE,       /* list: elements `(a, b)`; also a tuple pattern */
	A_RANGE,       /* `a..b`: a, b */
	/* types */
	A_TYPE,        /* name: element type ("f32") or "int" "float" "bool" "str"; list: dims (exprs, A_ELLIPSIS); ival: 1 if written with brackets */
	A_TUPLE_TYPE,  /* list: types */
	A_KIND_COUNT
} AstKind;

typedef enum {
	AOP_ADD, AOP_SUB, AOP_MUL, AOP_DIV, AOP_MOD, AOP_MATMUL, AOP_POW,
	AOP_EQ, AOP_NE, AOP_LT, AOP_LE, AOP_GT, AOP_GE, AOP_AND, AOP_OR,
	AOP_NEG, AOP_NOT, AOP_COUNT
} AstOp;
extern const char *const aop_text[AOP_COUNT]; /* "+", "-", ... "not" */

typedef struct Ast Ast;
typedef VEC(Ast *) AstList;

struct Ast {
	AstKind kind;
	Loc loc;
	const char *name;
	const char *alias;
	const char *sval;
	int64_t ival;
	double fval;
	AstOp op;
	Ast *a, *b, *c;
	AstList list, list2;
};

/* lang/ast.c */
extern const char *const ast_kind_name[A_KIND_COUNT];
Ast *ast_new(Arena *a, AstKind k, Loc loc);
void ast_dump(FILE *f, const Ast *n, int indent); /* S-expression-like, for tests and debugging */

/* ---- lang/diag.c: diagnostics ---------------------------------------------------------------
 * Recorded as they are found and rendered clang-style:
 *   file:line:col: error: message
 *      12 |   y = x @ w2
 *         |       ^~~~~~
 *   file:line:col: note: ...
 * Sources are registered so the renderer can quote the line.
 */
typedef enum { DIAG_ERROR, DIAG_WARNING, DIAG_NOTE } DiagLevel;

void diag_source_add(const char *file, const char *text, size_t len); /* file interned */
const char *diag_source_text(const char *file, size_t *len);           /* NULL if not registered */
void diag_error(Loc loc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void diag_warning(Loc loc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void diag_note(Loc loc, const char *fmt, ...) __attribute__((format(printf, 2, 3))); /* attaches to the last error/warning */
int diag_error_count(void);
void diag_flush(FILE *f);   /* render everything recorded so far, in order, then forget it */
void diag_reset(void);
extern bool diag_color;     /* ANSI colours (set when stderr is a terminal) */

/* ---- parser/ (parse.c): the front end's entry point ----------------------------------------- */

/* Parses a whole file. Syntax errors are reported through diag_*; the result is NULL when the
   file could not be read (also reported) and otherwise a (possibly partial) A_PROGRAM. */
Ast *parse_file(Arena *a, const char *path);
Ast *parse_string(Arena *a, const char *name, const char *text, size_t len);

/* ---- lang/elab.c, lang/builtins.c, lang/recipe.c: elaboration --------------------------------
 * Elaboration checks and runs a program's declarations at compile time: it instantiates modules
 * (declaring their parameters under path names), inlines functions and method calls, binds size
 * variables by unification, and records every tensor operation as an IR node with its type. Shape
 * and type errors are found here and reported at the source location of the expression.
 */
typedef enum {
	V_ERR,     /* an error was already reported: propagates silently */
	V_NONE, V_INT, V_FLOAT, V_BOOL, V_STR,
	V_DIM,     /* a symbolic size (run-time size variable or expression of them) */
	V_TENSOR,  /* an IR node of the graph being built */
	V_TUPLE, V_LIST, V_RANGE,
	V_PARAMREF,/* a module's `param`/`state`: index into Prog.params */
	V_INST,    /* an instantiated module */
	V_MODDEF,  /* a module definition (calling it instantiates) */
	V_FNDEF,   /* a function definition, with the scope it closes over */
	V_METHOD,  /* a module instance's method bound to it */
	V_BUILTIN, /* a built-in function: index into the builtin table */
	V_INIT,    /* an initialiser call's result, for `param` declarations */
	V_SOURCE,  /* a data source, for recipe fields */
	V_NAMESPACE, /* `import std.nn as nn`: the file's declarations, reached as nn.Linear */
} VKind;

typedef struct Value Value;
typedef struct Scope Scope;
typedef struct Inst Inst;

struct Value {
	VKind k;
	union {
		int64_t i;        /* V_INT V_BOOL V_PARAMREF V_BUILTIN */
		double f;         /* V_FLOAT */
		const char *s;    /* V_STR */
		Dim d;            /* V_DIM */
		Node *t;          /* V_TENSOR */
		struct { Value **v; int n; } list; /* V_TUPLE V_LIST */
		struct { int64_t lo, hi; bool rev; Dim n; } range; /* n < 0: a run-time trip count (hi unused) */
		Inst *inst;       /* V_INST V_METHOD */
		struct { Ast *ast; Scope *scope; } def; /* V_MODDEF V_FNDEF */
		struct { InitKind kind; double args[4]; } init;
		DataSource *src;
		struct { Scope *scope; const char *name; } ns; /* V_NAMESPACE */
	};
	Ast *method;              /* V_METHOD: the method's declaration */
};

struct Inst {
	Ast *def;           /* the A_MODULE */
	const char *path;   /* "" for the recipe's model, "blocks.3." ... (ends with '.') */
	Scope *scope;       /* compile-time parameters (the first nargs bindings), then members and methods */
	int nargs;
	bool frozen;        /* a frozen model of the recipe or a part of one: its methods run with
	                       `training` false */
};

typedef struct Binding {
	const char *name;
	Value *v;
	Loc loc;            /* where it was bound (for notes) */
} Binding;

struct Scope {
	Scope *parent;
	VEC(Binding) b;
};

/* a file imported unqualified, into that scope (a file imported `as` a name gets a scope of its own) */
typedef struct {
	const char *path;
	Scope *into;
} Imported;

typedef struct Elab {
	Arena *arena;
	Prog *prog;
	Graph *g;           /* the graph being built, NULL while instantiating */
	bool training;
	Node **param_node;  /* per graph: PARAM node of each param, created on first use */
	int nparam_node;
	Scope *globals;
	const char *stdlib_dir;
	Inst *capture_inst; /* predict graph: the model whose first forward result is recorded */
	Value *captured;
	int depth;          /* call depth, to stop runaway recursion */
	bool in_loss;       /* elaborating a recipe's loss: `metric` allowed */
	struct ElabLoop *loop; /* lang/elab.c: the loop whose body is being built (innermost), or NULL */
	struct ElabLoop *rand_loop; /* the same, but kept inside run-time ifs and grad blocks (random ops read it) */
	const char *in_region; /* "a run-time 'if'", "a grad block": building such a region (no `:=`, no `metric`) */
	VEC(Binding) metrics; /* the loss's metrics, in order */
	VEC(Imported) imported; /* files already imported, and the scopes they went into */
	VEC(const char *) importing; /* the import chain, for cycles */
} Elab;

/* lang/elab.c */
Value *val_new(Elab *e, VKind k);
Value *val_err(void);
Value *val_int(Elab *e, int64_t i);
Value *val_float(Elab *e, double f);
Value *val_bool(Elab *e, bool b);
Value *val_tensor(Elab *e, Node *n);
const char *val_describe(Elab *e, const Value *v); /* "f32[B, 10]", "int 3", "module Linear" ... */
Scope *scope_new(Elab *e, Scope *parent);
void scope_bind(Elab *e, Scope *s, const char *name, Value *v, Loc loc);
Binding *scope_lookup(Scope *s, const char *name);
Value *elab_expr(Elab *e, Scope *s, Ast *x);
Value *elab_call_fn(Elab *e, Ast *fn, Scope *closure, Inst *self, Value **args, const Loc *arglocs, int nargs,
                    Ast **named, Value **namedv, int nnamed, Loc loc);
Value *elab_fn_body(Elab *e, Ast *fn, Scope *s, const char *fname);
Value *elab_call_value(Elab *e, Value *callee, Value **args, const Loc *arglocs, int nargs, Ast **named, Value **namedv,
                       int nnamed, Loc loc);
bool elab_dim_of(Elab *e, Value *v, Dim *out, Loc loc); /* int or dim value -> Dim, else error */
Node *elab_to_tensor(Elab *e, Value *v, DType like, Loc loc); /* scalars become CONST nodes */
Type elab_type(Elab *e, Scope *s, Ast *ty, bool bind_syms, bool runtime_syms, Loc argloc, const Type *actual, bool *ok);
Node *elab_param_node(Elab *e, int index, Loc loc);
bool elab_import(Elab *e, Ast *imp, Scope *into);
void elab_decls(Elab *e, Ast *prog, Scope *into);

/* lang/builtins.c */
int builtin_lookup(const char *name);   /* -1 if not a builtin */
Value *builtin_call(Elab *e, int id, Value **args, int nargs, Ast **named, Value **namedv, int nnamed, Loc loc);
Value *elab_binary(Elab *e, AstOp op, Value *a, Value *b, Loc loc);
Value *elab_unary(Elab *e, AstOp op, Value *a, Loc loc);
Node *elab_node(Elab *e, Op op, Node **in, int nin, const int64_t *attr, int nattr, const Type *given, Loc loc);
Node *elab_cast(Elab *e, Node *n, DType t, Loc loc);
Node *elab_random_step(Elab *e, Node *step, Loc loc); /* lang/elab.c: a random op's step input */

/* lang/recipe.c: the whole program -> Prog with graphs loss, step, eval, predict */
typedef struct ElabOptions {
	const char *stdlib_dir;   /* where `import std.x` finds x.nnd */
	const char *train;        /* the recipe to build (NULL: the only one) */
} ElabOptions;
Prog *sema_program(Arena *a, Ast *prog, const ElabOptions *o); /* NULL after errors (reported) */

#endif
