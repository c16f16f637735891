/* codegen/entry.c: one graph -> `void nnd_entry_<g>(const NndCall *c)` and
 * `int64_t nnd_arena_<g>(const int64_t *syms)`.
 *
 * Memory plan: every node that needs a buffer (not a leaf, not a reshape, not an effect; CONST is
 * materialised) gets a slot in c->arena, 64-byte aligned. Slots are reused: a slot whose value
 * is dead (liveness over the topological order) is taken by a later value of the same byte size
 * (same element size and the same, possibly symbolic, element count), so the plan holds for
 * every binding of the size variables. Offsets are computed at run time from syms, the same code
 * in both functions. A loop's body is planned the same way, its slots placed after the graph's
 * with the loop's own state (LoopPlan); the loop (emit_loop) runs the body's kernels in an LLVM
 * loop.
 *
 * The entry function runs the nodes in topological order, each as a call of an internal kernel
 * function `<g>.<op>.<id>(ptr noalias out, ptr noalias in..., ptr c)` (inlined by O2, which
 * keeps the noalias facts), then copies each output into c->outputs[k]. An effect (an optimiser
 * update) runs as soon as its gradient exists and every other reader of its parameter has run
 * (effect_pos), while the gradient is still in cache; a parameter an output shows directly is
 * updated after the outputs are copied.
 *
 * --check-numerics: after each float kernel, a branch on the runtime's global
 * nnd_rt_check_numerics calls nnd_rt_check_f32/_f64(result, numel, "OP at FILE:LINE:COL").
 */
#include "codegen/codegen.h"

#include <stdlib.h>

/* Kernels take their inputs as pointer arguments; the front end groups a longer concat */
enum { CG_MAX_INPUTS = 32 };

static bool needs_buffer(const Node *n)
{
	if (n->op == OP_CONST)
		return true;
	return !(op_info[n->op].flags & (OPF_LEAF | OPF_EFFECT)) && n->op != OP_RESHAPE && n->op != OP_CUSTOM_GRAD && n->op != OP_LOOP && n->op != OP_IF;
}

/* the node whose buffer n's value lives in (reshape is a view, custom_grad its forward value) */
/* loop_out and if_out: a result of the node they read, written by it */
static bool is_projection(const Node *n) { return n->op == OP_LOOP_OUT || n->op == OP_IF_OUT; }

static const Node *owner(const Node *n)
{
	while (n->op == OP_RESHAPE || n->op == OP_CUSTOM_GRAD)
		n = n->in[0];
	return n;
}

/* The position in g->nodes after which effect e may run: once its inputs exist and every other
   node reading the parameter it writes has run; g->nodes.n (after the outputs are copied) when
   an output is that parameter itself. */
static int effect_pos(const Graph *g, const Node *e)
{
	int64_t param = e->attr[0], pos = -1;
	for (int k = 0; k < g->outputs.n; k++) {
		const Node *o = owner(g->outputs.v[k].node);
		if (o->op == OP_PARAM && o->attr[0] == param)
			return g->nodes.n;
	}
	for (int i = 0; i < g->nodes.n; i++) {
		const Node *n = g->nodes.v[i];
		if (op_info[n->op].flags & OPF_EFFECT)
			continue;
		bool needed = false;
		for (int k = 0; k < e->nin; k++)
			needed |= n == owner(e->in[k]) || n == e->in[k];
		for (int j = 0; j < n->nin; j++) {
			const Node *x = owner(n->in[j]);
			needed |= x->op == OP_PARAM && x->attr[0] == param;
		}
		if (needed)
			pos = i;
	}
	return pos < 0 ? 0 : (int)pos;
}

/* Assigns slot_of[id] (-1: no buffer) and returns the slot count; slot_rep[s] is a node whose
   type gives slot s's size. epos[id] is each effect's effect_pos. */
static int plan_slots(Graph *g, const int *epos, int *slot_of, const Node **slot_rep)
{
	Prog *p = g->prog;
	int nn = g->nodes.n, nslots = 0, nid = g->next_id;
	int *last = calloc((size_t)nid, sizeof *last), *freed = calloc((size_t)nid + 1, sizeof *freed), nfree = 0;
	for (int i = 0; i < nid; i++)
		slot_of[i] = -1, last[i] = -1;
	for (int i = 0; i < nn; i++) {
		Node *n = g->nodes.v[i];
		int at = op_info[n->op].flags & OPF_EFFECT ? epos[n->id] : i;
		for (int j = 0; j < n->nin; j++)
			if (at > last[owner(n->in[j])->id])
				last[owner(n->in[j])->id] = at;
	}
	for (int k = 0; k < g->outputs.n; k++)
		last[owner(g->outputs.v[k].node)->id] = nn;
	for (int i = 0; i < nn; i++) {
		Node *n = g->nodes.v[i];
		/* a loop or an if writes its results (the projections reading it) while it runs: their slots are taken at it */
		for (int j = i; j < (n->op == OP_LOOP || n->op == OP_IF ? nn : i + 1); j++) {
			Node *u = g->nodes.v[j];
			bool mine = j == i ? !is_projection(n) : is_projection(u) && u->in[0] == n;
			if (!mine || !needs_buffer(u) || slot_of[u->id] >= 0)
				continue;
			Dim numel = ir_type_numel(p, u->type);
			int sz = dtype_size(u->type.dtype), s = -1;
			for (int k = 0; k < nfree && s < 0; k++) {
				const Node *r = slot_rep[freed[k]];
				if (dtype_size(r->type.dtype) == sz && ir_type_numel(p, r->type) == numel) {
					s = freed[k];
					freed[k] = freed[--nfree];
				}
			}
			if (s < 0)
				slot_rep[s = nslots++] = u;
			slot_of[u->id] = s;
			if (last[u->id] < 0) /* unused: free at once */
				last[u->id] = j;
		}
		/* free after allocating, so a result never shares memory with its inputs; the inputs of
		   the effects that run after node i are dead after it too */
		for (int j = 0; j <= n->nin; j++) {
			const Node *x = j < n->nin ? owner(n->in[j]) : n;
			if (slot_of[x->id] >= 0 && last[x->id] == i) {
				freed[nfree++] = slot_of[x->id];
				last[x->id] = -2; /* freed once */
			}
		}
		for (int k = 0; k < g->effects.n; k++) {
			const Node *e = g->effects.v[k];
			for (int j = 0; j < e->nin && epos[e->id] == i; j++) {
				const Node *x = owner(e->in[j]);
				if (slot_of[x->id] >= 0 && last[x->id] == i) {
					freed[nfree++] = slot_of[x->id];
					last[x->id] = -2;
				}
			}
		}
	}
	free(last);
	free(freed);
	return nslots;
}

/* Where a loop keeps its state, in the arena after the slots of its graph (never reused): the
   index (an i64), each carried value and its next value, then its body's own plan. */
typedef struct LoopPlan {
	LLVMValueRef *off;            /* the body's buffers, by body node id */
	LLVMValueRef idx, *state, *next;
} LoopPlan;

static LLVMValueRef align64(Fn *f, LLVMValueRef x)
{
	return LLVMBuildAnd(f->eb, LLVMBuildAdd(f->eb, x, cg_i64(f->cg, 63), ""), cg_i64(f->cg, ~(int64_t)63), "");
}

static LLVMValueRef type_bytes(Fn *f, Type t)
{
	return LLVMBuildMul(f->eb, cg_numel(f, t), cg_i64(f->cg, dtype_size(t.dtype)), "");
}

/* Emits the offsets of the slots of g from byte `base`, then each loop's state and body plan
   (LoopPlan in the loop's aux) and each if's branch plans (an array of two offset tables in its
   aux, the branches sharing their memory: one runs); returns the end. off[id] is the byte offset of node id's buffer
   (NULL when it has none); epos[id] each effect's effect_pos. */
static LLVMValueRef plan_emit(Fn *f, Graph *g, const int *epos, LLVMValueRef *off, LLVMValueRef base)
{
	Cg *cg = f->cg;
	int *slot_of = calloc((size_t)g->next_id, sizeof *slot_of);
	const Node **rep = calloc((size_t)g->nodes.n + 1, sizeof *rep);
	int nslots = plan_slots(g, epos, slot_of, rep);
	LLVMValueRef *soff = calloc((size_t)nslots + 1, sizeof *soff), cur = base;
	for (int s = 0; s < nslots; s++) {
		soff[s] = align64(f, cur);
		cur = LLVMBuildAdd(f->eb, soff[s], type_bytes(f, rep[s]->type), "");
	}
	for (int i = 0; i < g->next_id; i++)
		off[i] = slot_of[i] >= 0 ? soff[slot_of[i]] : NULL;
	free(slot_of);
	free(rep);
	free(soff);
	for (int i = 0; i < g->nodes.n; i++) {
		Node *n = g->nodes.v[i];
		if (n->op == OP_IF) {
			LLVMValueRef **brs = arena_alloc(cg->p->arena, sizeof *brs * 2), end = cur;
			for (int k = 0; k < 2; k++) {
				Graph *b = n->sub[k];
				int *bepos = calloc((size_t)b->next_id + 1, sizeof *bepos); /* a branch has no effects */
				brs[k] = arena_alloc(cg->p->arena, sizeof **brs * (size_t)(b->next_id + 1));
				LLVMValueRef e = plan_emit(f, b, bepos, brs[k], cur);
				end = LLVMBuildSelect(f->eb, LLVMBuildICmp(f->eb, LLVMIntUGT, e, end, ""), e, end, "");
				free(bepos);
			}
			cur = end;
			n->aux = brs;
		}
		if (n->op != OP_LOOP)
			continue;
		Graph *b = n->sub[0];
		int nc = (int)n->attr[2];
		LoopPlan *lp = arena_alloc(cg->p->arena, sizeof *lp);
		lp->state = arena_alloc(cg->p->arena, sizeof *lp->state * (size_t)(nc + 1));
		lp->next = arena_alloc(cg->p->arena, sizeof *lp->next * (size_t)(nc + 1));
		lp->off = arena_alloc(cg->p->arena, sizeof *lp->off * (size_t)(b->next_id + 1));
		lp->idx = align64(f, cur);
		cur = LLVMBuildAdd(f->eb, lp->idx, cg_i64(cg, 8), "");
		for (int k = 0; k < nc; k++) {
			lp->state[k] = align64(f, cur);
			lp->next[k] = align64(f, LLVMBuildAdd(f->eb, lp->state[k], type_bytes(f, n->in[k]->type), ""));
			cur = LLVMBuildAdd(f->eb, lp->next[k], type_bytes(f, n->in[k]->type), "");
		}
		int *bepos = calloc((size_t)b->next_id + 1, sizeof *bepos); /* a body has no effects */
		cur = plan_emit(f, b, bepos, lp->off, cur);
		free(bepos);
		n->aux = lp;
	}
	return cur;
}

/* the pointer to n's value in the entry function */
static LLVMValueRef node_ptr(Fn *f, Node *n, LLVMValueRef *ptr, LLVMValueRef arena, LLVMValueRef *off)
{
	Cg *cg = f->cg;
	LLVMValueRef k = cg_i64(cg, n->attr[0]);
	switch (n->op) {
	case OP_INPUT: {
		LLVMValueRef p = LLVMBuildGEP2(f->eb, cg->t_ptr, cg_call_field(f, 4), &k, 1, "");
		return LLVMBuildLoad2(f->eb, cg->t_ptr, p, n->name ? n->name : "");
	}
	case OP_PARAM: {
		LLVMValueRef o = cg_i64(cg, cg_param_offset(cg->p, (int)n->attr[0]));
		return LLVMBuildGEP2(f->eb, cg->t_f32, cg_call_field(f, 0), &o, 1, n->name ? n->name : "");
	}
	case OP_HYPER: return LLVMBuildGEP2(f->eb, cg->t_f32, cg_call_field(f, 6), &k, 1, "");
	case OP_RESHAPE:
	case OP_CUSTOM_GRAD: return ptr[n->in[0]->id];
	default:
		if (!off[n->id])
			return LLVMConstPointerNull(cg->t_ptr); /* effects */
		return LLVMBuildGEP2(f->b, cg->t_i8, arena, &off[n->id], 1, "");
	}
}

/* the internal function that runs n's kernel */
static LLVMValueRef kernel_fn(Cg *cg, Graph *g, Node *n)
{
	int np = n->nin + 2;
	LLVMTypeRef *pt = arena_alloc(cg->p->arena, sizeof(LLVMTypeRef) * (size_t)np);
	for (int i = 0; i < np; i++)
		pt[i] = cg->t_ptr;
	char name[128];
	snprintf(name, sizeof name, "%s.%s.%d", g->name, op_info[n->op].name, n->id);
	LLVMValueRef fn = LLVMAddFunction(cg->mod, name, LLVMFunctionType(cg->t_void, pt, (unsigned)np, 0));
	LLVMSetLinkage(fn, LLVMInternalLinkage);
	unsigned noalias = LLVMGetEnumAttributeKindForName("noalias", 7);
	unsigned nounwind = LLVMGetEnumAttributeKindForName("nounwind", 8);
	LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex, LLVMCreateEnumAttribute(cg->ctx, nounwind, 0));
	/* out is fresh memory; inputs are only read (noalias allows two read-only pointers to overlap);
	   the effect writes the parameter through its own pointer only */
	for (int i = 0; i < np - 1; i++)
		LLVMAddAttributeAtIndex(fn, (unsigned)i + 1, LLVMCreateEnumAttribute(cg->ctx, noalias, 0));
	Fn *f = cg_fn_begin(cg, fn, LLVMGetParam(fn, (unsigned)np - 1), NULL);
	LLVMValueRef in[CG_MAX_INPUTS];
	for (int i = 0; i < n->nin; i++)
		in[i] = LLVMGetParam(fn, (unsigned)i + 1);
	cg_kernel(n->op)(f, n, LLVMGetParam(fn, 0), in);
	LLVMBuildRetVoid(f->b);
	cg_fn_end(f);
	return fn;
}

static void run_kernel(Cg *cg, Fn *f, Graph *g, Node *n, LLVMValueRef *ptr)
{
	if (!cg_kernel(n->op)) {
		if (!cg_has_kernel(n->op))
			BUG("no kernel for %s", op_info[n->op].name);
		return;
	}
	if (n->nin > CG_MAX_INPUTS)
		BUG("%s: %d inputs, kernels take at most %d", op_info[n->op].name, n->nin, CG_MAX_INPUTS);
	LLVMValueRef fn = kernel_fn(cg, g, n), args[CG_MAX_INPUTS + 2];
	args[0] = ptr[n->id];
	for (int i = 0; i < n->nin; i++)
		args[i + 1] = ptr[n->in[i]->id];
	args[n->nin + 1] = f->call;
	LLVMBuildCall2(f->b, LLVMGlobalGetValueType(fn), fn, args, (unsigned)n->nin + 2, "");
}

/* if (nnd_rt_check_numerics) nnd_rt_check_f32(result, numel, "OP at FILE:LINE:COL") */
static void check_numerics(Cg *cg, Fn *f, Node *n, LLVMValueRef ptr)
{
	if (!needs_buffer(n) || n->op == OP_CONST || (n->type.dtype != TY_F32 && n->type.dtype != TY_F64))
		return;
	LLVMValueRef flag = LLVMGetNamedGlobal(cg->mod, "nnd_rt_check_numerics");
	if (!flag)
		flag = LLVMAddGlobal(cg->mod, cg->t_i32, "nnd_rt_check_numerics");
	LLVMBasicBlockRef yes = LLVMAppendBasicBlockInContext(cg->ctx, f->fn, "check");
	LLVMBasicBlockRef no = LLVMAppendBasicBlockInContext(cg->ctx, f->fn, "checked");
	LLVMValueRef on = LLVMBuildLoad2(f->b, cg->t_i32, flag, "");
	LLVMBuildCondBr(f->b, LLVMBuildICmp(f->b, LLVMIntNE, on, LLVMConstInt(cg->t_i32, 0, 0), ""), yes, no);
	LLVMPositionBuilderAtEnd(f->b, yes);
	char where[512];
	if (n->loc.file)
		snprintf(where, sizeof where, "%s at %s:%d:%d", op_info[n->op].name, n->loc.file, n->loc.line, n->loc.col);
	else
		snprintf(where, sizeof where, "%s (no source location)", op_info[n->op].name);
	LLVMTypeRef pt[3] = {cg->t_ptr, cg->t_i64, cg->t_ptr};
	LLVMValueRef args[3] = {ptr, cg_numel(f, n->type), cg_cstr(cg, where)};
	cg_libcall(f, n->type.dtype == TY_F32 ? "nnd_rt_check_f32" : "nnd_rt_check_f64", cg->t_void, pt, 3, args, 3, false);
	LLVMBuildBr(f->b, no);
	LLVMPositionBuilderAtEnd(f->b, no);
}

static void emit_node(Cg *cg, Fn *f, Graph *g, Node *n, LLVMValueRef *ptr, LLVMValueRef arena, LLVMValueRef *off);

static LLVMValueRef at(Fn *f, LLVMValueRef base, LLVMValueRef byteoff)
{
	return LLVMBuildGEP2(f->b, f->cg->t_i8, base, &byteoff, 1, "");
}

/* A loop: its carried values copied into their state, then per iteration k the index
   i = reverse ? T-1-k : k stored, each sequence's slice at i addressed in place, the body's nodes
   run (their buffers allocated once, in the loop's plan), each yield copied to row i of its
   loop_out and the carried values moved to their state (through `next` when a body returns
   another carried input, which the move may overwrite); after the last, each final carried
   value is copied to its loop_out. */
static void emit_loop(Cg *cg, Fn *f, Graph *g, Node *n, LLVMValueRef *ptr, LLVMValueRef arena, LLVMValueRef *off)
{
	LoopPlan *lp = n->aux;
	Graph *b = n->sub[0];
	int nc = (int)n->attr[2], ns = (int)n->attr[3], nout = b->outputs.n;
	LLVMValueRef *bptr = calloc((size_t)b->next_id + 1, sizeof *bptr), *res = calloc((size_t)nout + 1, sizeof *res);
	LLVMValueRef T = cg_dim(f, n->attr[0]);
	for (int i = 0; i < g->nodes.n; i++) {
		Node *u = g->nodes.v[i];
		if (u->op == OP_LOOP_OUT && u->in[0] == n)
			res[u->attr[0]] = at(f, arena, off[u->id]);
	}
	bptr[b->inputs.v[0]->id] = at(f, arena, lp->idx);
	for (int k = 0; k < nc; k++) {
		bptr[b->inputs.v[1 + k]->id] = at(f, arena, lp->state[k]);
		LLVMBuildMemCpy(f->b, bptr[b->inputs.v[1 + k]->id], 1, ptr[n->in[k]->id], 1, type_bytes(f, n->in[k]->type));
	}
	for (int j = nc + ns; j < n->nin; j++)
		bptr[b->inputs.v[1 + j]->id] = ptr[n->in[j]->id];
	Loop l;
	LLVMValueRef k = cg_loop_begin(f, &l, T), i = k;
	if (n->attr[1])
		i = LLVMBuildSub(f->b, LLVMBuildSub(f->b, T, cg_i64(cg, 1), ""), k, "");
	LLVMBuildStore(f->b, i, bptr[b->inputs.v[0]->id]);
	for (int j = nc; j < nc + ns; j++) {
		Node *in = b->inputs.v[1 + j];
		bptr[in->id] = at(f, ptr[n->in[j]->id], LLVMBuildMul(f->b, i, type_bytes(f, in->type), ""));
	}
	for (int m = 0; m < b->nodes.n; m++)
		if (b->nodes.v[m]->op != OP_INPUT)
			emit_node(cg, f, b, b->nodes.v[m], bptr, arena, lp->off);
	for (int o = nc; o < nout; o++) {
		Node *y = b->outputs.v[o].node;
		if (res[o])
			LLVMBuildMemCpy(f->b, at(f, res[o], LLVMBuildMul(f->b, i, type_bytes(f, y->type), "")), 1, bptr[y->id], 1,
			                type_bytes(f, y->type));
	}
	bool *via = calloc((size_t)nc + 1, sizeof *via);
	for (int pass = 0; pass < 3; pass++)
		for (int c = 0; c < nc; c++) {
			const Node *y = b->outputs.v[c].node, *w = owner(y);
			LLVMValueRef bytes = type_bytes(f, y->type), state = bptr[b->inputs.v[1 + c]->id];
			if (pass == 0 && w != b->inputs.v[1 + c] && w->op == OP_INPUT && w->attr[0] >= 1 && w->attr[0] <= nc)
				via[c] = true, LLVMBuildMemCpy(f->b, at(f, arena, lp->next[c]), 1, bptr[y->id], 1, bytes);
			else if (pass == 1 && !via[c] && w != b->inputs.v[1 + c])
				LLVMBuildMemCpy(f->b, state, 1, bptr[y->id], 1, bytes);
			else if (pass == 2 && via[c])
				LLVMBuildMemCpy(f->b, state, 1, at(f, arena, lp->next[c]), 1, bytes);
		}
	cg_loop_end(f, &l);
	for (int c = 0; c < nc; c++)
		if (res[c])
			LLVMBuildMemCpy(f->b, res[c], 1, bptr[b->inputs.v[1 + c]->id], 1, type_bytes(f, n->in[c]->type));
	free(via);
	free(bptr);
	free(res);
}

/* A run-time if: one conditional branch on the bool condition to the code of the branch it
   chooses (its nodes, in its plan), which copies its results into the if_outs; the other
   branch's nodes do not run. */
static void emit_if(Cg *cg, Fn *f, Graph *g, Node *n, LLVMValueRef *ptr, LLVMValueRef arena, LLVMValueRef *off)
{
	LLVMValueRef **brs = n->aux;
	int nout = n->sub[0]->outputs.n;
	LLVMValueRef *res = calloc((size_t)nout + 1, sizeof *res);
	for (int i = 0; i < g->nodes.n; i++) {
		Node *u = g->nodes.v[i];
		if (u->op == OP_IF_OUT && u->in[0] == n)
			res[u->attr[0]] = at(f, arena, off[u->id]);
	}
	LLVMBasicBlockRef blk[2] = {LLVMAppendBasicBlockInContext(cg->ctx, f->fn, "then"),
	                            LLVMAppendBasicBlockInContext(cg->ctx, f->fn, "else")};
	LLVMBasicBlockRef join = LLVMAppendBasicBlockInContext(cg->ctx, f->fn, "endif");
	LLVMValueRef c = LLVMBuildLoad2(f->b, cg->t_i8, ptr[n->in[0]->id], "");
	LLVMBuildCondBr(f->b, LLVMBuildICmp(f->b, LLVMIntNE, c, LLVMConstInt(cg->t_i8, 0, 0), ""), blk[0], blk[1]);
	for (int k = 0; k < 2; k++) {
		Graph *b = n->sub[k];
		LLVMValueRef *bptr = calloc((size_t)b->next_id + 1, sizeof *bptr);
		LLVMPositionBuilderAtEnd(f->b, blk[k]);
		for (int j = 0; j < b->inputs.n; j++)
			bptr[b->inputs.v[j]->id] = ptr[n->in[j + 1]->id];
		for (int m = 0; m < b->nodes.n; m++)
			if (b->nodes.v[m]->op != OP_INPUT)
				emit_node(cg, f, b, b->nodes.v[m], bptr, arena, brs[k]);
		for (int o = 0; o < nout; o++) {
			Node *y = b->outputs.v[o].node;
			if (res[o])
				LLVMBuildMemCpy(f->b, res[o], 1, bptr[y->id], 1, type_bytes(f, y->type));
		}
		LLVMBuildBr(f->b, join);
		free(bptr);
	}
	LLVMPositionBuilderAtEnd(f->b, join);
	free(res);
}

static void emit_node(Cg *cg, Fn *f, Graph *g, Node *n, LLVMValueRef *ptr, LLVMValueRef arena, LLVMValueRef *off)
{
	ptr[n->id] = node_ptr(f, n, ptr, arena, off);
	if (n->op == OP_LOOP) {
		emit_loop(cg, f, g, n, ptr, arena, off);
		return;
	}
	if (n->op == OP_IF) {
		emit_if(cg, f, g, n, ptr, arena, off);
		return;
	}
	run_kernel(cg, f, g, n, ptr);
	check_numerics(cg, f, n, ptr[n->id]);
}

bool cg_graph_emit(Cg *cg, Graph *g, LLVMValueRef *entry, LLVMValueRef *arena_fn)
{
	char name[64];
	LLVMValueRef *off = calloc((size_t)g->next_id + 1, sizeof *off);
	LLVMValueRef *ptr = calloc((size_t)g->next_id + 1, sizeof *ptr);
	int *epos = calloc((size_t)g->next_id + 1, sizeof *epos); /* by node id */
	for (int k = 0; k < g->effects.n; k++)
		epos[g->effects.v[k]->id] = effect_pos(g, g->effects.v[k]);

	/* int64_t nnd_arena_<g>(const int64_t *syms) */
	snprintf(name, sizeof name, "nnd_arena_%s", g->name);
	*arena_fn = LLVMAddFunction(cg->mod, name, LLVMFunctionType(cg->t_i64, &cg->t_ptr, 1, 0));
	Fn *f = cg_fn_begin(cg, *arena_fn, NULL, LLVMGetParam(*arena_fn, 0));
	LLVMBuildRet(f->b, plan_emit(f, g, epos, off, cg_i64(cg, 0)));
	cg_fn_end(f);

	/* void nnd_entry_<g>(const NndCall *c) */
	snprintf(name, sizeof name, "nnd_entry_%s", g->name);
	*entry = LLVMAddFunction(cg->mod, name, LLVMFunctionType(cg->t_void, &cg->t_ptr, 1, 0));
	f = cg_fn_begin(cg, *entry, LLVMGetParam(*entry, 0), NULL);
	plan_emit(f, g, epos, off, cg_i64(cg, 0));
	LLVMValueRef arena = cg_call_field(f, 3);
	for (int i = 0; i < g->nodes.n; i++) {
		Node *n = g->nodes.v[i];
		if (!(op_info[n->op].flags & OPF_EFFECT))
			emit_node(cg, f, g, n, ptr, arena, off);
		else
			ptr[n->id] = node_ptr(f, n, ptr, arena, off);
		for (int k = 0; k < g->effects.n; k++)
			if (epos[g->effects.v[k]->id] == i) {
				ptr[g->effects.v[k]->id] = LLVMConstPointerNull(cg->t_ptr);
				run_kernel(cg, f, g, g->effects.v[k], ptr);
			}
	}
	LLVMValueRef outs = cg_call_field(f, 7);
	for (int k = 0; k < g->outputs.n; k++) {
		Node *n = g->outputs.v[k].node;
		LLVMValueRef kk = cg_i64(cg, k);
		LLVMValueRef dst = LLVMBuildLoad2(f->b, cg->t_ptr, LLVMBuildGEP2(f->b, cg->t_ptr, outs, &kk, 1, ""), "");
		LLVMValueRef bytes = LLVMBuildMul(f->b, cg_numel(f, n->type), cg_i64(cg, dtype_size(n->type.dtype)), "");
		LLVMBuildMemCpy(f->b, dst, 1, ptr[n->id], 1, bytes);
	}
	for (int k = 0; k < g->effects.n; k++)
		if (epos[g->effects.v[k]->id] >= g->nodes.n) {
			ptr[g->effects.v[k]->id] = LLVMConstPointerNull(cg->t_ptr);
			run_kernel(cg, f, g, g->effects.v[k], ptr);
		}
	free(epos);
	LLVMBuildRetVoid(f->b);
	cg_fn_end(f);
	free(off);
	free(ptr);
	return !cg->failed;
}
