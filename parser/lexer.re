/* parser/lexer.re: the tokens of .nnd files (LANGUAGE.md section 2), scanned by re2c.
 * The state lives in Parser (parser_impl.h). Besides tokens, the lexer
 *  - inserts NL tokens by Go's rule: a newline (or a block comment spanning lines, or the end of
 *    the input) ends a statement when the last token could end one and no '(' or '[' is open
 *    (inside '{' newlines count). A newline after '}' is not a terminator when the next line
 *    starts with `else` or `grad(`. Inside '(' or '[', a line starting with a statement keyword
 *    closes the brackets left open and ends the statement (so the error says so).
 *  - keeps the stack of open brackets, each with the construct it opened, for error messages.
 * Lexical errors (bad characters, unterminated strings and comments) are reported here.
 */
#include "parser/parser_impl.h"
#include "grammar.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void lex_init(Parser *p, Arena *a, const char *file, const char *text, size_t len)
{
	memset(p, 0, sizeof *p);
	char *buf = arena_alloc(a, len + 1); /* re2c's end-of-input check wants a NUL sentinel */
	memcpy(buf, text, len);
	buf[len] = 0;
	p->arena = a;
	p->file = str_intern(file);
	p->src = p->cur = p->line_start = buf;
	p->lim = buf + len;
	p->line = 1;
	p->stmt_start = true;
}

static Loc lex_loc(Parser *p, const char *start, const char *end)
{
	return (Loc){p->file, p->line, (int)(start - p->line_start) + 1, p->line, (int)(end - p->line_start) + 1};
}

static const struct { const char *text; int tok; } keywords[] = {
	{"import", TK_IMPORT}, {"as", TK_AS}, {"const", TK_CONST}, {"fn", TK_FN},
	{"module", TK_MODULE}, {"param", TK_PARAM}, {"state", TK_STATE}, {"forward", TK_FORWARD},
	{"let", TK_LET}, {"return", TK_RETURN}, {"for", TK_FOR}, {"in", TK_IN}, {"if", TK_IF},
	{"else", TK_ELSE}, {"yield", TK_YIELD}, {"metric", TK_METRIC}, {"train", TK_TRAIN},
	{"true", TK_TRUE}, {"false", TK_FALSE}, {"and", TK_AND}, {"or", TK_OR}, {"not", TK_NOT},
	{"reverse", TK_REVERSE},
};

/* Can a statement end with this token? */
static bool ends_stmt(int t)
{
	switch (t) {
	case TK_IDENT: case TK_INT: case TK_FLOAT: case TK_STRING: case TK_TRUE: case TK_FALSE:
	case TK_RETURN: case TK_RPAREN: case TK_RBRACK: case TK_RBRACE:
		return true;
	default:
		return false;
	}
}

static bool newline_counts(Parser *p)
{
	return !p->nest_overflow && (p->depth == 0 || p->nest[p->depth - 1].ch == '{');
}

static bool is_idchar(char c)
{
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* After '}' and a newline: does the next line start with `else` or `grad(`? */
static bool continues_after_brace(Parser *p)
{
	const char *s = p->cur;
	for (;;) {
		while (s < p->lim && strchr(" \t\r\f\v\n", *s))
			s++;
		if (s + 1 < p->lim && s[0] == '/' && s[1] == '/') {
			while (s < p->lim && *s != '\n')
				s++;
		} else if (s + 1 < p->lim && s[0] == '/' && s[1] == '*') {
			const char *e = strstr(s + 2, "*/");
			if (!e)
				return false;
			s = e + 2;
		} else {
			break;
		}
	}
	if (p->lim - s >= 4 && !strncmp(s, "else", 4) && (s + 4 == p->lim || !is_idchar(s[4])))
		return true;
	if (p->lim - s >= 4 && !strncmp(s, "grad", 4)) {
		s += 4;
		while (s < p->lim && (*s == ' ' || *s == '\t'))
			s++;
		return s < p->lim && *s == '(';
	}
	return false;
}

/* Inside '(' or '[': does the next line start with a word that only starts a statement or a
   declaration? Then the bracket was left open by mistake: the newline ends the statement (and
   the parser reports "expected ')' to close '(' ..., found newline"). */
static bool line_starts_stmt(Parser *p)
{
	static const char *const words[] = {"let", "return", "yield", "metric", "fn", "module", "train",
	                                    "param", "state", "forward", "import", "const"};
	const char *s = p->cur, *w;
	while (s < p->lim && (*s == ' ' || *s == '\t'))
		s++;
	for (w = s; w < p->lim && is_idchar(*w); w++)
		;
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (strlen(words[i]) == (size_t)(w - s) && !memcmp(words[i], s, (size_t)(w - s)))
			return true;
	return false;
}

/* Skips a block comment whose "/\*" was just read: 1 if it spans lines (it then acts as a
   newline, as in Go), 0 if not, -1 if it is not closed */
static int skip_block_comment(Parser *p)
{
	Loc start = lex_loc(p, p->tok, p->cur - 1);
	int lines = 0;
	for (const char *s = p->cur; s + 1 < p->lim; s++) {
		if (s[0] == '\n') {
			p->line++;
			p->line_start = s + 1;
			lines = 1;
		} else if (s[0] == '*' && s[1] == '/') {
			p->cur = s + 2;
			return lines;
		}
	}
	for (const char *s = p->cur; s < p->lim; s++) /* count a last newline after a lone '*' */
		if (*s == '\n' && s + 1 == p->lim) {
			p->line++;
			p->line_start = p->lim;
		}
	p->cur = p->lim;
	diag_error(start, "unterminated comment: '/*' has no matching '*/'");
	return -1;
}

/* Decodes the C escapes of a string literal's body [s, e) */
static const char *lex_string(Parser *p, const char *s, const char *e)
{
	char *out = arena_alloc(p->arena, (size_t)(e - s) + 1), *o = out;
	while (s < e) {
		if (*s != '\\') {
			*o++ = *s++;
			continue;
		}
		const char *esc = s++;
		char c = s < e ? *s++ : 0;
		switch (c) {
		case 'n': *o++ = '\n'; break;
		case 't': *o++ = '\t'; break;
		case 'r': *o++ = '\r'; break;
		case '0': *o++ = '\0'; break;
		case 'a': *o++ = '\a'; break;
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'v': *o++ = '\v'; break;
		case '\\': case '"': case '\'': *o++ = c; break;
		case 'x': {
			int v = 0, k = 0;
			for (; k < 2 && s < e && strchr("0123456789abcdefABCDEF", *s) && *s; k++, s++)
				v = v * 16 + (*s <= '9' ? *s - '0' : (*s | 32) - 'a' + 10);
			if (k == 0)
				diag_error(lex_loc(p, esc, s - 1), "'\\x' needs hexadecimal digits");
			*o++ = (char)v;
			break;
		}
		default:
			diag_error(lex_loc(p, esc, s - 1), "unknown escape sequence '\\%c' in string", c);
		}
	}
	*o = 0;
	return str_intern(out);
}

static int lex_number(Parser *p, YYSTYPE *lval, Loc loc, bool is_float)
{
	char *text = arena_strndup(p->arena, p->tok, (size_t)(p->cur - p->tok));
	errno = 0;
	if (is_float) {
		lval->f = strtod(text, NULL);
		if (errno == ERANGE && (lval->f > 1 || lval->f < -1))
			diag_error(loc, "number '%s' is too large", text);
		return TK_FLOAT;
	}
	lval->i = strtoll(text, NULL, 0);
	if (errno == ERANGE)
		diag_error(loc, "integer '%s' is too large", text);
	return TK_INT;
}

static int lex_scan(Parser *p, YYSTYPE *lval, Loc *loc)
{
	for (;;) {
		p->tok = p->cur;
		const char *nl;
/*!re2c
	re2c:define:YYCTYPE = "unsigned char";
	re2c:define:YYCURSOR = "p->cur";
	re2c:define:YYLIMIT = "p->lim";
	re2c:define:YYMARKER = "p->mark";
	re2c:yyfill:enable = 0;
	re2c:eof = 0;

	dec = [0-9]+;
	exp = [eE] [+-]? [0-9]+;
	id  = [A-Za-z_][A-Za-z0-9_]*;
	sch = [^"\\\n] | "\\" [^\n];

	[ \t\r\f\v]+          { continue; }
	"//" [^\n]*           { continue; }
	"/*" {
		Loc at = lex_loc(p, p->tok, p->tok + 1);
		int r = skip_block_comment(p);
		if (r < 0)
			goto eof;
		if (r > 0 && ends_stmt(p->last) && newline_counts(p)) {
			*loc = at;
			return TK_NL;
		}
		continue;
	}
	"\n" {
		nl = p->tok;
		*loc = lex_loc(p, nl, nl);
		p->line++;
		p->line_start = p->cur;
		if (ends_stmt(p->last) && newline_counts(p) && !(p->last == TK_RBRACE && continues_after_brace(p)))
			return TK_NL;
		if (!newline_counts(p) && !p->nest_overflow && line_starts_stmt(p)) {
			while (p->depth > 0 && p->nest[p->depth - 1].ch != '{')
				p->depth--;
			return TK_NL;
		}
		continue;
	}
	id {
		*loc = lex_loc(p, p->tok, p->cur - 1);
		size_t n = (size_t)(p->cur - p->tok);
		for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++)
			if (strlen(keywords[i].text) == n && !memcmp(keywords[i].text, p->tok, n))
				return keywords[i].tok;
		lval->str = str_intern_n(p->tok, n);
		return TK_IDENT;
	}
	dec ".."              { p->cur -= 2; *loc = lex_loc(p, p->tok, p->cur - 1); return lex_number(p, lval, *loc, false); }
	dec | "0" [xX] [0-9a-fA-F]+ { *loc = lex_loc(p, p->tok, p->cur - 1); return lex_number(p, lval, *loc, false); }
	dec "." [0-9]* exp? | dec exp { *loc = lex_loc(p, p->tok, p->cur - 1); return lex_number(p, lval, *loc, true); }
	["] sch* ["] {
		*loc = lex_loc(p, p->tok, p->cur - 1);
		lval->str = lex_string(p, p->tok + 1, p->cur - 1);
		return TK_STRING;
	}
	["] sch* {
		*loc = lex_loc(p, p->tok, p->cur - 1);
		diag_error(*loc, "unterminated string: '\"' has no matching '\"' on its line");
		p->lex_error_line = p->line;
		lval->str = lex_string(p, p->tok + 1, p->cur);
		return TK_STRING;
	}
	"+"   { *loc = lex_loc(p, p->tok, p->cur - 1); return TK_PLUS; }
	"-"   { *loc = lex_loc(p, p->tok, p->cur - 1); return TK_MINUS; }
	"*"   { *loc = lex_loc(p, p->tok, p->cur - 1); return TK_STAR; }
	"/"   { *loc = lex_loc(p, p->tok, p->cur - 1); return TK_SLASH; }
	"%"   { *loc = lex_loc(p, p->tok, p->cur - 1); return TK_PERCENT; }
	"@"   { *loc = lex_loc(p, p->tok, p->cur - 1); return TK_AT; }
	"**"  { *loc = lex_loc(p, p->tok, p->cur - 1); return TK_POW; }
	"=="  { *loc = lex_loc(p, p->tok, p->cur - 1); return TK_EQ; }
	"!="  { *loc = lex_loc(p, p->tok, p->cur - 1); return TK_NE; }
	"<"   { *loc = lex_loc(p, p->tok, p->cur - 1); return TK_LT; }
	"<="  { *loc = lex_loc(p, p->tok, p->cur - 1); return TK_LE; }
	">"   { *loc = lex_loc(p, p->tok, p->cur - 1); return TK_GT; }
	">="  { *loc = lex_loc(p, p->tok, p->cur - 1); return TK_GE; }
	"="   { *loc = lex_loc(p, p->tok, p->cur - 1); return TK_ASSIGN; }
	":="  { *loc = lex_loc(p, p->tok, p->cur - 1); return TK_DEFINE; }
	"->"  { *loc = lex_loc(p, p->tok, p->cur - 1); return TK_ARROW; }
	"."   { *loc = lex_loc(p, p->tok, p->cur - 1); return TK_DOT; }
	".."  { *loc = lex_loc(p, p->tok, p->cur - 1); return TK_DOTDOT; }
	"..." { *loc = lex_loc(p, p->tok, p->cur - 1); return TK_ELLIPSIS; }
	","   { *loc = lex_loc(p, p->tok, p->cur - 1); return TK_COMMA; }
	":"   { *loc = lex_loc(p, p->tok, p->cur - 1); return TK_COLON; }
	";"   { *loc = lex_loc(p, p->tok, p->cur - 1); return TK_SEMI; }
	"("   { *loc = lex_loc(p, p->tok, p->cur - 1); return TK_LPAREN; }
	")"   { *loc = lex_loc(p, p->tok, p->cur - 1); return TK_RPAREN; }
	"["   { *loc = lex_loc(p, p->tok, p->cur - 1); return TK_LBRACK; }
	"]"   { *loc = lex_loc(p, p->tok, p->cur - 1); return TK_RBRACK; }
	"{"   { *loc = lex_loc(p, p->tok, p->cur - 1); return TK_LBRACE; }
	"}"   { *loc = lex_loc(p, p->tok, p->cur - 1); return TK_RBRACE; }
	$     { goto eof; }
	* {
		unsigned char c = (unsigned char)*p->tok;
		Loc l = lex_loc(p, p->tok, p->tok);
		if (c >= 0x20 && c < 0x7f)
			diag_error(l, "unexpected character '%c'", c);
		else
			diag_error(l, "unexpected byte 0x%02x", c);
		p->lex_error_line = p->line;
		continue;
	}
*/
	}
eof:
	/* the end of the input: on the last line's end when the file ends with a newline */
	p->tok = p->cur = p->lim;
	if (p->cur == p->line_start && p->cur > p->src) {
		const char *s = p->cur - 1, *ls = s;
		while (ls > p->src && ls[-1] != '\n')
			ls--;
		*loc = (Loc){p->file, p->line - 1, (int)(s - ls) + 1, p->line - 1, (int)(s - ls) + 1};
	} else {
		*loc = lex_loc(p, p->cur, p->cur);
	}
	if (ends_stmt(p->last) && newline_counts(p))
		return TK_NL;
	return TK_END;
}

static void lex_track(Parser *p, int t, Loc loc)
{
	if (t == TK_LPAREN || t == TK_LBRACK || t == TK_LBRACE) {
		if (p->depth == PARSE_MAX_NEST) {
			if (!p->nest_overflow++)
				diag_error(loc, "brackets nested more than %d deep", PARSE_MAX_NEST);
		} else {
			const char *what = t == TK_LPAREN ? "(" : t == TK_LBRACK ? "[" : p->head ? p->head : "{";
			Loc at = t == TK_LBRACE && p->head ? p->head_loc : loc;
			p->nest[p->depth++] = (Opener){t == TK_LPAREN ? '(' : t == TK_LBRACK ? '[' : '{', what, at};
		}
	} else if (t == TK_RPAREN || t == TK_RBRACK || t == TK_RBRACE) {
		char open = t == TK_RPAREN ? '(' : t == TK_RBRACK ? '[' : '{';
		if (p->nest_overflow) {
			p->nest_overflow--;
		} else {
			/* pop to the matching bracket; a stray closer pops nothing */
			int d = p->depth;
			while (d > 0 && p->nest[d - 1].ch != open)
				d--;
			if (d > 0)
				p->depth = d - 1;
		}
	}
	if (t == TK_NL || t == TK_SEMI || t == TK_LBRACE || t == TK_RBRACE) {
		p->stmt_start = true;
	} else if (t != TK_END) {
		const char *text = str_intern_n(p->tok, (size_t)(p->cur - p->tok));
		if (p->stmt_start || t == TK_MODULE || t == TK_FN || t == TK_TRAIN || t == TK_FORWARD ||
		    t == TK_IF || t == TK_ELSE || t == TK_FOR) {
			p->head = text;
			p->head_loc = loc;
		}
		p->stmt_start = false;
	}
}

int yylex(YYSTYPE *lval, Loc *loc, Parser *p)
{
	p->depth_before = p->depth;
	int t = lex_scan(p, lval, loc);
	if (t == TK_NL) {
		p->tok_text = "\n";
		p->tok_len = 1;
	} else {
		p->tok_text = p->tok;
		p->tok_len = (int)(p->cur - p->tok);
	}
	lex_track(p, t, *loc);
	p->last = t;
	return t;
}
