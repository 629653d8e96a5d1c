#!/usr/bin/env python3
"""Runs llama.cpp's own convert_hf_to_gguf.py (the llama-cpp-python 0.3.36 sdist's vendored
tree, see bench/vs_llamacpp.sh) on a small DeepSeek HF folder, with two patches for tokenizers
the converter cannot identify (weights, metadata and tensor layout are the converter's own):

  * a tokenizer.json whose pre-tokenizer hash is not in llama.cpp's table (the built-in model's
    276-token BPE, trained here with DeepSeek-V3's pre-tokenizer regex) is declared as
    PRE (default "deepseek-v3");
  * a folder with no tokenizer at all (tests/data/tiny-*) gets tokenizer.ggml.model "none"
    and no vocab (llama.cpp's LLAMA_VOCAB_TYPE_NONE); dsv3 then needs token ids.

Options:
  --old-layout   afterwards rewrite the file into llama.cpp's older deepseek2 layout: one
                 blk.N.attn_kv_b.weight [r_kv -> H*(d_nope+d_v)] instead of attn_k_b/attn_v_b,
                 no *.key_length_mla/value_length_mla keys, key_length = d_nope+d_rope,
                 value_length = d_v, head_count_kv = H (what converters before the MLA split
                 wrote). Works for F32/F16/BF16/Q8_0 files (k_b is de- and re-quantised by
                 gguf-py for Q8_0, which is lossless for the v_b half and re-rounds k_b).

  VENV=/work/venv-llama; $VENV/bin/python scripts/convert_deepseek2_gguf.py HF_DIR OUT.gguf \
      --outtype f32|f16|bf16|q8_0 [--old-layout] [--pre deepseek-v3]
"""
import argparse
import os
import subprocess
import sys
import tempfile

LLAMA_DIR = os.environ.get(
    "LLAMA_DIR", "/work/llama.cpp-src/llama_cpp_python-0.3.36/vendor/llama.cpp")


def convert(hf_dir, out, outtype, pre):
    sys.path.insert(0, LLAMA_DIR)
    sys.path.insert(1, os.path.join(LLAMA_DIR, "gguf-py"))
    import convert_hf_to_gguf as conv  # noqa: E402  (llama.cpp's script, as a module)
    from conversion import base as cbase  # noqa: E402
    from conversion import deepseek as cds  # noqa: E402

    orig_pre = cbase.TextModel.get_vocab_base_pre

    def get_vocab_base_pre(self, tokenizer):
        try:
            return orig_pre(self, tokenizer)
        except NotImplementedError:
            print(f"[convert_deepseek2_gguf] unknown pre-tokenizer: declaring it '{pre}'", file=sys.stderr)
            return pre

    cbase.TextModel.get_vocab_base_pre = get_vocab_base_pre
    if not os.path.exists(os.path.join(hf_dir, "tokenizer.json")):
        def set_vocab(self):
            self.gguf_writer.add_tokenizer_model("none")
        cds.DeepseekV2Model.set_vocab = set_vocab
    sys.argv = ["convert_hf_to_gguf.py", hf_dir, "--outtype", outtype, "--outfile", out]
    conv.main()


def to_old_layout(src, dst):
    sys.path.insert(0, os.path.join(LLAMA_DIR, "gguf-py"))
    import numpy as np
    import gguf
    from gguf import quants

    r = gguf.GGUFReader(src, "r")
    arch = r.fields["general.architecture"].contents()
    assert arch == "deepseek2", arch
    kv = {k: f.contents() for k, f in r.fields.items() if not k.startswith("GGUF.")}
    H = kv[f"{arch}.attention.head_count"]
    d_k_mla = kv[f"{arch}.attention.key_length_mla"]
    d_v = kv[f"{arch}.attention.value_length_mla"]
    d_rope = kv[f"{arch}.rope.dimension_count"]
    w = gguf.GGUFWriter(dst, arch=arch, endianess=r.endianess)
    skip = {f"{arch}.attention.key_length_mla", f"{arch}.attention.value_length_mla",
            f"{arch}.attention.key_length", f"{arch}.attention.value_length",
            f"{arch}.attention.head_count_kv", "general.architecture", "general.alignment"}
    for k, f in r.fields.items():
        if k.startswith("GGUF.") or k in skip:
            continue
        vt = f.types[0]
        if vt == gguf.GGUFValueType.ARRAY:
            w.add_array(k, f.contents())
        else:
            w.add_key_value(k, f.contents(), vt)
    w.add_key_length(d_k_mla)
    w.add_value_length(d_v)
    w.add_head_count_kv(H)

    def deq(t):
        return quants.dequantize(t.data, t.tensor_type).reshape([int(x) for x in reversed(t.shape)])

    by_name = {t.name: t for t in r.tensors}
    for t in r.tensors:
        if t.name.endswith("attn_v_b.weight"):
            continue
        if t.name.endswith("attn_k_b.weight"):
            vb = by_name[t.name.replace("attn_k_b", "attn_v_b")]
            k_b = deq(t)      # [H, r_kv, d_nope]  (converter: k_b transposed per head)
            v_b = deq(vb)     # [H, d_v, r_kv]
            kv_b = np.concatenate([k_b.transpose(0, 2, 1), v_b], axis=1)  # [H, d_nope + d_v, r_kv]
            kv_b = kv_b.reshape(-1, kv_b.shape[-1]).astype(np.float32)
            qt = t.tensor_type
            name = t.name.replace("attn_k_b", "attn_kv_b")
            if qt in (gguf.GGMLQuantizationType.F32,):
                w.add_tensor(name, kv_b)
            elif qt == gguf.GGMLQuantizationType.F16:
                w.add_tensor(name, kv_b.astype(np.float16))
            else:
                data = quants.quantize(kv_b, qt)
                w.add_tensor(name, data, raw_dtype=qt)
            continue
        w.add_tensor(t.name, t.data, raw_shape=t.data.shape, raw_dtype=t.tensor_type)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("hf_dir")
    ap.add_argument("out")
    ap.add_argument("--outtype", default="f32")
    ap.add_argument("--old-layout", action="store_true")
    ap.add_argument("--pre", default="deepseek-v3")
    a = ap.parse_args()
    if not a.old_layout:
        convert(a.hf_dir, a.out, a.outtype, a.pre)
        return
    with tempfile.TemporaryDirectory() as td:
        tmp = os.path.join(td, "new.gguf")
        # Converter in a child process (it keeps module state), then the rewrite here.
        subprocess.run([sys.executable, __file__, a.hf_dir, tmp, "--outtype", a.outtype, "--pre", a.pre],
                       check=True)
        to_old_layout(tmp, a.out)


if __name__ == "__main__":
    main()
