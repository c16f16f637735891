/* tools/fuzz/replay.c: runs the fuzz target (parse_fuzz.c) over files, without libFuzzer, so
 * that `make test` replays the corpus with the ordinary compiler (and `make test-asan` with the
 * sanitizers). Usage: replay FILE|DIR...  (a folder: every file in it). Exit 0 when every input
 * went through; a crash is the failure.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
extern int fuzz_keep_memory;

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		return 1;
	}
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	for (size_t k; buf && (k = fread(buf + n, 1, cap - n, f)) > 0;)
		if ((n += k) == cap)
			buf = realloc(buf, cap *= 2);
	fclose(f);
	if (!buf) {
		fprintf(stderr, "replay: out of memory\n");
		return 1;
	}
	LLVMFuzzerTestOneInput((const uint8_t *)buf, n);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	int files = 0, bad = 0;
	fuzz_keep_memory = 1;
	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			DIR *d = opendir(argv[i]);
			for (struct dirent *e; d && (e = readdir(d));) {
				if (e->d_name[0] == '.')
					continue;
				char path[4096];
				snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name);
				bad += run_file(path);
				files++;
			}
			if (d)
				closedir(d);
		} else {
			bad += run_file(argv[i]);
			files++;
		}
	}
	printf("replay: %d inputs parsed%s\n", files - bad, bad ? ", some unreadable" : "");
	return bad ? 1 : 0;
}
