/* passes/passes.h: the passes over the graph IR and the pass manager that runs them.
 * See passes/README.md for the pipeline and each pass's contract.
 */
#ifndef NND_PASSES_H
#define NND_PASSES_H

#include "ir/ir.h"

/* ---- passes/passes.c: the pipeline ---------------------------------------------------------- */

typedef struct PassInfo {
	const char *name;       /* as written after --print-after and --disable-pass */
	void (*fn)(Graph *g);
	int level;              /* the lowest -O level that runs it */
	const char *doc;        /* one line for `nndc passes` */
} PassInfo;

extern const PassInfo pass_table[]; /* in pipeline order */
extern const int pass_count;
const PassInfo *pass_find(const char *name); /* NULL if unknown */

typedef struct PassOptions {
	int level;                   /* -O level */
	const char *print_after;     /* --print-after NAME: print each graph after that pass; or NULL */
	bool print_after_all;        /* --print-after-all */
	FILE *print_to;              /* where to print; NULL: stderr */
	const char *const *disabled; /* --disable-pass NAME, repeatable */
	int ndisabled;
	bool time_passes;            /* --time-passes: a table of times on stderr at the end */
	bool verify_each;            /* --verify-each: ir_graph_verify after every pass */
} PassOptions;

/* Runs every enabled pass of the table, in order, on every graph of p. Returns 0, the number of
   verifier problems found (with verify_each), or -1 after printing an error naming an unknown
   pass in print_after or disabled. */
int pass_run_pipeline(Prog *p, const PassOptions *o);
void pass_list(FILE *f); /* `nndc passes`: name, level, doc */

/* ---- the cleanup passes (one file each; contracts above each function) -------------------- */

void pass_constfold(Graph *g); /* passes/constfold.c */
void pass_cse(Graph *g);       /* passes/cse.c */
void pass_dce(Graph *g);       /* passes/dce.c */

/* ---- passes/autodiff.c: reverse-mode differentiation ---------------------------------------- */

/* A new graph `name` in loss's Prog: loss's nodes, inputs and outputs, and one output
   "grad.<param>" per trainable param (zero where output 0 does not depend on it). */
Graph *pass_autodiff(Graph *loss, const char *name);
bool pass_autodiff_has_rule(Op op); /* the table walk test uses it */

/* ---- passes/update.c: optimiser updates ----------------------------------------------------- */

/* Replaces each "grad.<param>" output of step by an optimiser-update effect on that param. */
void pass_update(Graph *step);

#endif
