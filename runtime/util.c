/* runtime/util.c: messages, the allocation hook, dtype names and shape strings. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/rt.h"

const char *rt_prog = "nnd";

static void *
alloc_default(size_t size)
{
	return malloc(size);
}

void *(*rt_alloc_hook)(size_t size) = alloc_default;

static void
vmsg(const char *fmt, va_list ap)
{
	fflush(stdout);
	fprintf(stderr, "%s: error: ", rt_prog);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

_Noreturn void
rt_die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	exit(1);
}

_Noreturn void
rt_usage(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	fprintf(stderr, "Try '%s --help' for the list of flags.\n", rt_prog);
	exit(2);
}

void *
rt_alloc(size_t size)
{
	void *p = rt_alloc_hook(size ? size : 1);

	if (!p)
		rt_die("out of memory (allocating %zu bytes)", size);
	return p;
}

void *
rt_alloc_zero(size_t size)
{
	void *p = rt_alloc(size);

	memset(p, 0, size);
	return p;
}

/* 64-byte aligned: over-allocate and keep the original pointer just below the result */
void *
rt_alloc_aligned(size_t size)
{
	char *raw = rt_alloc(size + 64 + sizeof(void *));
	uintptr_t a = ((uintptr_t)raw + sizeof(void *) + 63) & ~(uintptr_t)63;

	((void **)a)[-1] = raw;
	return (void *)a;
}

void
rt_free(void *p)
{
	free(p);
}

void
rt_free_aligned(void *p)
{
	if (p)
		free(((void **)p)[-1]);
}

char *
rt_strdup(const char *s)
{
	size_t n = strlen(s) + 1;

	return memcpy(rt_alloc(n), s, n);
}

static const struct { const char *name; int size; } dtypes[] = {
	[NND_F32] = {"f32", 4}, [NND_F64] = {"f64", 8}, [NND_F16] = {"f16", 2},
	[NND_BF16] = {"bf16", 2}, [NND_I8] = {"i8", 1}, [NND_U8] = {"u8", 1},
	[NND_I16] = {"i16", 2}, [NND_I32] = {"i32", 4}, [NND_I64] = {"i64", 8},
	[NND_BOOL] = {"bool", 1},
};

int
rt_dtype_size(int dtype)
{
	return dtype >= 0 && dtype <= NND_BOOL ? dtypes[dtype].size : 0;
}

const char *
rt_dtype_name(int dtype)
{
	return dtype >= 0 && dtype <= NND_BOOL ? dtypes[dtype].name : "?";
}

char *
rt_shape_str(char *buf, size_t n, int dtype, int rank, const int64_t *dims, const char *const *syms)
{
	size_t k = snprintf(buf, n, "%s[", rt_dtype_name(dtype));

	for (int i = 0; i < rank && k < n; i++) {
		const char *sep = i ? ", " : "";
		if (dims[i] >= 0)
			k += snprintf(buf + k, n - k, "%s%lld", sep, (long long)dims[i]);
		else if (syms)
			k += snprintf(buf + k, n - k, "%s%s", sep, syms[-dims[i] - 1]);
		else
			k += snprintf(buf + k, n - k, "%s?", sep);
	}
	if (k < n)
		snprintf(buf + k, n - k, "]");
	return buf;
}

double
rt_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int64_t
rt_numel(int rank, const int64_t *dims)
{
	int64_t n = 1;

	for (int i = 0; i < rank; i++)
		n *= dims[i];
	return n;
}

void
rt_flush_denormals(void)
{
#if defined(__SSE__) || defined(__x86_64__)
	unsigned csr;
	__asm__ volatile("stmxcsr %0" : "=m"(csr));
	csr |= 0x8040; /* FTZ (bit 15) and DAZ (bit 6) */
	__asm__ volatile("ldmxcsr %0" : : "m"(csr));
#endif
}

void
rt_main_begin(const NndModel *m, const char *what, char *buf, size_t n)
{
	snprintf(buf, n, "%s-%s", m->name, what);
	rt_prog = buf;
	rt_flush_denormals();
	if (m->abi_version != NND_ABI_VERSION)
		rt_die("model compiled for runtime ABI %d, this runtime is ABI %d", m->abi_version,
		       NND_ABI_VERSION);
}
