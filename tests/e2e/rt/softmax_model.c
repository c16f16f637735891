/* tests/e2e/rt/softmax_model.c: a hand-written NndModel standing in for nndc's output, to test
 * the runtime alone: softmax regression 784 -> 10 on Fashion-MNIST.
 *   x u8[B, 28, 28] (scaled by 1/255), y i32[B]
 *   step: loss (cross-entropy), accuracy, gradients, nnd_rt_sgd_update; `count` (state) += 1
 *   eval: loss, accuracy; predict: logits f32[B, 10]
 * Test hooks (environment): FAKE_SIGINT_AT_STEP=K raises SIGINT during step K (0-based);
 * FAKE_SLOW_US=N sleeps N microseconds per step. */
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/nnd_model.h"

enum { D = 784, C = 10, W_OFF = 0, B_OFF = C * D, COUNT_OFF = C * D + C, NUMEL = C * D + C + 1 };

/* logits[B, C] = x/255 @ W^T + b; returns the mean loss, sets *acc; dlogits into arena if grad */
static float
forward(const NndCall *c, float *logits, float *acc, int grad)
{
	const uint8_t *x = c->inputs[0];
	const int32_t *y = c->inputs[1];
	const float *w = c->params + W_OFF, *b = c->params + B_OFF;
	int64_t B = c->syms[0];
	double loss = 0;
	int correct = 0;

	for (int64_t i = 0; i < B; i++) {
		float *l = logits + i * C, mx = -INFINITY, sum = 0;
		if (y && (y[i] < 0 || y[i] >= C))
			nnd_rt_error("label %d of example %lld is outside [0, %d)", y[i], (long long)i, C);
		for (int k = 0; k < C; k++) {
			float s = b[k];
			for (int j = 0; j < D; j++)
				s += w[k * D + j] * (x[i * D + j] * (1.0f / 255));
			l[k] = s;
			if (s > mx)
				mx = s;
		}
		if (!y)
			continue;
		int best = 0;
		for (int k = 0; k < C; k++) {
			sum += expf(l[k] - mx);
			if (l[k] > l[best])
				best = k;
		}
		correct += best == y[i];
		loss += -(l[y[i]] - mx - logf(sum));
		if (grad)
			for (int k = 0; k < C; k++)
				l[k] = (expf(l[k] - mx) / sum - (k == y[i])) / (float)B;
	}
	if (acc)
		*acc = (float)correct / (float)B;
	return (float)(loss / B);
}

static void
step(const NndCall *c)
{
	const uint8_t *x = c->inputs[0];
	float *dl = c->arena, *g = c->grads;
	int64_t B = c->syms[0];
	static long sigat = -2, slow = -1;

	if (sigat == -2)
		sigat = getenv("FAKE_SIGINT_AT_STEP") ? atol(getenv("FAKE_SIGINT_AT_STEP")) : -1;
	if (slow < 0)
		slow = getenv("FAKE_SLOW_US") ? atol(getenv("FAKE_SLOW_US")) : 0;
	if (sigat >= 0 && (long)c->hyper[NND_H_STEP] == sigat)
		raise(SIGINT);
	if (slow)
		usleep(slow);
	*(float *)c->outputs[0] = forward(c, dl, (float *)c->outputs[1], 1);
	memset(g, 0, sizeof(float) * (C * D + C));
	for (int64_t i = 0; i < B; i++)
		for (int k = 0; k < C; k++) {
			float d = dl[i * C + k];
			g[B_OFF + k] += d;
			for (int j = 0; j < D; j++)
				g[W_OFF + k * D + j] += d * (x[i * D + j] * (1.0f / 255));
		}
	nnd_rt_sgd_update(c->params, g, c->opt, C * D + C, c->hyper);
	c->params[COUNT_OFF] += 1;
}

static void
eval(const NndCall *c)
{
	*(float *)c->outputs[0] = forward(c, c->arena, (float *)c->outputs[1], 0);
}

static void
predict(const NndCall *c)
{
	NndCall k = *c;
	const void *in[2] = {c->inputs[0], NULL};
	k.inputs = in;
	forward(&k, c->outputs[0], NULL, 0);
}

static int64_t
arena(const int64_t *syms)
{
	return syms[0] * C * (int64_t)sizeof(float);
}

static const char *const syms[] = {"B"};
static const NndParam params[] = {
	{{"fc.weight", NND_F32, 2, {C, D}}, W_OFF, C * D, 0, 1, NND_INIT_KAIMING_UNIFORM, {2.2360679774997896}, D, C},
	{{"fc.bias", NND_F32, 1, {C}}, B_OFF, C, 0, 1, NND_INIT_UNIFORM, {-1.0 / 28, 1.0 / 28}, D, C},
	{{"count", NND_F32, 0, {0}}, COUNT_OFF, 1, 1, 0, NND_INIT_ZEROS, {0}, 0, 0},
};
static const NndTensorInfo xy[] = {
	{"x", NND_U8, 3, {-1, 28, 28}},
	{"y", NND_I32, 1, {-1}},
};
static const NndTensorInfo metrics[] = {{"loss", NND_F32, 0, {0}}, {"accuracy", NND_F32, 0, {0}}};
static const NndTensorInfo logits[] = {{"logits", NND_F32, 2, {-1, C}}};

#define FM "/usr/share/datasets/fashion-mnist/"
const NndModel nnd_model = {
	.abi_version = NND_ABI_VERSION,
	.name = "fake",
	.source = "tests/e2e/rt/softmax_model.c",
	.nparams = 3,
	.params = params,
	.param_numel = NUMEL,
	.opt_slots = 1,
	.nsyms = 1,
	.syms = syms,
	.step = {"step", 2, 2, xy, metrics, step, arena},
	.eval = {"eval", 2, 2, xy, metrics, eval, arena},
	.predict = {"predict", 1, 1, xy, logits, predict, arena},
	.recipe = {
		.batch = 64, .epochs = 1, .steps = 0, .seed = 1,
		.optimizer = NND_OPT_SGD, .schedule = NND_SCHED_CONSTANT,
		.lr = 0.01, .momentum = 0.9, .weight_decay = 0, .dampening = 0,
		.beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8,
		.data = {NND_DATA_IDX, 2, {FM "train-images-idx3-ubyte.gz", FM "train-labels-idx1-ubyte.gz"}},
		.valid = {NND_DATA_IDX, 2, {FM "t10k-images-idx3-ubyte.gz", FM "t10k-labels-idx1-ubyte.gz"}},
	},
};
