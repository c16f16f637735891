/* codegen/emit.c: the driver of code generation. Sets up the LLVM context, module and host
 * target machine, lowers each entry graph (codegen/entry.c) and the descriptor (codegen/model.c),
 * verifies the module, runs LLVM's default<On> pipeline and writes an object file, assembly or
 * textual IR. Also links executables with cc.
 */
#include "codegen/codegen.h"

#include <errno.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <llvm-c/Analysis.h>
#include <llvm-c/Transforms/PassBuilder.h>

extern char **environ;

void cg_fail(Cg *cg, Loc loc, const char *fmt, ...)
{
	if (cg->failed) /* keep the first */
		return;
	cg->failed = true;
	size_t k = 0;
	if (loc.file)
		k = (size_t)snprintf(cg->err, cg->errlen, "%s:%d:%d: ", loc.file, loc.line, loc.col);
	if (k >= cg->errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cg->err + k, cg->errlen - k, fmt, ap);
	va_end(ap);
}

LLVMValueRef cg_cstr(Cg *cg, const char *s)
{
	if (!s)
		return LLVMConstPointerNull(cg->t_ptr);
	LLVMValueRef init = LLVMConstStringInContext(cg->ctx, s, (unsigned)strlen(s), 0);
	LLVMValueRef g = LLVMAddGlobal(cg->mod, LLVMTypeOf(init), ".str");
	LLVMSetInitializer(g, init);
	LLVMSetGlobalConstant(g, 1);
	LLVMSetLinkage(g, LLVMPrivateLinkage);
	LLVMSetUnnamedAddress(g, LLVMGlobalUnnamedAddr);
	LLVMSetAlignment(g, 1);
	return g;
}

LLVMTargetMachineRef cg_target_machine_new(const CgOptions *o, char *err, size_t errlen)
{
	static const LLVMCodeGenOptLevel levels[] = {LLVMCodeGenLevelNone, LLVMCodeGenLevelLess, LLVMCodeGenLevelDefault,
	                                            LLVMCodeGenLevelAggressive};
	if (LLVMInitializeNativeTarget() || LLVMInitializeNativeAsmPrinter()) {
		snprintf(err, errlen, "LLVM has no support for the host target");
		return NULL;
	}
	char *triple = LLVMGetDefaultTargetTriple(), *msg = NULL;
	LLVMTargetRef target;
	if (LLVMGetTargetFromTriple(triple, &target, &msg)) {
		snprintf(err, errlen, "no LLVM target for %s: %s", triple, msg);
		LLVMDisposeMessage(msg);
		LLVMDisposeMessage(triple);
		return NULL;
	}
	char *cpu = LLVMGetHostCPUName(), *features = LLVMGetHostCPUFeatures();
	int lvl = o->opt_level < 0 ? 0 : o->opt_level > 3 ? 3 : o->opt_level;
	LLVMTargetMachineRef tm = LLVMCreateTargetMachine(target, triple, cpu, features, levels[lvl],
	                                                  o->pic ? LLVMRelocPIC : LLVMRelocStatic, LLVMCodeModelDefault);
	LLVMDisposeMessage(cpu);
	LLVMDisposeMessage(features);
	LLVMDisposeMessage(triple);
	if (!tm)
		snprintf(err, errlen, "cannot create an LLVM target machine for the host");
	return tm;
}

static void types_init(Cg *cg)
{
	LLVMContextRef c = cg->ctx;
	cg->t_void = LLVMVoidTypeInContext(c);
	cg->t_i1 = LLVMInt1TypeInContext(c);
	cg->t_i8 = LLVMInt8TypeInContext(c);
	cg->t_i16 = LLVMInt16TypeInContext(c);
	cg->t_i32 = LLVMInt32TypeInContext(c);
	cg->t_i64 = LLVMInt64TypeInContext(c);
	cg->t_f32 = LLVMFloatTypeInContext(c);
	cg->t_f64 = LLVMDoubleTypeInContext(c);
	cg->t_ptr = LLVMPointerTypeInContext(c, 0);
	LLVMTypeRef f[8];
	for (int i = 0; i < 8; i++)
		f[i] = cg->t_ptr;
	cg->t_call = LLVMStructCreateNamed(c, "NndCall"); /* params grads opt arena inputs syms hyper outputs */
	LLVMStructSetBody(cg->t_call, f, 8, 0);
}

static bool write_module(Cg *cg, LLVMTargetMachineRef tm, const char *path, const char *emit)
{
	char *msg = NULL;
	bool bad;
	if (strcmp(emit, "llvm") == 0)
		bad = LLVMPrintModuleToFile(cg->mod, path, &msg);
	else if (strcmp(emit, "asm") == 0 || strcmp(emit, "obj") == 0)
		bad = LLVMTargetMachineEmitToFile(tm, cg->mod, (char *)path, emit[0] == 'a' ? LLVMAssemblyFile : LLVMObjectFile, &msg);
	else {
		snprintf(cg->err, cg->errlen, "unknown output kind '%s' (expected obj, asm or llvm)", emit);
		return false;
	}
	if (bad)
		snprintf(cg->err, cg->errlen, "cannot write %s: %s", path, msg ? msg : "unknown error");
	LLVMDisposeMessage(msg);
	return !bad;
}

bool cg_prog_emit(Prog *p, const char *out_path, const CgOptions *o, char *err, size_t errlen)
{
	static const char *const graphs[3] = {"step", "eval", "predict"};
	LLVMTargetMachineRef tm = cg_target_machine_new(o, err, errlen);
	if (!tm)
		return false;
	Cg cg = {.p = p, .err = err, .errlen = errlen};
	cg.ctx = LLVMContextCreate();
	cg.mod = LLVMModuleCreateWithNameInContext("nnd", cg.ctx);
	cg.td = LLVMCreateTargetDataLayout(tm);
	char *triple = LLVMGetTargetMachineTriple(tm);
	LLVMSetTarget(cg.mod, triple);
	LLVMDisposeMessage(triple);
	LLVMSetModuleDataLayout(cg.mod, cg.td);
	if (o->source)
		LLVMSetSourceFileName(cg.mod, o->source, strlen(o->source));
	types_init(&cg);

	LLVMValueRef fns[3][2] = {{0}};
	for (int k = 0; k < 3; k++) {
		Graph *g = ir_prog_graph(p, graphs[k]);
		if (g)
			cg_graph_emit(&cg, g, &fns[k][0], &fns[k][1]);
	}
	cg_model_emit(&cg, o, fns);

	bool ok = !cg.failed;
	char *msg = NULL;
	if (ok && LLVMVerifyModule(cg.mod, LLVMReturnStatusAction, &msg))
		BUG("generated LLVM IR does not verify:\n%s", msg);
	LLVMDisposeMessage(msg);
	if (ok) {
		char pipeline[32];
		int lvl = o->opt_level < 0 ? 0 : o->opt_level > 3 ? 3 : o->opt_level;
		snprintf(pipeline, sizeof pipeline, "default<O%d>", lvl);
		LLVMPassBuilderOptionsRef po = LLVMCreatePassBuilderOptions();
		LLVMErrorRef e = LLVMRunPasses(cg.mod, pipeline, tm, po);
		LLVMDisposePassBuilderOptions(po);
		if (e) {
			char *m = LLVMGetErrorMessage(e);
			BUG("LLVM pipeline %s failed: %s", pipeline, m);
		}
		ok = write_module(&cg, tm, out_path, o->emit ? o->emit : "obj");
	}
	LLVMDisposeModule(cg.mod);
	LLVMDisposeTargetData(cg.td);
	LLVMContextDispose(cg.ctx);
	LLVMDisposeTargetMachine(tm);
	return ok;
}

bool cg_link(const char *obj, const char *main_obj, const char *rtlib, const char *exe, char *err, size_t errlen)
{
	const char *argv[48];
	int n = 0;
	argv[n++] = "cc";
	argv[n++] = "-no-pie"; /* objects may be non-PIC (CgOptions.pic false) */
	/* NNDC_LDFLAGS: extra words for the linker driver (make test-asan links the sanitizers) */
	char extra[512];
	const char *env = getenv("NNDC_LDFLAGS");
	snprintf(extra, sizeof extra, "%s", env ? env : "");
	for (char *w = strtok(extra, " \t"); w && n < 32; w = strtok(NULL, " \t"))
		argv[n++] = w;
	argv[n++] = obj;
	if (main_obj)
		argv[n++] = main_obj;
	if (rtlib)
		argv[n++] = rtlib;
	static const char *const libs[] = {"-ljansson", "-lopenblas", "-lz", "-lm", "-lpthread", "-o"};
	for (size_t i = 0; i < sizeof libs / sizeof *libs; i++)
		argv[n++] = libs[i];
	argv[n++] = exe;
	argv[n] = NULL;
	pid_t pid;
	int rc = posix_spawnp(&pid, "cc", NULL, NULL, (char *const *)argv, environ);
	if (rc) {
		snprintf(err, errlen, "cannot run cc to link %s: %s", exe, strerror(rc));
		return false;
	}
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR) {
			snprintf(err, errlen, "waiting for cc: %s", strerror(errno));
			return false;
		}
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		snprintf(err, errlen, "linking %s failed (cc exited with status %d; its messages are above)", exe,
		         WIFEXITED(st) ? WEXITSTATUS(st) : -1);
		return false;
	}
	return true;
}
