#!/usr/bin/env bash
# Drives a real `dsv3 serve` (built-in model, loopback only) with the official `openai` Python
# client, pinned in scripts/requirements-client.txt, as users' tools do. Called by test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${DSV3_CLIENT_VENV:-build/client-venv}
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q -r scripts/requirements-client.txt
fi
PORT=$("$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
build/dsv3 serve --host 127.0.0.1 --port "$PORT" --ctx 256 2>build/serve-test.log &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 300); do
  "$VENV/bin/python" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$PORT/health')" 2>/dev/null && break
  sleep 0.1
done
"$VENV/bin/python" scripts/test_openai_client.py --base-url "http://127.0.0.1:$PORT/v1" \
  --reference tests/data/builtin_ref/meta.json
