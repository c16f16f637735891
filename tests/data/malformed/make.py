"""tests/data/malformed/make.py [DIR]: writes the malformed-file corpus beside itself, or into DIR
(Python's standard library only: /usr/bin/python3 tests/data/malformed/make.py).
tests/e2e/loaders_malformed.sh checks that the committed files are what this makes, then
feeds every file to a tiny compiled recipe and its inference executable and checks the message.
The recipes' loss is loss(x: f32[B, 4], y: i32[B]), model Linear(4, 2) (tensors weight [2, 4]
and bias [2]), 8 examples; ok_* files are the valid controls. Prefixes: idx_ npy_ npz_ csv_ txt_
st_ (safetensors) ck_ (checkpoints for --resume)."""
import gzip, json, os, struct, sys, zlib

here = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
out = {}


def put(name, data):
    out[name] = data if isinstance(data, bytes) else data.encode()


# ---- IDX: 00 00 type rank, big-endian u32 dims, big-endian data -----------------------------
def idx(t, dims, data):
    return bytes([0, 0, t, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + data


X = bytes((i * 37) % 256 for i in range(32))
Y = bytes(i % 2 for i in range(8))
put("ok_x.idx", idx(8, [8, 4], X))
put("ok_y.idx", idx(8, [8], Y))
put("ok_x.idx.gz", gzip.compress(idx(8, [8, 4], X), mtime=0))
put("idx_empty.idx", b"")
put("idx_short_header.idx", b"\0\0\x08")
put("idx_magic.idx", b"PK\x03\x04" + X)
put("idx_type.idx", idx(7, [8, 4], X))
put("idx_rank0.idx", idx(8, [], b""))
put("idx_rank9.idx", idx(8, [1] * 9, b"\0"))
put("idx_dims_truncated.idx", idx(8, [8, 4], b"")[:10])
put("idx_data_truncated.idx", idx(8, [8, 4], X[:20]))
put("idx_data_extra.idx", idx(8, [8, 4], X + b"\0"))
put("idx_dims_overflow.idx", idx(8, [0xFFFFFFFF, 0xFFFFFFFF], X))
put("idx_dims_absurd.idx", idx(0x0E, [0xFFFF, 0xFFFF, 0xFF], X))  # 2^40 - 2^25 f64: 8 TB
put("idx_zero.idx", idx(8, [0, 4], b""))
put("idx_wrong_shape.idx", idx(8, [8, 5], X + X[:8]))
put("idx_labels_f32.idx", idx(0x0D, [8], struct.pack(">8f", *[0.5] * 8)))
put("idx_labels_count.idx", idx(8, [7], Y[:7]))
g = gzip.compress(idx(8, [8, 4], X), mtime=0)
put("idx_gz_truncated.idx.gz", g[:len(g) - 12])
put("idx_gz_crc.idx.gz", g[:-8] + bytes([g[-8] ^ 1]) + g[-7:])
put("idx_gz_deflate.idx.gz", g[:12] + b"\xff" * 8 + g[20:])


# ---- npy: \x93NUMPY, version, header length, Python dict literal, data ---------------------
def npy(header, data=b"", version=1, hlen=None):
    h = header.encode() if isinstance(header, str) else header
    n = len(h) if hlen is None else hlen
    if version == 1:
        return b"\x93NUMPY\x01\x00" + struct.pack("<H", n) + h + data
    return b"\x93NUMPY" + bytes([version, 0]) + struct.pack("<I", n) + h + data


def hdr(descr="<f4", shape="(8, 4)", fortran="False"):
    return "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }\n" % (descr, fortran, shape)


XF = struct.pack("<32f", *[(i % 7) * 0.25 - 0.5 for i in range(32)])
YI = struct.pack("<8i", *[i % 2 for i in range(8)])
put("ok_x.npy", npy(hdr(), XF))
put("ok_y.npy", npy(hdr("<i4", "(8,)"), YI))
put("npy_empty.npy", b"")
put("npy_magic.npy", b"\x93NUMPX\x01\x00" + npy(hdr(), XF)[8:])
put("npy_short.npy", b"\x93NUMPY\x01")
put("npy_version.npy", npy(hdr(), XF, version=4))
put("npy_hlen_past_eof.npy", npy(hdr(), XF, hlen=0xFFFF))
put("npy_hlen_v2_past_eof.npy", npy(hdr(), XF, version=2, hlen=0xFFFFFFFF))
put("npy_not_dict.npy", npy("garbage\n", XF))
put("npy_dtype_unknown.npy", npy(hdr("<U10"), XF))
put("npy_dtype_cut.npy", npy("{'fortran_order': False, 'shape': (8, 4), 'descr': '>", XF))
put("npy_dtype_structured.npy", npy("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (8, 4), }\n", XF))
put("npy_f16.npy", npy(hdr("<f2"), XF[:64]))
put("npy_big_endian.npy", npy(hdr(">f4"), XF))
put("npy_fortran.npy", npy(hdr(fortran="True"), XF))
put("npy_fortran_bad.npy", npy(hdr(fortran="1"), XF))
put("npy_shape_negative.npy", npy(hdr(shape="(-8, 4)"), XF))
put("npy_shape_overflow.npy", npy(hdr(shape="(4611686018427387904, 4611686018427387904)"), XF))
put("npy_shape_huge_dim.npy", npy(hdr(shape="(99999999999999999999999, 4)"), XF))
put("npy_shape_zero_overflow.npy", npy(hdr(shape="(0, 4611686018427387904, 4611686018427387904)")))
put("npy_shape_rank9.npy", npy(hdr(shape="(1, 1, 1, 1, 1, 1, 1, 1, 8)"), XF))
put("npy_shape_text.npy", npy(hdr(shape="'abc'"), XF))
put("npy_shape_unclosed.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (8, 4", XF))
put("npy_data_truncated.npy", npy(hdr(), XF[:100]))
put("npy_data_extra.npy", npy(hdr(), XF + b"\0\0\0\0"))
put("npy_0d.npy", npy(hdr(shape="()"), XF[:4]))
put("npy_wrong_shape.npy", npy(hdr(shape="(8, 5)"), XF + XF[:32]))
put("npy_wrong_rank.npy", npy(hdr(shape="(32,)"), XF))
put("npy_labels_f32.npy", npy(hdr("<f4", "(8,)"), XF[:32]))
put("npy_labels_range.npy", npy(hdr("<i8", "(8,)"), struct.pack("<8q", *[1 << 40] * 8)))
put("npy_labels_count.npy", npy(hdr("<i4", "(7,)"), YI[:28]))


# ---- npz: a zip of x.npy and y.npy ----------------------------------------------------------
def zipfile_bytes(members, zip64_count=False, bad_cd=None):
    """members: list of dicts name, data, method (0/8), flags, crc, csize, usize, off_delta,
    extra (central), comp (compressed bytes override). Returns the archive."""
    body, cd = b"", b""
    for m in members:
        data = m["data"]
        comp = m.get("comp")
        if comp is None:
            comp = data if m.get("method", 0) == 0 else zlib.compress(data, 9)[2:-4]
        crc = m.get("crc", zlib.crc32(data))
        csize, usize = m.get("csize", len(comp)), m.get("usize", len(data))
        name = m["name"].encode()
        off = len(body) + m.get("off_delta", 0)
        method, flags = m.get("method", 0), m.get("flags", 0)
        body += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, flags, method, 0, 0, crc,
                            min(csize, 0xFFFFFFFF), min(usize, 0xFFFFFFFF), len(name), 0) + name + comp
        extra = m.get("extra", b"")
        cd += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, flags, method, 0, 0, crc,
                          csize, usize, len(name), len(extra), 0, 0, 0, 0,
                          m.get("cd_off", off)) + name + extra
    count = 0xFFFF if zip64_count else len(members)
    cdoff = len(body) if bad_cd is None else bad_cd
    return body + cd + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, len(cd), cdoff, 0)


NX, NY = npy(hdr(), XF), npy(hdr("<i4", "(8,)"), YI)


def npz(x=None, y=None, **kw):
    x = dict(dict(name="x.npy", data=NX), **(x or {}))
    y = dict(dict(name="y.npy", data=NY), **(y or {}))
    return zipfile_bytes([x, y], **kw)


put("ok_stored.npz", npz())
put("ok_deflated.npz", npz(dict(method=8), dict(method=8)))
z64 = struct.pack("<HHQQ", 1, 16, len(NX), len(NX))
put("ok_zip64_extra.npz", npz(dict(csize=0xFFFFFFFF, usize=0xFFFFFFFF, extra=z64)))
put("npz_empty.npz", b"")
put("npz_magic.npz", b"this is not a zip archive at all, just some text\n")
full = npz()
put("npz_truncated.npz", full[:len(full) // 2])
put("npz_cd_out_of_bounds.npz", npz(bad_cd=0x7FFFFFF0))
other = zipfile_bytes([dict(name="x.npy", data=NX), dict(name="labels.npy", data=NY)])
put("npz_cd_count.npz", other[:-12] + struct.pack("<HH", 5, 5) + other[-8:])
put("npz_local_out_of_bounds.npz", npz(dict(cd_off=0x00FFFFFF)))
put("npz_member_past_eof.npz", npz(dict(csize=1 << 20, usize=1 << 20)))
put("npz_missing_member.npz", other)
dx = zlib.compress(NX, 9)[2:-4]
put("npz_deflate_corrupt.npz", npz(dict(method=8, comp=dx[:4] + b"\xff" * 6 + dx[10:])))
put("npz_crc.npz", npz(dict(crc=0x12345678)))
put("npz_method.npz", npz(dict(method=12)))
put("npz_encrypted.npz", npz(dict(flags=1)))
put("npz_zip64.npz", npz(zip64_count=True))
z64 = struct.pack("<HHQQ", 1, 16, 0xF800000000000000, 0x7FFFFFFFFFFFFFF0)
put("npz_zip64_huge.npz", npz(dict(csize=0xFFFFFFFF, usize=0xFFFFFFFF, extra=z64)))
put("npz_zip64_no_extra.npz", npz(dict(method=8, usize=0xFFFFFFFF)))
put("npz_inflate_bomb.npz", npz(dict(method=8, usize=0x7FFFFFFF)))
put("npz_stored_sizes.npz", npz(dict(usize=len(NX) + 8)))
put("npz_inflate_short.npz", npz(dict(method=8, usize=len(NX) - 8)))
put("npz_member_not_npy.npz", npz(dict(data=b"PK not an npy")))


# ---- csv: header, label column "label" ------------------------------------------------------
rows = ["%g,%g,%g,%g,%d" % ((i % 7) * 0.25, i * 0.5, -i, 1.5, i % 2) for i in range(8)]
put("ok.csv", "a,b,c,d,label\n" + "\n".join(rows) + "\n")
put("csv_empty.csv", "")
put("csv_blank.csv", "\n  \n\t\n")
put("csv_header_only.csv", "a,b,c,d,label\n\n")
put("csv_ragged.csv", "a,b,c,d,label\n" + "\n".join(rows[:3] + ["1,2,3,0"] + rows[3:]) + "\n")
put("csv_not_a_number.csv", "a,b,c,d,label\n" + "\n".join(rows[:2] + ["1,2,x3,4,0"] + rows[2:]) + "\n")
put("csv_empty_field.csv", "a,b,c,d,label\n" + "\n".join(rows[:2] + ["1,,3,4,0"] + rows[2:]) + "\n")
put("csv_no_label.csv", "a,b,c,d,klass\n" + "\n".join(rows) + "\n")
put("csv_only_label.csv", "label\n0\n1\n")
put("csv_nul.csv", "a,b,c,d,label\n1,2,3,4,\0\n")
put("csv_labels_float.csv", "a,b,c,d,label\n" + "\n".join(r[:-1] + "0.5" for r in rows) + "\n")
put("csv_labels_huge.csv", "a,b,c,d,label\n" + "\n".join(r[:-1] + "1e300" for r in rows) + "\n")
put("csv_labels_inf.csv", "a,b,c,d,label\n" + "\n".join(r[:-1] + "inf" for r in rows) + "\n")
put("csv_labels_range.csv", "a,b,c,d,label\n" + "\n".join(r[:-1] + "3000000000" for r in rows) + "\n")
put("csv_wrong_columns.csv", "a,b,c,label\n" + "\n".join(r.split(",", 1)[1] for r in rows) + "\n")
put("csv_columns.csv", ",".join("c%d" % i for i in range(5000)) + ",label\n")

# ---- text: windows of seq 4 need 5 bytes ----------------------------------------------------
put("ok.txt", bytes((i * 7) % 251 for i in range(64)))
put("txt_empty.txt", b"")
put("txt_short.txt", b"abcd")


# ---- safetensors: u64 header length, JSON header, data ---------------------------------------
def st(header, data=None, hlen=None):
    h = header if isinstance(header, bytes) else json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    if data is None:
        data = struct.pack("<10f", *[0.1 * i for i in range(10)])
    return struct.pack("<Q", len(h) if hlen is None else hlen) + h + data


def W(**kw):
    return dict(dict(dtype="F32", shape=[2, 4], data_offsets=[0, 32]), **kw)


def B(**kw):
    return dict(dict(dtype="F32", shape=[2], data_offsets=[32, 40]), **kw)


put("ok.safetensors", st({"weight": W(), "bias": B()}))
put("st_empty.safetensors", b"")
put("st_short.safetensors", b"\x10\0\0\0\0")
put("st_hlen_past_eof.safetensors", st({"weight": W(), "bias": B()}, hlen=1000))
put("st_hlen_huge.safetensors", st({"weight": W(), "bias": B()}, hlen=(1 << 64) - 1))
put("st_json_invalid.safetensors", st(b"{not json"))
put("st_json_empty.safetensors", st(b""))
put("st_json_array.safetensors", st(b"[1, 2]"))
put("st_json_utf8.safetensors", st(b'{"weight\xff": {"dtype": "F32", "shape": [2, 4], "data_offsets": [0, 32]}}'))
put("st_json_duplicate.safetensors", st(b'{"weight": {"dtype": "F32", "shape": [2, 4], "data_offsets": [0, 32]}, '
                                         b'"weight": {"dtype": "F32", "shape": [2], "data_offsets": [32, 40]}}'))
put("st_json_trailing.safetensors", st(json.dumps({"weight": W(), "bias": B()}).encode() + b" x"))
put("st_json_nul.safetensors", st(json.dumps({"weight": W(), "bias": B()}).encode()[:-1] + b"\0}"))
put("st_entry_not_object.safetensors", st({"weight": 5, "bias": B()}))
put("st_missing_dtype.safetensors", st({"weight": {"shape": [2, 4], "data_offsets": [0, 32]}, "bias": B()}))
put("st_missing_offsets.safetensors", st({"weight": {"dtype": "F32", "shape": [2, 4]}, "bias": B()}))
put("st_shape_string.safetensors", st({"weight": W(shape="2x4"), "bias": B()}))
put("st_offsets_three.safetensors", st({"weight": W(data_offsets=[0, 16, 32]), "bias": B()}))
put("st_offsets_float.safetensors", st({"weight": W(data_offsets=[0, 32.0]), "bias": B()}))
put("st_dtype_int.safetensors", st({"weight": W(dtype=4), "bias": B()}))
put("st_dtype_unknown.safetensors", st({"weight": W(dtype="F33"), "bias": B()}))
put("st_dtype_f64.safetensors", st({"weight": W(dtype="F64", shape=[2, 2]), "bias": B()}))
put("st_shape_negative.safetensors", st({"weight": W(shape=[-2, -4]), "bias": B()}))
put("st_shape_overflow.safetensors", st({"weight": W(shape=[1 << 62, 4]), "bias": B()}))
put("st_shape_rank9.safetensors", st({"weight": W(shape=[1] * 7 + [2, 4]), "bias": B()}))
put("st_offsets_out_of_bounds.safetensors", st({"weight": W(), "bias": B(data_offsets=[32, 1000])}))
put("st_offsets_negative.safetensors", st({"weight": W(data_offsets=[-8, 24]), "bias": B()}))
put("st_offsets_reversed.safetensors", st({"weight": W(data_offsets=[32, 0]), "bias": B()}))
put("st_offsets_size.safetensors", st({"weight": W(data_offsets=[0, 28]), "bias": B(data_offsets=[28, 36])}))
put("st_offsets_overlap.safetensors", st({"weight": W(), "bias": B(data_offsets=[24, 32])}))
put("st_offsets_gap.safetensors", st({"weight": W(), "bias": B(data_offsets=[36, 44])},
                                     struct.pack("<11f", *range(11))))
put("st_offsets_unused_tail.safetensors", st({"weight": W(), "bias": B()}, struct.pack("<12f", *range(12))))
put("st_missing_tensor.safetensors", st({"weight": W()}, struct.pack("<8f", *range(8))))
put("st_extra_tensor.safetensors", st({"weight": W(), "bias": B(), "foo": B(data_offsets=[40, 48])},
                                      struct.pack("<12f", *range(12))))
put("st_wrong_shape.safetensors", st({"weight": W(shape=[4, 2]), "bias": B()}))
put("st_meta_not_object.safetensors", st({"__metadata__": [1], "weight": W(), "bias": B()}))
put("st_meta_not_string.safetensors", st({"__metadata__": {"step": 3}, "weight": W(), "bias": B()}))


# ---- checkpoints for --resume: FILE and FILE.opt (sgd with momentum: momentum_buffer.*) ------
RNG = "0123456789abcdef" * 4


def ck(name, opt=True, optstep="1", **meta):
    m = dict(format="nnd-checkpoint-1", model="ix", step="1", epoch="0", pos="4", seed="1", rng=RNG)
    m.update(meta)
    m = {k: v for k, v in m.items() if v is not None}
    put(name, st({"__metadata__": m, "weight": W(), "bias": B()}))
    if opt:
        put(name + ".opt", st({"__metadata__": dict(format="nnd-optimizer-1", model="ix", step=optstep),
                               "momentum_buffer.weight": W(), "momentum_buffer.bias": B()}))


ck("ok_ckpt.safetensors")
ck("ck_no_metadata.safetensors", format=None, model=None, step=None, epoch=None, pos=None, seed=None, rng=None)
ck("ck_other_model.safetensors", model="zz")
ck("ck_step_negative.safetensors", step="-1")
ck("ck_step_text.safetensors", step="3x")
ck("ck_step_huge.safetensors", step="99999999999999999999")
ck("ck_pos_missing.safetensors", pos=None)
ck("ck_rng_short.safetensors", rng="abc")
ck("ck_rng_zero.safetensors", rng="0" * 64)
ck("ck_opt_missing.safetensors", opt=False)
ck("ck_opt_step.safetensors", optstep="7")
ck("ck_opt_corrupt.safetensors")
out["ck_opt_corrupt.safetensors.opt"] = out["ck_opt_corrupt.safetensors.opt"][:60]

for f in os.listdir(here):
    if f not in out and f != "make.py":
        os.remove(os.path.join(here, f))
for name, data in sorted(out.items()):
    with open(os.path.join(here, name), "wb") as f:
        f.write(data)
print("%d files, %d bytes" % (len(out), sum(len(d) for d in out.values())))
