"""tests/e2e/rt/check_ckpt.py: reads the runtime's safetensors checkpoints with json + struct only
(and numpy where installed), the way another tool would, for tests/e2e/runtime_*.sh.
  check_ckpt.py init FILE                 initial weights of the fake model: layout and init ranges
  check_ckpt.py logits FILE IMAGES Y.npy  y.npy == images/255 @ W^T + b (needs numpy; exit 77 without)
  check_ckpt.py corrupt MODE IN OUT       a damaged copy: json shape missing dtype offsets hlen
Exits non-zero with a message on any mismatch.
"""
import gzip, json, math, struct, sys

def load(path):
    b = open(path, "rb").read()
    (n,) = struct.unpack("<Q", b[:8])
    assert n % 8 == 0, "header length %d not a multiple of 8" % n
    h = json.loads(b[8:8 + n])
    data = b[8 + n:]
    tensors = {}
    end = 0
    for k, v in h.items():
        if k == "__metadata__":
            continue
        assert v["dtype"] == "F32", (k, v)
        s, e = v["data_offsets"]
        assert s == end, "tensor %s not contiguous" % k
        end = e
        count = 1
        for d in v["shape"]:
            count *= d
        assert e - s == 4 * count
        tensors[k] = (v["shape"], struct.unpack("<%df" % count, data[s:e]))
    assert end == len(data), "data section has %d bytes, tensors %d" % (len(data), end)
    return h, tensors

def init(path):
    h, t = load(path)
    md = h["__metadata__"]
    assert md["model"] == "fake" and md["step"] == "0" and md["epoch"] == "0", md
    assert list(t) == ["fc.weight", "fc.bias", "count"], list(t)
    shape, w = t["fc.weight"]
    assert shape == [10, 784], shape
    bound = math.sqrt(6 / ((1 + 5) * 784))  # kaiming_uniform(a=sqrt(5)), fan_in 784 = 1/28
    assert max(abs(x) for x in w) <= bound * (1 + 1e-6), "weight outside +-%g" % bound
    mean = sum(w) / len(w)
    std = math.sqrt(sum((x - mean) ** 2 for x in w) / len(w))
    assert abs(mean) < 0.002 and abs(std - bound / math.sqrt(3)) < 0.002, (mean, std)
    assert t["fc.bias"][0] == [10] and max(abs(x) for x in t["fc.bias"][1]) <= 1 / 28 + 1e-6
    assert t["count"] == ([], (0.0,)), t["count"]
    try:
        import numpy as np
        b = open(path, "rb").read()
        (n,) = struct.unpack("<Q", b[:8])
        s, e = h["fc.weight"]["data_offsets"]
        a = np.frombuffer(b[8 + n + s:8 + n + e], dtype="<f4").reshape(10, 784)
        assert (a == np.array(w, dtype=np.float32).reshape(10, 784)).all()
    except ImportError:
        pass

def logits(path, images, ynpy):
    try:
        import numpy as np
    except ImportError:
        sys.exit(77)
    _, t = load(path)
    w = np.array(t["fc.weight"][1], dtype=np.float32).reshape(10, 784)
    b = np.array(t["fc.bias"][1], dtype=np.float32)
    raw = gzip.open(images).read() if images.endswith(".gz") else open(images, "rb").read()
    x = np.frombuffer(raw[16:], dtype=np.uint8).reshape(-1, 784).astype(np.float32) / 255
    y = np.load(ynpy)
    assert y.dtype == np.float32 and y.shape == (x.shape[0], 10), (y.dtype, y.shape)
    err = np.abs(y - (x @ w.T + b)).max()
    assert err < 1e-4, "logits differ by %g" % err

def corrupt(mode, src, dst):
    b = open(src, "rb").read()
    (n,) = struct.unpack("<Q", b[:8])
    h = json.loads(b[8:8 + n])
    data = b[8 + n:]
    if mode == "shape":
        h["fc.bias"]["shape"] = [5, 2]
    elif mode == "missing":  # the entry and its bytes (the last 4): no hole in the data section
        b0, b1 = h.pop("count")["data_offsets"]
        assert b1 == len(data) and b1 - b0 == 4
        data = data[:b0]
    elif mode == "dtype":
        h["count"]["dtype"] = "I32"
    elif mode == "offsets":
        h["count"]["data_offsets"] = [len(data) - 4, len(data) + 4]
    text = json.dumps(h).encode()
    text += b" " * (-len(text) % 8)
    if mode == "json":
        text = text[:len(text) // 2] + b"}" * 8
    hl = len(text) if mode != "hlen" else len(b) * 2
    open(dst, "wb").write(struct.pack("<Q", hl) + text + data)

if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "init":
        init(sys.argv[2])
    elif cmd == "logits":
        logits(sys.argv[2], sys.argv[3], sys.argv[4])
    elif cmd == "corrupt":
        corrupt(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit("usage: see the top of check_ckpt.py")
