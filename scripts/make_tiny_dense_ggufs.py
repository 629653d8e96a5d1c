#!/usr/bin/env python3
"""Converts the tiny dense HF checkpoints (make_tiny_dense_models.py) to GGUF with llama.cpp's own
converter, as f32, f16 and q8_0: tests/data/<name>/<name>-{f32,f16,q8_0}.gguf.

Usage: /work/venv-llama/bin/python scripts/make_tiny_dense_ggufs.py [--llama-cpp DIR]
(DIR = a llama.cpp source tree holding convert_hf_to_gguf.py; default: the one vendored by
llama-cpp-python 0.3.36 under /work/llama.cpp-src).

One patch: the converter identifies a BPE pre-tokenizer by hashing its output on a fixed text and
only knows released tokenizers; our tiny byte-level BPE (GPT-2 regex, trained for these tests)
is declared as "gpt-2", which is what it is. Tensors and hyper-parameters go through the
converter unchanged (names, the q/k row permutation of the llama architecture, rope_freqs for
Llama-3 rope scaling, metadata keys).
"""
import argparse
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
ap = argparse.ArgumentParser()
ap.add_argument("--llama-cpp", default="/work/llama.cpp-src/llama_cpp_python-0.3.36/vendor/llama.cpp")
ap.add_argument("names", nargs="*", default=["tiny-qwen2", "tiny-llama"])
args = ap.parse_args()
sys.path.insert(0, args.llama_cpp)
sys.argv = [sys.argv[0]]
import convert_hf_to_gguf  # noqa: E402
from conversion.base import TextModel  # noqa: E402

TextModel.get_vocab_base_pre = lambda self, tokenizer: "gpt-2"
data = os.path.join(here, "..", "tests", "data")
for name in args.names:
    for outtype in ("f32", "f16", "q8_0"):
        out = os.path.join(data, name, f"{name}-{outtype}.gguf")
        sys.argv = ["convert_hf_to_gguf.py", os.path.join(data, name), "--outtype", outtype,
                    "--outfile", out]
        convert_hf_to_gguf.main()
        print("wrote", out, os.path.getsize(out))
