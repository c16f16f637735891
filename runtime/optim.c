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

void
nnd_rt_sgd_update(float *p, const float *grad, float *mom, int64_t n, const float *hyper)
{
	float lr = hyper[NND_H_LR], mu = hyper[NND_H_MOMENTUM], wd = hyper[NND_H_WEIGHT_DECAY];
	float damp = hyper[NND_H_DAMPENING];
	int nesterov = hyper[NND_H_NESTEROV] != 0.0f;
	int first = hyper[NND_H_STEP] == 0.0f;

	if (mu == 0.0f || !mom) {
		for (int64_t i = 0; i < n; i++)
			p[i] -= lr * (grad[i] + wd * p[i]);
		return;
	}
	for (int64_t i = 0; i < n; i++) {
		float g = grad[i] + wd * p[i];
		float m = first ? g : mu * mom[i] + (1.0f - damp) * g;
		mom[i] = m;
		if (nesterov)
			g = g + mu * m;
		else
			g = m;
		p[i] -= lr * g;
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
