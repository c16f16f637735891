/* runtime/optim.c: optimiser updates and the run-time error helper called by generated code.
 *
 * nnd_rt_sgd_update follows PyTorch's torch.optim.SGD exactly:
 *   g = grad + wd*p
 *   m = g                               on the first step (hyper[NND_H_STEP] == 0)
 *   m = mu*m + (1-dampening)*g          afterwards
 *   g = nesterov ? g + mu*m : m         (when mu != 0; plain SGD otherwise)
 *   p -= lr*g
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "runtime/nnd_model.h"

/* Each case is its own branch-free loop over restrict pointers, so the compiler vectorises it
   (cloned for AVX-512 and AVX2, picked at load time): the update streams through three
   parameter-sized arrays every step. */
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

void
nnd_rt_opt_update(int32_t kind, float *p, const float *grad, float *opt, int64_t n, int64_t stride,
                  const float *hyper)
{
	(void)stride;
	switch (kind) {
	case NND_OPT_SGD: nnd_rt_sgd_update(p, grad, opt, n, hyper); return;
	default: nnd_rt_error("optimiser %d is not in this runtime", (int)kind);
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
