// Tokenizer encode throughput (Google Benchmark): the reference tokenizers of
// tests/data/tokenizers on a text file (DSV3_BENCH_TEXT; default: the test corpus strings joined
// with newlines). Reports bytes/s; bench/tokenizer_throughput.sh runs this next to HF tokenizers.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "text/tokenizer.h"

#ifndef DSV3_SOURCE_DIR
#define DSV3_SOURCE_DIR "."
#endif

namespace {

std::string bench_text() {
  if (const char* p = std::getenv("DSV3_BENCH_TEXT")) {
    std::ifstream f(p, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }
  std::ifstream f(std::string(DSV3_SOURCE_DIR) + "/tests/data/tokenizers/corpus.jsonl");
  std::string line, text;
  std::getline(f, line);
  while (std::getline(f, line)) {
    auto j = nlohmann::json::parse(line);
    if (j.contains("hex")) continue;
    text += j["t"].get<std::string>();
    text += '\n';
  }
  return text;
}

void encode(benchmark::State& state, const char* name) {
  static const std::string text = bench_text();
  auto tok =
      dsv3::Tokenizer::from_file(std::string(DSV3_SOURCE_DIR) + "/tests/data/tokenizers/" + name);
  size_t n = 0;
  for (auto _ : state) {
    auto ids = tok->encode(text, false);
    n = ids.size();
    benchmark::DoNotOptimize(ids.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(text.size()));
  state.counters["tokens"] = double(n);
}

// The same text encoded line by line (one encode() call per line, as a server would).
void encode_lines(benchmark::State& state, const char* name) {
  static const std::string text = bench_text();
  static const std::vector<std::string> lines = [] {
    std::vector<std::string> v;
    std::istringstream ss(text);
    for (std::string l; std::getline(ss, l);) v.push_back(l + "\n");
    return v;
  }();
  auto tok =
      dsv3::Tokenizer::from_file(std::string(DSV3_SOURCE_DIR) + "/tests/data/tokenizers/" + name);
  size_t n = 0;
  for (auto _ : state) {
    n = 0;
    for (const auto& l : lines) n += tok->encode(l, false).size();
    benchmark::DoNotOptimize(n);
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(text.size()));
  state.counters["tokens"] = double(n);
}

BENCHMARK_CAPTURE(encode, deepseek_v3, "deepseek_v3")->Unit(benchmark::kMillisecond)->MinTime(2);
BENCHMARK_CAPTURE(encode, deepseek_v2, "deepseek_v2")->Unit(benchmark::kMillisecond)->MinTime(2);
BENCHMARK_CAPTURE(encode, qwen2, "qwen2")->Unit(benchmark::kMillisecond)->MinTime(2);
BENCHMARK_CAPTURE(encode, llama3, "llama3")->Unit(benchmark::kMillisecond)->MinTime(2);
BENCHMARK_CAPTURE(encode_lines, deepseek_v3, "deepseek_v3")
    ->Unit(benchmark::kMillisecond)
    ->MinTime(2);
BENCHMARK_CAPTURE(encode_lines, deepseek_v2, "deepseek_v2")
    ->Unit(benchmark::kMillisecond)
    ->MinTime(2);
BENCHMARK_CAPTURE(encode_lines, qwen2, "qwen2")->Unit(benchmark::kMillisecond)->MinTime(2);
BENCHMARK_CAPTURE(encode_lines, llama3, "llama3")->Unit(benchmark::kMillisecond)->MinTime(2);

}  // namespace
