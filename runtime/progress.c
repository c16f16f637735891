/* runtime/progress.c: what the training executable shows while it runs.
 * On a terminal: one line rewritten in place (\r) at most ten times a second:
 *   step 1200/4690  epoch 2/5  loss 0.4312  accuracy 0.8421  8123 ex/s  ETA 0:42
 * Otherwise the same text as a plain line every 100 steps and at the last step. Outputs and
 * examples/s are averaged over the last RT_WINDOW steps (weighted by batch size). --quiet shows
 * nothing here. --log FILE.csv gets one row per step: step,epoch,loss,<metrics>,lr,examples_per_s.
 * All buffers are allocated by rt_progress_init: nothing is allocated per step. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "runtime/rt.h"

enum { RT_WINDOW = 100, RT_EVERY = 100 };

void
rt_progress_init(RtProgress *p, const NndEntry *step, int64_t total, int64_t step0, int quiet,
                 const char *logpath, int append)
{
	memset(p, 0, sizeof *p);
	p->tty = isatty(1);
	p->quiet = quiet;
	p->nout = step->noutputs;
	p->outs = step->outputs;
	p->total = total;
	p->step0 = step0;
	p->ring = rt_alloc_zero(sizeof(double) * RT_WINDOW * (p->nout + 2));
	p->t0 = p->tlast = rt_now();
	p->lastline = 0;
	if (logpath) {
		int fresh = !append || access(logpath, F_OK) != 0;
		if (!(p->log = fopen(logpath, fresh ? "w" : "a")))
			rt_die("%s: cannot open the log: %s", logpath, strerror(errno));
		if (fresh) {
			fprintf(p->log, "step,epoch");
			for (int i = 0; i < p->nout; i++)
				fprintf(p->log, ",%s", p->outs[i].name);
			fprintf(p->log, ",lr,examples_per_s\n");
		}
	}
}

static void
fmt_time(char *buf, size_t n, double s)
{
	long t = (long)(s + 0.5);

	if (t >= 3600)
		snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
	else
		snprintf(buf, n, "%ld:%02ld", t / 60, t % 60);
}

void
rt_progress_step(RtProgress *p, int64_t step, int64_t epoch, int64_t nepochs, const float *out,
                 int64_t batch, double lr)
{
	int w = p->nout + 2;
	double now = rt_now(), *row = p->ring + p->head * w, avg[64] = {0}, nb = 0, rate, eta;

	for (int i = 0; i < p->nout; i++)
		row[i] = out[i];
	row[p->nout] = (double)batch;
	row[p->nout + 1] = now - p->tlast;
	p->tlast = now;
	p->head = (p->head + 1) % RT_WINDOW;
	if (p->nring < RT_WINDOW)
		p->nring++;
	double dt = 0;
	for (int64_t k = 0; k < p->nring; k++) {
		const double *r = p->ring + k * w;
		for (int i = 0; i < p->nout && i < 64; i++)
			avg[i] += r[i] * r[p->nout];
		nb += r[p->nout];
		dt += r[p->nout + 1];
	}
	for (int i = 0; i < p->nout && i < 64; i++)
		avg[i] /= nb;
	rate = dt > 0 ? nb / dt : 0;
	eta = step > p->step0 ? (now - p->t0) / (step - p->step0) * (p->total - step) : 0;
	if (p->log) {
		fprintf(p->log, "%lld,%lld", (long long)step, (long long)epoch + 1);
		for (int i = 0; i < p->nout; i++)
			fprintf(p->log, ",%.6g", out[i]);
		fprintf(p->log, ",%.9g,%.1f\n", lr, rate);
	}
	if (p->quiet)
		return;
	int last = step == p->total;
	if (p->tty ? !last && now - p->lastline < 0.1 : !last && step % RT_EVERY)
		return;
	p->lastline = now;
	char line[512], t[32];
	size_t k = snprintf(line, sizeof line, "step %lld/%lld  epoch %lld/%lld", (long long)step,
	                    (long long)p->total, (long long)epoch + 1, (long long)nepochs);
	for (int i = 0; i < p->nout && i < 64 && k < sizeof line; i++)
		k += snprintf(line + k, sizeof line - k, "  %s %.4f", p->outs[i].name, avg[i]);
	fmt_time(t, sizeof t, eta);
	if (k < sizeof line)
		snprintf(line + k, sizeof line - k, "  %.0f ex/s  ETA %s", rate, t);
	if (p->tty)
		printf("\r%s\033[K", line);
	else
		printf("%s\n", line);
	fflush(stdout);
}

void
rt_progress_clear(RtProgress *p)
{
	if (p->tty && !p->quiet && p->lastline > 0) {
		printf("\r\033[K");
		fflush(stdout);
	}
}

void
rt_progress_free(RtProgress *p)
{
	if (p->log && fclose(p->log) != 0)
		rt_die("cannot write the log: %s", strerror(errno));
	p->log = NULL;
	rt_free(p->ring);
}
