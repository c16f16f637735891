#!/bin/sh
# Every built-in operation, forward and backward, compiled by nndc's pipeline and compared with
# PyTorch in float32 (tests/num/ops_vs_torch.py; the driver is tests/num/ops_driver.c, built here
# against the compiler's objects in B, default build/).
set -e
. tests/e2e/lib.sh
need_torch
B=${B:-build}
[ -d "$B/obj/ir" ] || { echo "FAILED: no compiler objects in $B/obj (build with make B=$B all, or set B)"; exit 1; }
objs=$(ls "$B"/obj/parser/*.o "$B"/obj/lang/*.o "$B"/obj/ir/*.o "$B"/obj/passes/*.o "$B"/obj/codegen/*.o "$B"/obj/gen/*.o)
cc -std=c11 -D_GNU_SOURCE -O1 -I. -I"$B/gen" -isystem "$(llvm-config-19 --includedir)" -o "$t/ops_driver" \
	tests/num/ops_driver.c $objs $(llvm-config-19 --ldflags) -lLLVM-19 -lm $NNDC_LDFLAGS
ASAN_OPTIONS=detect_leaks=0 /usr/bin/python3 tests/num/ops_vs_torch.py "$t/ops_driver" "$t"
