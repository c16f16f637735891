/* tools/fuzz/parse_fuzz.c: the libFuzzer target for the front end (`make fuzz`).
 *
 * Each input is parsed as a .nnd file; the syntax tree is dumped and the diagnostics are rendered
 * (to /dev/null), so the lexer, the grammar's error recovery, the AST and the diagnostic printer
 * all run. Any crash, sanitizer report or leak is a bug. tools/fuzz/replay.c runs the same
 * function over files, with the ordinary compiler (make test).
 *
 * The compiler never frees its arenas (nndc compiles one file and exits); a fuzzer runs millions
 * of inputs in one process, so this file includes ir/util.c to reach the private list of arenas
 * and free them after each input (all but the string table's). The syntax tree's lists are heap
 * arrays reachable only from arena memory, so they leak once the arenas are freed: `make fuzz`
 * runs with -detect_leaks=0 (they are small).
 */
#include "ir/util.c"
#include "lang/lang.h"

/* Frees every arena but the interned strings' (the string table outlives inputs) */
static void arenas_free(void)
{
	Arena **link = &arenas;
	while (*link) {
		Arena *a = *link;
		if (a == strtab.arena) {
			link = &a->next;
			continue;
		}
		*link = a->next;
		for (Block *b = a->head, *next; b; b = next) {
			next = b->next;
			free(b);
		}
		free(a);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* replay.c sets it: a few inputs need no freeing, and kept arenas keep LeakSanitizer quiet */
int fuzz_keep_memory;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *null;
	if (!null && !(null = fopen("/dev/null", "w")))
		return 0;
	Arena *a = arena_new();
	Ast *prog = parse_string(a, "fuzz.nnd", (const char *)data, size);
	if (prog)
		ast_dump(null, prog, 0);
	diag_flush(null);
	diag_reset();
	if (!fuzz_keep_memory)
		arenas_free();
	return 0;
}
