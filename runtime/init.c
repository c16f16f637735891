/* runtime/init.c: initialises the parameter block per NndParam.init with PyTorch's formulas
 * (torch.nn.init), drawing from one generator seeded with the recipe's seed, parameters in
 * declaration order.
 *   kaiming_uniform(a): U(-b, b), b = sqrt(6 / ((1 + a^2) fan_in))
 *   kaiming_normal(a):  N(0, s),  s = sqrt(2 / ((1 + a^2) fan_in))
 *   xavier_uniform(g):  U(-b, b), b = g sqrt(6 / (fan_in + fan_out))
 *   xavier_normal(g):   N(0, s),  s = g sqrt(2 / (fan_in + fan_out))
 *   orthogonal(g):      rows = dims[0], cols = the rest; Gram-Schmidt on a normal matrix, times g
 */
#include <math.h>
#include <string.h>

#include "runtime/rt.h"

static void
fill_uniform(RtRng *r, float *p, int64_t n, double lo, double hi)
{
	for (int64_t i = 0; i < n; i++)
		p[i] = (float)(lo + (hi - lo) * rt_rng_uniform(r));
}

static void
fill_normal(RtRng *r, float *p, int64_t n, double mean, double std)
{
	for (int64_t i = 0; i < n; i++)
		p[i] = (float)(mean + std * rt_rng_normal(r));
}

/* Orthonormal rows (rows <= cols) or columns (rows > cols) of a rows x cols matrix, modified
   Gram-Schmidt in double precision; a vector that degenerates is redrawn. */
static void
fill_orthogonal(RtRng *r, float *p, int64_t rows, int64_t cols, double gain)
{
	int trans = rows > cols;
	int64_t nv = trans ? cols : rows, len = trans ? rows : cols;
	double *v = rt_alloc(sizeof(double) * nv * len);

	for (int64_t i = 0; i < nv; i++) {
		double *vi = v + i * len, norm;
		do {
			for (int64_t k = 0; k < len; k++)
				vi[k] = rt_rng_normal(r);
			for (int64_t j = 0; j < i; j++) {
				double *vj = v + j * len, d = 0;
				for (int64_t k = 0; k < len; k++)
					d += vi[k] * vj[k];
				for (int64_t k = 0; k < len; k++)
					vi[k] -= d * vj[k];
			}
			norm = 0;
			for (int64_t k = 0; k < len; k++)
				norm += vi[k] * vi[k];
			norm = sqrt(norm);
		} while (norm < 1e-6);
		for (int64_t k = 0; k < len; k++)
			vi[k] /= norm;
	}
	for (int64_t i = 0; i < rows; i++)
		for (int64_t j = 0; j < cols; j++)
			p[i * cols + j] = (float)(gain * (trans ? v[j * len + i] : v[i * len + j]));
	rt_free(v);
}

void
rt_params_init(const NndModel *m, float *block, uint64_t seed)
{
	RtRng r;

	rt_rng_seed(&r, seed);
	for (int i = 0; i < m->nparams; i++) {
		const NndParam *q = &m->params[i];
		const double *a = q->init_args;
		float *p = block + q->offset;
		int64_t n = q->numel;
		double fi = q->fan_in > 0 ? (double)q->fan_in : 1.0;
		double fio = q->fan_in + q->fan_out > 0 ? (double)(q->fan_in + q->fan_out) : 1.0;

		switch (q->init) {
		case NND_INIT_ZEROS: case NND_INIT_ONES: case NND_INIT_CONSTANT: {
			float c = q->init == NND_INIT_ZEROS ? 0.0f : q->init == NND_INIT_ONES ? 1.0f : (float)a[0];
			for (int64_t k = 0; k < n; k++)
				p[k] = c;
			break;
		}
		case NND_INIT_NORMAL: fill_normal(&r, p, n, a[0], a[1]); break;
		case NND_INIT_UNIFORM: fill_uniform(&r, p, n, a[0], a[1]); break;
		case NND_INIT_KAIMING_UNIFORM: {
			double b = sqrt(6.0 / ((1.0 + a[0] * a[0]) * fi));
			fill_uniform(&r, p, n, -b, b);
			break;
		}
		case NND_INIT_KAIMING_NORMAL:
			fill_normal(&r, p, n, 0.0, sqrt(2.0 / ((1.0 + a[0] * a[0]) * fi)));
			break;
		case NND_INIT_XAVIER_UNIFORM: {
			double b = a[0] * sqrt(6.0 / fio);
			fill_uniform(&r, p, n, -b, b);
			break;
		}
		case NND_INIT_XAVIER_NORMAL: fill_normal(&r, p, n, 0.0, a[0] * sqrt(2.0 / fio)); break;
		case NND_INIT_ORTHOGONAL: {
			int64_t rows = q->t.rank > 0 ? q->t.dims[0] : 1;
			if (q->t.rank < 2)
				rt_die("parameter '%s': orthogonal initialisation needs at least 2 dimensions",
				       q->t.name);
			fill_orthogonal(&r, p, rows, n / rows, a[0] != 0.0 ? a[0] : 1.0);
			break;
		}
		default:
			rt_die("parameter '%s': unknown initialiser %d (runtime and compiler disagree)",
			       q->t.name, q->init);
		}
	}
}

void
rt_params_from(const NndModel *m, float *block)
{
	RtTensor *t = rt_alloc(sizeof(RtTensor) * (m->nparams ? m->nparams : 1));
	for (int i = 0; i < m->nparams; i++) {
		const char *file = m->params[i].from;
		int seen = 0, n = 0;
		for (int j = 0; j < i && file && !seen; j++)
			seen = m->params[j].from && !strcmp(m->params[j].from, file);
		if (!file || seen)
			continue; /* each file is read once, for all of its params */
		for (int j = i; j < m->nparams; j++) {
			const NndParam *q = &m->params[j];
			if (q->from && !strcmp(q->from, file))
				t[n++] = (RtTensor){q->from_name, q->t.rank, q->t.dims, block + q->offset};
		}
		rt_st_meta_free(rt_st_read(file, t, n, 1));
	}
	rt_free(t);
}
