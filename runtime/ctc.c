/* runtime/ctc.c: the CTC loss and its gradient, called by generated code (ctc_loss, ctc_loss_bwd).
 *
 * Connectionist temporal classification (Graves et al. 2006), as torch.nn.functional.ctc_loss,
 * in log space and double precision. lp is (T, N, C) log-probabilities, f32 or f64; targets
 * (N, S) padded, input and target lengths (N), all int64. For sample n, the extended target
 * l' = (blank, y1, blank, ..., yL, blank) has W = 2L + 1 states; state s follows s, s - 1, and
 * s - 2 when l'_s is a label other than l'_(s-2).
 *   alpha[t][s] = log P(frames 0..t emit l'[..s], in state s at t)      (frame t included)
 *   beta[t][s]  = log P(frames t+1..il-1 emit the rest | state s at t)  (frame t excluded)
 *   loss = -log(e^alpha[il-1][W-1] + e^alpha[il-1][W-2])
 *   dloss/dlp[t, c] = -e^(loss + log sum over s with l'_s = c of e^(alpha[t][s] + beta[t][s]))
 * ir/interp.c has the same recursions as the reference this file is tested against.
 */
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "runtime/nnd_model.h"
#include "runtime/rt.h"

typedef struct Ctc {
	const float *lp32;
	const double *lp64;
	const int64_t *y; /* this sample's targets */
	int64_t N, C, n, blank, il, W;
} Ctc;

static double log_add(double a, double b)
{
	if (a == -INFINITY || b == -INFINITY)
		return a == -INFINITY ? b : a;
	return fmax(a, b) + log1p(exp(-fabs(a - b)));
}

static int64_t label(const Ctc *c, int64_t s) { return s % 2 ? c->y[s / 2] : c->blank; }
static bool skip(const Ctc *c, int64_t s) { return s >= 2 && s % 2 && c->y[s / 2] != c->y[s / 2 - 1]; }

static double lp_at(const Ctc *c, int64_t t, int64_t k)
{
	int64_t i = (t * c->N + c->n) * c->C + k;
	return c->lp32 ? c->lp32[i] : c->lp64[i];
}

/* alpha [il][W]; returns the loss */
static double forward(const Ctc *c, double *alpha)
{
	int64_t W = c->W;
	if (c->il == 0)
		return W == 1 ? 0 : INFINITY;
	for (int64_t s = 0; s < W; s++)
		alpha[s] = s < 2 ? lp_at(c, 0, label(c, s)) : -INFINITY;
	for (int64_t t = 1; t < c->il; t++) {
		const double *prev = alpha + (t - 1) * W;
		double *cur = alpha + t * W;
		for (int64_t s = 0; s < W; s++) {
			double a = s ? log_add(prev[s], prev[s - 1]) : prev[s];
			if (skip(c, s))
				a = log_add(a, prev[s - 2]);
			cur[s] = a + lp_at(c, t, label(c, s));
		}
	}
	const double *last = alpha + (c->il - 1) * W;
	return -(W > 1 ? log_add(last[W - 1], last[W - 2]) : last[0]);
}

/* beta [il][W] */
static void backward(const Ctc *c, double *beta)
{
	int64_t W = c->W;
	double *end = beta + (c->il - 1) * W;
	for (int64_t s = 0; s < W; s++)
		end[s] = s >= W - 2 ? 0 : -INFINITY;
	for (int64_t t = c->il - 2; t >= 0; t--) {
		const double *next = beta + (t + 1) * W;
		double *cur = beta + t * W;
		for (int64_t s = 0; s < W; s++) {
			double v = next[s] + lp_at(c, t + 1, label(c, s));
			if (s + 1 < W)
				v = log_add(v, next[s + 1] + lp_at(c, t + 1, label(c, s + 1)));
			if (s + 2 < W && skip(c, s + 2))
				v = log_add(v, next[s + 2] + lp_at(c, t + 1, label(c, s + 2)));
			cur[s] = v;
		}
	}
}

static void store(void *out, int dbl, int64_t i, double v)
{
	if (dbl)
		((double *)out)[i] = v;
	else
		((float *)out)[i] = (float)v;
}

void nnd_rt_ctc(NndScratch *scratch, int32_t dbl, const void *lp, const int64_t *targets, const int64_t *il, const int64_t *tl,
                int64_t T, int64_t N, int64_t C, int64_t S, int64_t blank, int32_t zero_infinity, const void *dloss, void *out)
{
	Ctc c = {dbl ? NULL : lp, dbl ? lp : NULL, NULL, N, C, 0, blank, 0, 0};
	int64_t need = (int64_t)sizeof(double) * (2 * T * (2 * S + 1) + C + 1);
	if (scratch->size < need) { /* the contents need not survive: a new block, not realloc */
		rt_free(scratch->p);
		scratch->p = rt_alloc((size_t)need);
		scratch->size = need;
	}
	double *alpha = scratch->p, *beta = alpha + T * (2 * S + 1), *acc = beta + T * (2 * S + 1);
	if (dloss)
		memset(out, 0, (size_t)(T * N * C) * (dbl ? sizeof(double) : sizeof(float)));
	for (int64_t n = 0; n < N; n++) {
		if (il[n] < 0 || il[n] > T)
			nnd_rt_error("ctc_loss: input length %lld of sample %lld is outside [0, %lld]", (long long)il[n], (long long)n, (long long)T);
		if (tl[n] < 0 || tl[n] > S)
			nnd_rt_error("ctc_loss: target length %lld of sample %lld is outside [0, %lld]", (long long)tl[n], (long long)n, (long long)S);
		c.n = n, c.il = il[n], c.W = 2 * tl[n] + 1, c.y = targets + n * S;
		for (int64_t k = 0; k < tl[n]; k++)
			if (c.y[k] < 0 || c.y[k] >= C || c.y[k] == blank)
				nnd_rt_error("ctc_loss: target %lld of sample %lld is not a class of [0, %lld) other than the blank %lld",
				             (long long)c.y[k], (long long)n, (long long)C, (long long)blank);
		double loss = forward(&c, alpha);
		if (!dloss) {
			store(out, dbl, n, isinf(loss) && zero_infinity ? 0 : loss);
			continue;
		}
		if (isinf(loss))
			continue;
		backward(&c, beta);
		double g = dbl ? ((const double *)dloss)[n] : ((const float *)dloss)[n];
		for (int64_t t = 0; t < c.il; t++) {
			for (int64_t k = 0; k < C; k++)
				acc[k] = -INFINITY;
			for (int64_t s = 0; s < c.W; s++)
				acc[label(&c, s)] = log_add(acc[label(&c, s)], alpha[t * c.W + s] + beta[t * c.W + s]);
			for (int64_t k = 0; k < C; k++)
				store(out, dbl, (t * N + n) * C + k, -g * exp(acc[k] + loss));
		}
	}
}
