/* tests/unit/cgso.h: compiles a Prog with codegen into a shared object and loads it, for the
 * kernel tests (test_codegen.c, test_ops.c). Test-only: static functions, included once per test
 * program. The runtime's helpers come from runtime/libnndrt.a when it is built; weak stubs stand
 * in otherwise (the archive's definitions win).
 */
#ifndef NND_TEST_CGSO_H
#define NND_TEST_CGSO_H

#include <check.h>
#include <dlfcn.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "codegen/codegen.h"
#include "runtime/nnd_model.h"

extern char **environ;

/* Runs argv (no shell); its exit status, -1 if it could not run */
static int cgso_run(const char **argv)
{
	pid_t pid;
	int st;
	if (posix_spawnp(&pid, argv[0], NULL, NULL, (char *const *)argv, environ))
		return -1;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static const char *const cgso_stubs_c =
	"#include <stdio.h>\n#include <stdlib.h>\n#include <stdarg.h>\n#include <stdint.h>\n"
	"__attribute__((weak)) void nnd_rt_error(const char *f, ...) { va_list a; va_start(a, f);"
	" fputs(\"error: \", stderr); vfprintf(stderr, f, a); fputc(10, stderr); exit(1); }\n"
	"__attribute__((weak)) void nnd_rt_opt_update(int32_t k, float *p, const float *g, float *m, int64_t n, int64_t s,"
	" const float *h)"
	" { for (int64_t i = 0; i < n; i++) { float v = g[i] + h[2] * p[i]; m[i] = h[8] == 0 ? v : h[1] * m[i] + (1 - h[3]) * v;"
	" p[i] -= h[0] * m[i]; } }\n"
	"__attribute__((weak)) int nnd_rt_check_numerics;\n"
	"__attribute__((weak)) void nnd_rt_check_f32(const float *x, long n, const char *w) {}\n"
	"__attribute__((weak)) void nnd_rt_check_f64(const double *x, long n, const char *w) {}\n";

/* Emits p (position-independent, -O2), links it into a shared object, returns its dlopen handle */
static void *cgso_build(Prog *p)
{
	char dir[] = "/tmp/nnd-cgso-XXXXXX", obj[256], so[256], st[256], err[1024];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(obj, sizeof obj, "%s/m.o", dir);
	snprintf(so, sizeof so, "%s/m.so", dir);
	snprintf(st, sizeof st, "%s/stubs.c", dir);
	CgOptions o = {.opt_level = 2, .emit = "obj", .pic = true, .source = "test.nnd"};
	ck_assert_msg(cg_prog_emit(p, obj, &o, err, sizeof err), "%s", err);
	FILE *f = fopen(st, "w");
	ck_assert_ptr_nonnull(f);
	fputs(cgso_stubs_c, f);
	fclose(f);
	const char *rt = access("runtime/libnndrt.a", R_OK) == 0 ? "runtime/libnndrt.a" : st;
	const char *argv[] = {"cc", "-shared", "-fPIC", "-o", so, obj, rt, st, "-lopenblas", "-lm", NULL};
	ck_assert_int_eq(cgso_run(argv), 0);
	void *h = dlopen(so, RTLD_NOW | RTLD_LOCAL);
	ck_assert_msg(h != NULL, "%s", dlerror());
	unlink(obj); /* the mapping stays valid */
	unlink(so);
	unlink(st);
	rmdir(dir);
	return h;
}

/* Calls entry point `graph` of h once with c (its arena replaced by one of the size the
   module asks for c->syms, freed after the call) */
static void cgso_call(void *h, const char *graph, NndCall c)
{
	char name[64];
	snprintf(name, sizeof name, "nnd_arena_%s", graph);
	int64_t (*arena)(const int64_t *) = (int64_t (*)(const int64_t *))dlsym(h, name);
	snprintf(name, sizeof name, "nnd_entry_%s", graph);
	void (*entry)(const NndCall *) = (void (*)(const NndCall *))dlsym(h, name);
	ck_assert(arena && entry);
	int64_t n = arena(c.syms);
	ck_assert(n >= 0);
	c.arena = aligned_alloc(64, (size_t)((n + 63) / 64 * 64 + 64));
	entry(&c);
	free(c.arena);
}

#endif
