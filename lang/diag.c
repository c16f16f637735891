/* lang/diag.c: diagnostics. Errors, warnings and notes are recorded as they are found and rendered
 * clang-style by diag_flush:
 *   file:line:col: error: message
 *      12 |   y = x @ w2
 *         |       ^~~~~~
 * A note follows the error or warning it was attached to; an error or warning repeated at the
 * same place with the same text is kept once. Sources registered with
 * diag_source_add are quoted; a location with line 0 is printed as `file: error: message`.
 */
#include "lang/lang.h"

#include <stdlib.h>
#include <string.h>

typedef struct Diag {
	DiagLevel level;
	Loc loc;
	char *msg;
} Diag;

typedef struct Source {
	const char *file; /* interned */
	char *text;
	size_t len;
} Source;

static VEC(Diag) diags;
static VEC(Source) sources;
static int nerrors;
bool diag_color;

void diag_source_add(const char *file, const char *text, size_t len)
{
	file = str_intern(file);
	char *copy = xrealloc(NULL, len + 1);
	memcpy(copy, text, len);
	copy[len] = 0;
	for (int i = 0; i < sources.n; i++)
		if (sources.v[i].file == file) {
			free(sources.v[i].text);
			sources.v[i].text = copy;
			sources.v[i].len = len;
			return;
		}
	vec_push(&sources, ((Source){file, copy, len}));
}

const char *diag_source_text(const char *file, size_t *len)
{
	if (!file)
		return NULL;
	file = str_intern(file);
	for (int i = 0; i < sources.n; i++)
		if (sources.v[i].file == file) {
			if (len)
				*len = sources.v[i].len;
			return sources.v[i].text;
		}
	return NULL;
}

static void diag_add(DiagLevel level, Loc loc, const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap);
	char *msg = xrealloc(NULL, (size_t)n + 1);
	vsnprintf(msg, (size_t)n + 1, fmt, ap2);
	va_end(ap2);
	/* An error or warning said before at the same place (a body elaborated once per iteration of
	   an unrolled loop, or per instantiation) is said once; its notes go with it. */
	static bool dropping;
	if (level != DIAG_NOTE) {
		dropping = false;
		for (int i = 0; i < diags.n && !dropping; i++) {
			const Diag *d = &diags.v[i];
			dropping = d->level == level && d->loc.file == loc.file && d->loc.line == loc.line &&
			           d->loc.col == loc.col && !strcmp(d->msg, msg);
		}
	}
	if (level == DIAG_ERROR)
		nerrors++; /* counted all the same: callers compare counts to see whether a part failed */
	if (dropping)
		free(msg);
	else
		vec_push(&diags, ((Diag){level, loc, msg}));
}

void diag_error(Loc loc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	diag_add(DIAG_ERROR, loc, fmt, ap);
	va_end(ap);
}

void diag_warning(Loc loc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	diag_add(DIAG_WARNING, loc, fmt, ap);
	va_end(ap);
}

void diag_note(Loc loc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	diag_add(DIAG_NOTE, loc, fmt, ap);
	va_end(ap);
}

int diag_error_count(void) { return nerrors; }

/* The text of line `line` (1-based) of a registered source, or NULL */
static const char *source_line(const char *file, int line, int *len)
{
	size_t n;
	const char *s = diag_source_text(file, &n);
	if (!s || line < 1)
		return NULL;
	const char *end = s + n;
	for (int l = 1; l < line; l++) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		if (!nl)
			return NULL;
		s = nl + 1;
	}
	const char *nl = memchr(s, '\n', (size_t)(end - s));
	*len = (int)((nl ? nl : end) - s);
	if (*len > 0 && s[*len - 1] == '\r')
		(*len)--;
	return s;
}

#define C(code) (diag_color ? "\033[" code "m" : "")

static void render(FILE *f, const Diag *d)
{
	static const char *const level_name[] = {"error", "warning", "note"};
	const char *level_color = d->level == DIAG_ERROR ? C("1;31") : d->level == DIAG_WARNING ? C("1;35") : C("1;36");
	if (d->loc.file && d->loc.line > 0)
		fprintf(f, "%s%s:%d:%d: ", C("1"), d->loc.file, d->loc.line, d->loc.col);
	else if (d->loc.file)
		fprintf(f, "%s%s: ", C("1"), d->loc.file);
	else
		fprintf(f, "%s", C("1"));
	fprintf(f, "%s%s:%s%s %s%s\n", level_color, level_name[d->level], C("0"), C("1"), d->msg, C("0"));

	int len;
	const char *line = d->loc.file ? source_line(d->loc.file, d->loc.line, &len) : NULL;
	if (!line)
		return;
	fprintf(f, "%5d | %.*s\n", d->loc.line, len, line);
	/* the caret line: tabs copied so the caret lines up; the underline stops at the line's end */
	int col = d->loc.col < 1 ? 1 : d->loc.col;
	int end = d->loc.end_line == d->loc.line ? d->loc.end_col : len;
	if (end < col)
		end = col;
	fprintf(f, "      | ");
	for (int i = 0; i < col - 1; i++)
		fputc(i < len && line[i] == '\t' ? '\t' : ' ', f);
	fprintf(f, "%s^", C("1;32"));
	for (int i = col; i < end && i < len; i++)
		fputc('~', f);
	fprintf(f, "%s\n", C("0"));
}

void diag_flush(FILE *f)
{
	for (int i = 0; i < diags.n; i++) {
		render(f, &diags.v[i]);
		free(diags.v[i].msg);
	}
	diags.n = 0;
	fflush(f);
}

void diag_reset(void)
{
	for (int i = 0; i < diags.n; i++)
		free(diags.v[i].msg);
	diags.n = 0;
	nerrors = 0;
}
