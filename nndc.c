/* nndc.c: the nndc command: arguments and the pipeline, nothing more.
 *
 *   parse -> sema (check, elaborate to IR) -> autodiff + update -> passes -> codegen -> link
 *
 * Exit status: 0 ok, 1 an error in the user's program or files, 2 bad usage, 3 internal error.
 */
#include "codegen/codegen.h"
#include "lang/lang.h"
#include "passes/passes.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char usage[] =
	"usage: nndc COMMAND [options] FILE.nnd\n"
	"\n"
	"commands:\n"
	"  build FILE [-o DIR] [-O0|-O1|-O2|-O3] [--train NAME] [--emit exe|obj|llvm|asm]\n"
	"                      compile the recipe into DIR/NAME-train and DIR/NAME-infer\n"
	"  check FILE          parse and type-check only\n"
	"  ir FILE [--graph loss|step|eval|predict] [--after PASS | --print-after-all] [-O0..3]\n"
	"                      print the typed graph IR (after the whole pipeline, or after PASS)\n"
	"  parse FILE          print the syntax tree (for developers)\n"
	"  passes              list the optimisation passes\n"
	"\n"
	"options:\n"
	"  --verify-each       check the IR after every pass\n"
	"  --time-passes       print the time each pass takes\n"
	"  --disable-pass P    skip pass P\n"
	"  -h, --help          this text\n";

typedef struct Opts {
	const char *cmd, *file, *outdir, *train, *emit, *graph, *after;
	int level;
	bool print_all, verify_each, time_passes;
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
	*o = (Opts){.outdir = ".", .emit = "exe", .level = 2};
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *next = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED_ARG() do { if (!next) usage_error("option '%s' needs a value", a); i++; } while (0)
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(usage, stdout);
			exit(0);
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
	if (!o->cmd)
		usage_error("%s", "no command given");
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

static int cmd_ir(Arena *a, const Opts *o)
{
	bool quiet = o->after || o->print_all; /* print only what the pass manager prints */
	Prog *p = front_and_middle(a, o, true, stdout);
	if (!p)
		return finish_diags() ? 1 : 1;
	finish_diags();
	if (quiet)
		return 0;
	if (o->graph) {
		Graph *g = ir_prog_graph(p, o->graph);
		if (!g) {
			fprintf(stderr, "nndc: error: no graph named '%s' (graphs:", o->graph);
			for (int i = 0; i < p->graphs.n; i++)
				fprintf(stderr, " %s", p->graphs.v[i]->name);
			fprintf(stderr, ")\n");
			return 1;
		}
		ir_graph_print(stdout, g);
		return 0;
	}
	ir_prog_print(stdout, p);
	return 0;
}

static int cmd_build(Arena *a, const Opts *o)
{
	Prog *p = front_and_middle(a, o, true, stderr);
	if (!p || finish_diags())
		return 1;
	if (!p->has_recipe) {
		fprintf(stderr, "%s: error: nothing to build: the file has no 'train' recipe\n", o->file);
		return 1;
	}
	if (mkdir(o->outdir, 0777) != 0 && errno != EEXIST) {
		fprintf(stderr, "nndc: error: cannot create output folder '%s': %s\n", o->outdir, strerror(errno));
		return 1;
	}
	const char *name = p->recipe.name;
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
	bool known = !strcmp(o.cmd, "build") || !strcmp(o.cmd, "check") || !strcmp(o.cmd, "ir") || !strcmp(o.cmd, "parse");
	if (!known)
		usage_error("unknown command '%s'", o.cmd);
	if (!o.file)
		usage_error("'%s' needs a .nnd file", o.cmd);
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
	return cmd_build(a, &o);
}
