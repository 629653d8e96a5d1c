#!/usr/bin/env python3
"""Drives headless Chromium over the DevTools protocol (--remote-debugging-pipe, standard library
only) to check the `dsv3 serve` chat page: opens URL (which auto-sends ?q=...), waits until the
assistant's message is marked finished in the DOM (data-done="1", or "error"), then checks the
answer is non-empty and saves dom.html and chat.png (screenshot) in OUT_DIR. Waiting on the DOM
condition instead of a fixed virtual-time budget is what makes the check deterministic.

usage: scripts/chat_page_check.py URL OUT_DIR [--timeout 120]
"""
import argparse
import base64
import fcntl
import json
import os
import subprocess
import sys
import time


class Cdp:
    def __init__(self, flags):
        to_chrome_r, self.w = os.pipe()  # commands: Chromium reads fd 3
        self.r, from_chrome_w = os.pipe()  # replies and events: Chromium writes fd 4

        def child():  # move both ends above 10 first: dup2 onto itself would keep CLOEXEC
            a = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD, 10)
            b = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD, 10)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(["chromium", *flags, "--remote-debugging-pipe"], preexec_fn=child,
                                     close_fds=False, stdout=subprocess.DEVNULL,
                                     stderr=open(os.path.join(OUT, "chromium.log"), "wb"))
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.buf = b""
        self.next_id = 0

    def call(self, method, session=None, **params):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        os.write(self.w, json.dumps(msg).encode() + b"\0")
        while True:
            while b"\0" not in self.buf:
                chunk = os.read(self.r, 1 << 16)
                if not chunk:
                    sys.exit(f"FAIL: chromium closed the pipe during {method}")
                self.buf += chunk
            raw, self.buf = self.buf.split(b"\0", 1)
            reply = json.loads(raw)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    sys.exit(f"FAIL: {method}: {reply['error']}")
                return reply.get("result", {})

    def close(self):
        try:
            self.call("Browser.close")
        except (SystemExit, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def main():
    global OUT
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("out")
    ap.add_argument("--timeout", type=float, default=120)
    a = ap.parse_args()
    OUT = a.out
    os.makedirs(OUT, exist_ok=True)
    cdp = Cdp(["--headless", "--no-sandbox", "--disable-gpu", "--window-size=900,700", "about:blank"])
    try:
        page = next(t for t in cdp.call("Target.getTargets")["targetInfos"] if t["type"] == "page")
        s = cdp.call("Target.attachToTarget", targetId=page["targetId"], flatten=True)["sessionId"]
        cdp.call("Page.enable", s)
        cdp.call("Page.navigate", s, url=a.url)

        def js(expr):
            r = cdp.call("Runtime.evaluate", s, expression=expr, returnByValue=True)
            return r.get("result", {}).get("value")

        state, t0 = None, time.monotonic()
        while time.monotonic() - t0 < a.timeout:
            state = js("(() => { const m = document.querySelector('.msg.assistant');"
                       " return m ? (m.dataset.done || 'running') : 'none'; })()")
            if state in ("1", "error"):
                break
            time.sleep(0.2)
        answer = js("(document.querySelector('.msg.assistant .answer') || {}).textContent || ''")
        with open(os.path.join(OUT, "dom.html"), "w") as f:
            f.write(js("document.documentElement.outerHTML") or "")
        png = cdp.call("Page.captureScreenshot", s, format="png")["data"]
        with open(os.path.join(OUT, "chat.png"), "wb") as f:
            f.write(base64.b64decode(png))
    finally:
        cdp.close()
    if state != "1":
        sys.exit(f"FAIL: reply did not finish (state {state!r}, answer {answer!r})")
    if not answer.strip():
        sys.exit("FAIL: empty answer")
    print(f"ok: chat page completed a message ({len(answer)} chars); screenshot {OUT}/chat.png")


if __name__ == "__main__":
    main()
