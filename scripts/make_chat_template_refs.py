#!/usr/bin/env python3
"""Reference data for dsv3's Jinja engine and chat templates.

Writes (under tests/data/chat_templates/):
  refs_<template>.json  for every chat template: >= 20 conversations rendered with
                        transformers' apply_chat_template(tokenize=False) through a
                        PreTrainedTokenizerFast whose bos/eos are DeepSeek's real strings.
                        Cases where transformers raises are kept with "error".
  jinja_cases.json      small templates for the Jinja engine unit tests, rendered with the
                        exact jinja2 environment transformers compiles chat templates with
                        (transformers.utils.chat_template_utils._cached_compile_jinja_template).

Pinned: transformers 5.23.0, jinja2 3.1.6, tokenizers 0.23.3 (scripts/requirements.txt).
Run: /work/venv/bin/python scripts/make_chat_template_refs.py
"""
import json
import os
import sys

import jinja2
import transformers
from tokenizers import Tokenizer, models
from transformers import PreTrainedTokenizerFast
from transformers.utils.chat_template_utils import _cached_compile_jinja_template

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "data", "chat_templates")
SHARED = os.path.join(ROOT, "..", "shared", "data", "templates")

BOS = "<｜begin▁of▁sentence｜>"
EOS = "<｜end▁of▁sentence｜>"

TEMPLATES = {
    # name: (path, special tokens as the checkpoint's tokenizer_config.json declares them)
    "DeepSeek-R1": (os.path.join(SHARED, "deepseek-ai-DeepSeek-R1.jinja"), dict(bos_token=BOS, eos_token=EOS, pad_token=EOS)),
    "DeepSeek-R1-0528": (os.path.join(SHARED, "deepseek-ai-DeepSeek-R1-0528.jinja"), dict(bos_token=BOS, eos_token=EOS, pad_token=EOS)),
    "DeepSeek-V3.1": (os.path.join(SHARED, "deepseek-ai-DeepSeek-V3.1.jinja"), dict(bos_token=BOS, eos_token=EOS, pad_token=EOS)),
    "DeepSeek-R1-Distill-Llama-8B": (os.path.join(SHARED, "deepseek-ai-DeepSeek-R1-Distill-Llama-8B.jinja"), dict(bos_token=BOS, eos_token=EOS)),
    "DeepSeek-R1-Distill-Qwen-32B": (os.path.join(SHARED, "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja"), dict(bos_token=BOS, eos_token=EOS, pad_token=EOS)),
    "DeepSeek-V3": (os.path.join(OUT, "deepseek-ai-DeepSeek-V3.jinja"), dict(bos_token=BOS, eos_token=EOS, pad_token=EOS)),
    "DeepSeek-V2-Chat": (os.path.join(OUT, "deepseek-ai-DeepSeek-V2-Chat.jinja"), dict(bos_token=BOS, eos_token=EOS)),
    "DeepSeek-V2.5": (os.path.join(OUT, "deepseek-ai-DeepSeek-V2.5.jinja"), dict(bos_token=BOS, eos_token=EOS)),
    # Other templates (from llama.cpp models/templates, see SOURCES.md) that exercise more of the
    # Jinja engine: macros, break, negative-step range, slices, get(), tojson of tools, CRLF.
    "Kimi-K2": (os.path.join(OUT, "other", "moonshotai-Kimi-K2.jinja"), dict(bos_token="[BOS]", eos_token="[EOS]")),
    "Kimi-K2-Thinking": (os.path.join(OUT, "other", "moonshotai-Kimi-K2-Thinking.jinja"), dict(bos_token="[BOS]", eos_token="<|im_end|>")),
    "GLM-4.6": (os.path.join(OUT, "other", "GLM-4.6.jinja"), dict(eos_token="<|endoftext|>")),
}


def tc(name, args, typ="function", cid=None):
    """An OpenAI-style tool call; args is the JSON string (or an object, for tojson templates)."""
    d = {"type": typ, "function": {"name": name, "arguments": args}}
    return {"id": cid or f"call_{name}", **d}


WEATHER_TOOL = {"type": "function", "function": {"name": "get_weather", "description": "Weather for a city",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
TIME_TOOL = {"type": "function", "function": {"name": "get_time", "description": "Local time",
             "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}}}}

SYS = {"role": "system", "content": "You are a helpful assistant."}
U1 = {"role": "user", "content": "Hi"}
A1 = {"role": "assistant", "content": "Hello! How can I help?"}
U2 = {"role": "user", "content": "What is 2+2?"}


def conversations():
    """(name, messages, add_generation_prompt, tools, kwargs) — the same set for every template."""
    c = []
    add = lambda *a: c.append(a)
    add("single_user_gen", [U1], True, None, {})
    add("single_user_nogen", [U1], False, None, {})
    add("system_user_gen", [SYS, U1], True, None, {})
    add("multi_turn", [SYS, U1, A1, U2], True, None, {})
    add("multi_turn_nogen_ends_assistant", [U1, A1, U2, {"role": "assistant", "content": "4"}], False, None, {})
    add("two_system_messages", [SYS, {"role": "system", "content": "Answer briefly."}, U1], True, None, {})
    add("system_after_user", [U1, {"role": "system", "content": "Late system."}, U2], True, None, {})
    add("think_stripped", [U1, {"role": "assistant", "content": "<think>\nThe user greets.\n</think>\n\nHello there."}, U2], True, None, {})
    add("think_two_closers", [U1, {"role": "assistant", "content": "<think>a</think>b</think>final answer"}, U2], True, None, {})
    add("think_no_open_tag", [U1, {"role": "assistant", "content": "reasoning only</think>answer"}], False, None, {})
    add("reasoning_content_field", [U1, {"role": "assistant", "content": "Hello.", "reasoning_content": "Greeting detected."}, U2], True, None, {})
    add("empty_user_content", [{"role": "user", "content": ""}], True, None, {})
    add("empty_assistant_content", [U1, {"role": "assistant", "content": ""}, U2], True, None, {})
    add("empty_system", [{"role": "system", "content": ""}, U1], True, None, {})
    add("unicode", [{"role": "system", "content": "Réponds en français 🇫🇷."},
                    {"role": "user", "content": "日本語とかな、한국어, العربية, हिन्दी, ไทย 👩‍👩‍👧‍👦 👍🏽"},
                    {"role": "assistant", "content": "Привет! ☃ — “quotes” ‘single’ \\ backslash"},
                    {"role": "user", "content": "tabs\tand\nnewlines\r\n and CRLF"}], True, None, {})
    add("special_tokens_in_text", [{"role": "user", "content": "Say <｜end▁of▁sentence｜> and <｜User｜> and {{ not jinja }} {% raw %}"}], True, None, {})
    add("tools_passed_in", [SYS, U1], True, [WEATHER_TOOL, TIME_TOOL], {})
    # Tool calls. content is None (OpenAI style) -> transformers drops the key.
    add("tool_call_content_none", [U1, {"role": "assistant", "content": None, "tool_calls": [tc("get_weather", '{"city": "Paris"}')]},
                                   {"role": "tool", "content": '{"temp": 21}', "tool_call_id": "c1"}], True, [WEATHER_TOOL], {})
    add("tool_call_empty_content", [U1, {"role": "assistant", "content": "", "tool_calls": [tc("get_weather", '{"city": "Paris"}')]},
                                    {"role": "tool", "content": '{"temp": 21}'}], True, [WEATHER_TOOL], {})
    add("tool_call_with_text", [U1, {"role": "assistant", "content": "Let me check.", "tool_calls": [tc("get_weather", '{"city": "Paris"}')]},
                                {"role": "tool", "content": "sunny"}, {"role": "assistant", "content": "It is sunny."}], False, None, {})
    add("two_tool_calls_two_outputs", [SYS, U1, {"role": "assistant", "content": None, "tool_calls": [tc("get_weather", '{"city": "Paris"}'), tc("get_time", '{"tz": "CET"}')]},
                                       {"role": "tool", "content": "sunny"}, {"role": "tool", "content": "12:00"}], True, None, {})
    add("two_tool_calls_empty_content", [U1, {"role": "assistant", "content": "", "tool_calls": [tc("get_weather", '{"city": "Paris"}'), tc("get_time", '{"tz": "CET"}')]},
                                         {"role": "tool", "content": "sunny"}, {"role": "tool", "content": "12:00"},
                                         {"role": "assistant", "content": "Sunny, noon."}], True, None, {})
    add("three_tool_outputs_then_answer", [U1, {"role": "assistant", "content": "", "tool_calls": [tc("a", "{}"), tc("b", '{"x": [1, 2]}'), tc("c", '{"s": "ü"}')]},
                                           {"role": "tool", "content": "A"}, {"role": "tool", "content": "B"}, {"role": "tool", "content": "C"},
                                           {"role": "assistant", "content": "Done."}, U2], True, None, {})
    add("tool_output_last_nogen", [U1, {"role": "assistant", "content": "", "tool_calls": [tc("get_weather", '{"city": "Oslo"}')]},
                                   {"role": "tool", "content": "-3C"}], False, None, {})
    add("two_assistant_tool_turns", [U1, {"role": "assistant", "content": "", "tool_calls": [tc("get_weather", '{"city": "Rome"}')]},
                                     {"role": "tool", "content": "hot"}, {"role": "assistant", "content": "Hot."}, U2,
                                     {"role": "assistant", "content": "", "tool_calls": [tc("get_time", '{"tz": "UTC"}')]},
                                     {"role": "tool", "content": "10:00"}], True, None, {})
    add("tool_call_dict_arguments", [U1, {"role": "assistant", "content": "", "tool_calls": [tc("get_weather", {"city": "Zürich", "units": ["C", 1, 2.5, True, None]})]},
                                     {"role": "tool", "content": "ok"}], True, None, {})
    add("long_history", [SYS] + [m for i in range(6) for m in ({"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": f"<think>t{i}</think>a{i}"})] + [U2], True, None, {})
    add("kw_thinking_true", [SYS, U1], True, None, {"thinking": True})
    add("kw_enable_thinking_false", [U1], True, None, {"enable_thinking": False})
    add("kw_enable_thinking_true", [U1, A1, U2], True, None, {"enable_thinking": True})
    add("prefix_assistant_thinking", [U1, {"role": "assistant", "content": "Partial", "prefix": True}], False, None, {"thinking": True})
    add("assistant_first", [{"role": "assistant", "content": "I start."}, U1], True, None, {})
    add("only_system_nogen", [SYS], False, None, {})
    add("content_parts_list", [{"role": "user", "content": [{"type": "text", "text": "Look: "}, {"type": "image_url", "image_url": {"url": "x"}}, {"type": "text", "text": "what?"}]}], True, None, {})
    add("named_messages_tool_ids", [{"role": "system", "content": "S", "name": "boss"}, {"role": "user", "content": "u", "name": "ann"},
                                    {"role": "assistant", "content": "", "tool_calls": [tc("get_weather", '{"city": "Lima"}', cid="functions.get_weather:0")]},
                                    {"role": "tool", "content": "warm", "tool_call_id": "functions.get_weather:0"}], True, [WEATHER_TOOL], {})
    # continue_final_message=True (prefill): the last assistant message is left open.
    add("continue_final_assistant", [U1, {"role": "assistant", "content": "The answer is"}], False, None, {}, True)
    add("continue_final_trailing_space", [SYS, U1, {"role": "assistant", "content": "<think>\nLet me think "}], False, None, {}, True)
    add("continue_final_with_gen_error", [U1, {"role": "assistant", "content": "x"}], True, None, {}, True)
    add("continue_final_user", [U1, A1, {"role": "user", "content": "Complete this: 1, 2,"}], False, None, {}, True)
    return c


def render_case(tok, template, name, messages, gen, tools, kwargs, cont=False):
    case = {"name": name, "messages": messages, "add_generation_prompt": gen}
    if cont:
        case["continue_final_message"] = True
    if tools is not None:
        case["tools"] = tools
    if kwargs:
        case["kwargs"] = kwargs
    try:
        out = tok.apply_chat_template(json.loads(json.dumps(messages)), tools=tools, chat_template=template,
                                      add_generation_prompt=gen, continue_final_message=cont,
                                      tokenize=False, **kwargs)
        case["expected"] = out
    except Exception as e:  # noqa: BLE001 - the reference behaviour includes errors
        case["error"] = f"{type(e).__name__}: {e}"
    return case


def make_chat_refs():
    counts = {}
    for tname, (path, specials) in TEMPLATES.items():
        with open(path, encoding="utf-8", newline="") as f:
            template = f.read()
        tok = PreTrainedTokenizerFast(tokenizer_object=Tokenizer(models.BPE()), **specials)
        cases = [render_case(tok, template, *c) for c in conversations()]
        doc = {"template_name": tname, "template_file": os.path.relpath(path, ROOT),
               "template": template, "special_tokens": tok.special_tokens_map,
               "generator": f"transformers {transformers.__version__} apply_chat_template(tokenize=False), jinja2 {jinja2.__version__}",
               "cases": cases}
        with open(os.path.join(OUT, f"refs_{tname}.json"), "w", encoding="utf-8") as f:
            json.dump(doc, f, ensure_ascii=False, indent=1)
            f.write("\n")
        ok = sum("expected" in c for c in cases)
        counts[tname] = (ok, len(cases) - ok)
    for k, (ok, err) in counts.items():
        print(f"{k}: {ok} rendered, {err} reference errors")


# ---------------------------------------------------------------------------------------------
# Jinja engine cases: (template, context). Output comes from the transformers jinja environment.
CTX = {"xs": [3, 1, 2], "d": {"b": 2, "a": 1, "c": None}, "s": "  Héllo Wörld  ", "n": 7, "f": 2.5,
       "e": "", "t": True, "msgs": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}],
       "nested": {"a": {"b": {"c": [10, 20, 30]}}}, "words": ["b", "A", "c", "a"], "neg": -3, "big": 12345678901,
       "fl": [1.5, 0.1, 1e20, 1e-7, 100.0, -0.0], "uni": "日本語テキスト", "ns_name": "x"}

JINJA_CASES = [
    # literals and printing
    "{{ 1 }}|{{ -2 }}|{{ 1.5 }}|{{ 1e3 }}|{{ 1_000 }}|{{ 0x1F }}|{{ 0o17 }}|{{ 0b101 }}",
    "{{ 'a' 'b' \"c\" }}|{{ 'it\\'s' }}|{{ \"q\\\"q\" }}|{{ 'tab\\tnl\\nx' }}|{{ '\\u00e9\\x41\\101' }}|{{ 'back\\\\slash' }}|{{ '\\d' }}",
    "{{ true }}{{ false }}{{ none }}{{ True }}{{ None }}",
    "{{ [1, 'a', none, true, 1.0] }}|{{ (1,) }}|{{ (1, 2) }}|{{ () }}|{{ {'k': 'v', 'n': [1]} }}|{{ [] }}|{{ {} }}",
    "{{ fl }}|{{ fl[0] }}{{ fl[2] }}{{ fl[3] }}{{ fl[5] }}|{{ 1/3 }}|{{ 2**0.5 }}|{{ 1e16 }}|{{ 1e15 }}|{{ 0.0001 }}|{{ 0.00001 }}",
    "{{ \"it's\" }}|{{ [\"it's\", 'say \"x\"', 'both \\' \"'] }}|{{ ['\\n\\t\\\\', 'é', '\\x07'] }}",
    "{{ undefined_var }}|{{ d.missing }}|{{ d['missing'] }}|{{ xs[10] }}|{{ none['x'] }}",
    # arithmetic and operators
    "{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 7 % -3 }} {{ 7 / 2 }} {{ 2 ** 10 }} {{ 2 ** -1 }} {{ 7.5 // 2 }} {{ -7.5 % 2 }}",
    "{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 2 ** 3 ** 2 }} {{ -2 ** 2 }} {{ 10 - 2 - 3 }} {{ 1 + 2.0 }} {{ true + 1 }}",
    "{{ 'ab' * 3 }}|{{ 3 * 'x' }}|{{ [1] * 3 }}|{{ [1, 2] + [3] }}|{{ (1,) + (2,) }}|{{ 'a' ~ 1 ~ none ~ true ~ undefined_var }}",
    "{{ 1 == 1.0 }} {{ 1 != 2 }} {{ 'a' < 'b' }} {{ [1, 2] < [1, 3] }} {{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ none == none }} {{ true == 1 }} {{ 'a' == 'a' }} {{ [1] == [1] }} {{ {'a': 1} == {'a': 1} }}",
    "{{ 'ell' in 'hello' }} {{ 2 in xs }} {{ 'a' in d }} {{ 'z' not in d }} {{ 5 not in xs }} {{ 'x' in undefined_var }} {{ 'b' in ['a', 'b'] }}",
    "{{ not true }} {{ not 0 }} {{ not '' }} {{ not [] }} {{ not none }} {{ 1 and 2 }} {{ 0 or 'x' }} {{ '' and 1 }} {{ none or none }} {{ not 1 == 2 }}",
    "{{ 'yes' if t else 'no' }}|{{ 'yes' if e else 'no' }}|{{ 'x' if false }}|{{ 1 if none else 2 if t else 3 }}",
    # filters
    "{{ s|trim }}|{{ s|trim|upper }}|{{ s|lower }}|{{ s|length }}|{{ uni|length }}|{{ s|title }}|{{ 'hello world'|capitalize }}|{{ 'ab'|upper|lower }}",
    "{{ xs|length }} {{ d|length }} {{ xs|count }} {{ xs|first }} {{ xs|last }} {{ xs|sort }} {{ xs|sort(reverse=true) }} {{ xs|sum }} {{ xs|max }} {{ xs|min }} {{ xs|list }} {{ xs|reverse|list }}",
    "{{ words|sort }} {{ words|sort(case_sensitive=true) }} {{ words|unique|list }} {{ words|join }} {{ words|join(', ') }} {{ words|map('upper')|join('') }} {{ words|max }} {{ words|min }}",
    "{{ msgs|map(attribute='role')|join(',') }}|{{ msgs|selectattr('role', 'equalto', 'user')|list }}|{{ msgs|rejectattr('role', 'eq', 'user')|map(attribute='content')|list }}|{{ msgs|sort(attribute='content')|map(attribute='role')|list }}",
    "{{ xs|select('odd')|list }} {{ xs|reject('odd')|list }} {{ [0, 1, '', 'a', none]|select|list }} {{ xs|map('string')|join('-') }} {{ [1, 2]|map('float')|list }}",
    "{{ d|tojson }}|{{ xs|tojson }}|{{ 'é\"\\n'|tojson }}|{{ none|tojson }}|{{ 1.0|tojson }}|{{ nested|tojson(indent=2) }}|{{ d|tojson(sort_keys=true) }}|{{ [1,{'a':[]}]|tojson(separators=(',', ':')) }}",
    "{{ msgs|tojson }}|{{ {'u': '日本', 'c': '\\x01\\x7f'}|tojson }}|{{ (1, 2)|tojson }}|{{ [true, false, 0.5, -1]|tojson(indent=0) }}",
    "{{ undefined_var|default('dflt') }}|{{ none|default('dflt') }}|{{ ''|default('dflt', true) }}|{{ e|d('D', boolean=true) }}|{{ 0|default(5) }}",
    "{{ '42'|int }} {{ '4.7'|int }} {{ 'x'|int }} {{ 'x'|int(7) }} {{ 4.7|int }} {{ '0x1A'|int(0, 16) }} {{ '3.5'|float }} {{ 'y'|float }} {{ 3|float }} {{ -3|abs }} {{ neg|abs }}",
    "{{ 2.5|round }} {{ 3.5|round }} {{ 2.675|round(2) }} {{ 1.23456|round(3) }} {{ 2.1|round(0, 'ceil') }} {{ 2.9|round(method='floor') }} {{ 42|string }} {{ none|string }} {{ [1]|string }}",
    "{{ d|items|list }}|{% for k, v in d|items %}{{ k }}={{ v }};{% endfor %}|{{ d|dictsort }}|{{ d|dictsort(reverse=true) }}|{{ undefined_var|items|list }}",
    "{{ 'a-b-c'|replace('-', '+') }}|{{ 'aaa'|replace('a', 'b', 2) }}|{{ 'x'|replace('', '.') }}|{{ '%s and %d, %05.1f %%'|format('a', 3, 2.25) }}|{{ '%s=%r'|format('k', 'v') }}",
    "{{ 'l1\\nl2\\n\\nl3'|indent }}|{{ 'l1\\nl2'|indent(2, true) }}|{{ 'a\\n\\nb'|indent('> ', blank=true) }}|{{ '<a href=\"x\">&\\'</a>'|e }}|{{ 'one two  three'|wordcount }}|{{ 'ab'|center(6) }}|",
    "{{ nested.a.b.c[1] }}|{{ nested['a']['b'].c[-1] }}|{{ nested|attr('a') }}|{{ xs.0 }}|{{ msgs.1.role }}",
    # slicing
    "{{ xs[1:] }}|{{ xs[:-1] }}|{{ xs[::-1] }}|{{ xs[::2] }}|{{ uni[1:3] }}|{{ uni[-2:] }}|{{ 'abcdef'[1:5:2] }}|{{ uni[0] }}|{{ uni[-1] }}|{{ xs[5:] }}|{{ 'abc'[::-1] }}|{{ (1,2,3)[1:] }}",
    # string methods
    "{{ s.strip() }}|{{ s.lstrip() }}|{{ s.rstrip() }}|{{ 'xxaxx'.strip('x') }}|{{ 'a,b,,c'.split(',') }}|{{ ' a  b '.split() }}|{{ 'a b c'.split(' ', 1) }}|{{ 'a,b,c'.rsplit(',', 1) }}|{{ 'a\\nb\\r\\nc'.splitlines() }}",
    "{{ 'hello'.startswith('he') }} {{ 'hello'.endswith(('x', 'lo')) }} {{ 'hello'.find('l') }} {{ 'hello'.rfind('l') }} {{ 'hello'.count('l') }} {{ 'hello'.replace('l', 'L') }} {{ 'hello'.upper() }} {{ 'HeLLo'.lower() }} {{ 'hello world'.title() }} {{ 'x'.join(['a', 'b']) }}",
    "{{ '123'.isdigit() }} {{ 'abc'.isalpha() }} {{ 'a1'.isalnum() }} {{ '  '.isspace() }} {{ 'ABC'.isupper() }} {{ 'abc'.islower() }} {{ ''.isdigit() }} {{ 'prefix_x'.removeprefix('prefix_') }} {{ 'x.json'.removesuffix('.json') }} {{ 'a=b=c'.partition('=') }} {{ '7'.zfill(3) }}",
    "{{ '{} and {}'.format('a', 'b') }}|{{ '{1}{0}'.format('a', 'b') }}|{{ '{name}!'.format(name='N') }}|{{ '{{x}}'.format() }}",
    "{{ d.get('a') }} {{ d.get('zz') }} {{ d.get('zz', 'dflt') }} {{ d.keys()|list }} {{ d.values()|list }} {{ d.items()|list }} {{ xs.index(2) }} {{ xs.count(3) }}",
    "{% set parts = 'a</think>b</think>c'.split('</think>') %}{{ parts[-1] }}|{{ 'x</think>y'.split('</think>', 1)[1] }}|{{ parts|length }}",
    # tests
    "{{ 1 is odd }} {{ 2 is even }} {{ 9 is divisibleby 3 }} {{ 9 is divisibleby(4) }} {{ x is defined }} {{ xs is defined }} {{ none is none }} {{ 1 is number }} {{ 1.0 is float }} {{ 1 is integer }} {{ true is boolean }} {{ true is integer }}",
    "{{ 's' is string }} {{ d is mapping }} {{ xs is sequence }} {{ xs is iterable }} {{ 1 is iterable }} {{ range is callable }} {{ 'ab' is lower }} {{ 'AB' is upper }} {{ 2 is in xs }} {{ 2 is eq 2 }} {{ 3 is gt 2 }} {{ 3 is lt 2 }} {{ 2 is ne 2 }} {{ 3 is ge 3 }} {{ 3 is le 2 }}",
    "{{ none is not none }} {{ d.c is none }} {{ d.zz is undefined }} {{ xs is sameas xs }} {{ true is true }} {{ false is false }} {{ 0 is false }} {{ 'upper' is filter }} {{ 'nope' is filter }} {{ 'odd' is test }} {{ not xs is defined }}",
    # control flow
    "{% for x in xs %}{{ loop.index }}:{{ x }}{% if not loop.last %},{% endif %}{% endfor %}",
    "{% for x in xs %}[{{ loop.index0 }} {{ loop.revindex }} {{ loop.revindex0 }} {{ loop.first }} {{ loop.last }} {{ loop.length }} {{ loop.previtem }} {{ loop.nextitem }} {{ loop.cycle('a', 'b') }} {{ loop.depth }}]{% endfor %}",
    "{% for x in xs if x > 1 %}{{ x }}/{{ loop.length }} {% else %}none{% endfor %}|{% for x in [] %}x{% else %}empty{% endfor %}|{% for x in undefined_var %}x{% else %}undef{% endfor %}",
    "{% for k in d %}{{ k }}{% endfor %}|{% for c in 'añb' %}[{{ c }}]{% endfor %}|{% for a, b in [(1, 2), (3, 4)] %}{{ a + b }}{% endfor %}|{% for (a, b) in [[1, 2]] %}{{ a }}{{ b }}{% endfor %}",
    "{% for x in xs %}{% if x == 1 %}{% continue %}{% endif %}{% if x == 2 %}{% break %}{% endif %}{{ x }}{% endfor %}|{% for i in range(5) %}{% if i > 2 %}{% break %}{% endif %}{{ i }}{% endfor %}",
    "{% for i in range(3) %}{% for j in range(2) %}{{ i }}{{ j }}{{ loop.index }} {% endfor %}{{ loop.index }};{% endfor %}",
    "{{ range(3)|list }} {{ range(1, 7, 2)|list }} {{ range(5, 0, -2)|list }} {{ range(0)|list }}",
    "{% if n > 5 %}big{% elif n > 2 %}mid{% else %}small{% endif %}|{% if e %}E{% elif none %}N{% else %}else{% endif %}|{% if xs %}has{% endif %}",
    # set / scoping / namespace
    "{% set a = 1 %}{% set b, c = 2, 3 %}{{ a }}{{ b }}{{ c }}{% set t = (4, 5) %}{% set x, y = t %}{{ x + y }}",
    "{% set x = 0 %}{% for i in xs %}{{ x }}{% set x = x + i %}{{ x }};{% endfor %}{{ x }}",
    "{% set ns = namespace(total=0, items=[]) %}{% for i in xs %}{% set ns.total = ns.total + i %}{% endfor %}{{ ns.total }}|{{ ns.items }}|{% set ns.new = 'n' %}{{ ns.new }}|{{ ns['total'] }}",
    "{% if true %}{% set inner = 'set-in-if' %}{% endif %}{{ inner }}|{% for i in [1] %}{% set loopvar = 'in-loop' %}{% endfor %}{{ loopvar }}|",
    "{% set block %}captured {{ n }}{% endset %}[{{ block }}]{% set up | upper %}shout{% endset %}{{ up }}",
    "{% set d2 = dict(a=1, b='x') %}{{ d2 }}|{{ dict(d2, c=3) }}|{{ namespace(d2).a }}|{% set n2 = namespace(x=1) %}{% set n2.x = n2.x + 1 %}{{ n2.x }}",
    "{% with a = 1, b = 2 %}{{ a + b }}{% endwith %}|{{ a }}|{% filter upper %}hello {{ n }}{% endfilter %}",
    # macros
    "{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('Bob') }} {{ greet('Al', '?') }} {{ greet(punct='.', name='Cy') }} {{ greet() }}",
    "{% macro render(m) %}<{{ m.role }}>{{ m.content|trim }}{% endmacro %}{% for m in msgs %}{{ render(m) }}{% endfor %}|{% set later = 5 %}{% macro uses() %}{{ later }}{% endmacro %}{{ uses() }}",
    "{% macro rec(n) %}{% if n > 0 %}{{ n }}{{ rec(n - 1) }}{% endif %}{% endmacro %}{{ rec(4) }}|{% macro va() %}{{ varargs }}{{ kwargs }}{% endmacro %}{{ va(1, 2, k=3) }}",
    # whitespace control, trim_blocks, lstrip_blocks
    "a  {%- if true -%}  b  {%- endif -%}  c",
    "line1\n{% if true %}\nline2\n{% endif %}\nline3\n",
    "  {% if true %}\n    indented\n  {% endif %}\n  {{ 'var' }}\n  {# comment #}\ndone",
    "x {% if true %} y {% endif %} z\n{%+ if true %}kept-lstrip{% endif +%}\nafter",
    "{% for i in xs %}\n  - {{ i }}\n{% endfor %}\n",
    "{{- '  a  ' -}}\n\n  {{ 'b' }}  \n{#- strip -#}\n  c  {#+ keep #}\n{% raw %}{{ not rendered }} {% if %}{% endraw %}\nend",
    "\t{% if true %}tab-stripped{% endif %}\r\n{% if true %}crlf-normalised\r\n{% endif %}\rcr\n\n",
    "{% if true -%}\n\n   x\n{%- endif %}   y   {%- if true %}\n{% endif -%}   z",
    "text with {braces} and {% if true %}%{% endif %} and }} and {\n",
    "{# only a comment #}",
    "",
    "no tags at all\n\n",
    "{{ 'a' }}{{ 'b' }}\n{{ 'c' }}\n",
    "{% generation %}gen {{ n }}{% endgeneration %}|{% if false %}{{ x|upper }}{% endif %}",
    "{% for m in msgs %}{{ m.role|upper }}{% if not loop.last %}, {% endif %}{% endfor %}{{ msgs[0]['content']|trim }}{{ msgs|length }}",
    "{%- set msgs2 = msgs[1:] %}{{ msgs2|length }}{% set msgs = [] %}{{ msgs|length }}",
    "{{ {'a': 1}.a }}{{ ({'a': 1}|items|list)[0][1] }}{{ [1, 2, 3][1] }}{{ 'abc'[1] }}",
    "{%- for m in msgs -%}\n  {%- if m.role == 'user' -%}\n    U:{{ m.content }}\n  {%- else -%}\n    A:{{ m.content }}\n  {% endif -%}\n{%- endfor -%}",
    # errors (expected to raise)
    "{% if false %}{{ x|nosuchfilter }}{% endif %}{{ x|nosuch2 if false else 'c' }}{% if true %}{% else %}{{ 1 is nosuchtest }}{% endif %}",
    "{% if false %}{% for i in xs %}{{ i|nosuchfilter }}{% endfor %}{% endif %}",
    "{% if false %}{% macro m() %}{{ 1|nosuchfilter }}{% endmacro %}{% endif %}",
    "{% for i in [] %}{{ i|nosuchfilter if true }}{% endfor %}",
    "{{ raise_exception('custom failure') }}",
    "{{ 'a' + 1 }}",
    "{{ undefined_var.attr }}",
    "{{ undefined_var + 1 }}",
    "{{ 1 / 0 }}",
    "{% for %}",
    "{% if true %}unclosed",
    "{{ 'unterminated }}",
    "{% endfor %}",
    "{{ xs|nosuchfilter }}",
    "{{ 1 is nosuchtest }}",
    "{{ d['a'] < 'x' }}",
    "{% set ns2 = 'str' %}{% set ns2.attr = 1 %}",
    "{{ none + 1 }}",
    "{{ (1, 2) }}{{ [1, 2}} }}",
    "{% include 'other.jinja' %}",
    "{{ xs|tojson(indent='x') }}",
    "{{ namespace(_private=1) }}",
    "{% set ns = namespace() %}{% set ns._x = 1 %}",
    "{{ 'x' in 1 }}",
    "{{ range(200000)|length }}",
]


def make_jinja_cases():
    out = []
    for src in JINJA_CASES:
        case = {"template": src}
        try:
            case["expected"] = _cached_compile_jinja_template(src).render(**json.loads(json.dumps(CTX)))
        except Exception as e:  # noqa: BLE001
            case["error"] = f"{type(e).__name__}: {e}"
        out.append(case)
    with open(os.path.join(OUT, "jinja_cases.json"), "w", encoding="utf-8") as f:
        json.dump({"generator": f"jinja2 {jinja2.__version__} via transformers {transformers.__version__} "
                                "_cached_compile_jinja_template (trim_blocks, lstrip_blocks, sandbox)",
                   "context": CTX, "cases": out}, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"jinja cases: {sum('expected' in c for c in out)} rendered, {sum('error' in c for c in out)} errors")


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    make_chat_refs()
    make_jinja_cases()
