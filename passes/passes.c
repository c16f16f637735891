/* passes/passes.c: the pass manager. The pipeline is the one table below, run in order on every
 * graph of the program; the runner alone provides --print-after, --print-after-all,
 * --disable-pass, --time-passes and --verify-each. Autodiff and the optimiser-update lowering
 * create graphs rather than rewrite one, so the driver calls them before the pipeline:
 *
 *   Graph *step = pass_autodiff(loss, "step"); pass_update(step); pass_run_pipeline(p, &o);
 */
#include "passes/passes.h"

#include <string.h>
#include <time.h>

const PassInfo pass_table[] = {
	{"constfold", pass_constfold, 1, "fold scalar operations on constants"},
	{"cse", pass_cse, 1, "merge identical pure nodes (common subexpressions)"},
	{"dce", pass_dce, 0, "remove nodes that no output or effect needs"},
};
const int pass_count = sizeof pass_table / sizeof pass_table[0];

const PassInfo *pass_find(const char *name)
{
	for (int i = 0; i < pass_count; i++)
		if (strcmp(pass_table[i].name, name) == 0)
			return &pass_table[i];
	return NULL;
}

void pass_list(FILE *f)
{
	fprintf(f, "passes, in pipeline order (run at -O<level> and above):\n");
	for (int i = 0; i < pass_count; i++)
		fprintf(f, "  %-12s -O%d  %s\n", pass_table[i].name, pass_table[i].level, pass_table[i].doc);
}

static bool disabled(const PassOptions *o, const char *name)
{
	for (int i = 0; i < o->ndisabled; i++)
		if (strcmp(o->disabled[i], name) == 0)
			return true;
	return false;
}

static bool known(const char *name, const char *option)
{
	if (pass_find(name))
		return true;
	fprintf(stderr, "nndc: error: unknown pass '%s' given to %s (`nndc passes` lists them)\n", name, option);
	return false;
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int count_nodes(const Prog *p)
{
	int n = 0;
	for (int i = 0; i < p->graphs.n; i++)
		n += p->graphs.v[i]->nodes.n;
	return n;
}

int pass_run_pipeline(Prog *p, const PassOptions *o)
{
	FILE *out = o->print_to ? o->print_to : stderr;
	if (o->print_after && !known(o->print_after, "--print-after"))
		return -1;
	for (int i = 0; i < o->ndisabled; i++)
		if (!known(o->disabled[i], "--disable-pass"))
			return -1;
	int problems = 0;
	if (o->time_passes)
		fprintf(stderr, "%-12s %10s %8s %8s\n", "pass", "ms", "nodes", "after");
	for (int k = 0; k < pass_count; k++) {
		const PassInfo *ps = &pass_table[k];
		if (ps->level > o->level || disabled(o, ps->name))
			continue;
		int before = count_nodes(p);
		double secs = 0;
		for (int i = 0; i < p->graphs.n; i++) {
			Graph *g = p->graphs.v[i];
			double t0 = now();
			ps->fn(g);
			secs += now() - t0;
			if (o->verify_each) {
				char when[64];
				snprintf(when, sizeof when, "after %s", ps->name);
				problems += ir_graph_verify(g, when);
			}
			if (o->print_after_all || (o->print_after && strcmp(o->print_after, ps->name) == 0)) {
				fprintf(out, "; after %s\n", ps->name);
				ir_graph_print(out, g);
			}
		}
		if (o->time_passes)
			fprintf(stderr, "%-12s %10.3f %8d %8d\n", ps->name, 1e3 * secs, before, count_nodes(p));
	}
	return problems;
}
