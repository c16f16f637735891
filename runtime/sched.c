/* runtime/sched.c: the learning rate of each step (schedules) and the hyper-parameters handed
 * to generated code (NND_H_*). step is 0-based (optimiser steps done before this one), total
 * the run's length in steps. Warm-up (constant, cosine, step, exponential): lr*(step+1)/warmup
 * for step < warmup, then the schedule counted from the end of the warm-up.
 *   constant     lr
 *   cosine       from lr to min_lr along half a cosine, reaching min_lr at the last step
 *   step         lr * gamma^floor(s / step_every)        (torch StepLR)
 *   exponential  lr * gamma^s                            (torch ExponentialLR)
 *   linear       transformers' get_linear_schedule_with_warmup: lr*step/warmup during the
 *                warm-up, then lr*(total-step)/(total-warmup), down to 0
 *   onecycle     torch OneCycleLR (cos annealing, two phases): from max_lr/div_factor up to
 *                max_lr until step pct_start*total - 1, then down to
 *                max_lr/div_factor/final_div_factor at the last step (momentum is not cycled)
 */
#include <math.h>

#include "runtime/rt.h"

const char *const rt_sched_names[NND_SCHED_COUNT] = {
	[NND_SCHED_CONSTANT] = "constant", [NND_SCHED_COSINE] = "cosine", [NND_SCHED_STEP] = "step",
	[NND_SCHED_EXPONENTIAL] = "exponential", [NND_SCHED_LINEAR] = "linear",
	[NND_SCHED_ONECYCLE] = "onecycle",
};

/* torch.optim.lr_scheduler._annealing_cos */
static double
anneal_cos(double start, double end, double pct)
{
	return end + (start - end) / 2.0 * (cos(M_PI * pct) + 1.0);
}

static double
onecycle(const NndRecipe *r, int64_t step, int64_t total)
{
	double max_lr = r->max_lr > 0 ? r->max_lr : r->lr;
	double initial = max_lr / r->div_factor, min_lr = initial / r->final_div_factor;
	double end1 = r->pct_start * (double)total - 1, end2 = (double)total - 1, s = (double)step;

	if (s <= end1)
		return anneal_cos(initial, max_lr, s / end1);
	return anneal_cos(max_lr, min_lr, (s - end1) / (end2 - end1));
}

double
rt_schedule_lr(const NndRecipe *r, int64_t step, int64_t total)
{
	int64_t w = r->warmup;

	if (r->schedule == NND_SCHED_ONECYCLE)
		return onecycle(r, step, total);
	if (r->schedule == NND_SCHED_LINEAR) {
		if (step < w)
			return r->lr * (double)step / (double)w;
		double left = (double)(total - step) / (double)(total - w > 0 ? total - w : 1);
		return r->lr * (left > 0 ? left : 0);
	}
	if (step < w)
		return r->lr * (double)(step + 1) / (double)w;
	int64_t s = step - w;
	switch (r->schedule) {
	case NND_SCHED_COSINE: {
		int64_t span = total - 1 - w;
		double p = span > 0 ? (double)s / (double)span : 1.0;
		if (p > 1)
			p = 1;
		return r->min_lr + (r->lr - r->min_lr) * 0.5 * (1.0 + cos(M_PI * p));
	}
	case NND_SCHED_STEP:
		return r->lr * pow(r->gamma, (double)(s / (r->step_every > 0 ? r->step_every : 1)));
	case NND_SCHED_EXPONENTIAL: return r->lr * pow(r->gamma, (double)s);
	default: return r->lr;
	}
}

void
rt_hyper_set(float *h, const NndRecipe *r, double lr, int64_t step)
{
	double t = (double)step + 1;

	h[NND_H_LR] = (float)lr;
	h[NND_H_MOMENTUM] = (float)r->momentum;
	h[NND_H_WEIGHT_DECAY] = (float)r->weight_decay;
	h[NND_H_DAMPENING] = (float)r->dampening;
	h[NND_H_NESTEROV] = (float)r->nesterov;
	h[NND_H_BETA1] = (float)r->beta1;
	h[NND_H_BETA2] = (float)r->beta2;
	h[NND_H_EPS] = (float)r->eps;
	h[NND_H_STEP] = (float)step;
	h[NND_H_ALPHA] = (float)r->alpha;
	h[NND_H_CENTERED] = (float)r->centered;
	h[NND_H_LR_DECAY] = (float)r->lr_decay;
	h[NND_H_INIT_ACC] = (float)r->initial_accumulator_value;
	h[NND_H_STEP_SIZE] = (float)(lr / (1.0 - pow(r->beta1, t)));
	h[NND_H_BIAS2_SQRT] = (float)sqrt(1.0 - pow(r->beta2, t));
	h[NND_H_CLIP] = (float)r->clip_grad_norm;
	h[NND_H_SEED] = (float)nnd_seed_key((uint64_t)r->seed);
	h[NND_H_NOISE] = (float)sqrt(r->noise_eta / pow(t, r->noise_gamma)); /* t = 1 + step */
	h[NND_H_ACC_W] = 1;
	h[NND_H_ACC_KEEP] = 0;
	h[NND_H_SKIP] = 0;
}
