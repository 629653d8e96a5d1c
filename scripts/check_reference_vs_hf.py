"""Faithfulness check of scripts/train_reference.py against Hugging Face transformers, and the
reference dump for the C++ tests.

1. Tokenizer: HF AutoTokenizer (tokenizer.json + tokenizer_config.json) must give the same ids
   as the `tokenizers` object used in training, and apply_chat_template must render the same
   prompt string as train_reference.render_prompt.
2. Logits: DeepseekV3ForCausalLM (transformers, eager attention, fp32) loaded from the saved
   folder vs the reference model loaded from the same file (fp32 compute on bf16-rounded
   weights), on full prompt+solution sequences. Prints max |diff| and max |logit|.
   HF ignores the MTP tensors (model.layers.{L}.*), so the MTP head is only in our model.
3. --dump DIR writes, for the first 2 compared problems (held-out, drawn from task.Rng(7): a
   subtraction with negative result, then a multiplication), DIR/prompt{k}_ids.npy
   (int32 [S], prompt + solution + EOS), prompt{k}_logits.npy (f32 [S, V], main head),
   prompt{k}_mtp_logits.npy (f32 [S-1, V]: MTP row p uses h_p and token p+1, predicts p+2),
   prompt{k}_greedy_ids.npy (int32, greedy continuation of the prompt part, EOS excluded) and
   meta.json (texts, lengths, the HF diffs).

Usage: check_reference_vs_hf.py MODEL_DIR [--dump tests/data/builtin_ref]
"""
import argparse, json, os, sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import arith_task as task  # noqa: E402
import train_reference as tr  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model_dir")
    ap.add_argument("--dump", default=None)
    ap.add_argument("--n", type=int, default=6, help="sequences compared against HF")
    args = ap.parse_args()
    torch.set_num_threads(1)
    from transformers import AutoTokenizer, DeepseekV3ForCausalLM

    ref, tok, template = tr.load_checkpoint(args.model_dir)
    enc = tr.Encoder(tok, template)
    hf_tok = AutoTokenizer.from_pretrained(args.model_dir)
    hf = DeepseekV3ForCausalLM.from_pretrained(args.model_dir, dtype=torch.float32,
                                               attn_implementation="eager").eval()

    rng, probs = task.Rng(7), []
    while len(probs) < args.n:  # cycle "-", "*", "+" so every op (and a negative result) is covered
        p = task.sample_problem(rng, "eval")
        want = "-*+"[len(probs) % 3]
        if p[0] == want and (len(probs) or p[1] < p[2]):
            probs.append(p)
    worst = {"logit_max_abs_diff": 0.0, "logit_max_abs": 0.0}
    tok_ok = True
    for p in probs:
        msgs = [{"role": "user", "content": task.question(*p)}]
        hf_prompt = hf_tok.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)
        ours = tr.render_prompt(template, task.question(*p))
        text = ours + task.solution(*p) + tr.EOS
        ids_ours = tok.encode(text, add_special_tokens=False).ids
        ids_hf = hf_tok(text, add_special_tokens=False)["input_ids"]
        ids_bos = hf_tok(task.question(*p))["input_ids"]  # add_bos_token path
        ok = hf_prompt == ours and ids_hf == ids_ours and ids_bos[0] == 0 and ids_bos[1:] == \
            tok.encode(task.question(*p), add_special_tokens=False).ids
        tok_ok &= ok
        ids = torch.tensor([ids_ours])
        with torch.no_grad():
            a, _ = ref(ids)
            b = hf(ids).logits
        d = (a - b).abs().max().item()
        worst["logit_max_abs_diff"] = max(worst["logit_max_abs_diff"], d)
        worst["logit_max_abs"] = max(worst["logit_max_abs"], a.abs().max().item())
        print(f"{task.question(*p):22s} S={ids.shape[1]:3d} tokenizer/template match={ok} "
              f"max|ref-hf|={d:.3e} max|logit|={a.abs().max().item():.2f}")
    worst["relative"] = worst["logit_max_abs_diff"] / worst["logit_max_abs"]
    worst["tokenizer_and_template_match"] = bool(tok_ok)
    print(json.dumps(worst))
    passed = tok_ok and worst["relative"] <= 1e-4
    print("PASS" if passed else "FAIL")

    if args.dump:
        os.makedirs(args.dump, exist_ok=True)
        meta = {"model_dir": args.model_dir, "hf_check": worst, "prompts": []}
        for k, p in enumerate(probs[:2]):
            prompt = enc.prompt_ids(p)
            full, _ = enc.example(p)
            ids = torch.tensor([full])
            with torch.no_grad():
                logits, h = ref(ids)
                mtp = ref.mtp(h[:, :-1], ids[:, 1:])
            greedy = tr.generate_greedy(ref, [prompt], enc.eos, enc.pad, 128)[0]
            np.save(os.path.join(args.dump, f"prompt{k}_ids.npy"), np.array(full, dtype=np.int32))
            np.save(os.path.join(args.dump, f"prompt{k}_logits.npy"), logits[0].numpy().astype(np.float32))
            np.save(os.path.join(args.dump, f"prompt{k}_mtp_logits.npy"), mtp[0].numpy().astype(np.float32))
            np.save(os.path.join(args.dump, f"prompt{k}_greedy_ids.npy"), np.array(greedy, dtype=np.int32))
            meta["prompts"].append({"question": task.question(*p), "prompt_len": len(prompt), "len": len(full),
                                    "text": tok.decode(full, skip_special_tokens=False),
                                    "greedy_text": tok.decode(greedy, skip_special_tokens=False)})
        with open(os.path.join(args.dump, "meta.json"), "w") as f:
            json.dump(meta, f, indent=1, ensure_ascii=False)
        print("wrote", args.dump)
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
