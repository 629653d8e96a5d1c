#!/usr/bin/env bash
# Runs the whole test suite: a Release build with every test, the official openai client
# against `dsv3 serve` (needs python3 and PyPI), then an ASan/UBSan build that runs the file
# parser, loader and kernel suites, and a ThreadSanitizer build that runs the scheduler,
# server and thread-pool suites (the threaded code; a CI run once lost a race there).
# Usage: scripts/test.sh        (from the repository root; needs the packages in scripts/deps.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc)}
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$JOBS"
ctest --test-dir build --output-on-failure -j "$JOBS"
scripts/test_openai.sh   # the official openai client against `dsv3 serve`
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DDSV3_SANITIZE=ON >/dev/null
cmake --build build-asan -j "$JOBS" --target dsv3_tests
ASAN_OPTIONS=detect_leaks=0 ./build-asan/tests/dsv3_tests --gtest_filter="${ASAN_FILTER:-*Loader*:*Safetensors*:*Gguf*:*Config*:*Json*:*Npy*:*Kernels*:*MlaAttn*:*KvPool*}"
cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDSV3_TSAN=ON >/dev/null
cmake --build build-tsan -j "$JOBS" --target dsv3_tests
TSAN_OPTIONS=halt_on_error=1 ./build-tsan/tests/dsv3_tests --gtest_filter="${TSAN_FILTER:-*Scheduler*:*ServeHttp*:*ThreadPool*}"
