/* tests/num/ops_driver.c: runs one .nnd recipe's loss and its gradients, compiled, in float32.
 *
 *   ops_driver prog.nnd in.bin out.bin
 *
 * prog.nnd has one recipe whose loss graph is differentiated (passes/autodiff.c) and compiled
 * (codegen, PIC, cc -shared, dlopen). in.bin: every parameter's f32 values in declaration order,
 * then each loss input's values (i32 or f32, as declared). out.bin: every output of the gradient
 * graph as f32 (loss, metrics, then grad.<param> in declaration order). Built and used by
 * tests/num/ops_vs_torch.sh.
 */
#include <dlfcn.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "codegen/codegen.h"
#include "lang/lang.h"
#include "passes/passes.h"
#include "runtime/nnd_model.h"

extern char **environ;

static int64_t numel(Type t)
{
	int64_t n = 1;
	for (int d = 0; d < t.rank; d++)
		n *= t.dim[d];
	return n;
}

static void die(const char *m)
{
	fprintf(stderr, "ops_driver: %s\n", m);
	exit(2);
}

int main(int argc, char **argv)
{
	if (argc != 4)
		die("usage: ops_driver prog.nnd in.bin out.bin");
	Arena *ar = arena_new();
	size_t len;
	char *src = read_file(argv[1], &len);
	if (!src)
		die("cannot read the program");
	Ast *ast = parse_string(ar, argv[1], src, len);
	ElabOptions eo = {.stdlib_dir = "stdlib"};
	Prog *p = ast ? sema_program(ar, ast, &eo) : NULL;
	if (!p) {
		diag_flush(stderr);
		die("the program does not compile");
	}
	Graph *loss = ir_prog_graph(p, "loss");
	for (int i = 0; i < p->graphs.n; i++) /* only our graph is compiled */
		if (strcmp(p->graphs.v[i]->name, "loss"))
			p->graphs.v[i]->name = "unused";
	Graph *g = pass_autodiff(loss, "predict");
	pass_dce(g);
	char dir[] = "/tmp/nnd-opsdrv-XXXXXX", obj[256], so[256], err[1024];
	if (!mkdtemp(dir))
		die("mkdtemp");
	snprintf(obj, sizeof obj, "%s/m.o", dir);
	snprintf(so, sizeof so, "%s/m.so", dir);
	CgOptions o = {.opt_level = 2, .emit = "obj", .pic = true, .source = argv[1]};
	if (!cg_prog_emit(p, obj, &o, err, sizeof err))
		die(err);
	const char *cc[] = {"cc", "-shared", "-fPIC", "-o", so, obj, "runtime/libnndrt.a", "-lopenblas", "-lm", NULL};
	pid_t pid;
	int st;
	if (posix_spawnp(&pid, "cc", NULL, NULL, (char *const *)cc, environ) || waitpid(pid, &st, 0) < 0 || st)
		die("cc failed");
	void *h = dlopen(so, RTLD_NOW | RTLD_LOCAL);
	unlink(obj), unlink(so), rmdir(dir);
	if (!h)
		die(dlerror());
	FILE *in = fopen(argv[2], "rb");
	if (!in)
		die("cannot read the inputs");
	int64_t np = ir_prog_param_numel(p);
	float *params = calloc((size_t)np + 1, sizeof(float));
	if (fread(params, sizeof(float), (size_t)np, in) != (size_t)np)
		die("in.bin: too few parameter values");
	void *inputs[8];
	for (int k = 0; k < g->inputs.n && k < 8; k++) {
		Type t = g->inputs.v[k]->type;
		size_t n = (size_t)numel(t), sz = (size_t)dtype_size(t.dtype);
		inputs[k] = calloc(n + 1, sz);
		if (fread(inputs[k], sz, n, in) != n)
			die("in.bin: too few input values");
	}
	fclose(in);
	void *outs[64];
	for (int k = 0; k < g->outputs.n && k < 64; k++)
		outs[k] = calloc((size_t)numel(g->outputs.v[k].node->type) + 1, 8);
	int64_t (*arena)(const int64_t *) = (int64_t (*)(const int64_t *))dlsym(h, "nnd_arena_predict");
	void (*entry)(const NndCall *) = (void (*)(const NndCall *))dlsym(h, "nnd_entry_predict");
	int64_t syms[8] = {0}, bytes = arena(syms);
	void *mem = aligned_alloc(64, (size_t)((bytes + 63) / 64 * 64 + 64));
	float hyper[NND_H_COUNT] = {0};
	NndCall c = {params, NULL, NULL, mem, (const void *const *)inputs, syms, hyper, outs};
	entry(&c);
	FILE *out = fopen(argv[3], "wb");
	for (int k = 0; k < g->outputs.n; k++) {
		Type t = g->outputs.v[k].node->type;
		if (t.dtype != TY_F32)
			die("an output is not f32");
		fwrite(outs[k], sizeof(float), (size_t)numel(t), out);
	}
	fclose(out);
	return 0;
}
