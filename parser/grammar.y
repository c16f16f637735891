/* parser/grammar.y: the grammar of .nnd files (LANGUAGE.md), as a pure Bison LALR(1) parser.
 * Actions only build AST nodes (lang/lang.h lists the fields each kind uses); checking happens in
 * lang/. Statements end at NL (the lexer inserts it by Go's rule, see parser/README.md) or ';'.
 * Syntax errors are reported by yyreport_syntax_error at the bottom of this file. Recovery:
 * `x: error` skips a bad declaration, module item, recipe field or statement up to the next
 * newline, ';' or '}'.
 */
%define api.pure full
%define api.token.prefix {TK_}
%define api.location.type {Loc}
%define parse.error custom
%define parse.lac full
%locations
%param {Parser *p}
%expect 0

%code requires {
#include "parser/parser_impl.h"
}

%code provides {
int yylex(YYSTYPE *lval, Loc *loc, Parser *p);
}

%code {
#include <string.h>

#define YYLLOC_DEFAULT(Cur, Rhs, N)                                                          \
	do {                                                                                 \
		if (N) {                                                                     \
			(Cur) = YYRHSLOC(Rhs, 1);                                            \
			(Cur).end_line = YYRHSLOC(Rhs, N).end_line;                          \
			(Cur).end_col = YYRHSLOC(Rhs, N).end_col;                            \
		} else {                                                                     \
			(Cur).file = YYRHSLOC(Rhs, 0).file;                                  \
			(Cur).line = (Cur).end_line = YYRHSLOC(Rhs, 0).end_line;             \
			(Cur).col = (Cur).end_col = YYRHSLOC(Rhs, 0).end_col;                \
		}                                                                            \
	} while (0)

static void yyerror(Loc *loc, Parser *p, const char *msg);
static Ast *mk(Parser *p, AstKind k, Loc loc) { return ast_new(p->arena, k, loc); }
static Ast *mk_bin(Parser *p, AstOp op, Ast *a, Ast *b, Loc loc);
static Ast *mk_name(Parser *p, AstKind k, const char *name, Loc loc);
static Ast *mk_fn(Parser *p, const char *name, AstList params, Ast *ret, Ast *body, Loc loc);
static Ast *mk_assign(Parser *p, AstKind k, Ast *lhs, Ast *rhs, Loc loc);
static Ast *mk_field(Parser *p, const char *name, Ast *value, Ast *path, Loc loc);
static void push(AstList *l, Ast *n) { if (n) vec_push(l, n); }
static void expect_word(Parser *p, const char *got, const char *want, Loc loc, const char *ctx);
}

%union {
	Ast *ast;
	const char *str;
	int64_t i;
	double f;
	AstList list;
}

/* lists dropped while recovering from a syntax error */
%destructor { free($$.v); } <list>

%token END 0 "end of file"
%token <str> IDENT "identifier"
%token <i> INT "integer"
%token <f> FLOAT "number"
%token <str> STRING "string"
%token NL "newline"
%token SEMI "';'"
%token IMPORT "'import'" AS "'as'" CONST "'const'" FN "'fn'" MODULE "'module'" PARAM "'param'"
%token STATE "'state'" FORWARD "'forward'" LET "'let'" RETURN "'return'" FOR "'for'" IN "'in'"
%token IF "'if'" ELSE "'else'" YIELD "'yield'" METRIC "'metric'" TRAIN "'train'" TRUE "'true'"
%token FALSE "'false'" AND "'and'" OR "'or'" NOT "'not'" REVERSE "'reverse'"
%token PLUS "'+'" MINUS "'-'" STAR "'*'" SLASH "'/'" PERCENT "'%'" AT "'@'" POW "'**'"
%token EQ "'=='" NE "'!='" LT "'<'" LE "'<='" GT "'>'" GE "'>='" ASSIGN "'='" DEFINE "':='"
%token ARROW "'->'" DOT "'.'" DOTDOT "'..'" ELLIPSIS "'...'" COMMA "','" COLON "':'"
%token LPAREN "'('" RPAREN "')'" LBRACK "'['" RBRACK "']'" LBRACE "'{'" RBRACE "'}'"

%left OR
%left AND
%precedence NOT
%left EQ NE LT LE GT GE
%nonassoc DOTDOT
%left PLUS MINUS
%left STAR SLASH PERCENT AT
%precedence UMINUS
%right POW

%type <str> name dotted
%type <ast> decl import const fn fn_body module train item mif melse titem stmt pattern
%type <ast> expr bexpr postfix primary for_expr if_expr else_part block args arglist arg
%type <ast> index oexpr type dim pdecl opt_ret opt_init path
%type <list> items items_a items_b titems titems_a titems_b stmts stmts_a stmts_b params plist mparams
%type <list> patterns exprs indices dims types

%initial-action { @$ = (Loc){p->file, 1, 1, 1, 0}; }

%%

/* Every sequence (declarations, module items, recipe fields, statements) is written as two
   nonterminals: X_a ends with a terminator or is empty (an X may follow), X_b ends with an X (only
   a terminator or the closing '}' may follow). The `X_b error` rules keep what was parsed when an
   error comes right after a complete X. */
program: decls_a | decls_b ;
decls_a: %empty | decls_a term | decls_b term ;
decls_b: decls_a decl     { push(&p->program->list, $2); }
       | decls_b error
       ;
term: NL | SEMI ;
opt_comma: %empty | COMMA ;

decl: import | const | fn | module | train
    | error               { $$ = NULL; }
    ;

/* import std.nn [as nn] | import "file.nnd" [as b] */
import: IMPORT dotted             { $$ = mk_name(p, A_IMPORT, $2, @$); }
      | IMPORT dotted AS name     { $$ = mk_name(p, A_IMPORT, $2, @$); $$->alias = $4; }
      | IMPORT STRING             { $$ = mk(p, A_IMPORT, @$); $$->sval = $2; }
      | IMPORT STRING AS name     { $$ = mk(p, A_IMPORT, @$); $$->sval = $2; $$->alias = $4; }
      ;
dotted: name                      { $$ = $1; }
      | dotted DOT name           { $$ = str_intern(arena_printf(p->arena, "%s.%s", $1, $3)); }
      ;
name: IDENT                       { $$ = $1; }
    | IN                          { $$ = str_intern("in"); }
    ;

const: CONST name ASSIGN expr     { $$ = mk_name(p, A_CONST, $2, @$); $$->a = $4; }
     ;

/* fn name(params) [-> type] { body } [grad(params) { body }] | fn name(params) [-> type] = expr */
fn: FN name LPAREN params RPAREN opt_ret fn_body  { $$ = mk_fn(p, $2, $4, $6, $7, @$); }
  ;
fn_body: block                    { $$ = mk(p, A_FN, @$); $$->b = $1; }
       | block IDENT LPAREN params RPAREN block {
		expect_word(p, $2, "grad", @2, "after a function body");
		$$ = mk(p, A_FN, @$); $$->b = $1;
		Ast *g = mk(p, A_GRAD, (Loc){@2.file, @2.line, @2.col, @6.end_line, @6.end_col});
		g->list = $4; g->b = $6; $$->c = g;
	}
       | ASSIGN expr              { $$ = mk(p, A_FN, @$); $$->b = $2; }
       ;
opt_ret: %empty                   { $$ = NULL; }
       | ARROW type               { $$ = $2; }
       ;
params: %empty                    { $$ = (AstList){0}; }
      | plist opt_comma           { $$ = $1; }
      ;
plist: pdecl                      { $$ = (AstList){0}; push(&$$, $1); }
     | plist COMMA pdecl          { $$ = $1; push(&$$, $3); }
     ;
/* name | name: type | name = default | name: type = default */
pdecl: name                       { $$ = mk_name(p, A_PARAMDECL, $1, @$); }
     | name COLON type            { $$ = mk_name(p, A_PARAMDECL, $1, @$); $$->a = $3; }
     | name ASSIGN expr           { $$ = mk_name(p, A_PARAMDECL, $1, @$); $$->b = $3; }
     | name COLON type ASSIGN expr { $$ = mk_name(p, A_PARAMDECL, $1, @$); $$->a = $3; $$->b = $5; }
     ;

/* f32 | f32[] | f32[B, 784] | f32[..., C] | int | (type, type) */
type: IDENT                       { $$ = mk_name(p, A_TYPE, $1, @$); }
    | IDENT LBRACK RBRACK         { $$ = mk_name(p, A_TYPE, $1, @$); $$->ival = 1; }
    | IDENT LBRACK dims opt_comma RBRACK { $$ = mk_name(p, A_TYPE, $1, @$); $$->ival = 1; $$->list = $3; }
    | LPAREN type RPAREN          { $$ = $2; }
    | LPAREN type COMMA types opt_comma RPAREN {
		$$ = mk(p, A_TUPLE_TYPE, @$); push(&$$->list, $2);
		for (int i = 0; i < $4.n; i++) push(&$$->list, $4.v[i]);
		free($4.v);
	}
    ;
types: type                       { $$ = (AstList){0}; push(&$$, $1); }
     | types COMMA type           { $$ = $1; push(&$$, $3); }
     ;
dims: dim                         { $$ = (AstList){0}; push(&$$, $1); }
    | dims COMMA dim              { $$ = $1; push(&$$, $3); }
    ;
dim: bexpr                        { $$ = $1; }
   | ELLIPSIS                     { $$ = mk(p, A_ELLIPSIS, @$); }
   ;

/* module Name(params) { items } */
module: MODULE IDENT mparams LBRACE items RBRACE {
		$$ = mk_name(p, A_MODULE, $2, @$); $$->list = $3; $$->list2 = $5;
	}
      ;
mparams: %empty                   { $$ = (AstList){0}; }
       | LPAREN params RPAREN     { $$ = $2; }
       ;
items: items_a | items_b ;
items_a: %empty                   { $$ = (AstList){0}; }
       | items_a term             { $$ = $1; }
       | items_b term             { $$ = $1; }
       ;
items_b: items_a item             { $$ = $1; push(&$$, $2); }
       | items_b error            { $$ = $1; }
       ;
item: PARAM name COLON type opt_init { $$ = mk_name(p, A_MPARAM, $2, @$); $$->a = $4; $$->b = $5; }
    | STATE name COLON type opt_init { $$ = mk_name(p, A_MSTATE, $2, @$); $$->a = $4; $$->b = $5; }
    | name ASSIGN expr            { $$ = mk_name(p, A_MSUB, $1, @$); $$->a = $3; }
    | FORWARD LPAREN params RPAREN opt_ret fn_body { $$ = mk_fn(p, str_intern("forward"), $3, $5, $6, @$); }
    | fn                          { $$ = $1; }
    | const                       { $$ = $1; }
    | mif                         { $$ = $1; }
    | error                       { $$ = NULL; }
    ;
opt_init: %empty                  { $$ = NULL; }
        | ASSIGN expr             { $$ = $2; }
        ;
/* compile-time `if` around module items */
mif: IF bexpr LBRACE items RBRACE melse {
		$$ = mk(p, A_IF, @$); $$->a = $2; $$->c = $6;
		$$->b = mk(p, A_BLOCK, (Loc){@3.file, @3.line, @3.col, @5.end_line, @5.end_col}); $$->b->list = $4;
	}
   ;
melse: %empty                     { $$ = NULL; }
     | ELSE LBRACE items RBRACE   { $$ = mk(p, A_BLOCK, (Loc){@2.file, @2.line, @2.col, @4.end_line, @4.end_col}); $$->list = $3; }
     | ELSE mif                   { $$ = $2; }
     ;

/* train name { fields and functions } */
train: TRAIN name LBRACE titems RBRACE { $$ = mk_name(p, A_TRAIN, $2, @$); $$->list = $4; }
     ;
titems: titems_a | titems_b ;
titems_a: %empty                  { $$ = (AstList){0}; }
        | titems_a term           { $$ = $1; }
        | titems_b term           { $$ = $1; }
        ;
titems_b: titems_a titem          { $$ = $1; push(&$$, $2); }
        | titems_b error          { $$ = $1; }
        ;
/* name = expr [from "file"] [frozen] | name PATH = expr | loss(params) -> type { } | fn ... */
titem: name ASSIGN expr           { $$ = mk_field(p, $1, $3, NULL, @$); }
     | name ASSIGN expr IDENT     {
		$$ = mk_field(p, $1, $3, NULL, @$);
		expect_word(p, $4, "frozen", @4, "after a recipe field's value");
		$$->ival = 1;
	}
     | name ASSIGN expr IDENT STRING {
		$$ = mk_field(p, $1, $3, NULL, @$);
		expect_word(p, $4, "from", @4, "after a recipe field's value");
		$$->sval = $5;
	}
     | name ASSIGN expr IDENT STRING IDENT {
		$$ = mk_field(p, $1, $3, NULL, @$);
		expect_word(p, $4, "from", @4, "after a recipe field's value");
		expect_word(p, $6, "frozen", @6, "after 'from \"file\"'");
		$$->sval = $5; $$->ival = 1;
	}
     | name path ASSIGN expr      { $$ = mk_field(p, $1, $4, $2, @$); }
     | name LPAREN params RPAREN opt_ret fn_body { $$ = mk_fn(p, $1, $3, $5, $6, @$); }
     | fn                         { $$ = $1; }
     | error                      { $$ = NULL; }
     ;
path: name                        { $$ = mk_name(p, A_IDENT, $1, @$); }
    | path DOT name               { $$ = mk_name(p, A_FIELD_ACCESS, $3, @$); $$->a = $1; }
    ;

/* ---- statements ---- */
block: LBRACE stmts RBRACE        { $$ = mk(p, A_BLOCK, @$); $$->list = $2; }
     ;
stmts: stmts_a | stmts_b ;
stmts_a: %empty                   { $$ = (AstList){0}; }
       | stmts_a term             { $$ = $1; }
       | stmts_b term             { $$ = $1; }
       ;
stmts_b: stmts_a stmt             { $$ = $1; push(&$$, $2); }
       | stmts_b error            { $$ = $1; }
       ;
stmt: LET pattern ASSIGN expr     { $$ = mk(p, A_LET, @$); $$->a = $2; $$->b = $4; }
    | expr ASSIGN expr            { $$ = mk_assign(p, A_ASSIGN, $1, $3, @$); }
    | expr DEFINE expr            { $$ = mk_assign(p, A_UPDATE, $1, $3, @$); }
    | RETURN                      { $$ = mk(p, A_RETURN, @$); }
    | RETURN expr                 { $$ = mk(p, A_RETURN, @$); $$->a = $2; }
    | YIELD expr                  { $$ = mk(p, A_YIELD, @$); $$->a = $2; }
    | METRIC name ASSIGN expr     { $$ = mk_name(p, A_METRIC, $2, @$); $$->a = $4; }
    | expr {
		if ($1->kind == A_IF || $1->kind == A_FOR) {
			$$ = $1;
		} else {
			$$ = mk(p, A_EXPRSTMT, @$); $$->a = $1;
		}
	}
    | error                       { $$ = NULL; }
    ;
pattern: name                     { $$ = mk_name(p, A_IDENT, $1, @$); }
       | LPAREN patterns opt_comma RPAREN { $$ = mk(p, A_TUPLE, @$); $$->list = $2; }
       ;
patterns: pattern                 { $$ = (AstList){0}; push(&$$, $1); }
        | patterns COMMA pattern  { $$ = $1; push(&$$, $3); }
        ;

/* ---- expressions ---- */
expr: bexpr                       { $$ = $1; }
    | for_expr                    { $$ = $1; }
    | if_expr                     { $$ = $1; }
    ;
for_expr: FOR name IN bexpr block { $$ = mk_name(p, A_FOR, $2, @$); $$->a = $4; $$->b = $5; }
        ;
if_expr: IF bexpr block else_part { $$ = mk(p, A_IF, @$); $$->a = $2; $$->b = $3; $$->c = $4; }
       ;
else_part: %empty                 { $$ = NULL; }
         | ELSE block             { $$ = $2; }
         | ELSE if_expr           { $$ = $2; }
         ;
bexpr: bexpr OR bexpr             { $$ = mk_bin(p, AOP_OR, $1, $3, @$); }
     | bexpr AND bexpr            { $$ = mk_bin(p, AOP_AND, $1, $3, @$); }
     | NOT bexpr                  { $$ = mk(p, A_UNARY, @$); $$->op = AOP_NOT; $$->a = $2; }
     | bexpr EQ bexpr             { $$ = mk_bin(p, AOP_EQ, $1, $3, @$); }
     | bexpr NE bexpr             { $$ = mk_bin(p, AOP_NE, $1, $3, @$); }
     | bexpr LT bexpr             { $$ = mk_bin(p, AOP_LT, $1, $3, @$); }
     | bexpr LE bexpr             { $$ = mk_bin(p, AOP_LE, $1, $3, @$); }
     | bexpr GT bexpr             { $$ = mk_bin(p, AOP_GT, $1, $3, @$); }
     | bexpr GE bexpr             { $$ = mk_bin(p, AOP_GE, $1, $3, @$); }
     | bexpr DOTDOT bexpr         { $$ = mk(p, A_RANGE, @$); $$->a = $1; $$->b = $3; }
     | bexpr PLUS bexpr           { $$ = mk_bin(p, AOP_ADD, $1, $3, @$); }
     | bexpr MINUS bexpr          { $$ = mk_bin(p, AOP_SUB, $1, $3, @$); }
     | bexpr STAR bexpr           { $$ = mk_bin(p, AOP_MUL, $1, $3, @$); }
     | bexpr SLASH bexpr          { $$ = mk_bin(p, AOP_DIV, $1, $3, @$); }
     | bexpr PERCENT bexpr        { $$ = mk_bin(p, AOP_MOD, $1, $3, @$); }
     | bexpr AT bexpr             { $$ = mk_bin(p, AOP_MATMUL, $1, $3, @$); }
     | MINUS bexpr %prec UMINUS   { $$ = mk(p, A_UNARY, @$); $$->op = AOP_NEG; $$->a = $2; }
     | bexpr POW bexpr            { $$ = mk_bin(p, AOP_POW, $1, $3, @$); }
     | postfix                    { $$ = $1; }
     ;
postfix: primary                  { $$ = $1; }
       | postfix LPAREN args RPAREN { $$ = $3; $$->loc = @$; $$->a = $1; }
       | postfix LBRACK indices opt_comma RBRACK { $$ = mk(p, A_INDEX, @$); $$->a = $1; $$->list = $3; }
       | postfix DOT name         { $$ = mk_name(p, A_FIELD_ACCESS, $3, @$); $$->a = $1; }
       | postfix DOT FORWARD      { $$ = mk_name(p, A_FIELD_ACCESS, str_intern("forward"), @$); $$->a = $1; }
       ;
primary: name                     { $$ = mk_name(p, A_IDENT, $1, @$); }
       | INT                      { $$ = mk(p, A_INT, @$); $$->ival = $1; }
       | FLOAT                    { $$ = mk(p, A_FLOAT, @$); $$->fval = $1; }
       | STRING                   { $$ = mk(p, A_STR, @$); $$->sval = $1; }
       | TRUE                     { $$ = mk(p, A_BOOL, @$); $$->ival = 1; }
       | FALSE                    { $$ = mk(p, A_BOOL, @$); $$->ival = 0; }
       | LPAREN expr RPAREN       { $$ = $2; }
       | LPAREN expr COMMA RPAREN { $$ = mk(p, A_TUPLE, @$); push(&$$->list, $2); }
       | LPAREN expr COMMA exprs opt_comma RPAREN {
		$$ = mk(p, A_TUPLE, @$); push(&$$->list, $2);
		for (int i = 0; i < $4.n; i++) push(&$$->list, $4.v[i]);
		free($4.v);
	}
       | LBRACK RBRACK            { $$ = mk(p, A_LIST, @$); }
       | LBRACK exprs opt_comma RBRACK { $$ = mk(p, A_LIST, @$); $$->list = $2; }
       | LBRACK expr FOR name IN bexpr RBRACK { $$ = mk_name(p, A_LISTCOMP, $4, @$); $$->a = $2; $$->b = $6; }
       | REVERSE LPAREN expr RPAREN {
		$$ = mk(p, A_CALL, @$); $$->a = mk_name(p, A_IDENT, str_intern("reverse"), @1);
		push(&$$->list, $3);
	}
       ;
exprs: expr                       { $$ = (AstList){0}; push(&$$, $1); }
     | exprs COMMA expr           { $$ = $1; push(&$$, $3); }
     ;
/* positional arguments, then named ones: f(a, b, axis: 1) */
args: %empty                      { $$ = mk(p, A_CALL, @$); }
    | arglist opt_comma           { $$ = $1; }
    ;
arglist: arg {
		$$ = mk(p, A_CALL, @$);
		push($1->kind == A_NAMEDARG ? &$$->list2 : &$$->list, $1);
	}
       | arglist COMMA arg {
		$$ = $1;
		if ($3->kind == A_NAMEDARG)
			push(&$$->list2, $3);
		else if ($$->list2.n)
			diag_error($3->loc, "positional argument after a named argument");
		else
			push(&$$->list, $3);
	}
       ;
arg: expr                         { $$ = $1; }
   | name COLON expr              { $$ = mk_name(p, A_NAMEDARG, $1, @$); $$->a = $3; }
   ;
indices: index                    { $$ = (AstList){0}; push(&$$, $1); }
       | indices COMMA index      { $$ = $1; push(&$$, $3); }
       ;
/* x[i] x[a:b] x[a:b:s] x[..., i] */
index: expr                       { $$ = $1; }
     | ELLIPSIS                   { $$ = mk(p, A_ELLIPSIS, @$); }
     | oexpr COLON oexpr          { $$ = mk(p, A_SLICE, @$); $$->a = $1; $$->b = $3; }
     | oexpr COLON oexpr COLON oexpr { $$ = mk(p, A_SLICE, @$); $$->a = $1; $$->b = $3; $$->c = $5; }
     ;
oexpr: %empty                     { $$ = NULL; }
     | expr                       { $$ = $1; }
     ;

%%

static void yyerror(Loc *loc, Parser *p, const char *msg)
{
	diag_error(*loc, "%s", msg);
}

static Ast *mk_bin(Parser *p, AstOp op, Ast *a, Ast *b, Loc loc)
{
	Ast *n = mk(p, A_BINARY, loc);
	n->op = op;
	n->a = a;
	n->b = b;
	return n;
}

static Ast *mk_name(Parser *p, AstKind k, const char *name, Loc loc)
{
	Ast *n = mk(p, k, loc);
	n->name = name;
	return n;
}

/* body is the A_FN built by fn_body (b: body, c: grad) */
static Ast *mk_fn(Parser *p, const char *name, AstList params, Ast *ret, Ast *body, Loc loc)
{
	body->loc = loc;
	body->name = name;
	body->list = params;
	body->a = ret;
	return body;
}

static bool is_pattern(const Ast *e)
{
	if (e->kind == A_IDENT)
		return true;
	if (e->kind != A_TUPLE)
		return false;
	for (int i = 0; i < e->list.n; i++)
		if (!is_pattern(e->list.v[i]))
			return false;
	return true;
}

static bool is_path(const Ast *e)
{
	while (e->kind == A_FIELD_ACCESS)
		e = e->a;
	return e->kind == A_IDENT;
}

/* expr = expr (rebinding a name or a tuple of names) | expr := expr (updating state) */
static Ast *mk_assign(Parser *p, AstKind k, Ast *lhs, Ast *rhs, Loc loc)
{
	if (k == A_ASSIGN && !is_pattern(lhs)) {
		if (lhs->kind == A_FIELD_ACCESS)
			diag_error(lhs->loc, "cannot assign to a field; state tensors are updated with ':='");
		else
			diag_error(lhs->loc, "cannot assign to this expression; expected a name or a tuple of names");
	}
	if (k == A_UPDATE && !is_path(lhs))
		diag_error(lhs->loc, "':=' updates a state tensor; expected a name or a field such as 'bn.running_mean'");
	Ast *n = mk(p, k, loc);
	n->a = lhs;
	n->b = rhs;
	return n;
}

static Ast *mk_field(Parser *p, const char *name, Ast *value, Ast *path, Loc loc)
{
	Ast *n = mk_name(p, A_FIELD, name, loc);
	n->a = value;
	n->b = path;
	return n;
}

static void expect_word(Parser *p, const char *got, const char *want, Loc loc, const char *ctx)
{
	if (strcmp(got, want) != 0)
		diag_error(loc, "expected '%s' or newline %s, found identifier '%s'", want, ctx, got);
}

/* ---- syntax errors: "expected X, found Y" ---- */

static bool closes(yysymbol_kind_t k)
{
	return k == YYSYMBOL_RPAREN || k == YYSYMBOL_RBRACK || k == YYSYMBOL_RBRACE;
}

/* Tokens that only continue an expression: left out of "expected" lists */
static bool continues(yysymbol_kind_t k)
{
	switch (k) {
	case YYSYMBOL_OR: case YYSYMBOL_AND: case YYSYMBOL_EQ: case YYSYMBOL_NE: case YYSYMBOL_LT:
	case YYSYMBOL_LE: case YYSYMBOL_GT: case YYSYMBOL_GE: case YYSYMBOL_DOTDOT: case YYSYMBOL_PLUS:
	case YYSYMBOL_MINUS: case YYSYMBOL_STAR: case YYSYMBOL_SLASH: case YYSYMBOL_PERCENT:
	case YYSYMBOL_AT: case YYSYMBOL_POW: case YYSYMBOL_LPAREN: case YYSYMBOL_LBRACK:
	case YYSYMBOL_DOT: case YYSYMBOL_SEMI: case YYSYMBOL_YYEOF:
		return true;
	default:
		return false;
	}
}

/* "identifier 'x'", "newline", "')'" */
static const char *describe(Parser *p, yysymbol_kind_t k)
{
	int n = p->tok_len > 40 ? 40 : p->tok_len;
	const char *more = p->tok_len > 40 ? "..." : "";
	switch (k) {
	case YYSYMBOL_IDENT:
		return arena_printf(p->arena, "identifier '%.*s'", n, p->tok_text);
	case YYSYMBOL_INT: case YYSYMBOL_FLOAT:
		return arena_printf(p->arena, "number '%.*s%s'", n, p->tok_text, more);
	case YYSYMBOL_STRING:
		return arena_printf(p->arena, "string %.*s%s", n, p->tok_text, more);
	default:
		return yysymbol_name(k);
	}
}

static int yyreport_syntax_error(const yypcontext_t *ctx, Parser *p)
{
	yysymbol_kind_t exp[YYNTOKENS];
	int n = yypcontext_expected_tokens(ctx, exp, YYNTOKENS);
	yysymbol_kind_t found = yypcontext_token(ctx);
	Loc loc = *yypcontext_location(ctx);
	if (loc.line == p->lex_error_line)
		return 0; /* the lexer has said what is wrong with this line */
	const char *what = describe(p, found);
	bool has[YYNTOKENS] = {0};
	for (int i = 0; i < n; i++)
		has[exp[i]] = true;

	/* the innermost bracket open before the token that failed */
	const Opener *open = p->depth_before > 0 && p->depth_before <= PARSE_MAX_NEST ? &p->nest[p->depth_before - 1] : NULL;
	yysymbol_kind_t closer = !open ? YYSYMBOL_YYEMPTY
	                       : open->ch == '(' ? YYSYMBOL_RPAREN : open->ch == '[' ? YYSYMBOL_RBRACK : YYSYMBOL_RBRACE;
	bool close_ok = open && has[closer];
	const char *cl = open ? yysymbol_name(closer) : "";

	if (close_ok && (found == YYSYMBOL_YYEOF || (closes(found) && open->ch != '{')))
		goto close;
	if (has[YYSYMBOL_IMPORT]) {
		diag_error(loc, "expected a declaration (import, const, fn, module or train), found %s", what);
		return 0;
	}
	if (has[YYSYMBOL_PARAM]) {
		diag_error(loc, "expected a module item (param, state, forward, fn or 'name = ...'), found %s", what);
		return 0;
	}
	if (has[YYSYMBOL_LET]) {
		diag_error(loc, "expected a statement, found %s", what);
		return 0;
	}
	if (has[YYSYMBOL_FN]) {
		diag_error(loc, "expected a recipe field ('name = ...') or a function, found %s", what);
		return 0;
	}
	if (has[YYSYMBOL_INT]) {
		diag_error(loc, "expected an expression, found %s", what);
		return 0;
	}
	if (close_ok && (open->ch != '{' || !has[YYSYMBOL_NL]))
		goto close;
	if (has[YYSYMBOL_NL]) {
		diag_error(loc, "expected newline or ';', found %s", what);
		return 0;
	}
	/* list what could come, leaving out operators when anything else may */
	int m = 0;
	for (int i = 0; i < n; i++) /* 'in' may be a name, but nobody means that */
		if (!continues(exp[i]) && !(exp[i] == YYSYMBOL_IN && has[YYSYMBOL_IDENT]))
			exp[m++] = exp[i];
	if (m == 0)
		m = n;
	if (m == 0 || m > 5) {
		diag_error(loc, "unexpected %s", what);
		return 0;
	}
	char buf[256] = "";
	for (int i = 0; i < m; i++) {
		size_t len = strlen(buf);
		snprintf(buf + len, sizeof buf - len, "%s%s", i == 0 ? "" : i == m - 1 ? " or " : ", ", yysymbol_name(exp[i]));
	}
	diag_error(loc, "expected %s, found %s", buf, what);
	return 0;
close:
	diag_error(loc, "expected %s to close '%s' opened at %d:%d, found %s", cl, open->what, open->loc.line,
	           open->loc.col, what);
	return 0;
}
