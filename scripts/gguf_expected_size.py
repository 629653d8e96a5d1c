#!/usr/bin/env python3
"""Reads only the header of a GGUF file (v2/v3: metadata, tensor infos) and prints the byte
size the whole file must have (data offset + end of the last tensor), so a download split
into parts can be checked for completeness before anything maps it. Standard library only.

  scripts/gguf_expected_size.py FILE      -> "expected=<bytes> actual=<bytes> tensors=<n> arch=<a>"
Exit status 0 if the file is complete, 2 if it is shorter or longer than its header says,
1 if the header itself is malformed or truncated.
"""
import os
import struct
import sys

# ggml type -> (elements per block, bytes per block), ggml.c type_traits (types 4, 5, 31-33,
# 36-38 were removed or are not in files; unknown types are an error).
BLOCK = {0: (1, 4), 1: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24), 8: (32, 34),
         9: (32, 36), 10: (256, 84), 11: (256, 110), 12: (256, 144), 13: (256, 176),
         14: (256, 210), 15: (256, 292), 16: (256, 66), 17: (256, 74), 18: (256, 98),
         19: (256, 50), 20: (32, 18), 21: (256, 110), 22: (256, 82), 23: (256, 136),
         24: (1, 1), 25: (1, 2), 26: (1, 4), 27: (1, 8), 28: (1, 8), 29: (256, 56),
         30: (1, 2), 34: (256, 54), 35: (256, 66), 39: (32, 17)}
SCALAR = {0: 'B', 1: 'b', 2: 'H', 3: 'h', 4: 'I', 5: 'i', 6: 'f', 7: '?', 10: 'Q', 11: 'q', 12: 'd'}


class Reader:
    def __init__(self, f):
        self.f = f

    def take(self, n):
        b = self.f.read(n)
        if len(b) != n:
            raise ValueError(f"truncated header at byte {self.f.tell()}")
        return b

    def scalar(self, code):
        fmt = '<' + code
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def string(self):
        n = self.scalar('Q')
        if n > 1 << 30:
            raise ValueError(f"string length {n} at byte {self.f.tell()}")
        return self.take(n).decode('utf-8', 'replace')

    def value(self, t, depth=0):
        if t == 8:
            return self.string()
        if t == 9:
            if depth > 8:
                raise ValueError("arrays nested too deeply")
            et, n = self.scalar('I'), self.scalar('Q')
            if et in SCALAR:  # skip numeric arrays without decoding them
                self.take(n * struct.calcsize('<' + SCALAR[et]))
                return None
            for _ in range(n):
                self.value(et, depth + 1)
            return None
        if t not in SCALAR:
            raise ValueError(f"unknown metadata type {t}")
        return self.scalar(SCALAR[t])


def main():
    path = sys.argv[1]
    actual = os.path.getsize(path)
    try:
        with open(path, 'rb') as f:
            r = Reader(f)
            if r.take(4) != b'GGUF':
                raise ValueError("bad magic (not a GGUF file)")
            version = r.scalar('I')
            if version not in (2, 3):
                raise ValueError(f"unsupported GGUF version {version}")
            n_tensors, n_kv = r.scalar('Q'), r.scalar('Q')
            align, arch = 32, '?'
            for _ in range(n_kv):
                key, t = r.string(), r.scalar('I')
                v = r.value(t)
                if key == 'general.alignment':
                    align = v
                elif key == 'general.architecture':
                    arch = v
            end = 0
            for _ in range(n_tensors):
                name, nd = r.string(), r.scalar('I')
                dims = [r.scalar('Q') for _ in range(nd)]
                ty, off = r.scalar('I'), r.scalar('Q')
                if ty not in BLOCK:
                    raise ValueError(f"tensor {name}: unknown ggml type {ty}")
                be, bb = BLOCK[ty]
                ne = 1
                for d in dims:
                    ne *= d
                end = max(end, off + ne // be * bb)
            data_off = (f.tell() + align - 1) // align * align
    except (ValueError, struct.error) as e:
        print(f"{path}: malformed GGUF header: {e}", file=sys.stderr)
        return 1
    expected = data_off + end
    print(f"expected={expected} actual={actual} tensors={n_tensors} arch={arch}")
    return 0 if expected == actual else 2


if __name__ == '__main__':
    sys.exit(main())
