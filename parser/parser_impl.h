/* parser/parser_impl.h: the state shared by the lexer (lexer.re), the grammar (grammar.y) and
 * parse.c. Nothing outside parser/ includes it.
 */
#ifndef NND_PARSER_IMPL_H
#define NND_PARSER_IMPL_H

#include "lang/lang.h"

#define PARSE_MAX_NEST 256

/* An open bracket: what it is, where, and what construct it opens ("module", "(", "if"). */
typedef struct Opener {
	char ch;           /* '(' '[' '{' */
	const char *what;  /* text to quote in "expected '}' to close 'module' opened at 3:1" */
	Loc loc;
} Opener;

typedef struct Parser {
	Arena *arena;
	const char *file;   /* interned */
	/* lexer */
	const char *src, *cur, *lim, *tok, *mark, *ctxmark, *line_start;
	int line;
	int last;           /* kind of the last token returned (a yytoken_kind_t), 0 before the first */
	Opener nest[PARSE_MAX_NEST];
	int depth;          /* open brackets; entries above depth stay valid until overwritten */
	int depth_before;   /* depth before the last token was lexed (for error messages) */
	int nest_overflow;  /* brackets opened beyond PARSE_MAX_NEST */
	bool stmt_start;    /* the next token starts a statement */
	const char *head;   /* the construct the current statement opens: "module", "if", "loss" ... */
	Loc head_loc;
	const char *tok_text; /* the last token's text, for "found identifier 'x'" */
	int tok_len;
	int lex_error_line; /* the last line with a lexical error: syntax errors there are not reported */
	/* result */
	Ast *program;
} Parser;

/* lexer.re */
void lex_init(Parser *p, Arena *a, const char *file, const char *text, size_t len);

#endif
