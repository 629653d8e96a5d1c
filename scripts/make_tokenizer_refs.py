#!/usr/bin/env python3
"""Reference data for the tokenizer tests (tests/data/tokenizers/).

1. Trains small byte-level BPE tokenizers with HF `tokenizers` using exactly the normalizer,
   pre-tokenizer, post-processor, decoder and added-token configurations of DeepSeek-V3/R1,
   DeepSeek-V2 (deepseek-llm splits), R1-Distill-Qwen (Qwen2) and R1-Distill-Llama (Llama-3),
   and saves tokenizer.json + tokenizer_config.json under tests/data/tokenizers/<name>/.
2. Builds a corpus (fixed seed) of >= 5,000 strings: English, CJK + kana, Korean, Cyrillic,
   Arabic, Devanagari, Thai, emoji ZWJ / skin tones, code, long digit runs, whitespace runs,
   CRLF, special tokens in text, random code points from all planes, a 100 kB word; plus byte
   strings with invalid UTF-8 (HF takes str: their reference is HF on
   bytes.decode('utf-8', 'replace'), the repair dsv3 applies).
3. Stores HF's ids (encode without special tokens; the with-special form is checked here to be
   prefix + ids + suffix and stored as that prefix/suffix), and the decode outputs where they
   differ from the input (decode(encode(x)) != x), as computed by transformers' decode (which
   applies clean_up_tokenization_spaces from tokenizer_config.json).
4. Per-code-point probes of every pre-tokenizer over all of Unicode (ranges of code points with
   the same split signature) and HF's NFC of every code point that NFC changes.

Pinned: tokenizers 0.23.3, transformers 5.23.0 (scripts/requirements.txt).
Usage: /work/venv/bin/python scripts/make_tokenizer_refs.py
"""
import json
import os
import random
import sys

import tokenizers
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers
from tokenizers import pre_tokenizers, processors, trainers

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
OUT = os.path.join(ROOT, 'tests', 'data', 'tokenizers')
TEMPLATES = os.path.join(ROOT, '..', 'shared', 'data', 'templates')
SEED = 20261122

# ---------------------------------------------------------------------------------------------
# Pre-tokenizer regexes, as written in the models' tokenizer.json files.
V3_SPLITS = [
    r"\p{N}{1,3}",
    "[一-龥぀-ゟ゠-ヿ]+",
    "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+|"
    " ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+",
]
# deepseek-llm (V2): the singleton-decomposable code points are written as escapes so that
# nothing NFC-normalizes them on the way.
V2_LETTERS = ("A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚ"
              "Ḁ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-\u1F7Dᾀ-ᾴᾶ-ᾼ\u1FBEῂ-ῄῆ-ῌῐ-\u1FD3ῖ-\u1FDBῠ-Ῥῲ-ῴῶ-ῼ"
              "ℂℇℊ-ℓℕℙ-ℝℤ\u2126ℨ\u212A-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗ"
              "Ａ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃")
V2_SPLITS = [
    "[\r\n]",
    "\\s?[" + V2_LETTERS + "]+",
    "\\s?[!-/:-~！-／：-～‘-‟　-。]+",
    "\\s+$",
    "[一-龥ࠀ-一가-퟿]+",
    "\\p{N}+",
]
LLAMA3_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
                r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|"
               r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")

BOS, EOS = "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"


def split_seq(patterns, byte_level_regex=False):
    steps = [pre_tokenizers.Split(Regex(p), behavior="isolated", invert=False) for p in patterns]
    steps.append(pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True,
                                          use_regex=byte_level_regex))
    return pre_tokenizers.Sequence(steps)


def at(content, special=True, normalized=None, **kw):
    return AddedToken(content, special=special,
                      normalized=(not special) if normalized is None else normalized, **kw)


def v3_added():
    # ids 0..2 first (inside the BPE vocab as in V3), the rest appended after the vocab.
    head = [at(BOS, normalized=True), at(EOS, normalized=True), at("<｜▁pad▁｜>", normalized=True)]
    tail = [at(f"<｜place▁holder▁no▁{i}｜>", normalized=True) for i in range(4)]
    tail += [at("<think>", special=False, normalized=True), at("</think>", special=False, normalized=True)]
    tail += [at(s, normalized=True) for s in [
        "<｜fim▁hole｜>", "<｜fim▁begin｜>", "<｜fim▁end｜>", "<｜User｜>", "<｜Assistant｜>",
        "<|EOT|>", "<｜tool▁calls▁begin｜>", "<｜tool▁calls▁end｜>", "<｜tool▁call▁begin｜>",
        "<｜tool▁call▁end｜>", "<｜tool▁outputs▁begin｜>", "<｜tool▁outputs▁end｜>",
        "<｜tool▁output▁begin｜>", "<｜tool▁output▁end｜>", "<｜tool▁sep｜>"]]
    return head, tail


CONFIGS = {
    # DeepSeek-V3 / R1: empty normalizer Sequence, 3 Splits + ByteLevel, BOS template.
    'deepseek_v3': dict(
        normalizer=normalizers.Sequence([]), pre=split_seq(V3_SPLITS), added=v3_added(),
        ignore_merges=False, bos=True, tokenizer_class='LlamaTokenizerFast', clean_up=False,
        template='deepseek-ai-DeepSeek-R1-0528.jinja'),
    # DeepSeek-V2 / DeepSeek-LLM: 6 Splits + ByteLevel; BOS/EOS at the end of the vocab; a few
    # non-special added letters (normalized) as in the DeepSeek-LLM vocab.
    'deepseek_v2': dict(
        normalizer=None, pre=split_seq(V2_SPLITS),
        added=([], [at(BOS, normalized=True), at(EOS, normalized=True)] +
               [at(c, special=False, normalized=True) for c in "øöúÿõ÷ûýÀùÁþü"]),
        ignore_merges=False, bos=True, tokenizer_class='LlamaTokenizerFast', clean_up=False,
        template=None),
    # R1-Distill-Qwen: NFC, Qwen2 Split + ByteLevel, BOS template (DeepSeek's distill config).
    'qwen2': dict(
        normalizer=normalizers.NFC(), pre=split_seq([QWEN2_SPLIT]),
        added=([], [at("<|endoftext|>", normalized=False), at("<|im_start|>", normalized=False),
                    at("<|im_end|>", normalized=False), at(BOS, normalized=False),
                    at(EOS, normalized=False), at("<｜User｜>", normalized=False),
                    at("<｜Assistant｜>", normalized=False),
                    at("<think>", special=False, normalized=False),
                    at("</think>", special=False, normalized=False),
                    at("<tool_call>", special=False, normalized=False),
                    # A normalized added token: matched on the NFC text ("é" composed).
                    at("caf\u00e9!", special=False, normalized=True)]),
        ignore_merges=False, bos=True, tokenizer_class='LlamaTokenizerFast', clean_up=False,
        template='deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja'),
    # R1-Distill-Llama: Llama-3 Split + ByteLevel, ignore_merges, BOS template, clean_up true;
    # extra added tokens exercise lstrip / rstrip / single_word.
    'llama3': dict(
        normalizer=None, pre=split_seq([LLAMA3_SPLIT]),
        added=([], [at(BOS), at(EOS), at("<｜User｜>"), at("<｜Assistant｜>"),
                    at("<|eot_id|>"), at("<|reserved_special_token_0|>"),
                    at("<mask>", lstrip=True), at("<sep>", rstrip=True),
                    at("<both>", lstrip=True, rstrip=True),
                    at("word", special=False, single_word=True),
                    at("<think>", special=False), at("</think>", special=False)]),
        ignore_merges=True, bos=True, tokenizer_class='LlamaTokenizerFast', clean_up=True,
        template='deepseek-ai-DeepSeek-R1-Distill-Llama-8B.jinja'),
}

# ---------------------------------------------------------------------------------------------
# Text generation.
ENGLISH = ("the of and to in is that it was for on are as with his they at be this from have or by "
           "one had not but what all were when we there can an your which their said if do will "
           "each about how up out them then she many some so these would other into has more her two "
           "like him see time could no make than first been its who now people my made over did down "
           "only way find use may water long little very after words called just where most know "
           "tokenizer DeepSeek model attention latent expert routing sparse Hello World OpenAI "
           "naïve café résumé coöperate façade jalapeño Zürich São Paulo Kraków Ærøskøbing").split()
CONTRACTIONS = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T", "'RE", "'Ve", "'M", "'LL",
                "'D", "n't", "N'T", "'ſ", "'K"]
PUNCT = list(".,;:!?…—–-()[]{}<>\"'`~@#$%^&*_+=|\\/") + ["...", "?!", "!!", "``", "''", "«", "»",
                                                         "「", "」", "，", "。", "、", "！", "？"]


def rand_from(rng, ranges, n):
    out = []
    for _ in range(n):
        lo, hi = rng.choice(ranges)
        out.append(chr(rng.randint(lo, hi)))
    return ''.join(out)


SCRIPTS = {
    'cjk': [(0x4E00, 0x9FA5), (0x3040, 0x309F), (0x30A0, 0x30FF), (0x3400, 0x4DBF), (0x9FA6, 0x9FFF),
            (0xF900, 0xFAFF), (0x20000, 0x2A6DF), (0x3000, 0x303F), (0xFF00, 0xFFEF)],
    'korean': [(0xAC00, 0xD7A3), (0x1100, 0x11FF), (0x3130, 0x318F)],
    'cyrillic': [(0x0410, 0x044F), (0x0400, 0x04FF)],
    'arabic': [(0x0621, 0x064A), (0x064B, 0x0652), (0x0660, 0x0669), (0x06F0, 0x06F9), (0x0600, 0x06FF)],
    'devanagari': [(0x0905, 0x0939), (0x093E, 0x094D), (0x0966, 0x096F), (0x0900, 0x097F)],
    'thai': [(0x0E01, 0x0E2E), (0x0E30, 0x0E3A), (0x0E40, 0x0E4E), (0x0E50, 0x0E59)],
    'greek': [(0x0391, 0x03C9), (0x1F00, 0x1FFF)],
    'latin_ext': [(0x00C0, 0x024F), (0x1E00, 0x1EFF), (0x0300, 0x036F)],
    'hebrew': [(0x05D0, 0x05EA), (0x0591, 0x05C7)],
}
EMOJI = ["👩‍👩‍👧‍👦", "👍🏽", "👍🏿", "🧑🏻‍💻", "🇯🇵", "🇺🇸", "1️⃣", "#️⃣", "❤️", "🏳️‍🌈", "😀", "🤖", "👨‍❤️‍💋‍👨",
         "🫠", "🙂", "✨", "🔥", "🚀", "👋🏼", "🤷‍♀️", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "©️", "™", "☕", "🎉"]
SPACES = [" ", "  ", "   ", "\t", "\n", "\r\n", "\n\n", "\r", " \n", "\t\t", "\u00a0", "\u3000",
          "\u2028", "\u2029", "\u0085", "\u000b", "\u000c", "\u180e", "\u200b", "\u2009", "\u202f",
          "\u205f", "\u1680", " \t \n", "\n \n", "     \n\n  "]
DIGITS = ["0123456789", "٠١٢٣٤٥٦٧٨٩", "۰۱۲۳", "०१२३४५", "０１２３", "²³¹", "½¼", "ⅠⅡⅫ", "①②", "๑๒๓"]
CODE = [
    "def f(x):\n    return x ** 2  # square\n",
    "for (int i = 0; i < n; ++i) {\n\tsum += a[i] * b[i];\n}\n",
    "{\"name\": \"dsv3\", \"version\": [0, 1, 0], \"ok\": true}",
    "#include <vector>\nstd::vector<int32_t> ids;\n",
    "SELECT id, name FROM users WHERE age >= 18 ORDER BY name;",
    "const x = arr.map((v) => v * 2).filter(Boolean);",
    "if __name__ == '__main__':\r\n    main()\r\n",
    "fn main() { println!(\"{}\", 1_000_000u64); }",
    "$ ls -la /usr/lib/x86_64-linux-gnu | grep .so.6",
    "<div class=\"a\">&nbsp;&lt;tag&gt;</div>",
    "x_1 = y__2 + __init__.py + file.json + .gitignore + _private",
    "    \n\t\n  if (a) {\n      b();\n  }\n",
]


def gen_string(rng, kind, specials):
    if kind == 'english':
        words = []
        for _ in range(rng.randint(1, 18)):
            w = rng.choice(ENGLISH)
            r = rng.random()
            if r < 0.1:
                w = w.upper()
            elif r < 0.2:
                w = w.capitalize()
            if rng.random() < 0.15:
                w += rng.choice(CONTRACTIONS)
            if rng.random() < 0.15:
                w += rng.choice(PUNCT)
            words.append(w)
        return rng.choice([" ", " ", " ", "  ", "\n"]).join(words) if rng.random() < 0.2 else " ".join(words)
    if kind in SCRIPTS:
        parts = []
        for _ in range(rng.randint(1, 6)):
            parts.append(rand_from(rng, SCRIPTS[kind], rng.randint(1, 12)))
            parts.append(rng.choice([" ", "", "、", "。", ", ", "! ", "\n", "1234", " abc "]))
        return ''.join(parts)
    if kind == 'emoji':
        return ''.join(rng.choice(EMOJI + [" ", "a", "!", " hi "]) for _ in range(rng.randint(1, 10)))
    if kind == 'code':
        return ''.join(rng.choice(CODE) for _ in range(rng.randint(1, 3)))
    if kind == 'digits':
        s = ''.join(rng.choice("0123456789") for _ in range(rng.randint(1, 60)))
        r = rng.random()
        if r < 0.3:
            s = rng.choice(["$", "v", "x=", " ", "-", "#", "pi="]) + s
        elif r < 0.5:
            s = s[:len(s) // 2] + rng.choice([".", ",", " ", "_", "e", "/"]) + s[len(s) // 2:]
        elif r < 0.7:
            s += ''.join(rng.choice(rng.choice(DIGITS)) for _ in range(rng.randint(1, 8)))
        return s
    if kind == 'spaces':
        return ''.join(rng.choice(SPACES + ["a", "b.", "x", "1", "!", "中"]) for _ in range(rng.randint(1, 12)))
    if kind == 'special':
        parts = []
        for _ in range(rng.randint(1, 6)):
            r = rng.random()
            if r < 0.4:
                parts.append(rng.choice(specials))
            elif r < 0.5:
                parts.append(rng.choice(specials)[:-1])  # a broken special token
            else:
                parts.append(rng.choice(["Hi", " there", "\n", " ", "  ", "word", "a word b", "sword",
                                         "words", "_word", "x", "你好", "\t", "!"]))
        return ''.join(parts)
    if kind == 'random_cp':
        out = []
        for _ in range(rng.randint(1, 24)):
            r = rng.random()
            if r < 0.5:
                c = rng.randint(0, 0x2FFFF)
            elif r < 0.6:
                c = rng.randint(0x30000, 0x10FFFF)
            else:
                c = rng.randint(0, 0x3000)
            if 0xD800 <= c <= 0xDFFF:
                c = 0xFFFD
            out.append(chr(c))
        return ''.join(out)
    if kind == 'nfc':
        base = rng.choice(["e\u0301", "A\u030a", "\u212b", "\u2126", "o\u0308\u0304", "\u1100\u1161\u11a8",
                           "\u1100\u1161", "\uac00\u11a8", "q\u0307\u0323", "q\u0323\u0307", "\u0958",
                           "\u00c5\u0301", "e\u0301\u0301", "\u0344", "\u0f73", "\u1e9b\u0323",
                           "caf\u00e9!", "cafe\u0301!", "\u1ff3\u0301"])
        return ''.join(rng.choice([base, " ", "x", base]) for _ in range(rng.randint(1, 5)))
    raise ValueError(kind)


KINDS = (['english'] * 12 + list(SCRIPTS) * 2 + ['emoji'] * 2 + ['code'] * 2 + ['digits'] * 3 +
         ['spaces'] * 3 + ['special'] * 3 + ['random_cp'] * 4 + ['nfc'] * 2)


def build_corpus(specials):
    rng = random.Random(SEED)
    corpus = ["", " ", "\n", "\r\n", "a", "Hello world", "Hello, world!", "  leading", "trailing  ",
              "I'm here, don't you'LL SEE", "1234567", "12345678901234567890", "日本語のテキスト",
              "한국어 텍스트", "Привет, мир!", "مرحبا بالعالم", "नमस्ते दुनिया", "สวัสดีชาวโลก",
              "a\r\nb\r\n\r\nc", "x" + "\u00a0" * 5 + "y", "\t\tindent", "..." * 20, "!" * 50]
    while len(corpus) < 5200:
        kind = rng.choice(KINDS)
        corpus.append(gen_string(rng, kind, specials))
    # Mixed multi-kind strings.
    for _ in range(300):
        corpus.append(''.join(gen_string(rng, rng.choice(KINDS), specials) for _ in range(3)))
    # A 100 kB single word (letters only, so every pre-tokenizer keeps it as one piece).
    letters = "abcdefghijklmnopqrstuvwxyz"
    corpus.append(''.join(rng.choice(letters) for _ in range(100_000)))
    return corpus


def build_invalid(rng):
    """Byte strings with invalid UTF-8 (stored hex-encoded)."""
    bad = [b"\xff", b"\xc0\xaf", b"\xe0\x80\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xc3",
           b"\xe4\xbd", b"\xf0\x9f\x98", b"\x80", b"\xbf\xbf", b"\xfe\xfe", b"\xf8\x88\x80\x80\x80",
           b"\xc3\x28", b"\xe2\x28\xa1", b"\xf0\x28\x8c\xbc", b"\xf0\x9f\x98\x80"]
    out = []
    for _ in range(300):
        parts = []
        for _ in range(rng.randint(1, 6)):
            parts.append(rng.choice(bad) if rng.random() < 0.5 else
                         rng.choice(["abc", " ", "中文", "é", "1 2", "\n", "😀"]).encode())
        out.append(b''.join(parts))
    return out


def training_text(rng):
    specials = []
    lines = []
    for _ in range(30000):
        lines.append(gen_string(rng, rng.choice(KINDS[:-7] + ['english'] * 10), specials or ["<x>"]))
    return lines


# ---------------------------------------------------------------------------------------------
def make_tokenizer(name, cfg, train_lines):
    head, tail = cfg['added']
    tok = Tokenizer(models.BPE(ignore_merges=cfg['ignore_merges']))
    if cfg['normalizer'] is not None:
        tok.normalizer = cfg['normalizer']
    tok.pre_tokenizer = cfg['pre']
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=3000, min_frequency=2, show_progress=False,
                                  special_tokens=head,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(train_lines, trainer=trainer)
    tok.add_tokens(tail)
    if cfg['bos']:
        post = processors.TemplateProcessing(
            single=f"{BOS} $A", pair=f"{BOS} $A {BOS} $B",
            special_tokens=[(BOS, tok.token_to_id(BOS))])
        if name == 'llama3':
            post = processors.Sequence([processors.ByteLevel(trim_offsets=False), post])
        tok.post_processor = post
    else:
        tok.post_processor = processors.ByteLevel(trim_offsets=False)
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    tok.save(os.path.join(d, 'tokenizer.json'), pretty=False)
    conf = {
        'add_bos_token': cfg['bos'], 'add_eos_token': False,
        'bos_token': {'__type': 'AddedToken', 'content': BOS, 'lstrip': False, 'normalized': True,
                      'rstrip': False, 'single_word': False},
        'eos_token': {'__type': 'AddedToken', 'content': EOS, 'lstrip': False, 'normalized': True,
                      'rstrip': False, 'single_word': False},
        'pad_token': {'__type': 'AddedToken', 'content': EOS, 'lstrip': False, 'normalized': True,
                      'rstrip': False, 'single_word': False},
        'clean_up_tokenization_spaces': cfg['clean_up'], 'legacy': True,
        'model_max_length': 131072, 'sp_model_kwargs': {}, 'unk_token': None,
        'tokenizer_class': cfg['tokenizer_class'],
    }
    if cfg['template']:
        with open(os.path.join(TEMPLATES, cfg['template']), encoding='utf-8') as f:
            conf['chat_template'] = f.read()
    with open(os.path.join(d, 'tokenizer_config.json'), 'w', encoding='utf-8') as f:
        json.dump(conf, f, ensure_ascii=False, indent=1)
    return d


def probe_strings(c):
    ch = chr(c)
    return "a" + ch + "1" + ch + ch + "," + ch + " " + ch + "\n" + ch + "x " + ch + "一" + ch + "'s" + ch


def unicode_probes(pre):
    """Ranges of code points whose probe string splits the same way (piece lengths in chars)."""
    ranges = []
    for c in range(0x110000):
        if 0xD800 <= c <= 0xDFFF:
            continue
        sig = ','.join(str(len(p)) for p, _ in pre.pre_tokenize_str(probe_strings(c)))
        if ranges and ranges[-1][2] == sig and ranges[-1][1] == c - 1:
            ranges[-1][1] = c
        else:
            ranges.append([c, c, sig])
    return ranges


def main():
    from transformers import AutoTokenizer
    rng = random.Random(SEED + 1)
    train_lines = training_text(rng)
    os.makedirs(OUT, exist_ok=True)
    all_specials = sorted({t.content for cfg in CONFIGS.values() for t in cfg['added'][0] + cfg['added'][1]})
    corpus = build_corpus(all_specials)
    invalid = build_invalid(random.Random(SEED + 2))
    with open(os.path.join(OUT, 'corpus.jsonl'), 'w', encoding='utf-8') as f:
        f.write(json.dumps({'tokenizers': tokenizers.__version__, 'seed': SEED}) + '\n')
        for s in corpus:
            f.write(json.dumps({'t': s}, ensure_ascii=False) + '\n')
        for b in invalid:
            f.write(json.dumps({'hex': b.hex(), 't': b.decode('utf-8', 'replace')}, ensure_ascii=False) + '\n')
    texts = corpus + [b.decode('utf-8', 'replace') for b in invalid]
    print(f'corpus: {len(corpus)} strings + {len(invalid)} invalid-UTF-8 byte strings')

    for name, cfg in CONFIGS.items():
        d = make_tokenizer(name, cfg, train_lines)
        tok = Tokenizer.from_file(os.path.join(d, 'tokenizer.json'))
        hf = AutoTokenizer.from_pretrained(d)
        plain = tok.encode_batch(texts, add_special_tokens=False)
        special = tok.encode_batch(texts, add_special_tokens=True)
        prefix = special[0].ids[:len(special[0].ids) - len(plain[0].ids)] if texts[0] == "" else None
        prefix = [tok.token_to_id(BOS)] if cfg['bos'] else []
        n_roundtrip = 0
        with open(os.path.join(d, 'refs.jsonl'), 'w', encoding='utf-8') as f:
            f.write(json.dumps({'prefix': prefix, 'suffix': [], 'count': len(texts)}) + '\n')
            for k, (text, p, s) in enumerate(zip(texts, plain, special)):
                assert s.ids == prefix + p.ids, (name, k)
                # transformers agrees with tokenizers on the ids (with and without specials).
                if k % 7 == 0 or len(text) > 10000:
                    assert hf(text, add_special_tokens=False)['input_ids'] == p.ids, (name, k, text)
                    assert hf(text)['input_ids'] == s.ids, (name, k)
                rec = {'ids': ' '.join(map(str, p.ids))}
                dec = hf.decode(p.ids, skip_special_tokens=False)
                if dec != text:
                    rec['dec'] = dec
                else:
                    n_roundtrip += 1
                dec_skip = hf.decode(p.ids, skip_special_tokens=True)
                if dec_skip != dec:
                    rec['dec_skip'] = dec_skip
                f.write(json.dumps(rec, ensure_ascii=False) + '\n')
        print(f'{name}: vocab {tok.get_vocab_size()}, {n_roundtrip}/{len(texts)} round-trip')
        # Per-code-point split signatures over all of Unicode.
        ranges = unicode_probes(tok.pre_tokenizer)
        with open(os.path.join(d, 'unicode_probes.txt'), 'w') as f:
            for a, b, sig in ranges:
                f.write(f'{a:x} {b:x} {sig}\n')
        print(f'{name}: {len(ranges)} probe ranges')
    # HF's NFC of each code point that NFC changes (Qwen2's normalizer).
    nfc = normalizers.NFC()
    with open(os.path.join(OUT, 'qwen2', 'nfc_changes.txt'), 'w') as f:
        for c in range(0x110000):
            if 0xD800 <= c <= 0xDFFF:
                continue
            n = nfc.normalize_str(chr(c))
            if n != chr(c):
                f.write(f'{c:x} ' + ' '.join(f'{ord(x):x}' for x in n) + '\n')


if __name__ == '__main__':
    main()
