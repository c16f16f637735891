/* ir/read.c: the textual IR read back (what ir/print.c writes; `nndc opt`).
 *
 * A line-oriented recursive-descent reader. Node ids, names and locations are kept as written, so
 * print -> read -> print gives the same text. Lines that start with ';' are comments (the pass
 * manager's "; after cse"). Every node is rebuilt with ir_node_new, so its shape rule checks it,
 * and each graph must pass ir_graph_verify. Errors stop at the first one, as name:line:col.
 */
#include "ir/ir.h"

#include <ctype.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

typedef struct Reader {
	const char *name, *s, *line_start;
	int line;
	Prog *p;
	Graph *g;
	Node **byid; /* the nodes of the graph being read, by id (from the arena) */
	int nbyid;
	char *err;
	size_t errlen;
	jmp_buf fail;
} Reader;

static _Noreturn __attribute__((format(printf, 2, 3))) void fail(Reader *r, const char *fmt, ...)
{
	int k = snprintf(r->err, r->errlen, "%s:%d:%d: ", r->name, r->line, (int)(r->s - r->line_start) + 1);
	if (k >= 0 && (size_t)k < r->errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(r->err + k, r->errlen - (size_t)k, fmt, ap);
		va_end(ap);
	}
	longjmp(r->fail, 1);
}

static void skip_blanks(Reader *r)
{
	while (*r->s == ' ' || *r->s == '\t' || *r->s == '\r')
		r->s++;
}

/* Skips blank lines and ';' comment lines; leaves r->s at the next line's first token or at 0 */
static void next_line(Reader *r)
{
	for (;;) {
		skip_blanks(r);
		if (*r->s == ';')
			while (*r->s && *r->s != '\n')
				r->s++;
		if (*r->s != '\n')
			return;
		r->s++;
		r->line++;
		r->line_start = r->s;
	}
}

static void end_line(Reader *r)
{
	skip_blanks(r);
	if (*r->s && *r->s != '\n')
		fail(r, "expected the end of the line, found '%c'", *r->s);
	next_line(r);
}

static bool accept(Reader *r, char c)
{
	skip_blanks(r);
	if (*r->s != c)
		return false;
	r->s++;
	return true;
}

static void expect(Reader *r, char c)
{
	if (!accept(r, c)) {
		if (!*r->s || *r->s == '\n')
			fail(r, "expected '%c', found the end of the line", c);
		fail(r, "expected '%c', found '%c'", c, *r->s);
	}
}

static bool is_word(char c) { return isalnum((unsigned char)c) || c == '_' || c == '.'; }

static const char *word(Reader *r, const char *what)
{
	skip_blanks(r);
	const char *b = r->s;
	if (isalpha((unsigned char)*b) || *b == '_')
		while (is_word(*r->s))
			r->s++;
	if (r->s == b)
		fail(r, "expected %s", what);
	return str_intern_n(b, (size_t)(r->s - b));
}

static bool accept_word(Reader *r, const char *w)
{
	skip_blanks(r);
	size_t n = strlen(w);
	if (strncmp(r->s, w, n) || is_word(r->s[n]))
		return false;
	r->s += n;
	return true;
}

static int64_t integer(Reader *r, const char *what)
{
	skip_blanks(r);
	char *end;
	long long v = strtoll(r->s, &end, 10);
	if (end == r->s || is_word(*end))
		fail(r, "expected %s", what);
	r->s = end;
	return v;
}

static double number(Reader *r)
{
	skip_blanks(r);
	char *end;
	double v = strtod(r->s, &end);
	if (end == r->s)
		fail(r, "expected a number");
	r->s = end;
	return v;
}

static const char *quoted(Reader *r)
{
	expect(r, '"');
	const char *b = r->s;
	while (*r->s && *r->s != '"' && *r->s != '\n')
		r->s++;
	if (*r->s != '"')
		fail(r, "unterminated string");
	const char *s = str_intern_n(b, (size_t)(r->s - b));
	r->s++;
	return s;
}

/* ---- types: DTYPE or DTYPE[dim, ...] with dims as printed by ir_dim_format ---- */

static Dim dim_expr(Reader *r);

static Dim dim_atom(Reader *r)
{
	skip_blanks(r);
	if (accept(r, '(')) {
		Dim d = dim_expr(r);
		expect(r, ')');
		return d;
	}
	if (isdigit((unsigned char)*r->s))
		return integer(r, "a size");
	const char *w = word(r, "a size");
	for (int i = 0; i < r->p->syms.n; i++)
		if (r->p->syms.v[i] == w)
			return ir_dim_sym(r->p, i);
	r->s -= strlen(w);
	fail(r, "unknown size variable '%s' (declare it first with 'sym %s')", w, w);
}

static Dim dim_term(Reader *r)
{
	Dim d = dim_atom(r);
	for (;;) {
		DimOp op = accept(r, '*') ? DE_MUL : accept(r, '/') ? DE_DIV : accept(r, '%') ? DE_MOD : DE_SYM;
		if (op == DE_SYM)
			return d;
		Dim b = dim_atom(r);
		if (op != DE_MUL && b == 0)
			fail(r, "a size divided by zero");
		d = ir_dim_binop(r->p, op, d, b);
	}
}

static Dim dim_expr(Reader *r)
{
	Dim d = dim_term(r);
	for (;;) {
		DimOp op = accept(r, '+') ? DE_ADD : accept(r, '-') ? DE_SUB : DE_SYM;
		if (op == DE_SYM)
			return d;
		d = ir_dim_binop(r->p, op, d, dim_term(r));
	}
}

static Type type(Reader *r)
{
	const char *w = word(r, "an element type (f32, i32, ...)");
	int dt = dtype_from_name(w);
	if (dt < 0) {
		r->s -= strlen(w);
		fail(r, "unknown element type '%s'", w);
	}
	Type t = {.dtype = (DType)dt};
	if (*r->s == '[') {
		r->s++;
		do {
			if (t.rank == MAX_RANK)
				fail(r, "more than %d dimensions", MAX_RANK);
			t.dim[t.rank++] = dim_expr(r);
		} while (accept(r, ','));
		expect(r, ']');
	}
	return t;
}

/* "  # name @ file:line:col" (either part optional) up to the end of the line */
static void comment(Reader *r, const char **name, Loc *loc)
{
	*name = NULL;
	*loc = (Loc){0};
	if (!accept(r, '#'))
		return;
	skip_blanks(r);
	const char *b = r->s, *e = b;
	while (*e && *e != '\n')
		e++;
	while (e > b && (e[-1] == ' ' || e[-1] == '\r'))
		e--;
	const char *at = NULL;
	for (const char *q = b; q + 1 < e; q++)
		if (q[0] == '@' && q[1] == ' ' && (q == b || q[-1] == ' ')) {
			at = q;
			break;
		}
	const char *ne = at ? at : e;
	while (ne > b && ne[-1] == ' ')
		ne--;
	if (ne > b)
		*name = str_intern_n(b, (size_t)(ne - b));
	if (at) {
		const char *f = at + 2, *c2 = e, *c1;
		while (c2 > f && c2[-1] != ':')
			c2--;
		for (c1 = c2 - 1; c1 > f && c1[-1] != ':'; c1--)
			;
		if (c2 - 1 <= f || c1 - 1 <= f) {
			r->s = at;
			fail(r, "expected a location file:line:col after '@'");
		}
		loc->file = str_intern_n(f, (size_t)(c1 - 1 - f));
		loc->line = loc->end_line = atoi(c1);
		loc->col = loc->end_col = atoi(c2);
	}
	r->s = e;
}

/* ---- params and graphs ---- */

static void param(Reader *r, ParamKind kind)
{
	Param q = {.kind = kind, .trainable = kind == PK_PARAM};
	q.name = quoted(r);
	for (int i = 0; i < r->p->params.n; i++)
		if (r->p->params.v[i].name == q.name)
			fail(r, "parameter \"%s\" is declared twice", q.name);
	expect(r, ':');
	q.type = type(r);
	for (int i = 0; i < q.type.rank; i++)
		if (!DIM_IS_CONST(q.type.dim[i]))
			fail(r, "a parameter's sizes must be known at compile time");
	expect(r, '=');
	const char *init = word(r, "an initialiser");
	int k = 0;
	while (k < INIT_COUNT && strcmp(init_name[k], init))
		k++;
	if (k == INIT_COUNT) {
		r->s -= strlen(init);
		fail(r, "unknown initialiser '%s'", init);
	}
	q.init = (InitKind)k;
	expect(r, '(');
	if (!accept(r, ')')) {
		int n = 0;
		do {
			if (n == 4)
				fail(r, "an initialiser takes at most 4 arguments");
			q.init_args[n++] = number(r);
		} while (accept(r, ','));
		expect(r, ')');
	}
	if (accept_word(r, "frozen"))
		q.trainable = false;
	else if (accept_word(r, "trainable"))
		q.trainable = true;
	if (accept_word(r, "group")) /* checked against the groups once they are read */
		q.group = (int)integer(r, "a parameter group's number");
	if (accept_word(r, "from")) { /* from "file" "name in the file" */
		q.from = quoted(r);
		q.from_name = quoted(r);
	}
	const char *unused;
	comment(r, &unused, &q.loc);
	ir_param_add(r->p, q);
	end_line(r);
}

/* ---- the recipe: `recipe NAME { ... }`, then `group N { ... }` per parameter group ---- */

/* `NAME` from names[0..n) */
static int name_in(Reader *r, const char *const *names, int n, const char *what)
{
	skip_blanks(r);
	const char *at = r->s;
	const char *w = word(r, what);
	for (int k = 0; k < n; k++)
		if (!strcmp(names[k], w))
			return k;
	r->s = at;
	fail(r, "unknown %s '%s'", what, w);
}

/* KIND("path", name: "path", ..., label: "column", seq: N) as ir/print.c writes it */
static void source(Reader *r, DataSource *d)
{
	*d = (DataSource){.kind = (DataKind)name_in(r, data_name, DATA_COUNT, "data source")};
	expect(r, '(');
	if (!accept(r, ')')) {
		do {
			skip_blanks(r);
			const char *name = *r->s == '"' ? NULL : word(r, "a file name in quotes or NAME: \"file\"");
			if (name)
				expect(r, ':');
			if (name && d->kind == DATA_CSV && !strcmp(name, "label"))
				d->label = quoted(r);
			else if (name && d->kind == DATA_TEXT && !strcmp(name, "seq"))
				d->seq = integer(r, "a sequence length");
			else if (d->npaths == 4)
				fail(r, "a data source has at most 4 files");
			else {
				d->names[d->npaths] = name;
				d->paths[d->npaths++] = quoted(r);
			}
		} while (accept(r, ','));
		expect(r, ')');
	}
}

/* The lines of a recipe block up to '}': `name = value, ...`. A group's block sets the optimiser
   and the schedule only. */
static void settings(Reader *r, Recipe *rc, bool group)
{
	while (!accept(r, '}')) {
		do {
			skip_blanks(r);
			const char *at = r->s;
			const char *key = word(r, "a recipe setting");
			expect(r, '=');
			const RecipeField *rf = recipe_fields;
			while (rf->name && strcmp(rf->name, key))
				rf++;
			bool ok = !group || (rf->name ? rf->part > 0 : !strcmp(key, "optimizer") || !strcmp(key, "schedule"));
			if (!ok) {
				r->s = at;
				fail(r, "a parameter group sets its optimizer and schedule only, not '%s'", key);
			}
			char *field = rf->name ? (char *)rc + rf->offset : NULL;
			if (!strcmp(key, "optimizer"))
				rc->opt = (OptKind)name_in(r, opt_name, OPT_COUNT, "optimizer");
			else if (!strcmp(key, "schedule"))
				rc->sched = (SchedKind)name_in(r, sched_name, SCHED_COUNT, "schedule");
			else if (!strcmp(key, "data") || !strcmp(key, "valid"))
				source(r, key[0] == 'd' ? &rc->data : &rc->valid);
			else if (!strcmp(key, "metrics")) {
				expect(r, '[');
				do
					vec_push(&rc->metrics, word(r, "a metric name"));
				while (accept(r, ','));
				expect(r, ']');
			} else if (!field) {
				r->s = at;
				fail(r, "unknown recipe setting '%s'", key);
			} else if (rf->type == 'i')
				*(int64_t *)field = integer(r, "an integer");
			else if (rf->type == 'd')
				*(double *)field = number(r);
			else if (accept_word(r, "true"))
				*(bool *)field = true;
			else
				fail(r, "expected true");
		} while (accept(r, ','));
		end_line(r);
	}
	end_line(r);
}

static void recipe(Reader *r)
{
	if (r->p->has_recipe)
		fail(r, "a program has one recipe");
	r->p->has_recipe = true;
	const char *name = word(r, "a recipe name");
	r->p->recipe.name = strcmp(name, "_") ? name : NULL;
	expect(r, '{');
	end_line(r);
	settings(r, &r->p->recipe, false);
}

/* Group N starts from the recipe without its optimiser and schedule settings */
static void group(Reader *r)
{
	Prog *p = r->p;
	if (!p->has_recipe)
		fail(r, "a parameter group comes after the recipe");
	int64_t n = integer(r, "the group's number");
	if (n != p->groups.n + 1)
		fail(r, "expected group %d here, found group %lld", p->groups.n + 1, (long long)n);
	Recipe g = p->recipe;
	g.opt = OPT_SGD;
	g.sched = SCHED_CONSTANT;
	memset(&g.metrics, 0, sizeof g.metrics);
	for (const RecipeField *rf = recipe_fields; rf->name; rf++)
		if (rf->part)
			memset((char *)&g + rf->offset, 0, rf->type == 'i' ? sizeof(int64_t) : rf->type == 'd' ? sizeof(double) : sizeof(bool));
	expect(r, '{');
	end_line(r);
	settings(r, &g, true);
	vec_push(&p->groups, g);
}

static void define(Reader *r, int64_t id, Node *n)
{
	if (id < 0 || id > 100000000)
		fail(r, "node id %lld out of range", (long long)id);
	if (id >= r->nbyid) {
		int m = r->nbyid ? r->nbyid : 64;
		while (m <= id)
			m *= 2;
		Node **t = arena_alloc(r->p->arena, sizeof *t * (size_t)m); /* zeroed */
		if (r->nbyid)
			memcpy(t, r->byid, sizeof *t * (size_t)r->nbyid);
		r->byid = t;
		r->nbyid = m;
	}
	if (r->byid[id])
		fail(r, "%%%lld is defined twice", (long long)id);
	r->byid[id] = n;
	n->id = (int)id;
	if (r->g->next_id <= id)
		r->g->next_id = (int)id + 1;
}

static Node *use(Reader *r)
{
	expect(r, '%');
	const char *at = r->s;
	int64_t id = integer(r, "a node id after '%'");
	if (id < 0 || id >= r->nbyid || !r->byid[id]) {
		r->s = at;
		fail(r, "%%%lld is not defined before this use", (long long)id);
	}
	return r->byid[id];
}

static Graph *region(Reader *r);

static void node(Reader *r)
{
	Graph *g = r->g;
	const char *idat = r->s - 1;
	int64_t id = integer(r, "a node id after '%'");
	expect(r, '=');
	skip_blanks(r);
	const char *opat = r->s, *ls0 = r->line_start; /* errors found after its regions point here */
	int line0 = r->line;
	const char *opname = word(r, "an op name");
	int op = op_from_name(opname);
	if (op < 0 || op == OP_INPUT) {
		r->s -= strlen(opname);
		fail(r, op < 0 ? "unknown op '%s'" : "'%s' nodes are written in the graph's header", opname);
	}
	double fval = 0;
	if (accept(r, '(')) {
		fval = number(r);
		expect(r, ')');
	}
	int64_t attr[MAX_ATTR];
	int nattr = 0;
	if (op == OP_PARAM) {
		skip_blanks(r);
		const char *pat = r->s;
		const char *pn = quoted(r);
		int k = 0;
		while (k < r->p->params.n && r->p->params.v[k].name != pn)
			k++;
		if (k == r->p->params.n) {
			r->s = pat;
			fail(r, "no parameter named \"%s\" (declare it first with 'param')", pn);
		}
		attr[nattr++] = k;
	}
	Node *in[256];
	int nin = 0;
	skip_blanks(r);
	if (*r->s == '%') {
		do {
			if (nin == 256)
				fail(r, "more than 256 inputs");
			in[nin++] = use(r);
		} while (accept(r, ','));
	}
	if (accept(r, '[')) {
		do {
			if (nattr == MAX_ATTR)
				fail(r, "more than %d attributes", MAX_ATTR);
			/* a loop's trip count is a size */
			attr[nattr] = op == OP_LOOP && nattr == 0 ? dim_expr(r) : integer(r, "an integer attribute");
			nattr++;
		} while (accept(r, ','));
		expect(r, ']');
	}
	expect(r, ':');
	Type t = type(r);
	int want = op_info[op].nin;
	if (want >= 0 && nin != want) {
		r->s = opat;
		fail(r, "%s takes %d input%s, found %d", opname, want, want == 1 ? "" : "s", nin);
	}
	bool regions = accept(r, '{');
	const char *name;
	Loc loc;
	comment(r, &name, &loc);
	Graph *sub[4];
	int nsub = 0;
	if (regions) { /* `name(inputs) { ... }` per region, then the owner's closing brace */
		end_line(r);
		while (!accept(r, '}')) {
			if (nsub == 4)
				fail(r, "more than 4 regions");
			sub[nsub++] = region(r);
		}
	}
	char msg[512];
	Node *n = nsub ? ir_region_node(g, (Op)op, in, nin, attr, nattr, sub, nsub, loc, msg, sizeof msg)
	               : ir_node_new(g, (Op)op, in, nin, attr, nattr, &t, loc, msg, sizeof msg);
	int line1 = r->line; /* past the regions: reading goes on from here */
	const char *ls1 = r->line_start, *end = r->s;
	r->line = line0, r->line_start = ls0;
	if (!n) {
		r->s = opat;
		fail(r, "%s", msg);
	}
	if (!ir_type_equal(n->type, t)) {
		char s1[512], s2[512];
		ir_type_format(r->p, n->type, s1, sizeof s1);
		ir_type_format(r->p, t, s2, sizeof s2);
		r->s = opat;
		fail(r, "%s gives %s here, not %s", opname, s1, s2);
	}
	n->fval = fval;
	n->name = name;
	r->s = idat;
	define(r, id, n);
	r->s = end, r->line = line1, r->line_start = ls1;
	if (op_info[op].flags & OPF_EFFECT)
		ir_graph_effect(g, n);
	end_line(r);
}

/* `(inputs) { nodes return ... }` into g, with a node table of its own */
static void graph_body(Reader *r, Graph *g)
{
	Graph *outer = r->g;
	Node **byid = r->byid;
	int nbyid = r->nbyid;
	r->g = g;
	r->byid = NULL;
	r->nbyid = 0;
	expect(r, '(');
	if (!accept(r, ')')) {
		do {
			expect(r, '%');
			int64_t id = integer(r, "an input id");
			const char *iname = word(r, "an input name");
			expect(r, ':');
			Type t = type(r);
			Node *n = ir_input(g, t, iname[0] == '_' && !iname[1] ? NULL : iname, (Loc){0});
			define(r, id, n);
		} while (accept(r, ','));
		expect(r, ')');
	}
	expect(r, '{');
	end_line(r);
	while (accept(r, '%'))
		node(r);
	if (!accept_word(r, "return"))
		fail(r, "expected a node ('%%N = ...') or 'return'");
	skip_blanks(r);
	if (*r->s && *r->s != '\n') {
		do {
			const char *oname = word(r, "an output name");
			expect(r, '=');
			ir_graph_output(g, oname, use(r));
		} while (accept(r, ','));
	}
	end_line(r);
	expect(r, '}');
	end_line(r);
	r->g = outer;
	r->byid = byid;
	r->nbyid = nbyid;
}

static Graph *region(Reader *r)
{
	Graph *b = ir_region_new(r->p, word(r, "a region name"));
	graph_body(r, b);
	return b;
}

static void graph(Reader *r)
{
	const char *gname = word(r, "a graph name");
	if (ir_prog_graph(r->p, gname))
		fail(r, "graph '%s' is defined twice", gname);
	Graph *g = ir_graph_new(r->p, gname);
	graph_body(r, g);
	if (ir_graph_verify(g, "nndc opt: reading"))
		fail(r, "graph '%s' fails the IR verifier (problems above)", gname);
}

Prog *ir_prog_read(Arena *a, const char *name, const char *text, char *err, size_t errlen)
{
	Reader r = {.name = name, .s = text, .line_start = text, .line = 1, .err = err, .errlen = errlen};
	r.p = ir_prog_new(a);
	if (setjmp(r.fail))
		return NULL;
	next_line(&r);
	while (*r.s) {
		if (accept_word(&r, "sym")) {
			const char *s = word(&r, "a size variable name");
			for (int i = 0; i < r.p->syms.n; i++)
				if (r.p->syms.v[i] == s)
					fail(&r, "size variable '%s' is declared twice", s);
			ir_sym_add(r.p, s); /* products order their factors by this index (ir_dim_binop) */
			end_line(&r);
		} else if (accept_word(&r, "param"))
			param(&r, PK_PARAM);
		else if (accept_word(&r, "state"))
			param(&r, PK_STATE);
		else if (accept_word(&r, "recipe"))
			recipe(&r);
		else if (accept_word(&r, "group"))
			group(&r);
		else if (accept_word(&r, "graph"))
			graph(&r);
		else
			fail(&r, "expected 'sym', 'param', 'state', 'recipe', 'group' or 'graph'");
	}
	for (int i = 0; i < r.p->params.n; i++)
		if (r.p->params.v[i].group < 0 || r.p->params.v[i].group > r.p->groups.n) {
			snprintf(err, errlen, "%s: parameter \"%s\" is in group %d; the program has %d", name,
			         r.p->params.v[i].name, r.p->params.v[i].group, r.p->groups.n);
			return NULL;
		}
	return r.p;
}
