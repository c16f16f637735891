/* codegen/func.c: the building blocks kernels are written with: a function's entry block (where
 * run-time dimensions are computed once), counted loops and loop nests over strided operands,
 * loads, stores and conversions between element types, intrinsics and library calls.
 */
#include "codegen/codegen.h"

#include <string.h>

Fn *cg_fn_begin(Cg *cg, LLVMValueRef fn, LLVMValueRef call, LLVMValueRef syms)
{
	Fn *f = arena_alloc(cg->p->arena, sizeof *f);
	f->cg = cg;
	f->fn = fn;
	f->call = call;
	f->dims = arena_alloc(cg->p->arena, sizeof(LLVMValueRef) * (size_t)(cg->p->dims.n + 1));
	LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(cg->ctx, fn, "entry");
	LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(cg->ctx, fn, "body");
	f->eb = LLVMCreateBuilderInContext(cg->ctx);
	f->b = LLVMCreateBuilderInContext(cg->ctx);
	LLVMPositionBuilderAtEnd(f->eb, entry);
	LLVMValueRef br = LLVMBuildBr(f->eb, body);
	LLVMPositionBuilderBefore(f->eb, br);
	LLVMPositionBuilderAtEnd(f->b, body);
	f->syms = syms ? syms : cg_call_field(f, 5);
	return f;
}

void cg_fn_end(Fn *f)
{
	LLVMDisposeBuilder(f->b);
	LLVMDisposeBuilder(f->eb);
}

LLVMValueRef cg_i64(Cg *cg, int64_t v) { return LLVMConstInt(cg->t_i64, (unsigned long long)v, 1); }

/* NndCall's fields are all pointers: params grads opt arena inputs syms hyper outputs */
LLVMValueRef cg_call_field(Fn *f, int field)
{
	Cg *cg = f->cg;
	LLVMValueRef p = LLVMBuildStructGEP2(f->eb, cg->t_call, f->call, (unsigned)field, "");
	return LLVMBuildLoad2(f->eb, cg->t_ptr, p, "");
}

LLVMValueRef cg_dim(Fn *f, Dim d)
{
	Cg *cg = f->cg;
	if (DIM_IS_CONST(d))
		return cg_i64(cg, d);
	int64_t k = -d - 1;
	if (f->dims[k])
		return f->dims[k];
	const DimExpr *e = ir_dim_expr(cg->p, d);
	LLVMValueRef v;
	if (e->op == DE_SYM) {
		LLVMValueRef p = LLVMBuildGEP2(f->eb, cg->t_i64, f->syms, (LLVMValueRef[]){cg_i64(cg, e->sym)}, 1, "");
		v = LLVMBuildLoad2(f->eb, cg->t_i64, p, cg->p->syms.v[e->sym]);
	} else {
		LLVMValueRef a = cg_dim(f, e->a), b = cg_dim(f, e->b), nz;
		switch (e->op) {
		case DE_ADD: v = LLVMBuildAdd(f->eb, a, b, ""); break;
		case DE_SUB: v = LLVMBuildSub(f->eb, a, b, ""); break;
		case DE_MUL: v = LLVMBuildMul(f->eb, a, b, ""); break;
		case DE_DIV:
		case DE_MOD: /* x/0 is 0, as when the compiler folds it */
			nz = LLVMBuildICmp(f->eb, LLVMIntEQ, b, cg_i64(cg, 0), "");
			b = LLVMBuildSelect(f->eb, nz, cg_i64(cg, 1), b, "");
			v = e->op == DE_DIV ? LLVMBuildSDiv(f->eb, a, b, "") : LLVMBuildSRem(f->eb, a, b, "");
			v = LLVMBuildSelect(f->eb, nz, cg_i64(cg, 0), v, "");
			break;
		default: BUG("bad dim op %d", e->op);
		}
	}
	return f->dims[k] = v;
}

LLVMValueRef cg_numel(Fn *f, Type t)
{
	LLVMValueRef n = cg_i64(f->cg, 1);
	for (int i = 0; i < t.rank; i++)
		n = LLVMBuildMul(f->eb, n, cg_dim(f, t.dim[i]), "");
	return n;
}

LLVMValueRef cg_var(Fn *f, LLVMTypeRef t, LLVMValueRef init)
{
	LLVMValueRef v = LLVMBuildAlloca(f->eb, t, "");
	if (init)
		LLVMBuildStore(f->b, init, v);
	return v;
}

LLVMTypeRef cg_store_type(Cg *cg, DType t)
{
	switch (t) {
	case TY_F32: return cg->t_f32;
	case TY_F64: return cg->t_f64;
	case TY_F16: return LLVMHalfTypeInContext(cg->ctx);
	case TY_BF16: return LLVMBFloatTypeInContext(cg->ctx);
	case TY_I8: case TY_U8: case TY_BOOL: return cg->t_i8;
	case TY_I16: return cg->t_i16;
	case TY_I32: return cg->t_i32;
	case TY_I64: return cg->t_i64;
	default: BUG("bad dtype %d", t);
	}
}

LLVMTypeRef cg_comp_type(Cg *cg, DType t) { return t == TY_F16 || t == TY_BF16 ? cg->t_f32 : cg_store_type(cg, t); }

LLVMValueRef cg_load(Fn *f, DType t, LLVMValueRef base, LLVMValueRef idx)
{
	LLVMTypeRef st = cg_store_type(f->cg, t);
	LLVMValueRef p = LLVMBuildGEP2(f->b, st, base, &idx, 1, "");
	LLVMValueRef v = LLVMBuildLoad2(f->b, st, p, "");
	if (t == TY_F16 || t == TY_BF16)
		v = LLVMBuildFPExt(f->b, v, f->cg->t_f32, "");
	return v;
}

void cg_store(Fn *f, DType t, LLVMValueRef base, LLVMValueRef idx, LLVMValueRef v)
{
	LLVMTypeRef st = cg_store_type(f->cg, t);
	if (t == TY_F16 || t == TY_BF16)
		v = LLVMBuildFPTrunc(f->b, v, st, "");
	LLVMValueRef p = LLVMBuildGEP2(f->b, st, base, &idx, 1, "");
	LLVMBuildStore(f->b, v, p);
}

/* C's conversions; float -> integer saturates (fptosi.sat) instead of being undefined, bool is
   0/1 in an i8 and any non-zero value converts to 1. */
LLVMValueRef cg_convert(Fn *f, LLVMValueRef v, DType from, DType to)
{
	Cg *cg = f->cg;
	LLVMBuilderRef b = f->b;
	LLVMTypeRef tt = cg_comp_type(cg, to), ft = cg_comp_type(cg, from);
	if (from == to || (dtype_is_float(from) && dtype_is_float(to) && ft == tt))
		return v;
	if (to == TY_BOOL) {
		LLVMValueRef c = dtype_is_float(from) ? LLVMBuildFCmp(b, LLVMRealUNE, v, LLVMConstReal(ft, 0), "")
		                                      : LLVMBuildICmp(b, LLVMIntNE, v, LLVMConstInt(ft, 0, 0), "");
		return LLVMBuildZExt(b, c, cg->t_i8, "");
	}
	bool fsigned = from != TY_U8 && from != TY_BOOL;
	if (dtype_is_float(to)) {
		if (dtype_is_float(from))
			return LLVMGetTypeKind(tt) == LLVMDoubleTypeKind ? LLVMBuildFPExt(b, v, tt, "") : LLVMBuildFPTrunc(b, v, tt, "");
		return fsigned ? LLVMBuildSIToFP(b, v, tt, "") : LLVMBuildUIToFP(b, v, tt, "");
	}
	if (dtype_is_float(from)) {
		LLVMTypeRef ov[2] = {cg->t_i64, ft};
		LLVMValueRef w = cg_intrinsic(f, "llvm.fptosi.sat", ov, 2, &v, 1);
		return tt == cg->t_i64 ? w : LLVMBuildTrunc(b, w, tt, "");
	}
	unsigned fw = LLVMGetIntTypeWidth(ft), tw = LLVMGetIntTypeWidth(tt);
	if (fw == tw)
		return v;
	if (fw > tw)
		return LLVMBuildTrunc(b, v, tt, "");
	return fsigned ? LLVMBuildSExt(b, v, tt, "") : LLVMBuildZExt(b, v, tt, "");
}

LLVMValueRef cg_intrinsic(Fn *f, const char *name, LLVMTypeRef *ov, int nov, LLVMValueRef *args, int nargs)
{
	Cg *cg = f->cg;
	unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
	if (!id)
		BUG("no intrinsic %s", name);
	LLVMValueRef fn = LLVMGetIntrinsicDeclaration(cg->mod, id, ov, (size_t)nov);
	LLVMTypeRef ty = LLVMIntrinsicGetType(cg->ctx, id, ov, (size_t)nov);
	return LLVMBuildCall2(f->b, ty, fn, args, (unsigned)nargs, "");
}

LLVMValueRef cg_libcall(Fn *f, const char *name, LLVMTypeRef ret, LLVMTypeRef *params, int n, LLVMValueRef *args,
                        int nargs, bool vararg)
{
	Cg *cg = f->cg;
	LLVMTypeRef ty = LLVMFunctionType(ret, params, (unsigned)n, vararg);
	LLVMValueRef fn = LLVMGetNamedFunction(cg->mod, name);
	if (!fn)
		fn = LLVMAddFunction(cg->mod, name, ty);
	return LLVMBuildCall2(f->b, ty, fn, args, (unsigned)nargs, "");
}

/* ---- loops ---- */

LLVMValueRef cg_loop_begin(Fn *f, Loop *l, LLVMValueRef n)
{
	Cg *cg = f->cg;
	l->pre = LLVMGetInsertBlock(f->b);
	l->head = LLVMAppendBasicBlockInContext(cg->ctx, f->fn, "loop");
	l->body = LLVMAppendBasicBlockInContext(cg->ctx, f->fn, "body");
	l->exit = LLVMAppendBasicBlockInContext(cg->ctx, f->fn, "done");
	LLVMBuildBr(f->b, l->head);
	LLVMPositionBuilderAtEnd(f->b, l->head);
	l->phi = LLVMBuildPhi(f->b, cg->t_i64, "i");
	LLVMValueRef zero = cg_i64(cg, 0);
	LLVMAddIncoming(l->phi, &zero, &l->pre, 1);
	LLVMValueRef c = LLVMBuildICmp(f->b, LLVMIntSLT, l->phi, n, "");
	LLVMBuildCondBr(f->b, c, l->body, l->exit);
	LLVMPositionBuilderAtEnd(f->b, l->body);
	return l->i = l->phi;
}

void cg_loop_end(Fn *f, Loop *l)
{
	LLVMValueRef next = LLVMBuildNSWAdd(f->b, l->phi, cg_i64(f->cg, 1), "");
	LLVMBasicBlockRef latch = LLVMGetInsertBlock(f->b);
	LLVMBuildBr(f->b, l->head);
	LLVMAddIncoming(l->phi, &next, &latch, 1);
	LLVMPositionBuilderAtEnd(f->b, l->exit);
}

#define NEST_MAXOPS 4

static void nest_rec(Fn *f, int d, int rank, LLVMValueRef *dims, int nops, LLVMValueRef (*strides)[MAX_RANK],
                     LLVMValueRef *base, NestBody body, void *ctx)
{
	if (d == rank) {
		body(f, ctx, base);
		return;
	}
	Loop l;
	LLVMValueRef i = cg_loop_begin(f, &l, dims[d]), off[NEST_MAXOPS];
	for (int k = 0; k < nops; k++) {
		LLVMValueRef s = strides[k][d];
		if (LLVMIsConstant(s) && LLVMConstIntGetSExtValue(s) == 0)
			off[k] = base[k];
		else
			off[k] = LLVMBuildNSWAdd(f->b, base[k], LLVMBuildNSWMul(f->b, i, s, ""), "");
	}
	nest_rec(f, d + 1, rank, dims, nops, strides, off, body, ctx);
	cg_loop_end(f, &l);
}

void cg_nest(Fn *f, int rank, LLVMValueRef *dims, int nops, LLVMValueRef (*strides)[MAX_RANK], NestBody body, void *ctx)
{
	if (nops > NEST_MAXOPS)
		BUG("loop nest over %d operands", nops);
	LLVMValueRef base[NEST_MAXOPS];
	for (int k = 0; k < nops; k++)
		base[k] = cg_i64(f->cg, 0);
	nest_rec(f, 0, rank, dims, nops, strides, base, body, ctx);
}

void cg_bstrides(Fn *f, Type t, int rank, LLVMValueRef *out)
{
	LLVMValueRef s = cg_i64(f->cg, 1);
	for (int i = rank - 1; i >= 0; i--) {
		int ti = t.rank - rank + i;
		if (ti < 0 || t.dim[ti] == 1) {
			out[i] = cg_i64(f->cg, 0);
			continue;
		}
		out[i] = s;
		s = LLVMBuildMul(f->eb, s, cg_dim(f, t.dim[ti]), "");
	}
}
