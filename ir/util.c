/* ir/util.c: the arena every compilation allocates from, interned strings, small helpers. */
#include "ir/ir.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

_Noreturn void bug_at(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "nndc: internal error at %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(3);
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p) {
		fprintf(stderr, "nndc: out of memory\n");
		exit(3);
	}
	return p;
}

/* ---- arena: a list of large blocks, bump allocation ---- */

typedef struct Block {
	struct Block *next;
	size_t used, cap;
	_Alignas(16) unsigned char data[];
} Block;

struct Arena {
	Block *head;
	Arena *next; /* every arena ever made, from `arenas` */
};

/* Compilation memory lives until the process ends (nothing on the compile path is freed). The
   arenas are chained from here so that it all stays reachable, and LeakSanitizer reports only
   what is really lost. */
static Arena *arenas;

Arena *arena_new(void)
{
	Arena *a = xrealloc(NULL, sizeof *a);
	a->head = NULL;
	a->next = arenas;
	arenas = a;
	return a;
}

void *arena_alloc(Arena *a, size_t n)
{
	n = (n + 15) & ~(size_t)15;
	if (!a->head || a->head->used + n > a->head->cap) {
		size_t cap = n > (1 << 20) ? n : (1 << 20);
		Block *b = xrealloc(NULL, sizeof(Block) + cap);
		b->next = a->head;
		b->used = 0;
		b->cap = cap;
		a->head = b;
	}
	void *p = a->head->data + a->head->used;
	a->head->used += n;
	memset(p, 0, n);
	return p;
}

char *arena_strndup(Arena *a, const char *s, size_t n)
{
	char *d = arena_alloc(a, n + 1);
	memcpy(d, s, n);
	d[n] = 0;
	return d;
}

char *arena_strdup(Arena *a, const char *s) { return arena_strndup(a, s, strlen(s)); }

char *arena_printf(Arena *a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	char *d = arena_alloc(a, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(d, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return d;
}

/* ---- interned strings: open addressing, process lifetime ---- */

static struct {
	const char **slot;
	size_t cap, n;
	Arena *arena;
} strtab;

static uint64_t hash_bytes(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h;
}

const char *str_intern_n(const char *s, size_t n)
{
	if (strtab.n * 2 >= strtab.cap) {
		size_t cap = strtab.cap ? 2 * strtab.cap : 1024;
		const char **slot = calloc(cap, sizeof *slot);
		if (!slot)
			BUG("out of memory");
		for (size_t i = 0; i < strtab.cap; i++) {
			const char *t = strtab.slot[i];
			if (!t)
				continue;
			size_t j = hash_bytes(t, strlen(t)) & (cap - 1);
			while (slot[j])
				j = (j + 1) & (cap - 1);
			slot[j] = t;
		}
		free(strtab.slot);
		strtab.slot = slot;
		strtab.cap = cap;
		if (!strtab.arena)
			strtab.arena = arena_new();
	}
	size_t j = hash_bytes(s, n) & (strtab.cap - 1);
	while (strtab.slot[j]) {
		const char *t = strtab.slot[j];
		if (strncmp(t, s, n) == 0 && t[n] == 0)
			return t;
		j = (j + 1) & (strtab.cap - 1);
	}
	strtab.n++;
	return strtab.slot[j] = arena_strndup(strtab.arena, s, n);
}

const char *str_intern(const char *s) { return str_intern_n(s, strlen(s)); }

char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 1 << 16, n = 0;
	char *buf = xrealloc(NULL, cap);
	for (;;) {
		size_t got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
		if (n + 1 < cap)
			break;
		cap *= 2;
		buf = xrealloc(buf, cap);
	}
	int err = ferror(f);
	fclose(f);
	if (err) {
		free(buf);
		errno = EIO;
		return NULL;
	}
	buf[n] = 0;
	if (len)
		*len = n;
	return buf;
}
