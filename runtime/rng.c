/* runtime/rng.c: the runtime's random numbers: xoshiro256** (Blackman and Vigna) seeded through
 * splitmix64, uniform doubles, Box-Muller normals and a Fisher-Yates shuffle. The whole state is
 * four words, saved in checkpoints so that a resumed run shuffles as an uninterrupted one. */
#include <math.h>

#include "runtime/rt.h"

static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void
rt_rng_seed(RtRng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

static uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t
rt_rng_next(RtRng *r)
{
	uint64_t *s = r->s;
	uint64_t out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return out;
}

double
rt_rng_uniform(RtRng *r)
{
	return (rt_rng_next(r) >> 11) * 0x1.0p-53;
}

double
rt_rng_normal(RtRng *r)
{
	double u1 = 1.0 - rt_rng_uniform(r); /* (0, 1]: log is finite */
	double u2 = rt_rng_uniform(r);

	return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

/* Lemire's nearly divisionless method would do; rejection keeps it short and unbiased */
uint64_t
rt_rng_below(RtRng *r, uint64_t n)
{
	uint64_t limit = UINT64_MAX - UINT64_MAX % n, x;

	do
		x = rt_rng_next(r);
	while (x >= limit);
	return x % n;
}

void
rt_rng_shuffle(RtRng *r, int64_t *a, int64_t n)
{
	for (int64_t i = n - 1; i > 0; i--) {
		int64_t j = rt_rng_below(r, (uint64_t)i + 1), t = a[i];
		a[i] = a[j];
		a[j] = t;
	}
}
