/* nndc.c: the nndc command: arguments and the pipeline, nothing more.
 *
 *   parse -> sema (check, elaborate to IR) -> autodiff + update -> passes -> codegen -> link
 *
 * Exit status: 0 ok, 1 an error in the user's program or files, 2 bad usage, 3 internal error.
 */
#include "codegen/codegen.h"
#include "lang/lang.h"
#include "passes/passes.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NND_VERSION "0.1.0"

/* The commands: name, synopsis, and the text of `nndc COMMAND --help`. */
typedef struct Command {
	const char *name, *synopsis, *help;
} Command;

static const Command commands[] = {
	{"build", "build FILE.nnd [-o DIR] [-O0..3] [--train NAME] [--emit exe|obj|llvm|asm]",
	 "Compiles the recipe into DIR/NAME-train and DIR/NAME-infer (DIR: '.').\n"
	 "  -o DIR          output folder (created if missing)\n"
	 "  -O0..-O3        optimisation level (default -O2)\n"
	 "  --train NAME    the recipe to build when the file has several\n"
	 "  --emit KIND     exe (default), obj (DIR/NAME.o), llvm (DIR/NAME.ll), asm (DIR/NAME.s)\n"},
	{"run", "run FILE.nnd [--train NAME] [-O0..3] [-- FLAGS...]",
	 "Builds into a cache ($XDG_CACHE_HOME/nnd or ~/.cache/nnd), keyed by the file's contents, its\n"
	 "imports and this nndc, then runs the training executable with FLAGS (see runtime/README.md).\n"},
	{"check", "check FILE.nnd [--train NAME]", "Parses and type-checks the file; prints the errors.\n"},
	{"ir", "ir FILE.nnd [--graph NAME] [--after PASS | --print-after-all] [--format text|dot] [-O0..3]",
	 "Prints the typed graph IR after the whole pipeline, or after PASS.\n"
	 "  --graph NAME        one entry point: loss, step, eval or predict\n"
	 "  --after PASS        the IR after PASS (`nndc passes` lists them)\n"
	 "  --print-after-all   the IR after every pass\n"
	 "  --format dot        Graphviz instead of text\n"},
	{"opt", "opt FILE.nir --passes=P1,P2,...",
	 "Reads textual IR (what `nndc ir` prints), runs the named passes in that order on every graph,\n"
	 "verifies the result and prints it.\n"
	 "  --graph NAME    run on, and print, only that graph\n"
	 "  --format dot    Graphviz instead of text\n"},
	{"parse", "parse FILE.nnd", "Prints the syntax tree (for developers).\n"},
	{"passes", "passes", "Lists the optimisation passes in pipeline order.\n"},
};
enum { NCOMMANDS = sizeof commands / sizeof commands[0] };

static const char general_options[] =
	"options for build, run and ir:\n"
	"  --verify-each       check the IR after every pass\n"
	"  --time-passes       print the time each pass takes\n"
	"  --disable-pass P    skip pass P (repeatable)\n"
	"  -h, --help          help (nndc COMMAND --help: the command's)\n"
	"  --version           the version\n"
	"\n"
	"exit status: 0 ok, 1 an error in the program or its files, 2 bad usage, 3 internal error.\n"
	"See nndc(1).\n";

static void print_help(const Command *c)
{
	if (c) {
		printf("usage: nndc %s\n\n%s\n%s", c->synopsis, c->help, general_options);
		return;
	}
	printf("usage: nndc COMMAND [options] FILE\n\ncommands:\n");
	for (int i = 0; i < NCOMMANDS; i++)
		printf("  %s\n", commands[i].synopsis);
	printf("\n%s", general_options);
}

static const Command *find_command(const char *name)
{
	for (int i = 0; name && i < NCOMMANDS; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

typedef struct Opts {
	const char *cmd, *file, *outdir, *train, *emit, *graph, *after, *format, *passes;
	int level;
	bool print_all, verify_each, time_passes, help;
	char **rest; /* run: the flags after `--` */
	int nrest;
	const char *disabled[16];
	int ndisabled;
} Opts;

static _Noreturn void usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "nndc: error: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n(see nndc --help)\n");
	exit(2);
}

static void parse_args(int argc, char **argv, Opts *o)
{
	*o = (Opts){.outdir = ".", .emit = "exe", .level = 2, .format = "text"};
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *next = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED_ARG() do { if (!next) usage_error("option '%s' needs a value", a); i++; } while (0)
		if (!strcmp(a, "-h") || !strcmp(a, "--help"))
			o->help = true;
		else if (!strcmp(a, "--version")) {
			printf("nndc %s (LLVM 19)\n", NND_VERSION);
			exit(0);
		} else if (!strcmp(a, "--")) {
			o->rest = argv + i + 1;
			o->nrest = argc - i - 1;
			break;
		} else if (!strcmp(a, "--format")) {
			NEED_ARG();
			o->format = next;
			if (strcmp(next, "text") && strcmp(next, "dot"))
				usage_error("--format takes text or dot, not '%s'", next);
		} else if (!strncmp(a, "--passes=", 9))
			o->passes = a + 9;
		else if (!strcmp(a, "--passes")) {
			NEED_ARG();
			o->passes = next;
		} else if (!strcmp(a, "-o")) {
			NEED_ARG();
			o->outdir = next;
		} else if (a[0] == '-' && a[1] == 'O' && a[2] >= '0' && a[2] <= '3' && !a[3])
			o->level = a[2] - '0';
		else if (!strcmp(a, "--train")) {
			NEED_ARG();
			o->train = next;
		} else if (!strcmp(a, "--emit")) {
			NEED_ARG();
			o->emit = next;
			if (strcmp(next, "exe") && strcmp(next, "obj") && strcmp(next, "llvm") && strcmp(next, "asm"))
				usage_error("--emit takes exe, obj, llvm or asm, not '%s'", next);
		} else if (!strcmp(a, "--graph")) {
			NEED_ARG();
			o->graph = next;
		} else if (!strcmp(a, "--after")) {
			NEED_ARG();
			o->after = next;
		} else if (!strcmp(a, "--print-after-all"))
			o->print_all = true;
		else if (!strcmp(a, "--verify-each"))
			o->verify_each = true;
		else if (!strcmp(a, "--time-passes"))
			o->time_passes = true;
		else if (!strcmp(a, "--disable-pass")) {
			NEED_ARG();
			if (o->ndisabled < 16)
				o->disabled[o->ndisabled++] = next;
		} else if (a[0] == '-' && a[1])
			usage_error("unknown option '%s'", a);
		else if (!o->cmd)
			o->cmd = a;
		else if (!o->file)
			o->file = a;
		else
			usage_error("unexpected argument '%s'", a);
#undef NEED_ARG
	}
	if (o->help) {
		if (o->cmd && !find_command(o->cmd))
			usage_error("unknown command '%s'", o->cmd);
		print_help(find_command(o->cmd));
		exit(0);
	}
	if (!o->cmd)
		usage_error("%s", "no command given");
	if (!find_command(o->cmd))
		usage_error("unknown command '%s'", o->cmd);
	if (o->rest && strcmp(o->cmd, "run"))
		usage_error("flags after '--' are for 'run', not '%s'", o->cmd);
}

/* The folder nndc's own binary is in: the runtime and stdlib are found relative to it, either
   beside it in the source tree (./runtime, ./stdlib) or installed (../lib/nnd, ../share/nnd). */
static const char *self_dir(void)
{
	static char dir[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", dir, sizeof dir - 1);
	if (n <= 0)
		return ".";
	dir[n] = 0;
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = 0;
	return dir;
}

static bool exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

static const char *find_in(Arena *a, const char *const *cands, const char *what)
{
	for (int i = 0; cands[i]; i++)
		if (exists(cands[i]))
			return cands[i];
	fprintf(stderr, "nndc: error: cannot find the %s (looked in %s)\n", what, cands[0]);
	exit(3);
}

static const char *stdlib_dir(Arena *a)
{
	const char *d = self_dir();
	const char *c[] = {arena_printf(a, "%s/stdlib", d), arena_printf(a, "%s/../share/nnd/stdlib", d), NULL};
	return find_in(a, c, "standard library");
}

static const char *runtime_file(Arena *a, const char *name)
{
	const char *d = self_dir();
	const char *c[] = {arena_printf(a, "%s/runtime/%s", d, name), arena_printf(a, "%s/../lib/nnd/%s", d, name), NULL};
	return find_in(a, c, name);
}

static int finish_diags(void)
{
	int n = diag_error_count();
	diag_flush(stderr);
	return n ? 1 : 0;
}

/* Everything from source to optimised IR. NULL after reporting errors. */
static Prog *front_and_middle(Arena *a, const Opts *o, bool optimise, FILE *print_to)
{
	Ast *prog = parse_file(a, o->file);
	if (!prog || diag_error_count())
		return NULL;
	ElabOptions eo = {.stdlib_dir = stdlib_dir(a), .train = o->train};
	Prog *p = sema_program(a, prog, &eo);
	if (!p || diag_error_count())
		return NULL;
	Graph *loss = ir_prog_graph(p, "loss");
	if (loss) {
		Graph *step = pass_autodiff(loss, "step");
		pass_update(step);
	}
	if (!optimise)
		return p;
	PassOptions po = {.level = o->level, .print_after = o->after, .print_after_all = o->print_all,
	                  .print_to = print_to, .disabled = o->disabled, .ndisabled = o->ndisabled,
	                  .time_passes = o->time_passes, .verify_each = o->verify_each};
	int r = pass_run_pipeline(p, &po);
	if (r < 0)
		exit(2);
	if (r > 0)
		BUG("the IR verifier found %d problems", r);
	return p;
}

static const char *built_name; /* the recipe cmd_build built (for run) */

static int cmd_build(Arena *a, const Opts *o)
{
	Prog *p = front_and_middle(a, o, true, stderr);
	if (finish_diags() || !p)
		return 1;
	if (!p->has_recipe) {
		fprintf(stderr, "%s: error: nothing to build: the file has no 'train' recipe\n", o->file);
		return 1;
	}
	if (mkdir(o->outdir, 0777) != 0 && errno != EEXIST) {
		fprintf(stderr, "nndc: error: cannot create output folder '%s': %s\n", o->outdir, strerror(errno));
		return 1;
	}
	const char *name = built_name = p->recipe.name;
	bool exe = !strcmp(o->emit, "exe");
	const char *ext = exe || !strcmp(o->emit, "obj") ? "o" : !strcmp(o->emit, "llvm") ? "ll" : "s";
	const char *obj = arena_printf(a, "%s/%s.%s", o->outdir, name, ext);
	CgOptions co = {.opt_level = o->level, .emit = exe ? "obj" : o->emit, .source = o->file};
	char err[1024];
	if (!cg_prog_emit(p, obj, &co, err, sizeof err)) {
		fprintf(stderr, "%s: error: %s\n", o->file, err);
		return 1;
	}
	if (!exe)
		return 0;
	const char *rtlib = runtime_file(a, "libnndrt.a");
	const char *mains[2] = {runtime_file(a, "train_main.o"), runtime_file(a, "infer_main.o")};
	const char *exes[2] = {arena_printf(a, "%s/%s-train", o->outdir, name), arena_printf(a, "%s/%s-infer", o->outdir, name)};
	for (int i = 0; i < 2; i++)
		if (!cg_link(obj, mains[i], rtlib, exes[i], err, sizeof err)) {
			fprintf(stderr, "nndc: error: linking %s failed: %s\n", exes[i], err);
			return 1;
		}
	return 0;
}

static void print_graph(const Opts *o, const Graph *g)
{
	if (!strcmp(o->format, "dot"))
		ir_graph_print_dot(stdout, g);
	else
		ir_graph_print(stdout, g);
}

static void print_prog(const Opts *o, const Prog *p)
{
	if (strcmp(o->format, "dot")) {
		ir_prog_print(stdout, p);
		return;
	}
	for (int i = 0; i < p->graphs.n; i++)
		ir_graph_print_dot(stdout, p->graphs.v[i]);
}

static Graph *find_graph(Prog *p, const char *name)
{
	Graph *g = ir_prog_graph(p, name);
	if (!g) {
		fprintf(stderr, "nndc: error: no graph named '%s' (graphs:", name);
		for (int i = 0; i < p->graphs.n; i++)
			fprintf(stderr, " %s", p->graphs.v[i]->name);
		fprintf(stderr, ")\n");
	}
	return g;
}

static int cmd_ir(Arena *a, Opts *o)
{
	/* --graph G --after P: stop the pipeline after P, then print G alone */
	const char *after = o->after;
	static const char *rest[64];
	if (after && o->graph) {
		const PassInfo *ps = pass_find(after);
		if (!ps)
			usage_error("unknown pass '%s' given to --after (`nndc passes` lists them)", after);
		if (ps->level > o->level)
			usage_error("pass '%s' does not run at this -O level", after);
		for (int i = 0; i < o->ndisabled; i++)
			rest[i] = o->disabled[i];
		int n = o->ndisabled;
		for (const PassInfo *q = ps + 1; q < pass_table + pass_count && n < 64; q++)
			rest[n++] = q->name;
		memcpy(o->disabled, rest, sizeof o->disabled < sizeof rest ? sizeof o->disabled : sizeof rest);
		o->ndisabled = n < 16 ? n : 16;
		o->after = NULL;
	}
	bool quiet = o->after || o->print_all; /* print only what the pass manager prints */
	Prog *p = front_and_middle(a, o, true, stdout);
	if (!p)
		return finish_diags() ? 1 : 1;
	finish_diags();
	if (quiet)
		return 0;
	if (o->graph) {
		Graph *g = find_graph(p, o->graph);
		if (!g)
			return 1;
		if (after)
			printf("; after %s\n", after);
		print_graph(o, g);
		return 0;
	}
	print_prog(o, p);
	return 0;
}

/* nndc opt FILE.nir --passes=a,b: read, run the passes in order, verify, print */
static int cmd_opt(Arena *a, const Opts *o)
{
	if (!o->passes)
		usage_error("%s", "'opt' needs --passes=P1,P2,... (`nndc passes` lists them)");
	const PassInfo *list[64];
	int n = 0;
	char *names = arena_strdup(a, o->passes), *save = NULL;
	for (char *t = strtok_r(names, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (!(list[n] = pass_find(t)))
			usage_error("unknown pass '%s' given to --passes (`nndc passes` lists them)", t);
		if (++n == 64)
			usage_error("%s", "more than 64 passes given to --passes");
	}
	size_t len;
	char *text = read_file(o->file, &len);
	if (!text) {
		fprintf(stderr, "nndc: error: cannot read '%s': %s\n", o->file, strerror(errno));
		return 1;
	}
	if (strlen(text) != len) {
		fprintf(stderr, "%s: error: the file holds a NUL byte\n", o->file);
		return 1;
	}
	char err[1024];
	Prog *p = ir_prog_read(a, o->file, text, err, sizeof err);
	free(text);
	if (!p) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	Graph *only = o->graph ? find_graph(p, o->graph) : NULL;
	if (o->graph && !only)
		return 1;
	for (int i = 0; i < p->graphs.n; i++) {
		Graph *g = p->graphs.v[i];
		if (only && g != only)
			continue;
		for (int k = 0; k < n; k++) {
			list[k]->fn(g);
			char when[80];
			snprintf(when, sizeof when, "nndc opt: after %s", list[k]->name);
			if (ir_graph_verify(g, when))
				return 3;
		}
	}
	if (only)
		print_graph(o, only);
	else
		print_prog(o, p);
	return 0;
}

/* ---- nndc run: a build cache keyed by contents ---- */

static uint64_t fnv(uint64_t h, const void *data, size_t n)
{
	const unsigned char *s = data;
	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * 1099511628211ull;
	return h;
}

/* Hashes `path` and, through `import std.x` and `import "f.nnd"` in its text, every file it
   imports (each once). Unreadable files hash as their name: the build reports them. */
static uint64_t hash_sources(Arena *a, const char *path, uint64_t h, const char **seen, int *nseen)
{
	for (int i = 0; i < *nseen; i++)
		if (!strcmp(seen[i], path))
			return h;
	if (*nseen == 256)
		return h;
	seen[(*nseen)++] = path;
	h = fnv(h, path, strlen(path) + 1);
	size_t len;
	char *text = read_file(path, &len);
	if (!text)
		return h;
	h = fnv(h, text, len);
	const char *slash = strrchr(path, '/');
	for (char *q = text; (q = strstr(q, "import")); q += 6) {
		if ((q > text && (isalnum((unsigned char)q[-1]) || q[-1] == '_')) || !isspace((unsigned char)q[6]))
			continue;
		char *t = q + 6;
		while (isspace((unsigned char)*t))
			t++;
		char *e = t + 1;
		const char *dep = NULL;
		if (*t == '"') {
			while (*e && *e != '"' && *e != '\n')
				e++;
			const char *f = arena_strndup(a, t + 1, (size_t)(e - t - 1));
			dep = f[0] == '/' || !slash ? f : arena_printf(a, "%.*s/%s", (int)(slash - path), path, f);
		} else if (!strncmp(t, "std.", 4)) {
			for (e = t + 4; isalnum((unsigned char)*e) || *e == '_'; e++)
				;
			dep = arena_printf(a, "%s/%.*s.nnd", stdlib_dir(a), (int)(e - t - 4), t + 4);
		}
		if (dep)
			h = hash_sources(a, dep, h, seen, nseen);
	}
	free(text);
	return h;
}

static void remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	char path[PATH_MAX];
	for (struct dirent *e; (e = readdir(d));)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
			unlink(path);
		}
	closedir(d);
	rmdir(dir);
}

static int cmd_run(Arena *a, Opts *o)
{
	size_t len;
	char *self = read_file("/proc/self/exe", &len);
	uint64_t h = fnv(14695981039346656037ull, NND_VERSION, sizeof NND_VERSION);
	if (self) {
		h = fnv(h, self, len);
		free(self);
	}
	const char *seen[256];
	int nseen = 0;
	h = hash_sources(a, o->file, h, seen, &nseen);
	char opts[64];
	snprintf(opts, sizeof opts, "-O%d", o->level);
	h = fnv(h, opts, strlen(opts) + 1);
	h = fnv(h, o->train ? o->train : "", o->train ? strlen(o->train) + 1 : 1);

	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	const char *root = xdg && *xdg ? arena_printf(a, "%s/nnd", xdg)
	                   : arena_printf(a, "%s/.cache/nnd", home && *home ? home : "/tmp");
	const char *dir = arena_printf(a, "%s/%016llx", root, (unsigned long long)h);
	const char *mark = arena_printf(a, "%s/train-exe", dir);
	char *exe = read_file(mark, &len);
	if (!exe) {
		const char *parent = xdg && *xdg ? xdg : arena_printf(a, "%s/.cache", home && *home ? home : "/tmp");
		mkdir(parent, 0777);
		if (mkdir(root, 0777) != 0 && errno != EEXIST) {
			fprintf(stderr, "nndc: error: cannot create the cache folder '%s': %s\n", root, strerror(errno));
			return 1;
		}
		const char *tmp = arena_printf(a, "%s.tmp%d", dir, (int)getpid());
		o->outdir = tmp;
		int r = cmd_build(a, o);
		if (r) {
			remove_dir(tmp);
			return r;
		}
		const char *final = arena_printf(a, "%s/%s-train", dir, built_name);
		FILE *f = fopen(arena_printf(a, "%s/train-exe", tmp), "w");
		if (!f || fputs(final, f) < 0 || fclose(f) != 0 || (rename(tmp, dir) != 0 && errno != ENOTEMPTY && errno != EEXIST)) {
			fprintf(stderr, "nndc: error: cannot write the cache folder '%s': %s\n", dir, strerror(errno));
			return 1;
		}
		exe = arena_strdup(a, final);
	}
	char **argv = arena_alloc(a, sizeof *argv * (size_t)(o->nrest + 2));
	argv[0] = exe;
	for (int i = 0; i < o->nrest; i++)
		argv[i + 1] = o->rest[i];
	fflush(stdout);
	execv(exe, argv);
	fprintf(stderr, "nndc: error: cannot run '%s': %s\n", exe, strerror(errno));
	return 1;
}

int main(int argc, char **argv)
{
	Opts o;
	parse_args(argc, argv, &o);
	diag_color = isatty(2);
	Arena *a = arena_new();
	if (!strcmp(o.cmd, "passes")) {
		pass_list(stdout);
		return 0;
	}
	if (!o.file)
		usage_error(!strcmp(o.cmd, "opt") ? "'%s' needs a .nir file" : "'%s' needs a .nnd file", o.cmd);
	if (!strcmp(o.cmd, "parse")) {
		Ast *prog = parse_file(a, o.file);
		if (prog)
			ast_dump(stdout, prog, 0);
		return finish_diags();
	}
	if (!strcmp(o.cmd, "check")) {
		Ast *prog = parse_file(a, o.file);
		if (prog && !diag_error_count()) {
			ElabOptions eo = {.stdlib_dir = stdlib_dir(a), .train = o.train};
			sema_program(a, prog, &eo);
		}
		return finish_diags();
	}
	if (!strcmp(o.cmd, "ir"))
		return cmd_ir(a, &o);
	if (!strcmp(o.cmd, "opt"))
		return cmd_opt(a, &o);
	if (!strcmp(o.cmd, "run"))
		return cmd_run(a, &o);
	return cmd_build(a, &o);
}
