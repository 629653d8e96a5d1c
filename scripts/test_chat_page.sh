#!/usr/bin/env bash
# Loads the `dsv3 serve` chat page in headless Chromium (Debian package `chromium`), lets it send
# one message (?q=...), and checks the DOM: the reply finished (data-done="1") with a non-empty
# answer. Saves dom.html and chat.png (screenshot) in OUT_DIR.
# The browser is driven over the DevTools protocol (scripts/chat_page_check.py), which waits for
# the DOM condition rather than a fixed time budget. Needs the Debian `chromium` package, so it
# is not part of ctest/CI; run it by hand (see README).
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
python3 "$(dirname "$0")/chat_page_check.py" "$url" "$out" --timeout 120
