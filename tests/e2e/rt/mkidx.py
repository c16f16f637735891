"""tests/e2e/rt/mkidx.py: writes small IDX files for the runtime tests (gzip when the name ends
in .gz).
  mkidx.py subset IMAGES LABELS N OUT_IMAGES OUT_LABELS   the first N examples
  mkidx.py shape OUT TYPE D1,D2,...                       zeros of that shape (TYPE: u8 i32 f32)
"""
import gzip, struct, sys

CODES = {"u8": (0x08, "B"), "i32": (0x0C, ">i"), "f32": (0x0D, ">f")}

def read(path):
    op = gzip.open if path.endswith(".gz") else open
    with op(path, "rb") as f:
        return f.read()

def write(path, code, dims, payload):
    op = gzip.open if path.endswith(".gz") else open
    with op(path, "wb") as f:
        f.write(bytes([0, 0, code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims))
        f.write(payload)

def subset(images, labels, n, oi, ol):
    for src, dst in ((images, oi), (labels, ol)):
        b = read(src)
        nd = b[3]
        dims = [struct.unpack(">I", b[4 + 4 * i:8 + 4 * i])[0] for i in range(nd)]
        ex = 1
        for d in dims[1:]:
            ex *= d
        start = 4 + 4 * nd
        write(dst, b[2], [n] + dims[1:], b[start:start + n * ex])

def shape(out, ty, dims):
    dims = [int(d) for d in dims.split(",")]
    code, fmt = CODES[ty]
    n = 1
    for d in dims:
        n *= d
    write(out, code, dims, struct.pack(">" + str(n) + fmt[-1], *([0] * n)) if n else b"")

if __name__ == "__main__":
    if sys.argv[1] == "subset":
        subset(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5], sys.argv[6])
    elif sys.argv[1] == "shape":
        shape(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit("usage: see the top of mkidx.py")
