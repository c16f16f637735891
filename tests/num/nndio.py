"""Readers the Python reference checks share: nnd's checkpoints (safetensors, read with json and
struct only, as any tool could) and IDX files (gzip). Import with
  sys.path.insert(0, "<repo>/tests/num"); import nndio
"""
import gzip, json, struct
import numpy as np

def load_safetensors(path):
    """{name: float32 array} of every tensor in a safetensors file (the metadata left out)"""
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        assert t["dtype"] == "F32", (name, t["dtype"])
        a, b = t["data_offsets"]
        out[name] = np.frombuffer(data[8 + n + a:8 + n + b], dtype="<f4").reshape(t["shape"]).copy()
    return out

def read_idx(path):
    """an unsigned-byte IDX file (gzip) as a uint8 array of its dimensions"""
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)
