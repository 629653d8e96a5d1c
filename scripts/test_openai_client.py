#!/usr/bin/env python3
"""Drives a running `dsv3 serve` with the official `openai` Python package (pinned:
openai==3.51.0) and checks what an unmodified client sees: models, chat (plain and streamed,
with reasoning_content split on R1-style models), completions, logprobs, usage in the last
stream chunk, and errors mapped to the client's exception classes.

usage: scripts/test_openai_client.py --base-url http://127.0.0.1:PORT/v1 [--reference META_JSON]
With --reference (tests/data/builtin_ref/meta.json) the greedy answers are compared with the
Hugging Face transformers reference of the built-in model.
"""
import argparse
import json
import sys

import openai


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base-url", required=True)
    ap.add_argument("--reference")
    a = ap.parse_args()
    assert a.base_url.startswith("http://127.0.0.1:") or a.base_url.startswith("http://localhost:"), \
        "loopback only"
    client = openai.OpenAI(base_url=a.base_url, api_key="unused", max_retries=0, timeout=120)
    fails = []

    def check(cond, what):
        print(("ok   " if cond else "FAIL ") + what)
        if not cond:
            fails.append(what)

    models = client.models.list()
    model = models.data[0].id
    check(len(models.data) == 1, f"models.list -> {model}")

    refs = []
    if a.reference:
        for p in json.load(open(a.reference))["prompts"]:
            t = p["greedy_text"]
            r, c = t.split("</think>", 1)
            refs.append((p["question"], r, c.lstrip("\n")))
    else:
        refs.append(("What is 12+30?", None, None))

    for q, want_r, want_c in refs:
        msgs = [{"role": "user", "content": q}]
        r = client.chat.completions.create(model=model, messages=msgs, temperature=0, max_tokens=120)
        m = r.choices[0].message
        reasoning = getattr(m, "reasoning_content", None)
        if reasoning is None and m.model_extra:
            reasoning = m.model_extra.get("reasoning_content")
        check(r.choices[0].finish_reason == "stop", f"chat {q!r}: finish_reason {r.choices[0].finish_reason}")
        if want_c is not None:
            check(m.content == want_c, f"chat {q!r}: content {m.content!r} == HF {want_c!r}")
            check(reasoning == want_r, f"chat {q!r}: reasoning_content matches HF greedy")
        check(r.usage is not None and r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens,
              "chat usage adds up")

        s = client.chat.completions.create(model=model, messages=msgs, temperature=0, max_tokens=120,
                                           stream=True, stream_options={"include_usage": True})
        sr, sc, fin, usage = "", "", None, None
        for ch in s:
            if ch.usage:
                usage = ch.usage
            if not ch.choices:
                continue
            d = ch.choices[0].delta
            extra = d.model_extra or {}
            sr += extra.get("reasoning_content") or ""
            sc += d.content or ""
            fin = ch.choices[0].finish_reason or fin
        check(sc == m.content and sr == reasoning and fin == "stop", f"stream {q!r} == non-stream")
        check(usage is not None and usage.completion_tokens == r.usage.completion_tokens, "stream usage chunk")

    r = client.chat.completions.create(model=model, messages=[{"role": "user", "content": refs[0][0]}],
                                       temperature=0, max_tokens=4, logprobs=True, top_logprobs=2)
    lp = r.choices[0].logprobs.content
    check(len(lp) == 4 and all(len(e.top_logprobs) == 2 and e.logprob <= 0 for e in lp), "chat logprobs")
    check(r.choices[0].finish_reason == "length", "max_tokens -> finish_reason length")

    c = client.completions.create(model=model, prompt="<｜User｜>" + refs[0][0] + "<｜Assistant｜><think>\n",
                                  temperature=0, max_tokens=200)
    if refs[0][1] is not None:
        check(c.choices[0].text == refs[0][1] + "</think>\n\n" + refs[0][2], "completions text == HF greedy")
    else:
        check(len(c.choices[0].text) > 0, "completions text")

    for what, fn, exc in [
        ("unknown model -> NotFoundError", lambda: client.chat.completions.create(
            model="nope", messages=[{"role": "user", "content": "x"}]), openai.NotFoundError),
        ("empty messages -> BadRequestError", lambda: client.chat.completions.create(
            model=model, messages=[]), openai.BadRequestError),
        ("max_tokens beyond context -> BadRequestError", lambda: client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": "x"}], max_tokens=10**7), openai.BadRequestError),
    ]:
        try:
            fn()
            check(False, what + " (no error)")
        except exc as e:
            check(isinstance(e.body, dict) and "message" in e.body, what)

    print(f"{len(fails)} failure(s)")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
