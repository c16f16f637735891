/* codegen/model.c: the descriptor `const NndModel nnd_model` (runtime/nnd_model.h).
 *
 * The LLVM struct types below mirror the C structs field by field; with the target's data layout
 * their sizes and offsets equal the C ones (tests/unit/test_codegen.c checks every field).
 */
#include "codegen/codegen.h"

#include <string.h>

#include "runtime/nnd_model.h"


static LLVMTypeRef named(LLVMContextRef ctx, const char *name, LLVMTypeRef *f, int n)
{
	LLVMTypeRef t = LLVMGetTypeByName2(ctx, name);
	if (t)
		return t;
	t = LLVMStructCreateNamed(ctx, name);
	LLVMStructSetBody(t, f, (unsigned)n, 0);
	return t;
}

CgTypes cg_model_types(LLVMContextRef ctx)
{
	CgTypes t;
	LLVMTypeRef i32 = LLVMInt32TypeInContext(ctx), i64 = LLVMInt64TypeInContext(ctx);
	LLVMTypeRef f64 = LLVMDoubleTypeInContext(ctx), ptr = LLVMPointerTypeInContext(ctx, 0);
	t.tensor = named(ctx, "NndTensorInfo", (LLVMTypeRef[]){ptr, i32, i32, LLVMArrayType2(i64, 8)}, 4);
	t.param = named(ctx, "NndParam",
	                (LLVMTypeRef[]){t.tensor, i64, i64, i32, i32, i32, LLVMArrayType2(f64, 4), i64, i64, ptr, ptr, i32}, 12);
	t.entry = named(ctx, "NndEntry", (LLVMTypeRef[]){ptr, i32, i32, ptr, ptr, ptr, ptr}, 7);
	t.source = named(ctx, "NndDataSource",
	                 (LLVMTypeRef[]){i32, i32, LLVMArrayType2(ptr, 4), LLVMArrayType2(ptr, 4), ptr, i64}, 6);
	t.recipe = named(ctx, "NndRecipe",
	                 (LLVMTypeRef[]){i64, i64, i64, i64, i32, i32, f64, f64, f64, f64, f64, f64, f64, i32, i64, f64,
	                                 t.source, t.source, f64, i32, f64, f64, i64, f64, f64, f64, f64, f64, f64, f64, f64, i64},
	                 32);
	t.model = named(ctx, "NndModel",
	                (LLVMTypeRef[]){i32, ptr, ptr, i32, ptr, i64, i32, i32, ptr, t.entry, t.entry, t.entry, t.recipe, i32, ptr}, 15);
	return t;
}

int64_t cg_param_offset(const Prog *p, int index)
{
	int64_t off = 0;
	for (int i = 0; i < index; i++) {
		int64_t k = 1;
		for (int d = 0; d < p->params.v[i].type.rank; d++)
			k *= p->params.v[i].type.dim[d];
		off += k;
	}
	return off;
}

static LLVMValueRef i32c(Cg *cg, int64_t v) { return LLVMConstInt(cg->t_i32, (unsigned long long)v, 1); }
static LLVMValueRef f64c(Cg *cg, double v) { return LLVMConstReal(cg->t_f64, v); }

static LLVMValueRef const_global(Cg *cg, LLVMValueRef init, const char *name)
{
	LLVMValueRef g = LLVMAddGlobal(cg->mod, LLVMTypeOf(init), name);
	LLVMSetInitializer(g, init);
	LLVMSetGlobalConstant(g, 1);
	LLVMSetLinkage(g, LLVMPrivateLinkage);
	return g;
}

/* A tensor's description; symbolic dims must be size variables (encoded -(sym+1)). */
static LLVMValueRef tensor_info(Cg *cg, CgTypes *T, const char *name, Type t, const char *what, Loc loc)
{
	LLVMValueRef dims[8];
	for (int i = 0; i < 8; i++) {
		Dim d = i < t.rank ? t.dim[i] : 0;
		if (!DIM_IS_CONST(d)) {
			const DimExpr *e = ir_dim_expr(cg->p, d);
			if (e->op != DE_SYM) {
				char buf[128];
				ir_dim_format(cg->p, d, buf, sizeof buf);
				cg_fail(cg, loc, "%s '%s' has the computed dimension %s; entry inputs and outputs may only use "
				        "size variables", what, name ? name : "?", buf);
				d = 0;
			} else
				d = -(Dim)e->sym - 1;
		}
		dims[i] = cg_i64(cg, d);
	}
	LLVMValueRef f[4] = {cg_cstr(cg, name), i32c(cg, t.dtype), i32c(cg, t.rank), LLVMConstArray2(cg->t_i64, dims, 8)};
	return LLVMConstNamedStruct(T->tensor, f, 4);
}

static LLVMValueRef entry(Cg *cg, CgTypes *T, Graph *g, LLVMValueRef *fns)
{
	if (!g)
		return LLVMConstNull(T->entry);
	int ni = g->inputs.n, no = g->outputs.n;
	LLVMValueRef *in = arena_alloc(cg->p->arena, sizeof(LLVMValueRef) * (size_t)(ni + no + 1)), *out = in + ni;
	for (int i = 0; i < ni; i++) {
		Node *n = g->inputs.v[i];
		in[i] = tensor_info(cg, T, n->name, n->type, "input", n->loc);
	}
	for (int i = 0; i < no; i++) {
		Output o = g->outputs.v[i];
		out[i] = tensor_info(cg, T, o.name, o.node->type, "output", o.node->loc);
	}
	char name[64];
	snprintf(name, sizeof name, "nnd.%s.inputs", g->name);
	LLVMValueRef gin = ni ? const_global(cg, LLVMConstArray2(T->tensor, in, (uint64_t)ni), name) : LLVMConstPointerNull(cg->t_ptr);
	snprintf(name, sizeof name, "nnd.%s.outputs", g->name);
	LLVMValueRef gout = no ? const_global(cg, LLVMConstArray2(T->tensor, out, (uint64_t)no), name) : LLVMConstPointerNull(cg->t_ptr);
	LLVMValueRef f[7] = {cg_cstr(cg, g->name), i32c(cg, ni), i32c(cg, no), gin, gout, fns[0], fns[1]};
	return LLVMConstNamedStruct(T->entry, f, 7);
}

static LLVMValueRef param(Cg *cg, CgTypes *T, const Param *pr, int index, int64_t off)
{
	Type t = pr->type;
	int64_t numel = 1, rf = 1;
	for (int d = 0; d < t.rank; d++)
		numel *= t.dim[d];
	for (int d = 2; d < t.rank; d++)
		rf *= t.dim[d];
	/* PyTorch's _calculate_fan_in_and_fan_out */
	int64_t fan_in = t.rank >= 2 ? t.dim[1] * rf : t.rank == 1 ? t.dim[0] : 1;
	int64_t fan_out = t.rank >= 2 ? t.dim[0] * rf : fan_in;
	LLVMValueRef args[4];
	for (int i = 0; i < 4; i++)
		args[i] = f64c(cg, pr->init_args[i]);
	LLVMValueRef f[12] = {
		tensor_info(cg, T, pr->name, t, "parameter", pr->loc), cg_i64(cg, off), cg_i64(cg, numel),
		i32c(cg, pr->kind == PK_STATE), i32c(cg, pr->trainable), i32c(cg, pr->init),
		LLVMConstArray2(cg->t_f64, args, 4), cg_i64(cg, fan_in), cg_i64(cg, fan_out),
		cg_cstr(cg, pr->from), cg_cstr(cg, pr->from_name), i32c(cg, pr->group),
	};
	return LLVMConstNamedStruct(T->param, f, 12);
}

static LLVMValueRef source(Cg *cg, CgTypes *T, const DataSource *d)
{
	LLVMValueRef paths[4], names[4];
	for (int i = 0; i < 4; i++) {
		paths[i] = cg_cstr(cg, i < d->npaths ? d->paths[i] : NULL);
		names[i] = cg_cstr(cg, i < d->npaths ? d->names[i] : NULL);
	}
	LLVMValueRef f[6] = {i32c(cg, d->kind), i32c(cg, d->npaths), LLVMConstArray2(cg->t_ptr, paths, 4),
	                     LLVMConstArray2(cg->t_ptr, names, 4), cg_cstr(cg, d->label), cg_i64(cg, d->seq)};
	return LLVMConstNamedStruct(T->source, f, 6);
}

static LLVMValueRef recipe(Cg *cg, CgTypes *T, const Recipe *r)
{
	if (!cg->p->has_recipe)
		return LLVMConstNull(T->recipe);
	LLVMValueRef f[32] = {
		cg_i64(cg, r->batch), cg_i64(cg, r->epochs), cg_i64(cg, r->steps), cg_i64(cg, r->seed),
		i32c(cg, r->opt), i32c(cg, r->sched),
		f64c(cg, r->lr), f64c(cg, r->momentum), f64c(cg, r->weight_decay), f64c(cg, r->dampening),
		f64c(cg, r->beta1), f64c(cg, r->beta2), f64c(cg, r->eps),
		i32c(cg, r->nesterov), cg_i64(cg, r->warmup), f64c(cg, r->min_lr),
		source(cg, T, &r->data), source(cg, T, &r->valid),
		f64c(cg, r->alpha), i32c(cg, r->centered), f64c(cg, r->lr_decay), f64c(cg, r->initial_accumulator_value),
		cg_i64(cg, r->step_every), f64c(cg, r->gamma), f64c(cg, r->max_lr),
		f64c(cg, r->pct_start), f64c(cg, r->div_factor), f64c(cg, r->final_div_factor), f64c(cg, r->clip_grad_norm),
		f64c(cg, r->noise_eta), f64c(cg, r->noise_gamma), cg_i64(cg, r->accumulate),
	};
	return LLVMConstNamedStruct(T->recipe, f, 32);
}

/* Optimiser state blocks the step graph's updates need (NND_OPT_SLOTS of each optimiser used) */
static int opt_slots(Graph *g)
{
	static const int slots[] = NND_OPT_SLOTS;
	int n = 0;
	for (int i = 0; g && i < g->effects.n; i++) {
		const Node *e = g->effects.v[i];
		if (e->op == OP_OPT_UPDATE && e->attr[1] >= 0 && e->attr[1] < NND_OPT_COUNT && slots[e->attr[1]] > n)
			n = slots[e->attr[1]];
	}
	return n;
}

void cg_model_emit(Cg *cg, const CgOptions *o, LLVMValueRef fns[3][2])
{
	Prog *p = cg->p;
	CgTypes T = cg_model_types(cg->ctx);
	int np = p->params.n;
	LLVMValueRef *prm = arena_alloc(p->arena, sizeof(LLVMValueRef) * (size_t)(np + p->syms.n + 1));
	LLVMValueRef *syms = prm + np;
	for (int i = 0; i < np; i++)
		prm[i] = param(cg, &T, &p->params.v[i], i, cg_param_offset(p, i));
	for (int i = 0; i < p->syms.n; i++)
		syms[i] = cg_cstr(cg, p->syms.v[i]);
	LLVMValueRef gp = np ? const_global(cg, LLVMConstArray2(T.param, prm, (uint64_t)np), "nnd.params") : LLVMConstPointerNull(cg->t_ptr);
	LLVMValueRef gs = p->syms.n ? const_global(cg, LLVMConstArray2(cg->t_ptr, syms, (uint64_t)p->syms.n), "nnd.syms")
	                            : LLVMConstPointerNull(cg->t_ptr);
	int ng = p->has_recipe ? p->groups.n : 0;
	LLVMValueRef *grp = arena_alloc(p->arena, sizeof(LLVMValueRef) * (size_t)(ng + 1));
	for (int g = 0; g < ng; g++)
		grp[g] = recipe(cg, &T, &p->groups.v[g]);
	LLVMValueRef gg = ng ? const_global(cg, LLVMConstArray2(T.recipe, grp, (uint64_t)ng), "nnd.groups")
	                     : LLVMConstPointerNull(cg->t_ptr);
	const char *name = p->has_recipe && p->recipe.name ? p->recipe.name : "model";
	LLVMValueRef f[15] = {
		i32c(cg, NND_ABI_VERSION), cg_cstr(cg, name), cg_cstr(cg, o->source ? o->source : ""),
		i32c(cg, np), gp, cg_i64(cg, ir_prog_param_numel(p)),
		i32c(cg, opt_slots(ir_prog_graph(p, "step"))), i32c(cg, p->syms.n), gs,
		entry(cg, &T, ir_prog_graph(p, "step"), fns[0]), entry(cg, &T, ir_prog_graph(p, "eval"), fns[1]),
		entry(cg, &T, ir_prog_graph(p, "predict"), fns[2]), recipe(cg, &T, &p->recipe),
		i32c(cg, ng), gg,
	};
	LLVMValueRef g = LLVMAddGlobal(cg->mod, T.model, "nnd_model");
	LLVMSetInitializer(g, LLVMConstNamedStruct(T.model, f, 15));
	LLVMSetGlobalConstant(g, 1);
}
