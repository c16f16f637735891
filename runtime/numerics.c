/* runtime/numerics.c: --check-numerics. Generated code calls these after each float kernel when
 * nnd_rt_check_numerics is set; `where` is "OP at FILE:LINE:COL" (the node's source location). */
#include <math.h>

#include "runtime/rt.h"

int32_t nnd_rt_check_numerics;

static _Noreturn void
non_finite(double v, int64_t i, int64_t n, const char *where)
{
	nnd_rt_error("non-finite value (%s) in the result of %s (element %lld of %lld); stopped by "
	             "--check-numerics", isnan(v) ? "nan" : v > 0 ? "inf" : "-inf", where, (long long)i,
	             (long long)n);
}

void
nnd_rt_check_f32(const float *x, int64_t n, const char *where)
{
	for (int64_t i = 0; i < n; i++)
		if (!isfinite(x[i]))
			non_finite(x[i], i, n, where);
}

void
nnd_rt_check_f64(const double *x, int64_t n, const char *where)
{
	for (int64_t i = 0; i < n; i++)
		if (!isfinite(x[i]))
			non_finite(x[i], i, n, where);
}
