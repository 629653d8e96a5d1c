#!/usr/bin/env bash
# Loads the `dsv3 serve` chat page in headless Chromium (Debian package `chromium`), lets it send
# one message (?q=...), and checks the DOM: the reply finished (data-done="1") with a non-empty
# answer. Saves dom.html and chat.png (screenshot) in OUT_DIR.
# KNOWN FLAKY: under --virtual-time-budget the DOM is sometimes dumped before the SSE reply ends
# (1 of 3 runs passed here); a CDP-driven check that waits for data-done="1" is the fix.
# usage: scripts/test_chat_page.sh DSV3_BINARY OUT_DIR [MODEL_DIR]
set -euo pipefail
bin=$1; out=$2; model=${3:-}
mkdir -p "$out"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$bin" serve --host 127.0.0.1 --port "$port" --ctx 256 ${model:+-m "$model"} 2>"$out/serve.log" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$port/v1/completions" -H "Content-Type: application/json" -d "{\"model\":\"$(curl -sf http://127.0.0.1:$port/v1/models | python3 -c "import json,sys; print(json.load(sys.stdin)['data'][0]['id'])")\",\"prompt\":\"warm up\",\"max_tokens\":4}" >/dev/null
url="http://127.0.0.1:$port/?q=What%20is%2012%2B30%3F"
flags=(--headless --no-sandbox --disable-gpu --virtual-time-budget=60000 --window-size=900,700)
timeout 120 chromium "${flags[@]}" --dump-dom "$url" >"$out/dom.html" 2>"$out/chromium.log"
timeout 120 chromium "${flags[@]}" --screenshot="$out/chat.png" "$url" 2>>"$out/chromium.log"
grep -q 'class="msg assistant" data-done="1"' "$out/dom.html" || { echo "FAIL: reply did not finish"; exit 1; }
grep -q '<div class="answer">[^<]' "$out/dom.html" || { echo "FAIL: empty answer"; exit 1; }
test -s "$out/chat.png" || { echo "FAIL: no screenshot"; exit 1; }
echo "ok: chat page completed a message; screenshot $out/chat.png"
