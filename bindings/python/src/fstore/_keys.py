"""Key arrays for the batch lookups: one pointer and one length per key,
built with numpy arithmetic rather than a Python loop per key."""

import numpy as np

from ._fstore_cffi import ffi

_PTR = np.uintp
# Length of each element of an 'S' array without its trailing NUL bytes.
_str_len = getattr(getattr(np, "strings", None), "str_len", None) or np.char.str_len


def key_bytes(key):
    """One key as bytes: str is UTF-8 encoded; bytes-like objects are taken as is."""
    if type(key) is bytes:
        return key
    if isinstance(key, str):
        return key.encode("utf-8")
    if isinstance(key, (bytes, bytearray, memoryview, np.bytes_)):
        return bytes(key)
    raise TypeError("an fstore key is str or bytes, not %s" % type(key).__name__)


class KeyArrays:
    """The C arguments `keys` and `key_lens` of a batch lookup.

    Attributes: n (number of keys), ptrs (const void *const *), lens
    (const size_t *). The object keeps the key bytes alive: hold it until the
    C call returns.
    """

    __slots__ = ("n", "ptrs", "lens", "_keep")

    def __init__(self, keys):
        if isinstance(keys, np.ndarray):
            self._from_numpy(keys)
        elif isinstance(keys, (str, bytes, bytearray, memoryview)):
            raise TypeError("keys must be a sequence of keys, not a single key")
        else:
            self._from_list(list(keys))

    def _set(self, n, base, offsets, lens, keep):
        ptrs = offsets.astype(_PTR, copy=False) + _PTR(base)
        lens = np.ascontiguousarray(lens, dtype=_PTR)
        if n == 0:
            # Never hand C a NULL array, even for zero keys.
            ptrs = np.zeros(1, dtype=_PTR)
            lens = np.zeros(1, dtype=_PTR)
        self.n = n
        self.ptrs = ffi.cast("const void *const *", ffi.from_buffer(ptrs))
        self.lens = ffi.cast("const size_t *", ffi.from_buffer(lens))
        self._keep = (keep, ptrs, lens)

    def _from_list(self, keys):
        n = len(keys)
        try:
            blob = b"".join(keys)
            lens = np.fromiter(map(len, keys), dtype=_PTR, count=n)
        except TypeError:
            if all(type(k) is str for k in keys):
                text = "".join(keys)
                if text.isascii():
                    blob = text.encode("ascii")
                    lens = np.fromiter(map(len, keys), dtype=_PTR, count=n)
                else:
                    keys = [k.encode("utf-8") for k in keys]
                    blob = b"".join(keys)
                    lens = np.fromiter(map(len, keys), dtype=_PTR, count=n)
            else:
                keys = [key_bytes(k) for k in keys]
                blob = b"".join(keys)
                lens = np.fromiter(map(len, keys), dtype=_PTR, count=n)
        offsets = np.zeros(n, dtype=_PTR)
        if n > 1:
            np.cumsum(lens[:-1], out=offsets[1:])
        buf = ffi.from_buffer(blob)
        self._set(n, int(ffi.cast("uintptr_t", buf)), offsets, lens, (blob, buf))

    def _from_numpy(self, keys):
        if keys.ndim != 1:
            raise ValueError("a key array must be one-dimensional")
        kind = keys.dtype.kind
        if kind == "O":
            self._from_list(keys.tolist())
            return
        if kind == "U":
            keys = np.char.encode(keys, "utf-8")
            kind = "S"
        if kind != "S":
            raise TypeError("a key array must have dtype 'S' (fixed-width bytes), "
                            "'U' or object, not %s" % keys.dtype)
        keys = np.ascontiguousarray(keys)
        n, width = keys.shape[0], keys.dtype.itemsize
        # numpy's 'S' drops trailing NUL bytes: a key's length is the
        # position after its last non-NUL byte, as str_len counts.
        lens = _str_len(keys).astype(_PTR) if width else np.zeros(n, dtype=_PTR)
        offsets = np.arange(n, dtype=_PTR) * _PTR(width)
        base = int(ffi.cast("uintptr_t", ffi.from_buffer(keys))) if n and width else 0
        self._set(n, base, offsets, lens, keys)
