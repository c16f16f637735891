/* tests/e2e/rt/sgd_check.c: runs nnd_rt_sgd_update for 6 steps on 7 parameters with fixed
 * gradients under several settings and prints the parameters, for runtime_sgd.sh to compare
 * with torch.optim.SGD. Settings: lr momentum dampening nesterov weight_decay. */
#include <math.h>
#include <stdio.h>

#include "runtime/nnd_model.h"

int
main(void)
{
	static const float cfg[][5] = {
		{0.1f, 0.0f, 0.0f, 0, 0.0f}, {0.1f, 0.9f, 0.0f, 0, 0.0f}, {0.05f, 0.9f, 0.0f, 1, 0.01f},
		{0.1f, 0.8f, 0.3f, 0, 0.05f}, {0.2f, 0.0f, 0.0f, 0, 0.1f},
	};
	for (int c = 0; c < 5; c++) {
		float p[7], m[7] = {0}, g[7], h[NND_H_COUNT] = {0};
		for (int i = 0; i < 7; i++)
			p[i] = cosf((float)i);
		h[NND_H_LR] = cfg[c][0];
		h[NND_H_MOMENTUM] = cfg[c][1];
		h[NND_H_DAMPENING] = cfg[c][2];
		h[NND_H_NESTEROV] = cfg[c][3];
		h[NND_H_WEIGHT_DECAY] = cfg[c][4];
		for (int t = 0; t < 6; t++) {
			for (int i = 0; i < 7; i++)
				g[i] = sinf(0.7f * (float)i + (float)t);
			h[NND_H_STEP] = (float)t;
			nnd_rt_sgd_update(p, g, m, 7, h);
		}
		for (int i = 0; i < 7; i++)
			printf("%.9g%c", p[i], i == 6 ? '\n' : ' ');
	}
	return 0;
}
