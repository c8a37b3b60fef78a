"""Reads a PyTorch state dict (`.pth`) into NumPy arrays without torch.

Two formats exist: the zip format (torch >= 1.6: `archive/data.pkl` plus one raw file per
storage under `archive/data/`) and the legacy format (torch < 1.6: five pickles in a row, the
magic number, protocol, system info, the object, the storage keys, then each storage as an int64
element count and its raw little-endian bytes). Both pickle tensors as
`torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)` with the storage as a
persistent id; this reader resolves those to NumPy views and refuses any other class.
"""
import collections
import io
import pickle
import struct
import zipfile

import numpy as np

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C

_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16,
    "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_,
}


class _StorageType:
    def __init__(self, name):
        self.dtype = np.dtype(_DTYPES[name])


class _Tensor:
    """A tensor whose storage is resolved once every storage has been read."""

    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)

    def array(self, storages):
        base = storages[self.storage]
        item = base.dtype.itemsize
        if not self.size:
            return np.array(base[self.offset])
        return np.lib.stride_tricks.as_strided(
            base[self.offset:], shape=self.size, strides=[s * item for s in self.stride]).copy()


def _rebuild_tensor_v2(storage, offset, size, stride, requires_grad=False, hooks=None, *rest):
    return _Tensor(storage, offset, size, stride)


def _rebuild_parameter(data, requires_grad=False, hooks=None, *rest):
    return data


class _Unpickler(pickle.Unpickler):
    def __init__(self, f, storage_types):
        super().__init__(f)
        self.storage_types = storage_types

    def find_class(self, module, name):
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor_v2
        if module == "torch._utils" and name == "_rebuild_parameter":
            return _rebuild_parameter
        if module == "torch" and name in _DTYPES:
            return _StorageType(name)
        raise pickle.UnpicklingError(f"unsupported class {module}.{name} in the state dict")

    def persistent_load(self, pid):
        # ('storage', storage_type, key, location, numel[, view_metadata])
        if not (isinstance(pid, tuple) and pid and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unsupported persistent id {pid!r}")
        _, stype, key, _location, numel = pid[:5]
        self.storage_types[str(key)] = (stype.dtype, numel)
        return str(key)


def _resolve(obj, storages):
    if isinstance(obj, _Tensor):
        return obj.array(storages)
    if isinstance(obj, dict):
        return collections.OrderedDict((k, _resolve(v, storages)) for k, v in obj.items())
    return obj


def load(path):
    """Returns the state dict at `path` as an OrderedDict of name -> np.ndarray."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            pkl = next(n for n in z.namelist() if n.endswith("/data.pkl"))
            root = pkl[: -len("data.pkl")]
            types = {}
            obj = _Unpickler(io.BytesIO(z.read(pkl)), types).load()
            storages = {k: np.frombuffer(z.read(f"{root}data/{k}"), dtype=dt)[:n] for k, (dt, n) in types.items()}
            return _resolve(obj, storages)
    with open(path, "rb") as f:
        if pickle.load(f) != LEGACY_MAGIC:
            raise ValueError(f"{path}: not a PyTorch state dict")
        pickle.load(f)  # protocol version
        pickle.load(f)  # system info
        types = {}
        obj = _Unpickler(f, types).load()
        keys = pickle.load(f)
        storages = {}
        for key in keys:
            (numel,) = struct.unpack("<q", f.read(8))
            dt = types[key][0]
            storages[key] = np.frombuffer(f.read(numel * dt.itemsize), dtype=dt)
        return _resolve(obj, storages)
