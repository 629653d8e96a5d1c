"""PyTorch reference DeepSeek-V3 model + trainer for dsv3's built-in arithmetic model.

Written from ../shared/docs/architecture.md and ../shared/docs/training.md; the C++ trainer
is checked against this file (like llm.c's train_gpt2.py). One file, top to bottom:
  tokenizer   byte-level BPE with DeepSeek-V3's pre-tokenizer + R1 chat template (§14)
  model       MLA with q_lora and interleaved RoPE pairs (§7, §8.2; no YaRN: rope_scaling
              null, so softmax scale = qk_head_dim^-1/2), dense first layer, DeepSeekMoE
              layers (1 shared + routed experts, sigmoid scores, noaux_tc group-limited
              top-k, bias for selection only, norm_topk_prob, routed_scaling_factor; §10.2),
              one MTP module stored as layer L (enorm(emb) FIRST, hnorm(h) second; h = the
              main model's hidden state AFTER model.norm, as vLLM/SGLang feed it; §11)
  training    CE(main) + lambda * CE(MTP) + alpha * sequence-wise balance loss (paper form:
              f_i from the UNBIASED top-K of s over all experts), aux-loss-free bias update
              b += gamma * sign(mean load - load) after every step (counts over non-pad tokens
              of the batch, per MoE layer incl. MTP), AdamW; loss only on assistant tokens.
  checkpoint  HF folder: config.json, model.safetensors (bf16 weights, fp32
              e_score_correction_bias, MTP tensors under model.layers.{L}.* incl. copies of
              embed_tokens and lm_head), tokenizer.json, tokenizer_config.json.

Usage: train_reference.py --out DIR [--steps N] [--batch B] [--seed S] [--init DIR]
       train_reference.py --eval models/builtin [-n 200]   (greedy accuracy, MTP accuracy, load)
models/builtin/README.md gives the exact command line of the shipped model (one run).
Threads default to 1: on the shared, contended 2-core machine two torch threads were 10-20x
slower per step (barrier stalls)."""
import argparse, json, math, os, sys, time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import arith_task as task  # noqa: E402

# ----------------------------------------------------------------------------------------------
# Tokenizer (architecture.md §14)

BOS, EOS, PAD = "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜▁pad▁｜>"
USER, ASSISTANT, THINK, END_THINK = "<｜User｜>", "<｜Assistant｜>", "<think>", "</think>"
TOOL_TOKENS = ["<｜tool▁calls▁begin｜>", "<｜tool▁calls▁end｜>", "<｜tool▁call▁begin｜>",
               "<｜tool▁call▁end｜>", "<｜tool▁outputs▁begin｜>", "<｜tool▁outputs▁end｜>",
               "<｜tool▁output▁begin｜>", "<｜tool▁output▁end｜>", "<｜tool▁sep｜>"]
BIG_REGEX = (r"[!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+|"
             r" ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
CJK_REGEX = "[一-龥぀-ゟ゠-ヿ]+"
TEMPLATE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data",
                        "templates", "deepseek-ai-DeepSeek-R1-0528.jinja")


def build_tokenizer(vocab_size=320):
    """Trains the BPE on task text whose digit runs are collapsed to one digit, so no merge
    ever joins two digits: every digit stays its own token (the \\p{N}{1,3} split still runs)."""
    import re
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, \
        pre_tokenizers, processors, trainers
    tok = Tokenizer(models.BPE(byte_fallback=False))
    tok.normalizer = normalizers.Sequence([])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(r"\p{N}{1,3}"), behavior="isolated", invert=False),
        pre_tokenizers.Split(Regex(CJK_REGEX), behavior="isolated", invert=False),
        pre_tokenizers.Split(Regex(BIG_REGEX), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    rng = task.Rng(12345)
    corpus = []
    for _ in range(3000):
        p = task.sample_problem(rng)
        corpus.append(re.sub(r"\d+", lambda m: m.group(0)[0], task.question(*p) + "\n" + task.solution(*p)))
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[BOS, EOS, PAD], min_frequency=2,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(corpus, trainer)
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in [USER, ASSISTANT] + TOOL_TOKENS])
    tok.add_tokens([AddedToken(t, special=False, normalized=False) for t in [THINK, END_THINK]])
    tok.post_processor = processors.TemplateProcessing(
        single=f"{BOS}:0 $A:0", pair=f"{BOS}:0 $A:0 {BOS}:1 $B:1", special_tokens=[(BOS, 0)])
    return tok


def tokenizer_config(chat_template):
    return {"add_bos_token": True, "add_eos_token": False, "bos_token": BOS, "eos_token": EOS,
            "pad_token": PAD, "clean_up_tokenization_spaces": False, "legacy": True,
            "model_max_length": 1024, "tokenizer_class": "LlamaTokenizerFast",
            "chat_template": chat_template}


_TEMPLATES = {}


def render_prompt(template, user_text):
    """apply_chat_template(add_generation_prompt=True) for one user turn (jinja2, HF-style)."""
    if template not in _TEMPLATES:
        import jinja2
        env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True)
        _TEMPLATES[template] = env.from_string(template)
    return _TEMPLATES[template].render(messages=[{"role": "user", "content": user_text}],
                                       add_generation_prompt=True, bos_token=BOS, eos_token=EOS)


# ----------------------------------------------------------------------------------------------
# Model (architecture.md §6-§11). Attribute names = HF tensor names.

def default_config(vocab_size):
    return {
        "architectures": ["DeepseekV3ForCausalLM"], "model_type": "deepseek_v3",
        "vocab_size": vocab_size, "hidden_size": 128, "intermediate_size": 256,
        "moe_intermediate_size": 128, "num_hidden_layers": 3, "num_attention_heads": 4,
        "num_key_value_heads": 4, "q_lora_rank": 128, "kv_lora_rank": 64,
        "qk_nope_head_dim": 32, "qk_rope_head_dim": 16, "v_head_dim": 32,
        "n_routed_experts": 8, "n_shared_experts": 1, "num_experts_per_tok": 2,
        "n_group": 4, "topk_group": 2, "topk_method": "noaux_tc", "scoring_func": "sigmoid",
        "norm_topk_prob": True, "routed_scaling_factor": 2.5, "first_k_dense_replace": 1,
        "moe_layer_freq": 1, "num_nextn_predict_layers": 1, "hidden_act": "silu",
        "rms_norm_eps": 1e-6, "max_position_embeddings": 1024, "rope_theta": 10000.0,
        "rope_scaling": None, "rope_interleave": True, "attention_bias": False,
        "attention_dropout": 0.0, "bos_token_id": 0, "eos_token_id": 1, "pad_token_id": 2,
        "tie_word_embeddings": False, "initializer_range": 0.02, "torch_dtype": "bfloat16",
        "use_cache": True,
    }


class RMSNorm(nn.Module):
    def __init__(self, dim, eps=1e-6):
        super().__init__()
        self.weight, self.eps = nn.Parameter(torch.ones(dim)), eps

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


def rope_interleaved(x, pos, theta):
    """Rotates pairs (x[2i], x[2i+1]) by angle pos * theta^(-2i/d) (§8.2). x [..., S, d], pos [S]."""
    d = x.shape[-1]
    inv_freq = 1.0 / (theta ** (torch.arange(0, d, 2, dtype=torch.float32) / d))
    ang = pos.to(torch.float32)[:, None] * inv_freq  # [S, d/2]
    cos, sin = ang.cos(), ang.sin()
    x1, x2 = x[..., 0::2], x[..., 1::2]
    return torch.stack((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1).flatten(-2)


class MLA(nn.Module):
    """Naive-form MLA (§7.2); the cache holds only (c_kv after kv_a_layernorm, k_pe after RoPE)."""

    def __init__(self, c):
        super().__init__()
        self.h, self.dn, self.dr, self.dv = c["num_attention_heads"], c["qk_nope_head_dim"], c["qk_rope_head_dim"], c["v_head_dim"]
        self.r_kv, self.theta = c["kv_lora_rank"], c["rope_theta"]
        D = c["hidden_size"]
        self.q_a_proj = nn.Linear(D, c["q_lora_rank"], bias=False)
        self.q_a_layernorm = RMSNorm(c["q_lora_rank"])
        self.q_b_proj = nn.Linear(c["q_lora_rank"], self.h * (self.dn + self.dr), bias=False)
        self.kv_a_proj_with_mqa = nn.Linear(D, self.r_kv + self.dr, bias=False)
        self.kv_a_layernorm = RMSNorm(self.r_kv)
        self.kv_b_proj = nn.Linear(self.r_kv, self.h * (self.dn + self.dv), bias=False)
        self.o_proj = nn.Linear(self.h * self.dv, D, bias=False)
        self.scale = (self.dn + self.dr) ** -0.5  # no YaRN => m = 1

    def forward(self, x, start, cache, key_mask=None):
        B, S, _ = x.shape
        pos = torch.arange(start, start + S)
        q = self.q_b_proj(self.q_a_layernorm(self.q_a_proj(x))).view(B, S, self.h, self.dn + self.dr).transpose(1, 2)
        q_nope, q_pe = q.split([self.dn, self.dr], dim=-1)
        c_kv, k_pe = self.kv_a_proj_with_mqa(x).split([self.r_kv, self.dr], dim=-1)
        c_kv, k_pe = self.kv_a_layernorm(c_kv), rope_interleaved(k_pe, pos, self.theta)  # k_pe shared by heads
        q_pe = rope_interleaved(q_pe, pos, self.theta)
        if cache is not None:  # cache = [c_kv, k_pe] tensors [B, start, ...] or None
            if cache[0] is not None:
                c_kv, k_pe = torch.cat([cache[0], c_kv], 1), torch.cat([cache[1], k_pe], 1)
            cache[0], cache[1] = c_kv, k_pe
        T = c_kv.shape[1]
        kv = self.kv_b_proj(c_kv).view(B, T, self.h, self.dn + self.dv).transpose(1, 2)
        k_nope, v = kv.split([self.dn, self.dv], dim=-1)
        k = torch.cat([k_nope, k_pe[:, None].expand(B, self.h, T, self.dr)], dim=-1)
        q = torch.cat([q_nope, q_pe], dim=-1)
        assert start == 0 or S == 1, "only full prefill or one-token decode"
        if key_mask is None:
            o = F.scaled_dot_product_attention(q, k, v, is_causal=(S > 1), scale=self.scale)
        else:  # key_mask [B, T]: False = left padding; a pad query may see itself (no NaN rows)
            qpos, kpos = torch.arange(start, start + S)[:, None], torch.arange(T)[None, :]
            allow = (kpos <= qpos)[None] & (key_mask[:, None, :] | (kpos == qpos)[None])
            o = F.scaled_dot_product_attention(q, k, v, attn_mask=allow[:, None], scale=self.scale)
        return self.o_proj(o.transpose(1, 2).reshape(B, S, self.h * self.dv))


class MLP(nn.Module):
    def __init__(self, D, inter):
        super().__init__()
        self.gate_proj, self.up_proj = nn.Linear(D, inter, bias=False), nn.Linear(D, inter, bias=False)
        self.down_proj = nn.Linear(inter, D, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Gate(nn.Module):
    """V3 router (§10.2): s = sigmoid(W u) in fp32; selection on s + b with noaux_tc groups."""

    def __init__(self, c):
        super().__init__()
        self.E, self.K, self.G, self.Gk = c["n_routed_experts"], c["num_experts_per_tok"], c["n_group"], c["topk_group"]
        self.rsf, self.norm = c["routed_scaling_factor"], c["norm_topk_prob"]
        self.weight = nn.Parameter(torch.empty(self.E, c["hidden_size"]))
        self.register_buffer("e_score_correction_bias", torch.zeros(self.E))  # fp32, no grad

    def forward(self, u):  # u [N, D]
        s = F.linear(u.float(), self.weight.float()).sigmoid()
        choice = (s + self.e_score_correction_bias).detach()
        group = choice.view(-1, self.G, self.E // self.G).topk(2, dim=-1)[0].sum(-1)  # sum of top-2
        keep = torch.zeros_like(group).scatter_(1, group.topk(self.Gk, dim=-1)[1], 1.0).bool()
        keep = keep[:, :, None].expand(-1, -1, self.E // self.G).reshape(-1, self.E)
        idx = choice.masked_fill(~keep, float("-inf")).topk(self.K, dim=-1)[1]  # -inf: dropped groups
        w = s.gather(1, idx)  # unbiased affinities
        if self.norm:
            w = w / (w.sum(-1, keepdim=True) + 1e-20)
        return s, idx, w * self.rsf


class MoE(nn.Module):
    def __init__(self, c):
        super().__init__()
        D, I = c["hidden_size"], c["moe_intermediate_size"]
        self.gate = Gate(c)
        self.experts = nn.ModuleList(MLP(D, I) for _ in range(c["n_routed_experts"]))
        self.shared_experts = MLP(D, I * c["n_shared_experts"])
        self.stats = None  # (s [B,S,E], idx [B,S,K]) of the last forward, for losses/bias update

    def forward(self, x):
        B, S, D = x.shape
        u = x.reshape(-1, D)
        s, idx, w = self.gate(u)
        y = torch.zeros_like(u)
        for e, expert in enumerate(self.experts):
            tok, slot = (idx == e).nonzero(as_tuple=True)
            if tok.numel():
                y.index_add_(0, tok, expert(u[tok]) * w[tok, slot, None])
        self.stats = (s.view(B, S, -1), idx.view(B, S, -1))
        return (y + self.shared_experts(u)).view(B, S, D)


class DecoderLayer(nn.Module):
    def __init__(self, c, i):
        super().__init__()
        self.self_attn = MLA(c)
        self.mlp = MoE(c) if i >= c["first_k_dense_replace"] else MLP(c["hidden_size"], c["intermediate_size"])
        self.input_layernorm, self.post_attention_layernorm = RMSNorm(c["hidden_size"]), RMSNorm(c["hidden_size"])

    def forward(self, x, start=0, cache=None, key_mask=None):
        x = x + self.self_attn(self.input_layernorm(x), start, cache, key_mask)
        return x + self.mlp(self.post_attention_layernorm(x))


class SharedHead(nn.Module):
    def __init__(self, c, head):
        super().__init__()
        self.norm, self.head = RMSNorm(c["hidden_size"]), head


class MTPLayer(DecoderLayer):
    """model.layers.{L}: enorm/hnorm/eh_proj + a full (MoE) decoder layer + shared_head (§11.1).
    embed_tokens and shared_head.head are the main model's modules (tied in training, saved as
    copies like the real V3 files)."""

    def __init__(self, c, embed, head):
        super().__init__(c, c["num_hidden_layers"])
        D = c["hidden_size"]
        self.embed_tokens, self.enorm, self.hnorm = embed, RMSNorm(D), RMSNorm(D)
        self.eh_proj = nn.Linear(2 * D, D, bias=False)
        self.shared_head = SharedHead(c, head)

    def forward(self, h, next_ids, start=0, cache=None):
        """h: main hidden after model.norm at positions p; next_ids: token p+1. Logits for p+2."""
        x = self.eh_proj(torch.cat([self.enorm(self.embed_tokens(next_ids)), self.hnorm(h)], dim=-1))
        x = super().forward(x, start, cache)
        return self.shared_head.head(self.shared_head.norm(x))


class Body(nn.Module):
    def __init__(self, c, head):
        super().__init__()
        L = c["num_hidden_layers"]
        self.embed_tokens = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.layers = nn.ModuleList([DecoderLayer(c, i) for i in range(L)] +
                                    [MTPLayer(c, self.embed_tokens, head)] * c["num_nextn_predict_layers"])
        self.norm = RMSNorm(c["hidden_size"])


class DeepseekV3(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.config, self.L = c, c["num_hidden_layers"]
        self.lm_head = nn.Linear(c["hidden_size"], c["vocab_size"], bias=False)
        self.model = Body(c, self.lm_head)
        std = c["initializer_range"]
        for name, p in self.named_parameters():
            if p.dim() == 2:
                nn.init.normal_(p, std=std)

    def forward(self, ids, start=0, cache=None, key_mask=None):
        """ids [B, S] -> (logits [B,S,V], h = model.norm(final hidden) [B,S,D]).
        cache: list of per-layer [c_kv, k_pe] (main layers then MTP) or None.
        key_mask: [B, start+S] bool, False at left-padding positions (generation only)."""
        x = self.model.embed_tokens(ids)
        for i in range(self.L):
            x = self.model.layers[i](x, start, None if cache is None else cache[i], key_mask)
        h = self.model.norm(x)
        return self.lm_head(h), h

    def mtp(self, h, next_ids, start=0, cache=None):
        return self.model.layers[self.L](h, next_ids, start, None if cache is None else cache[self.L])

    def moe_layers(self):
        return [l.mlp for l in self.model.layers if isinstance(l.mlp, MoE)]


# ----------------------------------------------------------------------------------------------
# Losses and the aux-loss-free bias update (training.md §1.2-§1.4)

def seq_balance_loss(moe, valid, K):
    """L_Bal per sequence (V3 eq. 17-20), averaged over sequences and summed over layers.
    f_i = E/(K T) sum_t 1[i in TopK(s_t)] (unbiased top-K, no grad), P_i = 1/T sum_t s_t,i / sum_j s_t,j."""
    s, _ = moe.stats
    E = s.shape[-1]
    m = valid.float()[..., None]  # [B,S,1]
    T = m.sum(1).clamp(min=1)  # [B,1]
    top = F.one_hot(s.detach().topk(K, dim=-1)[1], E).sum(-2).float()  # [B,S,E]
    f = (top * m).sum(1) * E / (K * T)
    P = (s / s.sum(-1, keepdim=True) * m).sum(1) / T
    return (f * P).sum(-1).mean()


@torch.no_grad()
def update_bias(model, valid, gamma):
    """Aux-loss-free balancing: per MoE layer, c_i = (token, expert) assignments to expert i
    over the non-pad tokens of this batch; b_i += gamma * sign(mean_j c_j - c_i).
    Returns max_i c_i / mean c per layer (1.0 = perfectly balanced)."""
    ratios = []
    for moe in model.moe_layers():
        idx = moe.stats[1]
        c = torch.bincount(idx[valid[:, :idx.shape[1]]].flatten(), minlength=moe.gate.E).float()
        moe.gate.e_score_correction_bias += gamma * torch.sign(c.mean() - c)
        ratios.append((c.max() / c.mean()).item())
    return ratios


def compute_losses(model, ids, loss_mask, alpha):
    """ids [B,S]; loss_mask[b,t] = 1 where token t is an assistant token to predict.
    Main: predict ids[t+1] from t. MTP: from (h_t, ids[t+1]) predict ids[t+2]."""
    logits, h = model(ids)
    tgt1, m1 = ids[:, 1:], loss_mask[:, 1:]
    main = F.cross_entropy(logits[:, :-1].flatten(0, 1), tgt1.flatten(), reduction="none")
    main = (main * m1.flatten()).sum() / m1.sum()
    mtp_logits = model.mtp(h[:, :-1], ids[:, 1:])  # positions 0..S-2
    tgt2, m2 = ids[:, 2:], loss_mask[:, 2:]
    mtp = F.cross_entropy(mtp_logits[:, :-1].flatten(0, 1), tgt2.flatten(), reduction="none")
    mtp = (mtp * m2.flatten()).sum() / m2.sum()
    valid = ids != model.config["pad_token_id"]
    bal = sum(seq_balance_loss(moe, valid[:, :moe.stats[0].shape[1]], model.config["num_experts_per_tok"])
              for moe in model.moe_layers())
    return main, mtp, alpha * bal, valid


# ----------------------------------------------------------------------------------------------
# Data, generation, evaluation

class Encoder:
    def __init__(self, tok, template):
        self.tok, self.template = tok, template
        self.eos = tok.token_to_id(EOS)
        self.pad = tok.token_to_id(PAD)

    def prompt_ids(self, p):
        return self.tok.encode(render_prompt(self.template, task.question(*p)), add_special_tokens=False).ids

    def example(self, p):
        """(ids, mask): prompt rendered by the chat template + solution + EOS; mask on the answer."""
        a = self.prompt_ids(p)
        b = self.tok.encode(task.solution(*p), add_special_tokens=False).ids + [self.eos]
        return a + b, [0] * len(a) + [1] * len(b)

    def batch(self, problems):
        return self.pad_batch([self.example(p) for p in problems])

    def pad_batch(self, ex):
        S = max(len(e[0]) for e in ex)
        ids = torch.full((len(ex), S), self.pad, dtype=torch.long)
        mask = torch.zeros((len(ex), S), dtype=torch.float32)
        for i, (a, m) in enumerate(ex):
            ids[i, :len(a)], mask[i, :len(m)] = torch.tensor(a), torch.tensor(m, dtype=torch.float32)
        return ids, mask


@torch.no_grad()
def generate_greedy(model, prompts, eos, pad, max_new=96):
    """Batched greedy decode with the latent KV cache; prompts are left-padded (RoPE is
    relative, pad keys are masked, so results equal unpadded decoding up to fp rounding)."""
    P = max(len(p) for p in prompts)
    ids = torch.tensor([[pad] * (P - len(p)) + p for p in prompts])
    key_mask = ids != pad
    B = ids.shape[0]
    cache = [[None, None] for _ in model.model.layers]
    logits, _ = model(ids, 0, cache, key_mask)
    out, done, pos = [], torch.zeros(B, dtype=torch.bool), P
    nxt = logits[:, -1].argmax(-1)
    for _ in range(max_new):
        out.append(nxt)
        done |= nxt == eos
        if done.all():
            break
        key_mask = torch.cat([key_mask, torch.ones(B, 1, dtype=torch.bool)], 1)
        logits, _ = model(nxt[:, None], pos, cache, key_mask)
        pos += 1
        nxt = logits[:, -1].argmax(-1)
    out = torch.stack(out, 1).tolist()
    return [o[:o.index(eos)] if eos in o else o for o in out]


@torch.no_grad()
def evaluate(model, enc, n=200, seed=1, max_new=96):
    """Exact greedy accuracy on n held-out problems (task.sample_problem(Rng(seed), 'eval'))."""
    model.eval()
    rng = task.Rng(seed)
    probs = [task.sample_problem(rng, "eval") for _ in range(n)]
    correct, failures = 0, []
    outs = generate_greedy(model, [enc.prompt_ids(p) for p in probs], enc.eos, enc.pad, max_new)
    for p, o in zip(probs, outs):
        text = enc.tok.decode(o, skip_special_tokens=False)
        if task.is_correct(*p, text):
            correct += 1
        else:
            failures.append((task.question(*p), text))
    model.train()
    return correct / n, failures


@torch.no_grad()
def mtp_accuracy(model, enc, n=200, seed=2):
    """Teacher-forced: fraction of assistant positions where argmax MTP logits == token t+2,
    and the fraction where the main head's argmax at t+1 also equals it (a greedy-draft proxy)."""
    model.eval()
    rng = task.Rng(seed)
    ids, mask = enc.batch([task.sample_problem(rng, "eval") for _ in range(n)])
    logits, h = model(ids)
    mtp_pred = model.mtp(h[:, :-1], ids[:, 1:])[:, :-1].argmax(-1)  # predicts ids[:, 2:]
    m = mask[:, 2:].bool()
    acc = (mtp_pred == ids[:, 2:])[m].float().mean().item()
    main_acc = (logits[:, :-1].argmax(-1) == ids[:, 1:])[mask[:, 1:].bool()].float().mean().item()
    model.train()
    return acc, main_acc


@torch.no_grad()
def expert_load(model, enc, n=200, seed=3):
    """Teacher-forced forward (main + MTP) over n held-out sequences with the current biases:
    per MoE layer (main layers, then MTP) the token counts per expert and max/mean."""
    model.eval()
    rng = task.Rng(seed)
    ids, _ = enc.batch([task.sample_problem(rng, "eval") for _ in range(n)])
    _, h = model(ids)
    model.mtp(h[:, :-1], ids[:, 1:])
    valid = ids != enc.pad
    out = []
    for moe in model.moe_layers():
        idx = moe.stats[1]
        c = torch.bincount(idx[valid[:, :idx.shape[1]]].flatten(), minlength=moe.gate.E)
        out.append({"counts": c.tolist(), "max_over_mean": round((c.max() / c.float().mean()).item(), 3),
                    "min_over_mean": round((c.min() / c.float().mean()).item(), 3),
                    "bias": [round(b, 4) for b in moe.gate.e_score_correction_bias.tolist()]})
    model.train()
    return out


# ----------------------------------------------------------------------------------------------
# Checkpoint I/O

def state_for_save(model):
    """HF tensor names; bf16 weights, fp32 e_score_correction_bias, MTP copies of embed/head."""
    out = {}
    for k, v in model.state_dict().items():
        v = v.detach().clone().contiguous()
        out[k] = v if k.endswith("e_score_correction_bias") else v.to(torch.bfloat16)
    return out


def save_checkpoint(model, tok, template, out_dir):
    from safetensors.torch import save_file
    os.makedirs(out_dir, exist_ok=True)
    save_file(state_for_save(model), os.path.join(out_dir, "model.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(model.config, f, indent=2)
    with open(os.path.join(out_dir, "generation_config.json"), "w") as f:
        json.dump({"bos_token_id": 0, "eos_token_id": 1, "do_sample": False}, f, indent=2)
    tok.save(os.path.join(out_dir, "tokenizer.json"))
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w") as f:
        json.dump(tokenizer_config(template), f, indent=2, ensure_ascii=False)


def load_checkpoint(path):
    """-> (model in fp32 with the saved (bf16-rounded) weights, tokenizers.Tokenizer, template)."""
    from safetensors.torch import load_file
    from tokenizers import Tokenizer
    with open(os.path.join(path, "config.json")) as f:
        c = json.load(f)
    model = DeepseekV3(c)
    sd = {k: v.float() for k, v in load_file(os.path.join(path, "model.safetensors")).items()}
    missing, unexpected = model.load_state_dict(sd, strict=False)
    assert not missing and not unexpected, (missing, unexpected)
    with open(os.path.join(path, "tokenizer_config.json")) as f:
        template = json.load(f)["chat_template"]
    return model.eval(), Tokenizer.from_file(os.path.join(path, "tokenizer.json")), template


def round_to_bf16_(model):
    with torch.no_grad():
        for k, v in model.state_dict().items():
            if v.is_floating_point() and not k.endswith("e_score_correction_bias"):
                v.copy_(v.to(torch.bfloat16).float())


# ----------------------------------------------------------------------------------------------
# Training

def lr_at(step, total, peak, warmup):
    if step < warmup:
        return peak * (step + 1) / warmup
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup))))


def train(args):
    torch.manual_seed(args.seed)
    with open(TEMPLATE) as f:
        template = f.read()
    if args.init:  # continue training a saved checkpoint (weights + expert biases; fresh AdamW)
        model, tok, template = load_checkpoint(args.init)
        model.train()
    else:
        tok = build_tokenizer(args.vocab)
        vocab = (tok.get_vocab_size() + 63) // 64 * 64  # padded like V3's 129280 > 128815
        c = default_config(vocab)
        c.update(json.loads(args.config_override or "{}"))
        model = DeepseekV3(c)
    enc = Encoder(tok, template)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"tokenizer {tok.get_vocab_size()} tokens, vocab_size {model.config['vocab_size']}; params {n_params} (unique)", flush=True)
    decay = [p for n, p in model.named_parameters() if p.dim() == 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.wd}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95), eps=1e-8)
    rng = task.Rng(args.seed)
    log, t0, ema, queue = [], time.time(), None, []
    for step in range(args.steps):
        if not queue:  # length-bucketed batches: draw 8 batches, sort by length, shuffle order
            ex = sorted((enc.example(task.sample_problem(rng, "train")) for _ in range(8 * args.batch)),
                        key=lambda e: len(e[0]))
            queue = [ex[i * args.batch:(i + 1) * args.batch] for i in range(8)]
            queue = [queue[i] for i in torch.randperm(8).tolist()]
        ids, mask = enc.pad_batch(queue.pop())
        lr = lr_at(step, args.steps, args.lr, args.warmup)
        for g in opt.param_groups:
            g["lr"] = lr
        main, mtp, bal, valid = compute_losses(model, ids, mask, args.alpha)
        loss = main + args.mtp_lambda * mtp + bal
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gn = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0).item()
        opt.step()
        loads = update_bias(model, valid, args.gamma)  # MTP layer: S-1 positions
        ema = main.item() if ema is None else 0.95 * ema + 0.05 * main.item()
        if step % args.log_every == 0 or step == args.steps - 1:
            rec = {"step": step, "time_s": round(time.time() - t0, 1), "lr": lr, "main": round(main.item(), 4),
                   "main_ema": round(ema, 4), "mtp": round(mtp.item(), 4), "bal": round(bal.item(), 6),
                   "gnorm": round(gn, 3), "load_max_over_mean": [round(x, 3) for x in loads]}
            if args.eval_every and step > 0 and (step % args.eval_every == 0):
                rec["eval_acc"] = evaluate(model, enc, args.eval_n_during, seed=99)[0]
            log.append(rec)
            print(json.dumps(rec), flush=True)
    train_time = time.time() - t0
    return model, tok, template, enc, log, train_time, n_params


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", help="checkpoint folder to write")
    ap.add_argument("--eval", help="evaluate an existing checkpoint folder")
    ap.add_argument("--init", help="start from this checkpoint folder instead of random init")
    ap.add_argument("-n", type=int, default=200)
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--wd", type=float, default=0.1)
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--alpha", type=float, default=1e-4, help="sequence-wise balance loss weight")
    ap.add_argument("--gamma", type=float, default=1e-3, help="bias update speed")
    ap.add_argument("--mtp-lambda", type=float, default=0.3)
    ap.add_argument("--vocab", type=int, default=320, help="BPE target vocab (incl. 3 specials)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1, help="1 is ~10x faster than 2 on a contended CPU")
    ap.add_argument("--log-every", type=int, default=25)
    ap.add_argument("--eval-every", type=int, default=250)
    ap.add_argument("--eval-n-during", type=int, default=64)
    ap.add_argument("--config-override", default=None, help="JSON merged into the model config")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.eval:
        model, tok, template = load_checkpoint(args.eval)
        enc = Encoder(tok, template)
        acc, fails = evaluate(model, enc, args.n, seed=1)
        mtp_acc, main_acc = mtp_accuracy(model, enc, args.n)
        for i, l in enumerate(expert_load(model, enc, args.n)):
            print(f"MoE layer {i}: max/mean load {l['max_over_mean']} min/mean {l['min_over_mean']} counts {l['counts']}")
        print(f"accuracy: {100 * acc:.1f}% ({round(acc * args.n)}/{args.n}); MTP next-next token acc {mtp_acc:.4f}; "
              f"main next-token acc {main_acc:.4f}")
        for q, t in fails[:10]:
            print("FAIL", q, repr(t))
        return
    model, tok, template, enc, log, train_time, n_params = train(args)
    round_to_bf16_(model)  # evaluate exactly what is saved
    acc, fails = evaluate(model, enc, args.n, seed=1)
    mtp_acc, main_acc = mtp_accuracy(model, enc, args.n)
    summary = {"train_time_s": round(train_time, 1), "params": n_params, "final": log[-1],
               "heldout_greedy_accuracy": acc, "n": args.n, "mtp_next_next_acc": mtp_acc,
               "main_next_acc": main_acc, "expert_load": expert_load(model, enc, args.n), "args": vars(args), "failures": fails[:10]}
    print(json.dumps(summary, indent=1), flush=True)
    if args.out:
        save_checkpoint(model, tok, template, args.out)
        with open(os.path.join(args.out, "train_log.json"), "w") as f:
            json.dump({"summary": summary, "log": log}, f, indent=1, ensure_ascii=False)


if __name__ == "__main__":
    main()
