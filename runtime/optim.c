/* runtime/optim.c: optimiser updates and the run-time error helper called by generated code.
 *
 * Each update follows torch.optim's single-tensor code (PyTorch 1.13 to 2.x) operation for
 * operation, in float32, with its state in the slots NND_OPT_SLOTS counts (g = the gradient,
 * t = NND_H_STEP + 1):
 *   SGD      g += wd*p; m = t == 1 ? g : mu*m + (1-dampening)*g; g = nesterov ? g + mu*m : m;
 *            p -= lr*g                                             (slot 0 momentum_buffer)
 *   Adam     g += wd*p; m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g*g;
 *            p -= STEP_SIZE*m / (sqrt(v)/BIAS2_SQRT + eps)         (exp_avg, exp_avg_sq)
 *   AdamW    p *= 1 - lr*wd first (decoupled), then Adam without the g += wd*p
 *   RMSprop  g += wd*p; s = alpha*s + (1-alpha)*g*g; centered: a = alpha*a + (1-alpha)*g,
 *            d = sqrt(s - a*a) + eps, else d = sqrt(s) + eps; momentum: b = mu*b + g/d,
 *            p -= lr*b; else p -= lr*g/d                (square_avg, momentum_buffer, grad_avg)
 *   Adagrad  g += wd*p; s = (t == 1 ? initial_accumulator_value : s) + g*g;
 *            p -= lr/(1 + (t-1)*lr_decay) * g/(sqrt(s) + eps)      (sum)
 *   Lion     p *= 1 - lr*wd; p -= lr*sign(b1*m + (1-b1)*g); m = b2*m + (1-b2)*g   (exp_avg)
 * STEP_SIZE and BIAS2_SQRT come from the runtime, computed in double as torch does in Python.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "runtime/nnd_model.h"

/* SGD: each case is its own branch-free loop over restrict pointers, so the compiler vectorises
   it (cloned for AVX-512 and AVX2, picked at load time): the update streams through three
   parameter-sized arrays every step. (The other optimisers keep torch's structure, with the
   branches on their options inside the loop.) */
__attribute__((target_clones("avx512f", "avx2", "default"))) void
nnd_rt_sgd_update(float *restrict p, const float *restrict grad, float *restrict mom, int64_t n,
                  const float *hyper)
{
	const float lr = hyper[NND_H_LR], mu = hyper[NND_H_MOMENTUM], wd = hyper[NND_H_WEIGHT_DECAY];
	const float keep = 1.0f - hyper[NND_H_DAMPENING];
	const int nesterov = hyper[NND_H_NESTEROV] != 0.0f;
	const int first = hyper[NND_H_STEP] == 0.0f;

	if (mu == 0.0f || !mom) {
		for (int64_t i = 0; i < n; i++)
			p[i] -= lr * (grad[i] + wd * p[i]);
	} else if (first && nesterov) {
		for (int64_t i = 0; i < n; i++) {
			float g = grad[i] + wd * p[i];
			mom[i] = g;
			p[i] -= lr * (g + mu * g);
		}
	} else if (first) {
		for (int64_t i = 0; i < n; i++) {
			float g = grad[i] + wd * p[i];
			mom[i] = g;
			p[i] -= lr * g;
		}
	} else if (nesterov) {
		for (int64_t i = 0; i < n; i++) {
			float g = grad[i] + wd * p[i];
			float m = mu * mom[i] + keep * g;
			mom[i] = m;
			p[i] -= lr * (g + mu * m);
		}
	} else {
		for (int64_t i = 0; i < n; i++) {
			float g = grad[i] + wd * p[i];
			float m = mu * mom[i] + keep * g;
			mom[i] = m;
			p[i] -= lr * m;
		}
	}
}

/* Adam and AdamW (decoupled: weight decay applied to p, not added to the gradient) */
__attribute__((target_clones("avx512f", "avx2", "default"))) static void
adam_update(float *restrict p, const float *restrict grad, float *restrict m, float *restrict v,
            int64_t n, const float *hyper, int decoupled)
{
	const float lr = hyper[NND_H_LR], wd = hyper[NND_H_WEIGHT_DECAY], eps = hyper[NND_H_EPS];
	const float b1 = hyper[NND_H_BETA1], b2 = hyper[NND_H_BETA2];
	const float k1 = 1.0f - b1, k2 = 1.0f - b2;
	const float step_size = hyper[NND_H_STEP_SIZE], bias2_sqrt = hyper[NND_H_BIAS2_SQRT];
	const float decay = decoupled ? 1.0f - lr * wd : 1.0f, l2 = decoupled ? 0.0f : wd;

	for (int64_t i = 0; i < n; i++) {
		float pi = p[i] * decay;
		float g = grad[i] + l2 * pi;
		float mi = m[i] * b1 + k1 * g;
		float vi = v[i] * b2 + k2 * g * g;
		m[i] = mi;
		v[i] = vi;
		p[i] = pi - step_size * mi / (sqrtf(vi) / bias2_sqrt + eps);
	}
}

__attribute__((target_clones("avx512f", "avx2", "default"))) static void
rmsprop_update(float *restrict p, const float *restrict grad, float *restrict sq, float *restrict buf,
               float *restrict avg, int64_t n, const float *hyper)
{
	const float lr = hyper[NND_H_LR], wd = hyper[NND_H_WEIGHT_DECAY], eps = hyper[NND_H_EPS];
	const float alpha = hyper[NND_H_ALPHA], keep = 1.0f - alpha, mu = hyper[NND_H_MOMENTUM];
	const int centered = hyper[NND_H_CENTERED] != 0.0f;

	for (int64_t i = 0; i < n; i++) {
		float g = grad[i] + wd * p[i];
		float s = sq[i] * alpha + keep * g * g, d;
		sq[i] = s;
		if (centered) {
			float a = avg[i] * alpha + keep * g;
			avg[i] = a;
			d = sqrtf(s - a * a) + eps;
		} else
			d = sqrtf(s) + eps;
		if (mu > 0.0f) {
			float b = buf[i] * mu + g / d;
			buf[i] = b;
			p[i] -= lr * b;
		} else
			p[i] -= lr * g / d;
	}
}

__attribute__((target_clones("avx512f", "avx2", "default"))) static void
adagrad_update(float *restrict p, const float *restrict grad, float *restrict sum, int64_t n,
               const float *hyper)
{
	const float wd = hyper[NND_H_WEIGHT_DECAY], eps = hyper[NND_H_EPS];
	const float clr = (float)((double)hyper[NND_H_LR] /
	                          (1.0 + (double)hyper[NND_H_STEP] * (double)hyper[NND_H_LR_DECAY]));
	const int first = hyper[NND_H_STEP] == 0.0f;
	const float init = hyper[NND_H_INIT_ACC];

	for (int64_t i = 0; i < n; i++) {
		float g = grad[i] + wd * p[i];
		float s = (first ? init : sum[i]) + g * g;
		sum[i] = s;
		p[i] -= clr * g / (sqrtf(s) + eps);
	}
}

__attribute__((target_clones("avx512f", "avx2", "default"))) static void
lion_update(float *restrict p, const float *restrict grad, float *restrict m, int64_t n,
            const float *hyper)
{
	const float lr = hyper[NND_H_LR], wd = hyper[NND_H_WEIGHT_DECAY];
	const float b1 = hyper[NND_H_BETA1], b2 = hyper[NND_H_BETA2];
	const float k1 = 1.0f - b1, k2 = 1.0f - b2, decay = 1.0f - lr * wd;

	for (int64_t i = 0; i < n; i++) {
		float c = m[i] * b1 + k1 * grad[i];
		float sign = (float)(c > 0.0f) - (float)(c < 0.0f);
		p[i] = p[i] * decay - lr * sign;
		m[i] = m[i] * b2 + k2 * grad[i];
	}
}

void
nnd_rt_opt_update(int32_t kind, float *p, const float *grad, float *opt, int64_t n, int64_t stride,
                  const float *hyper)
{
	static const int slots[NND_OPT_COUNT] = NND_OPT_SLOTS;

	if (kind < 0 || kind >= NND_OPT_COUNT)
		nnd_rt_error("optimiser %d is not in this runtime", (int)kind);
	if (kind != NND_OPT_SGD && !opt)
		nnd_rt_error("optimiser %d needs %d state blocks but the model has none", (int)kind,
		             slots[kind]);
	if (hyper[NND_H_SKIP] != 0)
		return; /* a micro-batch that only accumulates its gradient */
	switch (kind) {
	case NND_OPT_SGD: nnd_rt_sgd_update(p, grad, opt, n, hyper); return;
	case NND_OPT_ADAM: adam_update(p, grad, opt, opt + stride, n, hyper, 0); return;
	case NND_OPT_ADAMW: adam_update(p, grad, opt, opt + stride, n, hyper, 1); return;
	case NND_OPT_RMSPROP:
		rmsprop_update(p, grad, opt, opt + stride, opt + 2 * stride, n, hyper);
		return;
	case NND_OPT_ADAGRAD: adagrad_update(p, grad, opt, n, hyper); return;
	case NND_OPT_LION: lion_update(p, grad, opt, n, hyper); return;
	}
}

_Noreturn void
nnd_rt_error(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}
