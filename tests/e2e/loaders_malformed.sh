#!/bin/sh
# Every loader against the malformed-file corpus tests/data/malformed/ (made by make.py there):
# IDX (plain and gzip), npy, npz, csv and text data sources, safetensors weights (--weights, a
# frozen teacher's `from` file) and checkpoints (--resume), and NAME-infer's --input, --idx and
# --labels. Each case runs a tiny compiled recipe (Linear(4, 2) on x: f32[B, 4], y: i32[B]) or
# its inference executable with one corpus file and checks: exit status 1 (not a signal, not a
# sanitizer's report, no hang), and stderr naming the file and holding the expected words. The
# ok_* files are the controls: they must load (exit 0). Every corpus file must have a case.
# Under make test-asan the recipes are linked with ASan+UBSan (NNDC_LDFLAGS) against the
# sanitized runtime of that tree; any report fails the case. Leaks are checked in the controls
# only: a run that dies with a message exits holding its buffers, on purpose.
. tests/e2e/lib.sh
C=$root/tests/data/malformed
cd "$t"
mkdir corpus && /usr/bin/python3 "$C/make.py" corpus >/dev/null && cp "$C/make.py" corpus/ &&
	diff -r "$C" corpus || fail "the files in $C are not what its make.py makes (run it)"

recipe() { # recipe NAME 'data = ...' 'loss signature' [extra line] [loss body]
	cat >"$1.nnd" <<NND
import std.nn
train $1 {
  model     = Linear(4, 2)
  $4
  data      = $2
  batch     = 4
  steps     = 2
  optimizer = sgd(lr: 0.1, momentum: 0.9)
  loss($3) -> f32 {
    ${5:-return cross_entropy(model(x), y)}
  }
}
NND
	"$root/nndc" build "$1.nnd" -o . >log 2>&1 || { cat log; fail "nndc build $1.nnd"; }
}
xy='x: f32[B, 4], y: i32[B]'
recipe ix 'idx("x.idx", "y.idx")' "$xy"
recipe np 'npy(x: "x.npy", y: "y.npy")' "$xy"
recipe nz 'npz("d.npz")' "$xy"
recipe cv 'csv("d.csv", label: "label")' "$xy"
recipe tx 'text("d.txt", seq: 4)' 'x: i32[B, 4], y: i32[B, 4]' '' \
	'return mean(model(f32(x) / 255.0)) * mean(f32(y))'
recipe te 'npy(x: "x.npy", y: "y.npy")' "$xy" 'teacher   = Linear(4, 2) from "teacher.safetensors" frozen' \
	'return cross_entropy(model(x) + teacher(x), y)'
cp "$C/ok_x.npy" x.npy
cp "$C/ok_y.npy" y.npy

# FILE | how it is fed | words stderr must hold (empty: a control that must load)
cases='
ok_x.idx                         | images   |
ok_y.idx                         | labels   |
ok_x.idx.gz                      | images   |
ok_x.idx.gz                      | idx      |
ok_y.idx                         | evlabels |
idx_empty.idx                    | images   | not an IDX file: shorter than its 4-byte header
idx_short_header.idx             | idx      | not an IDX file: shorter than its 4-byte header
idx_magic.idx                    | images   | the magic number is 50 4b 03 04, expected 00 00
idx_type.idx                     | images   | the magic number is 00 00 07 02
idx_rank0.idx                    | images   | IDX file with 0 dimensions; 1 to 8 are supported
idx_rank9.idx                    | labels   | IDX file with 9 dimensions
idx_dims_truncated.idx           | images   | truncated IDX header
idx_data_truncated.idx           | images   | truncated IDX file: the header promises 32 elements
idx_data_truncated.idx           | idx      | truncated IDX file: the header promises 32 elements
idx_data_extra.idx               | images   | longer than its header says
idx_dims_overflow.idx            | images   | IDX dimensions too large
idx_dims_absurd.idx              | images   | truncated IDX file: the header promises 1095183237375 elements (8761465899000 bytes of data) but the file holds 32
idx_zero.idx                     | images   | idx_zero.idx has 0, 
idx_zero.idx                     | idx      | no examples
idx_wrong_shape.idx              | images   | images have the wrong shape: input '"'x'"' expects examples of f32[4], the file holds 8 examples of u8[5]
idx_labels_f32.idx               | labels   | labels holds f32 values but input '"'y'"' is i32
idx_labels_f32.idx               | evlabels | labels holds f32 values but input '"'y'"' is i32
idx_labels_count.idx             | labels   | different numbers of examples
idx_labels_count.idx             | evlabels | different numbers of examples
idx_gz_truncated.idx.gz          | images   | truncated IDX file
idx_gz_crc.idx.gz                | images   | corrupt gzip data (incorrect data check)
idx_gz_deflate.idx.gz            | images   | corrupt gzip data
ok_x.npy                         | x        |
ok_y.npy                         | y        |
ok_x.npy                         | input    |
ok_y.npy                         | evlabels |
npy_empty.npy                    | x        | not an npy file (no \x93NUMPY magic)
npy_magic.npy                    | x        | not an npy file (no \x93NUMPY magic)
npy_magic.npy                    | input    | not an npy file (no \x93NUMPY magic)
npy_short.npy                    | y        | truncated npy header
npy_version.npy                  | x        | npy format version 4.0 is unsupported
npy_hlen_past_eof.npy            | x        | truncated npy header (65535 bytes promised
npy_hlen_v2_past_eof.npy         | input    | truncated npy header (4294967295 bytes promised
npy_not_dict.npy                 | x        | malformed npy header (expected '"'descr'"', '"'fortran_order'"' and '"'shape'"')
npy_dtype_unknown.npy            | x        | unsupported npy dtype '"'U10'"'
npy_dtype_cut.npy                | x        | unsupported npy dtype '"''"'
npy_dtype_structured.npy         | x        | malformed npy header
npy_f16.npy                      | x        | f16/bf16 data is unsupported
npy_big_endian.npy               | x        | big-endian npy data ('"'>f4'"') is unsupported
npy_big_endian.npy               | input    | big-endian npy data
npy_fortran.npy                  | x        | Fortran order is unsupported
npy_fortran_bad.npy              | x        | malformed npy header: '"'fortran_order'"' is neither True nor False
npy_shape_negative.npy           | x        | malformed npy shape near '"'"'-8, 4)
npy_shape_overflow.npy           | x        | npy shape overflows
npy_shape_huge_dim.npy           | y        | npy shape overflows
npy_shape_zero_overflow.npy      | input    | npy shape overflows
npy_shape_rank9.npy              | x        | more than 8 dimensions
npy_shape_text.npy               | x        | malformed npy shape: '"'abc'"'
npy_shape_unclosed.npy           | x        | malformed npy shape
npy_data_truncated.npy           | x        | npy data is 100 bytes but the shape and dtype need 128 (truncated)
npy_data_truncated.npy           | evlabels | truncated
npy_data_extra.npy               | x        | (extra bytes)
npy_0d.npy                       | x        | a 0-dimensional array holds no examples
npy_0d.npy                       | input    | a 0-dimensional array holds no examples
npy_wrong_shape.npy              | x        | x have the wrong shape: input '"'x'"' expects examples of f32[4], the file holds 8 examples of f32[5]
npy_wrong_shape.npy              | input    | --input have the wrong shape
npy_wrong_rank.npy               | x        | the file holds 32 examples of f32[]
npy_labels_f32.npy               | y        | y holds f32 values but input '"'y'"' is i32
npy_labels_range.npy             | y        | y element 0 is 1099511627776, outside the range of input '"'y'"' (i32)
npy_labels_range.npy             | evlabels | outside the range
npy_labels_count.npy             | y        | inputs '"'x'"' and '"'y'"' have different numbers of examples
ok_stored.npz                    | npz      |
ok_deflated.npz                  | npz      |
ok_zip64_extra.npz               | npz      |
npz_empty.npz                    | npz      | not an npz (zip) file: no end of central directory
npz_magic.npz                    | npz      | not an npz (zip) file
npz_truncated.npz                | npz      | not an npz (zip) file
npz_cd_out_of_bounds.npz         | npz      | corrupt zip: central directory at 2147483632+
npz_cd_count.npz                 | npz      | corrupt zip: central directory entry 2
npz_local_out_of_bounds.npz      | npz      | corrupt zip: member x.npy has no local header at 16777215
npz_member_past_eof.npz          | npz      | corrupt zip: member x.npy (1048576 bytes at
npz_missing_member.npz           | npz      | no member y.npy for input '"'y'"' (members: x.npy, labels.npy)
npz_deflate_corrupt.npz          | npz      | member x.npy does not inflate
npz_crc.npz                      | npz      | member x.npy fails its CRC-32 check
npz_method.npz                   | npz      | compression method 12
npz_encrypted.npz                | npz      | member x.npy is encrypted
npz_zip64.npz                    | npz      | zip64 archives
npz_zip64_huge.npz               | npz      | corrupt zip: member x.npy (9223372036854775792 bytes at 35) runs past the end of the file
npz_zip64_no_extra.npz           | npz      | claims 4294967295 bytes from
npz_inflate_bomb.npz             | npz      | claims 2147483647 bytes from
npz_stored_sizes.npz             | npz      | stored member x.npy has sizes
npz_inflate_short.npz            | npz      | member x.npy does not inflate to its 190 bytes
npz_member_not_npy.npz           | npz      | npz_member_not_npy.npz:x.npy: not an npy file
ok.csv                           | csv      |
csv_empty.csv                    | csv      | empty: expected a header row
csv_blank.csv                    | csv      | empty: expected a header row
csv_header_only.csv              | csv      | no data rows after the header
csv_ragged.csv                   | csv      | csv_ragged.csv:5: 4 fields, the header has 5
csv_not_a_number.csv             | csv      | csv_not_a_number.csv:4: column 3: '"'x3'"' is not a number
csv_empty_field.csv              | csv      | csv_empty_field.csv:4: column 2: '"''"' is not a number
csv_no_label.csv                 | csv      | :1: no column '"'label'"' in the header (columns: a, b, c, d, klass)
csv_only_label.csv               | csv      | the header has only the label column
csv_nul.csv                      | csv      | not a text file (it holds a NUL byte)
csv_labels_float.csv             | csv      | holds f64 values but input '"'y'"' is i32
csv_labels_huge.csv              | csv      | holds f64 values but input '"'y'"' is i32
csv_labels_inf.csv               | csv      | holds f64 values but input '"'y'"' is i32
csv_labels_range.csv             | csv      | is 3000000000, outside the range of input '"'y'"' (i32)
csv_wrong_columns.csv            | csv      | expects examples of f32[4], the file holds 8 examples of f64[3]
csv_columns.csv                  | csv      | more than 4096 columns
ok.txt                           | text     |
txt_empty.txt                    | text     | 0 bytes hold no sequence of 4 bytes
txt_short.txt                    | text     | 4 bytes hold no sequence of 4 bytes and its next byte
ok.safetensors                   | weights  |
ok.safetensors                   | teacher  |
st_empty.safetensors             | weights  | not a safetensors file: 0 bytes, shorter than the 8-byte header length
st_short.safetensors             | resume   | not a safetensors file: 5 bytes
st_hlen_past_eof.safetensors     | weights  | header length 1000 but only
st_hlen_huge.safetensors         | teacher  | header length 18446744073709551615 but only
st_json_invalid.safetensors      | weights  | corrupt safetensors header: invalid JSON
st_json_empty.safetensors        | weights  | corrupt safetensors header: invalid JSON
st_json_array.safetensors        | weights  | corrupt safetensors header: not a JSON object
st_json_utf8.safetensors         | weights  | corrupt safetensors header: invalid JSON
st_json_duplicate.safetensors    | weights  | duplicate object key
st_json_trailing.safetensors     | weights  | corrupt safetensors header: invalid JSON
st_json_nul.safetensors          | weights  | corrupt safetensors header: invalid JSON
st_entry_not_object.safetensors  | weights  | tensor '"'weight'"': malformed entry
st_missing_dtype.safetensors     | weights  | tensor '"'weight'"': malformed entry
st_missing_offsets.safetensors   | teacher  | tensor '"'weight'"': malformed entry
st_shape_string.safetensors      | weights  | tensor '"'weight'"': malformed entry
st_offsets_three.safetensors     | weights  | tensor '"'weight'"': malformed entry
st_offsets_float.safetensors     | weights  | tensor '"'weight'"': malformed entry
st_dtype_int.safetensors         | weights  | tensor '"'weight'"': malformed entry
st_dtype_unknown.safetensors     | weights  | tensor '"'weight'"': unknown dtype '"'F33'"'
st_dtype_f64.safetensors         | weights  | tensor '"'weight'"' has dtype F64, expected F32
st_dtype_f64.safetensors         | teacher  | tensor '"'weight'"' has dtype F64, expected F32
st_shape_negative.safetensors    | weights  | tensor '"'weight'"': malformed entry
st_shape_overflow.safetensors    | weights  | tensor '"'weight'"': shape [4611686018427387904, 4] overflows
st_shape_rank9.safetensors       | weights  | tensor '"'weight'"': 9 dimensions; at most 8 are supported
st_offsets_out_of_bounds.safetensors | weights | tensor '"'bias'"': data_offsets [32, 1000] out of bounds
st_offsets_negative.safetensors  | weights  | tensor '"'weight'"': data_offsets [-8, 24] out of bounds
st_offsets_reversed.safetensors  | weights  | tensor '"'weight'"': data_offsets [32, 0]: begin > end
st_offsets_size.safetensors      | weights  | tensor '"'weight'"': data_offsets [0, 28] hold 28 bytes but F32 of shape [2, 4] needs 32
st_offsets_overlap.safetensors   | weights  | tensors '"'weight'"' and '"'bias'"' overlap in the data section
st_offsets_gap.safetensors       | weights  | bytes [32, 36) of the data section belong to no tensor
st_offsets_unused_tail.safetensors | weights | bytes [40, 48) of the data section belong to no tensor
st_missing_tensor.safetensors    | weights  | missing tensor '"'bias'"' (expected F32 [2])
st_missing_tensor.safetensors    | teacher  | missing tensor '"'bias'"'
st_extra_tensor.safetensors      | weights  | unexpected tensor '"'foo'"'
st_extra_tensor.safetensors      | teacher  |
st_wrong_shape.safetensors       | weights  | tensor '"'weight'"' has shape [4, 2], the model expects [2, 4]
st_wrong_shape.safetensors       | teacher  | tensor '"'weight'"' has shape [4, 2], the model expects [2, 4]
st_meta_not_object.safetensors   | weights  | __metadata__ is not a JSON object
st_meta_not_string.safetensors   | resume   | __metadata__ value '"'step'"' is not a string
ok_ckpt.safetensors              | resume   |
ok_ckpt.safetensors              | weights  |
ck_no_metadata.safetensors       | resume   | checkpoint of model '"'(none)'"', this is '"'ix'"'
ck_no_metadata.safetensors       | weights  |
ck_other_model.safetensors       | resume   | checkpoint of model '"'zz'"', this is '"'ix'"'
ck_step_negative.safetensors     | resume   | __metadata__ '"'step'"' is '"'-1'"', expected a non-negative integer
ck_step_text.safetensors         | resume   | __metadata__ '"'step'"' is '"'3x'"', expected a non-negative integer
ck_step_huge.safetensors         | resume   | __metadata__ '"'step'"' is '"'99999999999999999999'"', expected a non-negative integer
ck_pos_missing.safetensors       | resume   | no '"'pos'"' in __metadata__
ck_rng_short.safetensors         | resume   | __metadata__ '"'rng'"' is missing or malformed (expected 64 hex digits)
ck_rng_zero.safetensors          | resume   | __metadata__ '"'rng'"' is all zeros
ck_opt_missing.safetensors       | resume   | ck_opt_missing.safetensors.opt: cannot open
ck_opt_step.safetensors          | resume   | optimiser state is from step 7 but
ck_opt_corrupt.safetensors       | resume   | ck_opt_corrupt.safetensors.opt: corrupt or truncated safetensors file
'

# run HOW FILE: the command line for a case (prints it)
run() {
	f=$2
	case $1 in
	images) set -- ./ix-train --data "$f,$C/ok_y.idx" ;;
	labels) set -- ./ix-train --data "$C/ok_x.idx,$f" ;;
	x) set -- ./np-train --data "$f,$C/ok_y.npy" ;;
	y) set -- ./np-train --data "$C/ok_x.npy,$f" ;;
	npz) set -- ./nz-train --data "$f" ;;
	csv) set -- ./cv-train --data "$f" ;;
	text) set -- ./tx-train --data "$f" ;;
	resume) set -- ./ix-train --data "$C/ok_x.idx,$C/ok_y.idx" --resume "$f" ;;
	teacher) cp "$f" teacher.safetensors; set -- ./te-train ;;
	weights) set -- ./ix-infer --weights "$f" --idx "$C/ok_x.idx" ;;
	idx) set -- ./ix-infer --weights "$C/ok.safetensors" --idx "$f" ;;
	input) set -- ./ix-infer --weights "$C/ok.safetensors" --input "$f" ;;
	evlabels) set -- ./ix-infer --weights "$C/ok.safetensors" --idx "$C/ok_x.idx" --eval --labels "$f" ;;
	*) fail "unknown way '$1' in the table" ;;
	esac
	case "$1" in ./*-train) set -- "$@" --valid none --quiet --out out.safetensors ;; esac
	echo "$*"
	ASAN_OPTIONS=$aopts timeout 60 "$@" >out 2>err
}

# every case runs; each failure is reported, and any fails the script
bad() { cat err; echo "FAIL: $cmd: $*"; nbad=$((nbad + 1)); }
echo "$cases" | { nbad=0
while IFS='|' read -r file how want; do
	file=$(echo $file) how=$(echo $how) want=$(echo "$want" | sed 's/^ *//; s/ *$//')
	[ -n "$file" ] || continue
	[ -f "$C/$file" ] || fail "$file: not in $C (run make.py there)"
	named=$C/$file
	[ "$how" = teacher ] && named=teacher.safetensors
	aopts=$ASAN_OPTIONS
	[ -n "$want" ] && aopts="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
	cmd=$(run "$how" "$C/$file"); rc=$?
	if grep -q "Sanitizer\|runtime error:" err; then bad "a sanitizer's report"
	elif [ -z "$want" ]; then [ $rc -eq 0 ] || bad "exited $rc, expected 0 (a valid file)"
	elif [ $rc -ne 1 ]; then bad "exited $rc, expected 1$([ $rc -ge 124 ] && echo ' (a hang or a signal)')"
	elif ! grep -qF -- "$named" err; then bad "stderr does not name $named"
	elif ! grep -qF -- "$want" err; then bad "stderr lacks '$want'"
	fi
done
exit $((nbad > 0)); } || fail "some loaders mishandled their corpus file (above)"
# a directory where a file is expected
mkdir d.npy d.csv
aopts="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
for how in x npz csv text weights images; do
	d=d.npy; [ $how = csv ] && d=d.csv
	cmd=$(run $how $d); rc=$?
	[ $rc -eq 1 ] && grep -qF "$d: " err && grep -q "not a regular file\|Is a directory" err ||
		{ cat err; fail "$cmd: exited $rc"; }
done
# every corpus file has a case
for f in $(ls "$C"); do
	case $f in make.py|*.opt) continue ;; esac
	echo "$cases" | grep -q "^$f " || fail "$f has no case in the table"
done
echo "ok: $(echo "$cases" | grep -c '|') cases over $(ls "$C" | grep -vc 'make.py\|\.opt$') corpus files"
