/* runtime/ckpt.c: training checkpoints.
 *   FILE      safetensors with every param and state under its path name (F32), a plain state
 *             dict for PyTorch; __metadata__: format, model, step, epoch, pos, seed, rng
 *   FILE.opt  safetensors with the optimiser state: one tensor per trainable parameter and slot,
 *             "<slot>.<param>", slots named as torch.optim's state (SGD: momentum_buffer; Adam,
 *             AdamW: exp_avg, exp_avg_sq; RMSprop: square_avg, momentum_buffer, grad_avg;
 *             Adagrad: sum; Lion: exp_avg), and the same
 *             model and step in __metadata__ so that a mismatched pair is refused.
 * A save writes FILE.opt.next, then FILE, then renames FILE.opt.next to FILE.opt (each write
 * atomic), so a process killed at any point leaves FILE with a FILE.opt or FILE.opt.next of the
 * same step; the loader takes whichever matches.
 * step = optimiser steps done; epoch = the epoch in progress (0-based); pos = examples of it
 * already consumed; rng = the shuffle generator's state at the start of that epoch. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/rt.h"

/* torch.optim's names for the state of p's optimiser (its parameter group's), slot by slot
   (NND_OPT_SLOTS) */
static const char *
slot_name(const NndModel *m, const NndParam *p, int slot)
{
	static const char *const names[NND_OPT_COUNT][3] = {
		[NND_OPT_SGD] = {"momentum_buffer"},
		[NND_OPT_ADAM] = {"exp_avg", "exp_avg_sq"},
		[NND_OPT_ADAMW] = {"exp_avg", "exp_avg_sq"},
		[NND_OPT_RMSPROP] = {"square_avg", "momentum_buffer", "grad_avg"},
		[NND_OPT_ADAGRAD] = {"sum"},
		[NND_OPT_LION] = {"exp_avg"},
	};
	static char buf[16];
	int k = p->group > 0 && p->group <= m->ngroups ? m->groups[p->group - 1].optimizer : m->recipe.optimizer;

	if (k >= 0 && k < NND_OPT_COUNT && slot < 3 && names[k][slot])
		return names[k][slot];
	snprintf(buf, sizeof buf, "slot%d", slot);
	return buf;
}

static RtTensor *
param_tensors(const NndModel *m, float *params)
{
	RtTensor *t = rt_alloc(sizeof(RtTensor) * (m->nparams ? m->nparams : 1));

	for (int i = 0; i < m->nparams; i++)
		t[i] = (RtTensor){m->params[i].t.name, m->params[i].t.rank, m->params[i].t.dims,
		                  params + m->params[i].offset};
	return t;
}

/* Tensors of the optimiser file; names are allocated */
static RtTensor *
opt_tensors(const NndModel *m, float *opt, int *n)
{
	RtTensor *t = rt_alloc(sizeof(RtTensor) * (m->nparams * m->opt_slots + 1));

	*n = 0;
	for (int s = 0; s < m->opt_slots; s++)
		for (int i = 0; i < m->nparams; i++) {
			const NndParam *p = &m->params[i];
			if (!p->trainable)
				continue;
			char *name = rt_alloc(strlen(p->t.name) + 20);
			sprintf(name, "%s.%s", slot_name(m, p, s), p->t.name);
			t[(*n)++] = (RtTensor){name, p->t.rank, p->t.dims, opt + s * m->param_numel + p->offset};
		}
	return t;
}

static void
opt_tensors_free(RtTensor *t, int n)
{
	for (int i = 0; i < n; i++)
		rt_free((char *)t[i].name);
	rt_free(t);
}

static char *
opt_path(const char *path, const char *suffix)
{
	char *s = rt_alloc(strlen(path) + strlen(suffix) + 5);

	sprintf(s, "%s.opt%s", path, suffix);
	return s;
}

void
rt_ckpt_save(const char *path, const NndModel *m, const float *params, const float *opt,
             const RtTrainState *st)
{
	char step[24], epoch[24], pos[24], seed[24], rng[80];
	RtKV kv[] = {{"format", "nnd-checkpoint-1"}, {"model", m->name}, {"step", step},
	             {"epoch", epoch}, {"pos", pos}, {"seed", seed}, {"rng", rng}};
	int nopt;

	snprintf(step, sizeof step, "%" PRId64, st->step);
	snprintf(epoch, sizeof epoch, "%" PRId64, st->epoch);
	snprintf(pos, sizeof pos, "%" PRId64, st->pos);
	snprintf(seed, sizeof seed, "%" PRIu64, st->seed);
	snprintf(rng, sizeof rng, "%016" PRIx64 "%016" PRIx64 "%016" PRIx64 "%016" PRIx64,
	         st->rng.s[0], st->rng.s[1], st->rng.s[2], st->rng.s[3]);
	char *op = NULL, *next = NULL;
	if (opt && m->opt_slots > 0) {
		op = opt_path(path, "");
		next = opt_path(path, ".next");
		RtTensor *ot = opt_tensors(m, (float *)opt, &nopt);
		RtKV okv[] = {{"format", "nnd-optimizer-1"}, {"model", m->name}, {"step", step}};
		rt_st_write(next, ot, nopt, okv, 3);
		opt_tensors_free(ot, nopt);
	}
	RtTensor *t = param_tensors(m, (float *)params);
	rt_st_write(path, t, m->nparams, kv, sizeof kv / sizeof kv[0]);
	rt_free(t);
	if (op && rename(next, op) != 0)
		rt_die("%s: cannot rename %s into place: %s", op, next, strerror(errno));
	rt_free(op);
	rt_free(next);
}

/* Reads an optimiser file into opt; 1 if its step is `want` */
static int
opt_read(const char *op, const NndModel *m, float *opt, const char *want, char *found, size_t n)
{
	int nopt;
	RtTensor *ot = opt_tensors(m, opt, &nopt);
	void *om = rt_st_read(op, ot, nopt, 0);
	const char *os = rt_st_meta(om, "step");
	int ok = os && !strcmp(os, want);

	snprintf(found, n, "%s", os ? os : "(none)");
	rt_st_meta_free(om);
	opt_tensors_free(ot, nopt);
	return ok;
}

static int64_t
meta_int(void *meta, const char *path, const char *key)
{
	const char *s = rt_st_meta(meta, key);
	char *end;
	long long v;

	if (!s)
		rt_die("%s: no '%s' in __metadata__: not a training checkpoint of nnd (weights alone "
		       "cannot be resumed)", path, key);
	errno = 0;
	v = strtoll(s, &end, 10);
	if (end == s || *end || v < 0 || errno == ERANGE)
		rt_die("%s: __metadata__ '%s' is '%s', expected a non-negative integer", path, key, s);
	return v;
}

void
rt_ckpt_load(const char *path, const NndModel *m, float *params, float *opt, RtTrainState *st)
{
	RtTensor *t = param_tensors(m, params);
	void *meta = rt_st_read(path, t, m->nparams, 0);

	rt_free(t);
	if (!opt) {
		rt_st_meta_free(meta);
		return;
	}
	const char *model = rt_st_meta(meta, "model"), *rng = rt_st_meta(meta, "rng");
	if (!model || strcmp(model, m->name))
		rt_die("%s: checkpoint of model '%s', this is '%s'", path, model ? model : "(none)", m->name);
	st->step = meta_int(meta, path, "step");
	st->epoch = meta_int(meta, path, "epoch");
	st->pos = meta_int(meta, path, "pos");
	st->seed = (uint64_t)meta_int(meta, path, "seed");
	if (!rng || strlen(rng) != 64 || strspn(rng, "0123456789abcdef") != 64)
		rt_die("%s: __metadata__ 'rng' is missing or malformed (expected 64 hex digits)", path);
	for (int k = 0; k < 4; k++) {
		char w[17];
		memcpy(w, rng + 16 * k, 16);
		w[16] = 0;
		st->rng.s[k] = strtoull(w, NULL, 16);
	}
	if (!(st->rng.s[0] | st->rng.s[1] | st->rng.s[2] | st->rng.s[3]))
		rt_die("%s: __metadata__ 'rng' is all zeros (corrupt)", path);
	rt_st_meta_free(meta);

	if (m->opt_slots > 0) {
		/* FILE.opt.next: a save killed before its last rename */
		char *op = opt_path(path, ""), *next = opt_path(path, ".next"), want[24], found[24];
		snprintf(want, sizeof want, "%" PRId64, st->step);
		if ((access(next, F_OK) != 0 || !opt_read(next, m, opt, want, found, sizeof found)) &&
		    !opt_read(op, m, opt, want, found, sizeof found))
			rt_die("%s: optimiser state is from step %s but %s is from step %s; the pair does "
			       "not belong together", op, found, path, want);
		rt_free(op);
		rt_free(next);
	}
}
