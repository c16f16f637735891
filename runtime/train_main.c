/* runtime/train_main.c: main() of NAME-train. Reads the command line (every scalar of the
 * recipe can be overridden), initialises or resumes the parameters, loads the data, runs the
 * epoch loop (seeded shuffle, optimiser steps of --batch times --accumulate examples, each in
 * micro-batches of --batch, the last ones smaller), validates after every epoch, shows progress,
 * writes checkpoints (each epoch, every --checkpoint-every N steps, at the end, on SIGINT; always
 * between optimiser steps). */
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/rt.h"

enum {
	F_EPOCHS, F_STEPS, F_BATCH, F_LR, F_MOMENTUM, F_WD, F_DAMPENING, F_NESTEROV, F_BETA1,
	F_BETA2, F_EPS, F_ALPHA, F_CENTERED, F_LR_DECAY, F_INIT_ACC, F_SCHEDULE, F_WARMUP, F_MIN_LR,
	F_STEP_EVERY, F_GAMMA, F_MAX_LR, F_PCT_START, F_DIV_FACTOR, F_FINAL_DIV, F_SEED, F_DATA, F_VALID, F_OUT, F_RESUME,
	F_LOG, F_QUIET, F_THREADS, F_TIMING, F_CLIP, F_NOISE_ETA, F_NOISE_GAMMA, F_ACCUMULATE, F_CHECK_NUMERICS,
	F_CKPT_EVERY, F_HELP, F_COUNT
};
static const RtFlag flags[F_COUNT] = {
	[F_EPOCHS] = {"epochs", "N", "epochs to train"},
	[F_STEPS] = {"steps", "N", "optimiser steps to train (0: write the initial weights and stop)"},
	[F_BATCH] = {"batch", "N", "examples per step"},
	[F_LR] = {"lr", "X", "learning rate (parameter group 0)"},
	[F_MOMENTUM] = {"momentum", "X", "SGD momentum"},
	[F_WD] = {"weight-decay", "X", "weight decay"},
	[F_DAMPENING] = {"dampening", "X", "SGD dampening"},
	[F_NESTEROV] = {"nesterov", "0|1", "SGD Nesterov momentum"},
	[F_BETA1] = {"beta1", "X", "Adam, AdamW, Lion beta1"},
	[F_BETA2] = {"beta2", "X", "Adam, AdamW, Lion beta2"},
	[F_EPS] = {"eps", "X", "Adam, AdamW, RMSprop, Adagrad epsilon"},
	[F_ALPHA] = {"alpha", "X", "RMSprop smoothing constant"},
	[F_CENTERED] = {"centered", "0|1", "RMSprop centered"},
	[F_LR_DECAY] = {"lr-decay", "X", "Adagrad learning-rate decay"},
	[F_INIT_ACC] = {"initial-accumulator-value", "X", "Adagrad initial sum"},
	[F_SCHEDULE] = {"schedule", "NAME", "constant, cosine, step, exponential, linear or onecycle"},
	[F_WARMUP] = {"warmup", "N", "warm-up steps (constant cosine step exponential linear)"},
	[F_MIN_LR] = {"min-lr", "X", "cosine schedule: final learning rate"},
	[F_STEP_EVERY] = {"step-every", "N", "step schedule: decay every N steps"},
	[F_GAMMA] = {"gamma", "X", "step and exponential schedules: decay factor"},
	[F_MAX_LR] = {"max-lr", "X", "onecycle schedule: peak learning rate"},
	[F_PCT_START] = {"pct-start", "X", "onecycle schedule: fraction of the run going up"},
	[F_DIV_FACTOR] = {"div-factor", "X", "onecycle schedule: max-lr / initial lr"},
	[F_FINAL_DIV] = {"final-div-factor", "X", "onecycle schedule: initial lr / final lr"},
	[F_SEED] = {"seed", "N", "seed of initialisation, shuffling, dropout, rand and grad_noise"},
	[F_DATA] = {"data", "IMG,LBL", "training data: IDX files (gzip or plain) or .npy"},
	[F_VALID] = {"valid", "IMG,LBL", "validation data, evaluated after every epoch ('none': skip)"},
	[F_OUT] = {"out", "FILE", "checkpoint to write (default NAME.safetensors; + FILE.opt)"},
	[F_RESUME] = {"resume", "FILE", "continue the run saved in FILE (and FILE.opt)"},
	[F_LOG] = {"log", "FILE.csv", "write one row per step: step,epoch,loss,metrics,lr,examples/s"},
	[F_QUIET] = {"quiet", NULL, "print only the validation line of each epoch"},
	[F_THREADS] = {"threads", "N", "OpenBLAS threads (default: OpenBLAS's choice)"},
	[F_TIMING] = {"timing", NULL, "at the end, print the step function's median and mean time"},
	[F_CLIP] = {"clip-grad-norm", "X", "max norm of clip_grad_norm (the recipe must clip)"},
	[F_NOISE_ETA] = {"grad-noise-eta", "X", "grad_noise's eta: variance eta / (1 + step)^gamma (the recipe must add noise)"},
	[F_NOISE_GAMMA] = {"grad-noise-gamma", "X", "grad_noise's gamma (the recipe must add noise)"},
	[F_ACCUMULATE] = {"accumulate", "N", "micro-batches of --batch per optimiser step (the recipe must accumulate)"},
	[F_CHECK_NUMERICS] = {"check-numerics", NULL, "stop at the first NaN or Inf, naming the operation"},
	[F_CKPT_EVERY] = {"checkpoint-every", "N", "also save the checkpoint every N steps"},
	[F_HELP] = {"help", NULL, "show this help"},
};

static volatile sig_atomic_t interrupted;

static void
on_signal(int sig)
{
	interrupted = sig;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* --timing: the step function alone (no data movement), as the PyTorch benchmarks time theirs */
static void
print_timing(double *t, int64_t n)
{
	if (n == 0)
		return;
	double sum = 0;
	for (int64_t i = 0; i < n; i++)
		sum += t[i];
	qsort(t, (size_t)n, sizeof *t, cmp_double);
	printf("step time: median %.4f ms  mean %.4f ms  p90 %.4f ms  over %lld steps\n", 1e3 * t[n / 2],
	       1e3 * sum / (double)n, 1e3 * t[(n * 9) / 10], (long long)n);
}

/* Settings no schedule could follow; total is the run's length in steps */
static void
check_schedule(const NndRecipe *r, int64_t total)
{
	if (r->schedule == NND_SCHED_STEP && r->step_every < 1)
		rt_usage("the step schedule needs --step-every N >= 1 (recipe: step(every:, gamma:))");
	if (r->schedule == NND_SCHED_ONECYCLE) {
		double end1 = r->pct_start * (double)total - 1;
		if (!(r->pct_start > 0 && r->pct_start < 1) || !(r->div_factor > 0) || !(r->final_div_factor > 0))
			rt_usage("onecycle needs 0 < pct-start < 1 (%g), div-factor > 0 (%g) and "
			         "final-div-factor > 0 (%g)", r->pct_start, r->div_factor, r->final_div_factor);
		if (!(end1 > 0) || !(end1 < (double)total - 1))
			rt_usage("onecycle over %lld steps with pct-start %g leaves a phase without steps; "
			         "train longer", (long long)total, r->pct_start);
	}
}

static int
parse_bool(const char *flag, const char *v)
{
	if (strcmp(v, "0") && strcmp(v, "1"))
		rt_usage("invalid value '%s' for --%s: expected 0 or 1", v, flag);
	return *v == '1';
}

static void
help(const NndModel *m)
{
	const NndRecipe *r = &m->recipe;

	printf("usage: %s [flags]\nTrains model '%s' (from %s) and writes its weights.\n\nflags:\n",
	       rt_prog, m->name, m->source ? m->source : "?");
	rt_flags_help(stdout, flags, F_COUNT);
	printf("\nrecipe defaults: batch %lld, %s %lld, lr %g, momentum %g, weight decay %g, seed %lld\n",
	       (long long)r->batch, r->steps ? "steps" : "epochs",
	       (long long)(r->steps ? r->steps : r->epochs), r->lr, r->momentum, r->weight_decay,
	       (long long)r->seed);
	exit(0);
}

static int64_t
arena_need(const NndEntry *e, int64_t *syms, int bsym, int64_t n, int64_t batch)
{
	int64_t need = 0;

	if (!e->arena_size)
		return 0;
	syms[bsym] = batch < n ? batch : n;
	need = e->arena_size(syms);
	if (n % batch) {
		syms[bsym] = n % batch;
		int64_t k = e->arena_size(syms);
		need = k > need ? k : need;
	}
	return need;
}

/* The eval entry over the whole data set (with its own size variables); each output averaged
   weighted by batch size */
static void
validate(const NndModel *m, const RtData *d, int64_t batch, void **bufs, NndCall *c, double *avg)
{
	float out[64];
	void *outp[64];

	for (int i = 0; i < m->eval.noutputs; i++) {
		outp[i] = &out[i];
		avg[i] = 0;
	}
	c->outputs = outp;
	c->inputs = (const void *const *)bufs;
	c->syms = d->syms.v;
	for (int64_t s = 0; s < d->count; s += batch) {
		int64_t b = d->count - s < batch ? d->count - s : batch;
		for (int i = 0; i < d->narrays; i++)
			rt_array_slice(&d->a[i], s, b, bufs[i]);
		d->syms.v[d->syms.batch] = b;
		m->eval.fn(c);
		for (int i = 0; i < m->eval.noutputs; i++)
			avg[i] += (double)out[i] * b;
	}
	for (int i = 0; i < m->eval.noutputs; i++)
		avg[i] /= (double)d->count;
}

int
main(int argc, char **argv)
{
	const NndModel *m = &nnd_model;
	NndRecipe r = m->recipe;
	const char *datap[5], *validp[5], *out = NULL, *resume = NULL, *logpath = NULL;
	int ndata = 0, nvalid = 0, quiet = 0, threads = 0, set_steps = 0, set_epochs = 0, timing = 0, set_seed = 0;
	int64_t ckpt_every = 0;
	char namebuf[256];

	rt_main_begin(m, "train", namebuf, sizeof namebuf);
	for (int i = 1; i < argc; i++) {
		const char *v;
		int f = rt_flag_next(flags, F_COUNT, argc, argv, &i, &v);
		switch (f) {
		case F_EPOCHS: r.epochs = rt_parse_count("epochs", v, 0); set_epochs = 1; break;
		case F_STEPS: r.steps = rt_parse_count("steps", v, 1); set_steps = 1; break;
		case F_BATCH: r.batch = rt_parse_count("batch", v, 0); break;
		case F_LR: r.lr = rt_parse_real("lr", v, 0); break;
		case F_MOMENTUM: r.momentum = rt_parse_real("momentum", v, 0); break;
		case F_WD: r.weight_decay = rt_parse_real("weight-decay", v, 0); break;
		case F_DAMPENING: r.dampening = rt_parse_real("dampening", v, 0); break;
		case F_NESTEROV: r.nesterov = parse_bool("nesterov", v); break;
		case F_BETA1: r.beta1 = rt_parse_real("beta1", v, 0); break;
		case F_BETA2: r.beta2 = rt_parse_real("beta2", v, 0); break;
		case F_EPS: r.eps = rt_parse_real("eps", v, 0); break;
		case F_ALPHA: r.alpha = rt_parse_real("alpha", v, 0); break;
		case F_CENTERED: r.centered = parse_bool("centered", v); break;
		case F_LR_DECAY: r.lr_decay = rt_parse_real("lr-decay", v, 0); break;
		case F_INIT_ACC: r.initial_accumulator_value = rt_parse_real("initial-accumulator-value", v, 0); break;
		case F_SCHEDULE:
			for (r.schedule = 0; r.schedule < NND_SCHED_COUNT; r.schedule++)
				if (!strcmp(v, rt_sched_names[r.schedule]))
					break;
			if (r.schedule == NND_SCHED_COUNT)
				rt_usage("invalid value '%s' for --schedule: expected constant, cosine, step, "
				         "exponential, linear or onecycle", v);
			break;
		case F_STEP_EVERY: r.step_every = rt_parse_count("step-every", v, 0); break;
		case F_GAMMA: r.gamma = rt_parse_real("gamma", v, 0); break;
		case F_MAX_LR: r.max_lr = rt_parse_real("max-lr", v, 0); break;
		case F_PCT_START: r.pct_start = rt_parse_real("pct-start", v, 0); break;
		case F_DIV_FACTOR: r.div_factor = rt_parse_real("div-factor", v, 0); break;
		case F_FINAL_DIV: r.final_div_factor = rt_parse_real("final-div-factor", v, 0); break;
		case F_WARMUP: r.warmup = rt_parse_count("warmup", v, 1); break;
		case F_MIN_LR: r.min_lr = rt_parse_real("min-lr", v, 0); break;
		case F_SEED: r.seed = rt_parse_count("seed", v, 1); set_seed = 1; break;
		case F_DATA:
			if ((ndata = rt_split_paths((char *)v, datap, 4)) > 4)
				rt_usage("--data: at most 4 files");
			break;
		case F_VALID:
			if (!strcmp(v, "none") || !*v)
				nvalid = -1;
			else if ((nvalid = rt_split_paths((char *)v, validp, 4)) > 4)
				rt_usage("--valid: at most 4 files");
			break;
		case F_OUT: out = v; break;
		case F_RESUME: resume = v; break;
		case F_LOG: logpath = v; break;
		case F_QUIET: quiet = 1; break;
		case F_TIMING: timing = 1; break;
		case F_THREADS: threads = (int)rt_parse_count("threads", v, 0); break;
		case F_CLIP:
			r.clip_grad_norm = rt_parse_real("clip-grad-norm", v, 0);
			if (!(r.clip_grad_norm > 0))
				rt_usage("--clip-grad-norm must be greater than 0");
			if (!(m->recipe.clip_grad_norm > 0))
				rt_usage("--clip-grad-norm: the recipe does not clip gradients; add "
				         "`clip_grad_norm = %g` to it and recompile", r.clip_grad_norm);
			break;
		case F_NOISE_ETA:
		case F_NOISE_GAMMA:
			if (!(m->recipe.noise_eta > 0))
				rt_usage("--%s: the recipe adds no gradient noise; add `grad_noise = gaussian(eta: 0.3, "
				         "gamma: 0.55)` to it and recompile", flags[f].name);
			if (f == F_NOISE_GAMMA)
				r.noise_gamma = rt_parse_real("grad-noise-gamma", v, 0);
			else if (!((r.noise_eta = rt_parse_real("grad-noise-eta", v, 0)) > 0))
				rt_usage("--grad-noise-eta must be greater than 0");
			break;
		case F_ACCUMULATE:
			r.accumulate = rt_parse_count("accumulate", v, 0);
			if (!m->recipe.accumulate)
				rt_usage("--accumulate: the recipe does not accumulate gradients; add `accumulate = %lld` to "
				         "it and recompile", (long long)r.accumulate);
			break;
		case F_CHECK_NUMERICS: nnd_rt_check_numerics = 1; break;
		case F_CKPT_EVERY: ckpt_every = rt_parse_count("checkpoint-every", v, 0); break;
		case F_HELP: help(m);
		}
	}
	if (set_epochs && !set_steps)
		r.steps = 0; /* --epochs replaces a recipe's `steps` */
	if (r.batch < 1)
		rt_usage("the batch size must be positive (recipe: %lld)", (long long)r.batch);
	if (!set_steps && r.steps == 0 && r.epochs < 1)
		rt_usage("nothing to train: the recipe has neither epochs nor steps; give --epochs N");
	if (threads > 0)
		openblas_set_num_threads(threads);
	static char outbuf[300];
	if (!out) {
		snprintf(outbuf, sizeof outbuf, "%s.safetensors", m->name);
		out = outbuf;
	}

	/* parameters, gradients, optimiser state: one block each */
	int64_t pn = m->param_numel;
	float *params = rt_alloc_aligned(sizeof(float) * (pn ? pn : 1));
	float *grads = rt_alloc_aligned(sizeof(float) * (pn ? pn : 1));
	float *opt = rt_alloc_aligned(sizeof(float) * (m->opt_slots * pn + 1));
	memset(grads, 0, sizeof(float) * pn);
	memset(opt, 0, sizeof(float) * m->opt_slots * pn);
	RtTrainState st = {0};
	if (resume) {
		rt_ckpt_load(resume, m, params, opt, &st);
		if (set_seed && (uint64_t)r.seed != st.seed)
			fprintf(stderr, "%s: warning: --seed is ignored with --resume: the run continues with %s's seed %llu\n",
			        rt_prog, resume, (unsigned long long)st.seed);
		r.seed = (int64_t)st.seed;
	} else {
		st.seed = (uint64_t)r.seed;
		rt_params_init(m, params, st.seed);
		rt_params_from(m, params); /* frozen models' weights (a checkpoint holds them: not on resume) */
		rt_rng_seed(&st.rng, st.seed ^ 0x53687566666c6521ull); /* the shuffle stream */
	}
	if (set_steps && r.steps == 0) {
		rt_ckpt_save(out, m, params, opt, &st);
		if (!quiet)
			printf("wrote the %s weights to %s (no training: --steps 0)\n",
			       resume ? "resumed" : "initial", out);
		rt_free_aligned(params);
		rt_free_aligned(grads);
		rt_free_aligned(opt);
		return 0;
	}

	/* data: the recipe's sources; --data/--valid replace their files (in the same order) */
	NndDataSource dsrc = r.data, vsrc = r.valid;
	const char *vwhat = nvalid > 0 ? "--valid" : "the recipe's valid";
	if (ndata > 0) {
		if (dsrc.kind == NND_DATA_NONE || (dsrc.kind != NND_DATA_IDX && ndata != dsrc.npaths))
			dsrc = (NndDataSource){.kind = NND_DATA_IDX};
		dsrc.npaths = ndata;
		for (int i = 0; i < ndata; i++)
			dsrc.paths[i] = datap[i];
	} else if (dsrc.kind == NND_DATA_NONE)
		rt_usage("no training data: the recipe has no `data` and --data was not given");
	if (nvalid > 0) {
		if (vsrc.kind == NND_DATA_NONE || (vsrc.kind != NND_DATA_IDX && nvalid != vsrc.npaths))
			vsrc = (NndDataSource){.kind = NND_DATA_IDX};
		vsrc.npaths = nvalid;
		for (int i = 0; i < nvalid; i++)
			vsrc.paths[i] = validp[i];
	} else if (nvalid == 0 && vsrc.kind != NND_DATA_NONE)
		nvalid = vsrc.npaths;
	if (nvalid > 0 && !m->eval.fn) {
		fprintf(stderr, "%s: warning: the model has no eval entry; skipping validation\n", rt_prog);
		nvalid = 0;
	}
	RtData train, valid = {0};
	rt_source_load(&train, m, &m->step, &dsrc, ndata > 0 ? "--data" : "the recipe's data");
	if (nvalid > 0)
		rt_source_load(&valid, m, &m->eval, &vsrc, vwhat);

	/* the run's length: an optimiser step takes sb examples (the last of an epoch fewer) */
	int64_t nacc = r.accumulate > 0 ? r.accumulate : 1, sb = r.batch * nacc;
	int64_t n = train.count, spe = (n + sb - 1) / sb;
	/* by epochs: the steps done, then what is left of the current epoch and the later ones at this
	   batch size (a resumed run may use another --batch) */
	int64_t by_epochs = st.epoch >= r.epochs ? st.step
	                  : st.step + (n - st.pos + sb - 1) / sb + (r.epochs - st.epoch - 1) * spe;
	int64_t total = r.steps > 0 ? r.steps : by_epochs;
	if (r.steps > 0 && set_epochs && by_epochs < total)
		total = by_epochs;
	int64_t nepochs = r.steps > 0 ? st.epoch + (total - st.step + spe - 1) / spe : r.epochs;
	check_schedule(&r, total);
	for (int g = 0; g < m->ngroups; g++)
		check_schedule(&m->groups[g], total);
	if (st.step >= total) {
		printf("nothing to do: %s is at step %lld of %lld\n", resume ? resume : "the run", (long long)st.step,
		       (long long)total);
		exit(0);
	}
	if (st.pos >= n)
		rt_die("%s: position %lld in the epoch is past the %lld training examples; was it saved "
		       "with other data?", resume, (long long)st.pos, (long long)n);

	/* buffers for the whole run: nothing is allocated in the loop */
	int64_t *syms = train.syms.v; /* the validation set has its own (validate) */
	int bsym = train.syms.batch;
	int64_t need = arena_need(&m->step, syms, bsym, n, r.batch);
	if (nvalid > 0) {
		int64_t k = arena_need(&m->eval, valid.syms.v, valid.syms.batch, valid.count, r.batch);
		need = k > need ? k : need;
	}
	void *arena = rt_alloc_aligned(need);
	void **bufs = rt_batch_alloc(&train, r.batch);
	void **vbufs = nvalid > 0 ? rt_batch_alloc(&valid, r.batch) : NULL;
	int64_t *perm = rt_alloc(sizeof(int64_t) * n);
	int64_t ntimes = 0, maxtimes = total - st.step < (1 << 20) ? total - st.step : (1 << 20);
	double *times = timing ? rt_alloc(sizeof(double) * (size_t)maxtimes) : NULL;
	/* one row of hyper-parameters per parameter group: row 0 the recipe's (and the flags') */
	float *hyper = rt_alloc(sizeof(float) * NND_H_COUNT * (1 + m->ngroups)), outv[64], stepv[64];
	void *outp[64];
	double vavg[64];
	if (m->step.noutputs > 64 || m->eval.noutputs > 64)
		rt_die("the model has more than 64 outputs per step (unsupported)");
	for (int i = 0; i < 64; i++)
		outp[i] = &outv[i];
	NndCall call = {params, grads, opt, arena, (const void *const *)bufs, syms, hyper, outp};
	RtProgress prog;
	rt_progress_init(&prog, &m->step, total, st.step, quiet, logpath, resume != NULL);

	struct sigaction sa = {0};
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	RtRng rng = st.rng;
	int rc = 0;
	for (;;) {
		/* epoch st.epoch: its shuffle from the generator's state at its start */
		st.rng = rng;
		for (int64_t i = 0; i < n; i++)
			perm[i] = i;
		rt_rng_shuffle(&rng, perm, n);
		while (st.pos < n && st.step < total && !interrupted) {
			/* one optimiser step: sbk examples in micro-batches of r.batch; the step's
			   outputs are the micro-batches' averaged by size */
			int64_t sbk = n - st.pos < sb ? n - st.pos : sb, end = st.pos + sbk;
			double lr = rt_schedule_lr(&r, st.step, total), tstep = 0;
			rt_hyper_set(hyper, &r, lr, st.step);
			for (int g = 0; g < m->ngroups; g++) {
				const NndRecipe *gr = &m->groups[g];
				rt_hyper_set(hyper + (g + 1) * NND_H_COUNT, gr, rt_schedule_lr(gr, st.step, total), st.step);
			}
			for (int i = 0; i < m->step.noutputs; i++)
				stepv[i] = 0;
			for (int k = 0; st.pos < end; k++) {
				int64_t b = end - st.pos < r.batch ? end - st.pos : r.batch;
				for (int i = 0; i < train.narrays; i++)
					rt_array_gather(&train.a[i], perm + st.pos, b, bufs[i]);
				syms[bsym] = b;
				for (int g = 0; g <= m->ngroups; g++) {
					float *h = hyper + g * NND_H_COUNT;
					h[NND_H_ACC_W] = (float)((double)b / (double)sbk);
					h[NND_H_ACC_KEEP] = k > 0;
					h[NND_H_SKIP] = st.pos + b < end;
				}
				call.inputs = (const void *const *)bufs;
				call.outputs = outp;
				call.syms = syms;
				double t0 = timing ? rt_now() : 0;
				m->step.fn(&call);
				if (timing)
					tstep += rt_now() - t0;
				for (int i = 0; i < m->step.noutputs; i++)
					stepv[i] += (float)((double)outv[i] * (double)b / (double)sbk);
				st.pos += b;
			}
			if (timing && ntimes < maxtimes)
				times[ntimes++] = tstep;
			st.step++;
			rt_progress_step(&prog, st.step, st.epoch, nepochs, stepv, sbk, lr);
			if (ckpt_every && st.step % ckpt_every == 0 && st.pos < n && st.step < total)
				rt_ckpt_save(out, m, params, opt, &st); /* the epoch's end saves below */
		}
		int done = st.step >= total, full = st.pos >= n;
		if (interrupted && !(done || full)) {
			rt_progress_clear(&prog);
			rt_ckpt_save(out, m, params, opt, &st);
			fprintf(stderr, "%s: interrupted at step %lld of %lld (epoch %lld); saved %s and %s.opt; "
			        "continue with --resume %s\n", rt_prog, (long long)st.step, (long long)total,
			        (long long)st.epoch + 1, out, out, out);
			rc = 128 + (interrupted == SIGTERM ? SIGTERM : SIGINT);
			break;
		}
		rt_progress_clear(&prog);
		if (nvalid > 0) {
			validate(m, &valid, r.batch, vbufs, &call, vavg);
			printf("epoch %lld/%lld  valid", (long long)st.epoch + 1, (long long)nepochs);
			for (int i = 0; i < m->eval.noutputs; i++)
				printf("%s%s %.4f", i ? "  " : " ", m->eval.outputs[i].name, vavg[i]);
			printf("\n");
			fflush(stdout);
		}
		if (full) {
			st.epoch++;
			st.pos = 0;
			st.rng = rng;
		}
		rt_ckpt_save(out, m, params, opt, &st);
		if (!quiet && (done || interrupted))
			printf("saved %s (step %lld, epoch %lld)\n", out, (long long)st.step,
			       (long long)(full ? st.epoch : st.epoch + 1));
		if (done)
			break;
		if (interrupted) {
			fprintf(stderr, "%s: interrupted after epoch %lld; saved %s; continue with --resume %s\n",
			        rt_prog, (long long)st.epoch, out, out);
			rc = 128 + (interrupted == SIGTERM ? SIGTERM : SIGINT);
			break;
		}
	}
	if (timing)
		print_timing(times, ntimes);
	rt_free(times);
	rt_progress_free(&prog);
	rt_batch_free(bufs, train.narrays);
	rt_batch_free(vbufs, valid.narrays);
	rt_data_free(&train);
	rt_data_free(&valid);
	rt_free(perm);
	rt_free(hyper);
	rt_free_aligned(arena);
	rt_free_aligned(params);
	rt_free_aligned(grads);
	rt_free_aligned(opt);
	return rc;
}
