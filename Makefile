# nnd: the nndc compiler, its runtime library and its tests.
#   make            build ./nndc and runtime/libnndrt.a
#   make demo       set up a fresh Debian 12 machine, build, train examples/mlp_fashion.nnd
#   make test       the whole test suite (unit, golden, numerical, end to end)
#   make test-asan  the test suite under ASan+UBSan
#   make bench      side-by-side benchmarks against PyTorch
#   make install PREFIX=/usr/local

PREFIX      ?= /usr/local
CC          ?= cc
LLVM_CONFIG ?= llvm-config-19
RE2C        ?= re2c
BISON       ?= bison
PYTHON      ?= /usr/bin/python3
B           ?= build

OPT         ?= -O2 -g
SAN         ?=
WARN        := -Wall -Wextra -Werror -Wno-unused-parameter
CFLAGS_BASE := -std=c11 -D_GNU_SOURCE $(OPT) $(SAN) $(WARN) -I. -I$(B)/gen
LLVM_INC    := $(shell $(LLVM_CONFIG) --includedir 2>/dev/null)
LLVM_LIBS   := $(shell $(LLVM_CONFIG) --ldflags 2>/dev/null) -lLLVM-19
CFLAGS_NNDC := $(CFLAGS_BASE) -isystem $(LLVM_INC)
CFLAGS_RT   := $(CFLAGS_BASE) -fPIC -fvect-cost-model=dynamic
RT_LIBS     := -ljansson -lopenblas -lz -lm -lpthread

# the compiler: every .c in the compiler's folders, plus the generated lexer and parser
NNDC_SRC    := $(wildcard parser/*.c lang/*.c ir/*.c passes/*.c codegen/*.c)
NNDC_GEN    := $(B)/gen/lexer.c $(B)/gen/grammar.c
NNDC_OBJ    := $(NNDC_SRC:%.c=$(B)/obj/%.o) $(B)/obj/gen/lexer.o $(B)/obj/gen/grammar.o
# the runtime: the library and the two main()s
RT_MAINS    := runtime/train_main.c runtime/infer_main.c
RT_SRC      := $(filter-out $(RT_MAINS),$(wildcard runtime/*.c))
RT_OBJ      := $(RT_SRC:%.c=$(B)/obj/%.o)
RT_MAIN_OBJ := runtime/train_main.o runtime/infer_main.o
HDRS        := $(wildcard */*.h) ir/ops.def

all: nndc runtime/libnndrt.a $(RT_MAIN_OBJ)

nndc: $(B)/obj/nndc.o $(NNDC_OBJ)
	$(CC) $(SAN) -o $@ $^ $(LLVM_LIBS) -lm

$(B)/obj/nndc.o: nndc.c $(HDRS) $(B)/gen/grammar.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_NNDC) -c -o $@ $<

$(B)/obj/%.o: %.c $(HDRS) $(B)/gen/grammar.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_NNDC) -c -o $@ $<

$(B)/obj/runtime/%.o: runtime/%.c $(wildcard runtime/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_RT) -c -o $@ $<

runtime/%_main.o: runtime/%_main.c $(wildcard runtime/*.h)
	$(CC) $(CFLAGS_RT) -c -o $@ $<

runtime/libnndrt.a: $(RT_OBJ)
	rm -f $@ && ar rcs $@ $^

# generated front end
$(B)/gen/lexer.c: parser/lexer.re $(B)/gen/grammar.h
	@mkdir -p $(dir $@)
	$(RE2C) -W --no-generation-date -o $@ $<
$(B)/gen/grammar.c $(B)/gen/grammar.h &: parser/grammar.y
	@mkdir -p $(B)/gen
	$(BISON) -Wall -Werror --defines=$(B)/gen/grammar.h -o $(B)/gen/grammar.c $<
$(B)/obj/gen/%.o: $(B)/gen/%.c $(HDRS) $(B)/gen/grammar.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_NNDC) -Wno-unused-function -Wno-sign-compare -c -o $@ $<

# ---- tests -----------------------------------------------------------------------------------
# tests/unit/test_*.c: each a Check program linked with the compiler's objects (not nndc.c)
# and the runtime library.
UNIT_SRC    := $(wildcard tests/unit/test_*.c)
UNIT_BIN    := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
CHECK_LIBS  := $(shell pkg-config --libs check 2>/dev/null)

$(B)/tests/%: tests/unit/%.c $(NNDC_OBJ) runtime/libnndrt.a $(HDRS) $(wildcard tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_NNDC) -o $@ $< $(NNDC_OBJ) runtime/libnndrt.a $(CHECK_LIBS) $(LLVM_LIBS) $(RT_LIBS)

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

lit: all
	$(PYTHON) /usr/lib/llvm-19/build/utils/lit/lit.py -sv tests/lit tests/diag

# ---- fuzzing the front end and the loaders ---------------------------------------------------
# make fuzz [FUZZ_TIME=seconds]: builds tools/fuzz/parse_fuzz.c with clang's libFuzzer and
# sanitizers, seeds it with every .nnd in the tree and runs it; crashes land in $(B)/fuzz/.
# make fuzz-replay (part of make test): the same target, built with cc, over the seeds and
# tools/fuzz/corpus/ (inputs the fuzzer found worth keeping, and past crashes).
FUZZ_CC     ?= $(firstword $(wildcard /usr/bin/clang-14 /usr/bin/clang))
FUZZ_TIME   ?= 60
FUZZ_SRC    := tools/fuzz/parse_fuzz.c parser/parse.c lang/ast.c lang/diag.c $(B)/gen/lexer.c $(B)/gen/grammar.c
FUZZ_SEEDS   = $(shell find examples stdlib tests -name '*.nnd')

fuzz: $(B)/gen/lexer.c $(B)/gen/grammar.c
	@test -n "$(FUZZ_CC)" || { echo "make fuzz needs clang (apt-get install clang)"; exit 1; }
	@mkdir -p $(B)/fuzz/corpus
	$(FUZZ_CC) -std=c11 -D_GNU_SOURCE -O1 -g -I. -I$(B)/gen -Wno-unused-function \
	  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -o $(B)/fuzz/parse_fuzz $(FUZZ_SRC)
	@for f in $(FUZZ_SEEDS); do cp "$$f" "$(B)/fuzz/corpus/$$(echo "$$f" | tr / _)"; done # names differ across folders
	cd $(B)/fuzz && ASAN_OPTIONS=detect_leaks=0 ./parse_fuzz -max_total_time=$(FUZZ_TIME) -max_len=8192 -detect_leaks=0 -print_final_stats=1 \
	  corpus $(CURDIR)/tools/fuzz/corpus

# make fuzz-load NND_LOAD=idx|npy|npz|csv|text|safetensors|ckpt [FUZZ_TIME=seconds]: the runtime's
# loaders (tools/fuzz/load_fuzz.c), one at a time, seeded with that loader's files of
# tests/data/malformed/; new inputs go to $(B)/fuzz/load-$(NND_LOAD)/, crashes to $(B)/fuzz/.
NND_LOAD    ?= npy
LOAD_SEEDS   = $(wildcard $(addprefix tests/data/malformed/,$(wordlist 2,9,$(subst :, ,$(filter $(NND_LOAD):%, \
  idx:idx_*:ok_x.idx*:ok_y.idx npy:npy_*:ok_*.npy npz:npz_*:ok_*.npz csv:csv_*:ok.csv \
  text:txt_*:ok.txt safetensors:st_*:ok.safetensors ckpt:ck_*:ok_ckpt.safetensors*)))))

fuzz-load:
	@test -n "$(FUZZ_CC)" || { echo "make fuzz-load needs clang (apt-get install clang)"; exit 1; }
	@mkdir -p $(B)/fuzz/load-$(NND_LOAD)
	$(FUZZ_CC) -std=c11 -D_GNU_SOURCE -O1 -g -I. -fsanitize=fuzzer,address,undefined \
	  -fno-sanitize-recover=undefined -o $(B)/fuzz/load_fuzz tools/fuzz/load_fuzz.c -ljansson -lz -lm
	@cp $(LOAD_SEEDS) $(B)/fuzz/load-$(NND_LOAD)/
	cd $(B)/fuzz && NND_LOAD=$(NND_LOAD) ./load_fuzz -max_total_time=$(FUZZ_TIME) -max_len=4096 \
	  -print_final_stats=1 load-$(NND_LOAD)

$(B)/fuzz/replay: tools/fuzz/replay.c $(FUZZ_SRC) $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) -Wno-unused-function -Wno-sign-compare -o $@ tools/fuzz/replay.c $(FUZZ_SRC)

fuzz-replay: $(B)/fuzz/replay
	@$(B)/fuzz/replay $(FUZZ_SEEDS) tools/fuzz/corpus

# test, demo and bench first install what is missing, then run make again: the variables above
# that ask llvm-config and pkg-config are only right once the packages are there.
test: setup-check
	$(MAKE) all
	$(MAKE) unit
	$(MAKE) fuzz-replay
	$(MAKE) lit
	@B=$(B) sh tests/run_scripts.sh

# The sanitized suite runs in a copy of the tree (build-asan/src), so that ./nndc and the runtime
# here stay the normal builds.
ASAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all
test-asan: setup-check
	rm -rf build-asan && mkdir -p build-asan/src
	tar cf - --exclude=./build --exclude=./build-asan --exclude=./nndc --exclude='*.o' --exclude='*.a' \
	  --exclude=.git . | tar xf - -C build-asan/src
	NNDC_LDFLAGS="$(ASAN_FLAGS)" ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/build-asan/src/tests/lsan.supp \
	  $(MAKE) -C build-asan/src OPT="-O1 -g -fno-omit-frame-pointer" SAN="$(ASAN_FLAGS)" test

setup-check:
	@sh tools/setup.sh --check || sh tools/setup.sh

setup:
	sh tools/setup.sh

demo: setup-check
	$(MAKE) all
	./nndc build examples/mlp_fashion.nnd -o $(B)/demo
	$(B)/demo/fashion-train --epochs 5 --out $(B)/demo/mlp.safetensors
	$(B)/demo/fashion-infer --weights $(B)/demo/mlp.safetensors --eval \
	  --idx /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz \
	  --labels /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz

bench: setup-check
	$(MAKE) all
	sh bench/run.sh

install: all
	install -d $(PREFIX)/bin $(PREFIX)/lib/nnd $(PREFIX)/share/nnd/stdlib
	install -m 755 nndc $(PREFIX)/bin/nndc
	install -m 644 runtime/libnndrt.a $(RT_MAIN_OBJ) runtime/nnd_model.h $(PREFIX)/lib/nnd/
	install -m 644 stdlib/*.nnd $(PREFIX)/share/nnd/stdlib/
	install -d $(PREFIX)/share/man/man1
	install -m 644 nndc.1 $(PREFIX)/share/man/man1/nndc.1

clean:
	rm -rf build build-asan nndc runtime/libnndrt.a $(RT_MAIN_OBJ)

.PHONY: all unit lit fuzz fuzz-load fuzz-replay test test-asan setup setup-check demo bench install clean
.SECONDARY:
