/* runtime/cli.c: command lines of the executables: flags as --name VALUE or --name=VALUE,
 * numbers checked strictly (the whole text, the range), usage errors exit with status 2. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/rt.h"

int
rt_flag_next(const RtFlag *flags, int nflags, int argc, char **argv, int *i, const char **val)
{
	const char *a = argv[*i], *eq;
	size_t len;

	if (strncmp(a, "--", 2) || !a[2])
		rt_usage("unexpected argument '%s' (flags start with --)", a);
	eq = strchr(a, '=');
	len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
	for (int k = 0; k < nflags; k++) {
		if (strlen(flags[k].name) != len || strncmp(flags[k].name, a + 2, len))
			continue;
		*val = NULL;
		if (!flags[k].arg) {
			if (eq)
				rt_usage("--%s takes no value", flags[k].name);
		} else if (eq)
			*val = eq + 1;
		else if (*i + 1 < argc)
			*val = argv[++*i];
		else
			rt_usage("--%s needs a value (%s)", flags[k].name, flags[k].arg);
		return k;
	}
	rt_usage("unknown flag '%.*s'", (int)len + 2, a);
}

void
rt_flags_help(FILE *f, const RtFlag *flags, int nflags)
{
	for (int k = 0; k < nflags; k++) {
		char left[64];
		snprintf(left, sizeof left, "--%s%s%s", flags[k].name, flags[k].arg ? " " : "",
		         flags[k].arg ? flags[k].arg : "");
		fprintf(f, "  %-24s %s\n", left, flags[k].help);
	}
}

int64_t
rt_parse_count(const char *flag, const char *s, int allow_zero)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (end == s || *end || errno || v < 0 || (v == 0 && !allow_zero) || strchr(s, ' ') ||
	    *s == '+' || *s == '-')
		rt_usage("invalid value '%s' for --%s: expected a %s integer", s, flag,
		         allow_zero ? "non-negative" : "positive");
	return v;
}

double
rt_parse_real(const char *flag, const char *s, int allow_negative)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || *end || errno || !isfinite(v) || (v < 0 && !allow_negative) || *s == ' ')
		rt_usage("invalid value '%s' for --%s: expected a %snumber", s, flag,
		         allow_negative ? "" : "non-negative ");
	return v;
}

int
rt_split_paths(char *s, const char **out, int max)
{
	int n = 0;

	for (char *p = s;; p++) {
		char *c = strchr(p, ',');
		if (n == max)
			return max + 1;
		out[n++] = p;
		if (!c)
			break;
		*c = 0;
		p = c;
	}
	return n;
}
