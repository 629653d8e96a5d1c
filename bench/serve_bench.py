#!/usr/bin/env python3
"""Aggregate generation throughput of `dsv3 serve` at 1, 4 and 16 concurrent streams.

Starts `dsv3 serve` on 127.0.0.1 (port 0 is not used: a free port is picked here), then for each
concurrency N runs N client threads, each sending R streamed /v1/completions requests (greedy,
ignore_eos, fixed max_tokens) and counting the tokens in the usage chunk. Aggregate tokens/s =
all completion tokens / wall time of the round. Standard library only.

Also prints the machine's load average and, per level, the scheduler's steps and generated
tokens per step from /metrics (the mean batch a decode step served).

usage: bench/serve_bench.py [--dsv3 build/dsv3] [-m DIR] [--tokens 64] [--rounds 2] [--threads T]
                            [--levels 1,4,16] [--server-args "--no-mtp --ctx 512"]
"""
import argparse
import http.client
import json
import os
import shlex
import socket
import subprocess
import sys
import threading
import time


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def one_request(port, model, prompt, n_tokens):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    body = {"model": model, "prompt": prompt, "max_tokens": n_tokens, "temperature": 0, "ignore_eos": True,
            "stream": True, "stream_options": {"include_usage": True}}
    c.request("POST", "/v1/completions", json.dumps(body), {"Content-Type": "application/json"})
    r = c.getresponse()
    assert r.status == 200, r.read()
    n = 0
    for line in r:
        line = line.strip()
        if line.startswith(b"data: {"):
            j = json.loads(line[6:])
            if j.get("usage"):
                n = j["usage"]["completion_tokens"]
    c.close()
    return n


def metrics(port):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("GET", "/metrics")
    out = {}
    for line in c.getresponse().read().decode().splitlines():
        if line and not line.startswith("#"):
            k, v = line.split()
            out[k] = float(v)
    c.close()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dsv3", default="build/dsv3")
    ap.add_argument("-m", default=None)
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--threads", default=None)
    ap.add_argument("--levels", default="1,4,16")
    ap.add_argument("--server-args", default="")
    a = ap.parse_args()
    levels = [int(x) for x in a.levels.split(",")]
    port = free_port()
    cmd = [a.dsv3, "serve", "--host", "127.0.0.1", "--port", str(port), "--parallel", str(max(levels)),
           "--ctx", "256"]
    if a.m:
        cmd += ["-m", a.m]
    if a.threads:
        cmd += ["--threads", a.threads]
    cmd += shlex.split(a.server_args)
    srv = subprocess.Popen(cmd, stderr=subprocess.PIPE)
    try:
        for _ in range(600):
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                c.request("GET", "/v1/models")
                model = json.loads(c.getresponse().read())["data"][0]["id"]
                break
            except OSError:
                time.sleep(0.1)
        else:
            sys.exit("server did not start")
        prompt = "<｜User｜>What is 123+456?<｜Assistant｜><think>\n"
        one_request(port, model, prompt, 8)  # warm-up
        base = None
        print("load average before: %.2f %.2f %.2f" % os.getloadavg())
        print(" ".join(cmd))
        print(f"| streams | completion tokens | wall s | aggregate tok/s | per-stream tok/s | speed-up vs 1 | tokens/step |")
        print(f"|---|---|---|---|---|---|---|")
        for n in levels:
            counts = [0] * n
            def worker(i):
                for _ in range(a.rounds):
                    counts[i] += one_request(port, model, prompt, a.tokens)
            m0 = metrics(port)
            t0 = time.perf_counter()
            th = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
            for t in th:
                t.start()
            for t in th:
                t.join()
            dt = time.perf_counter() - t0
            m1 = metrics(port)
            steps = m1["dsv3_scheduler_steps_total"] - m0["dsv3_scheduler_steps_total"]
            per_step = (m1["dsv3_generation_tokens_total"] - m0["dsv3_generation_tokens_total"]) / max(steps, 1)
            agg = sum(counts) / dt
            base = base or agg
            print(f"| {n} | {sum(counts)} | {dt:.2f} | {agg:.1f} | {agg / n:.1f} | {agg / base:.2f}x | {per_step:.2f} |",
                  flush=True)
        print("load average after: %.2f %.2f %.2f" % os.getloadavg())
    finally:
        srv.terminate()
        srv.wait()


if __name__ == "__main__":
    main()
