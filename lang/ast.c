/* lang/ast.c: AST nodes and their dump, a compact S-expression used by `nndc parse` and the tests.
 * Declarations and statements start their own line, indented two spaces per level; expressions,
 * types and parameters stay on their statement's line (unless they hold a block, like a `for`
 * expression). Names and numbers print bare: (call relu (call fc1 x)); binary operators as
 * (+ a b); a missing slice bound as _. The format is stable: golden tests compare it.
 */
#include "lang/lang.h"

#include <stdlib.h>
#include <string.h>

const char *const ast_kind_name[A_KIND_COUNT] = {
	[A_PROGRAM] = "program", [A_IMPORT] = "import", [A_CONST] = "const", [A_FN] = "fn",
	[A_GRAD] = "grad", [A_MODULE] = "module", [A_PARAMDECL] = "paramdecl", [A_MPARAM] = "param",
	[A_MSTATE] = "state", [A_MSUB] = "sub", [A_TRAIN] = "train", [A_FIELD] = "field",
	[A_BLOCK] = "block", [A_LET] = "let", [A_ASSIGN] = "assign", [A_UPDATE] = "update",
	[A_RETURN] = "return", [A_YIELD] = "yield", [A_METRIC] = "metric", [A_EXPRSTMT] = "expr",
	[A_IF] = "if", [A_FOR] = "for", [A_INT] = "int", [A_FLOAT] = "float", [A_STR] = "str",
	[A_BOOL] = "bool", [A_IDENT] = "ident", [A_BINARY] = "binary", [A_UNARY] = "unary",
	[A_CALL] = "call", [A_NAMEDARG] = "named", [A_INDEX] = "index", [A_SLICE] = "slice",
	[A_ELLIPSIS] = "...", [A_FIELD_ACCESS] = ".", [A_LIST] = "list", [A_LISTCOMP] = "listcomp",
	[A_TUPLE] = "tuple", [A_RANGE] = "range", [A_TYPE] = "type", [A_TUPLE_TYPE] = "tuple-type",
};

const char *const aop_text[AOP_COUNT] = {
	[AOP_ADD] = "+", [AOP_SUB] = "-", [AOP_MUL] = "*", [AOP_DIV] = "/", [AOP_MOD] = "%",
	[AOP_MATMUL] = "@", [AOP_POW] = "**", [AOP_EQ] = "==", [AOP_NE] = "!=", [AOP_LT] = "<",
	[AOP_LE] = "<=", [AOP_GT] = ">", [AOP_GE] = ">=", [AOP_AND] = "and", [AOP_OR] = "or",
	[AOP_NEG] = "-", [AOP_NOT] = "not",
};

Ast *ast_new(Arena *a, AstKind k, Loc loc)
{
	Ast *n = arena_alloc(a, sizeof *n);
	n->kind = k;
	n->loc = loc;
	return n;
}

/* ---- dump ---- */

/* Kinds whose children each go on their own line */
static bool dump_vertical(AstKind k)
{
	return k == A_PROGRAM || k == A_MODULE || k == A_TRAIN || k == A_FN || k == A_GRAD || k == A_BLOCK;
}

/* Does n print on one line? (expressions, types and declarations of parameters without blocks) */
static bool dump_inline(const Ast *n)
{
	if (!n)
		return true;
	if (n->kind < A_INT && n->kind != A_PARAMDECL)
		return false;
	if (!dump_inline(n->a) || !dump_inline(n->b) || !dump_inline(n->c))
		return false;
	for (int i = 0; i < n->list.n; i++)
		if (!dump_inline(n->list.v[i]))
			return false;
	for (int i = 0; i < n->list2.n; i++)
		if (!dump_inline(n->list2.v[i]))
			return false;
	return true;
}

static void dump_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/* shortest text that reads back as the same double, always with a '.' or an exponent */
static void dump_float(FILE *f, double v)
{
	char buf[40];
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, sizeof buf, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	if (!strpbrk(buf, ".eEn"))
		strcat(buf, ".0");
	fputs(buf, f);
}

static void dump_node(FILE *f, const Ast *n, int indent);

/* a child: on the same line after a space, or on a new line one level deeper */
static void dump_child(FILE *f, const Ast *parent, const Ast *c, int indent)
{
	if (!dump_vertical(parent->kind) && dump_inline(c)) {
		fputc(' ', f);
		dump_node(f, c, indent);
	} else {
		fprintf(f, "\n%*s", indent + 2, "");
		dump_node(f, c, indent + 2);
	}
}

static void dump_list(FILE *f, const Ast *n, const AstList *l, int indent)
{
	for (int i = 0; i < l->n; i++)
		dump_child(f, n, l->v[i], indent);
}

static void dump_node(FILE *f, const Ast *n, int indent)
{
	if (!n) {
		fputc('_', f);
		return;
	}
	switch (n->kind) {
	case A_IDENT: fputs(n->name, f); return;
	case A_INT: fprintf(f, "%lld", (long long)n->ival); return;
	case A_FLOAT: dump_float(f, n->fval); return;
	case A_STR: dump_str(f, n->sval); return;
	case A_BOOL: fputs(n->ival ? "true" : "false", f); return;
	case A_ELLIPSIS: fputs("...", f); return;
	default: break;
	}
	fputc('(', f);
	switch (n->kind) {
	case A_BINARY: case A_UNARY:
		fputs(n->kind == A_UNARY && n->op == AOP_NEG ? "neg" : aop_text[n->op], f);
		break;
	default:
		fputs(ast_kind_name[n->kind], f);
	}
	if (n->name && n->kind != A_IMPORT && n->kind != A_FIELD_ACCESS)
		fprintf(f, " %s", n->name);
	switch (n->kind) {
	case A_IMPORT:
		if (n->name)
			fprintf(f, " %s", n->name);
		else {
			fputc(' ', f);
			dump_str(f, n->sval);
		}
		if (n->alias)
			fprintf(f, " as %s", n->alias);
		break;
	case A_FN:
		dump_list(f, n, &n->list, indent);
		if (n->a) {
			fprintf(f, "\n%*s(returns ", indent + 2, "");
			dump_node(f, n->a, indent + 2);
			fputc(')', f);
		}
		dump_child(f, n, n->b, indent);
		if (n->c)
			dump_child(f, n, n->c, indent);
		break;
	case A_FIELD:
		if (n->b)
			dump_child(f, n, n->b, indent);
		dump_child(f, n, n->a, indent);
		if (n->sval) {
			fputs(" from ", f);
			dump_str(f, n->sval);
		}
		if (n->ival)
			fputs(" frozen", f);
		break;
	case A_TYPE:
		if (n->ival) {
			fputs(" [", f);
			for (int i = 0; i < n->list.n; i++) {
				if (i)
					fputc(' ', f);
				dump_node(f, n->list.v[i], indent);
			}
			fputc(']', f);
		}
		break;
	case A_SLICE:
		dump_child(f, n, n->a, indent);
		dump_child(f, n, n->b, indent);
		if (n->c)
			dump_child(f, n, n->c, indent);
		break;
	case A_FIELD_ACCESS: /* (. base name) */
		dump_child(f, n, n->a, indent);
		fprintf(f, " %s", n->name);
		break;
	case A_GRAD:
		dump_list(f, n, &n->list, indent);
		dump_child(f, n, n->b, indent);
		break;
	case A_LISTCOMP: /* (listcomp i ELEM ITER) */
		dump_child(f, n, n->a, indent);
		dump_child(f, n, n->b, indent);
		break;
	case A_MODULE:
		dump_list(f, n, &n->list, indent);
		dump_list(f, n, &n->list2, indent);
		break;
	default:
		if (n->a)
			dump_child(f, n, n->a, indent);
		if (n->b)
			dump_child(f, n, n->b, indent);
		if (n->c)
			dump_child(f, n, n->c, indent);
		dump_list(f, n, &n->list, indent);
		dump_list(f, n, &n->list2, indent);
	}
	fputc(')', f);
}

void ast_dump(FILE *f, const Ast *n, int indent)
{
	fprintf(f, "%*s", indent, "");
	dump_node(f, n, indent);
	fputc('\n', f);
}
