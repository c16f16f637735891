/* parser/parse.c: the front end's entry points, parse_file and parse_string (lang/lang.h).
 * They set up the lexer state, run the Bison parser and return the (possibly partial) program.
 */
#include "parser/parser_impl.h"
#include "grammar.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

Ast *parse_string(Arena *a, const char *name, const char *text, size_t len)
{
	Parser p;
	lex_init(&p, a, name, text, len);
	diag_source_add(p.file, p.src, len);
	p.program = ast_new(a, A_PROGRAM, (Loc){p.file, 1, 1, 1, 1});
	yyparse(&p);
	Ast *prog = p.program;
	if (prog->list.n) {
		Loc last = prog->list.v[prog->list.n - 1]->loc;
		prog->loc = prog->list.v[0]->loc;
		prog->loc.end_line = last.end_line;
		prog->loc.end_col = last.end_col;
	}
	return prog;
}

Ast *parse_file(Arena *a, const char *path)
{
	size_t len;
	char *text = read_file(path, &len);
	if (!text) {
		diag_error((Loc){str_intern(path), 0, 0, 0, 0}, "cannot open '%s': %s", path, strerror(errno));
		return NULL;
	}
	Ast *prog = parse_string(a, path, text, len);
	free(text); /* parse_string keeps its own copy in the arena */
	return prog;
}
