// `dsv3 gguf-info FILE`: a GGUF file's header, metadata and tensor table (names, ggml types,
// shapes in ggml order, offsets), read with src/io/gguf.h. Long arrays (tokenizer vocab,
// merges) are shown by type, count and first elements. A malformed or truncated file is the
// reader's dsv3::Error (exit 1), so this is also the quick "does this download parse" check.
// A split GGUF (any of its shards given) is shown as one model, with a line per shard.
#include <cinttypes>
#include <cstdio>
#include <map>
#include <string>

#include "command.h"
#include "core/error.h"
#include "io/gguf.h"
#include "args.h"

namespace dsv3::cli {
namespace {

const char* kHelp =
    "usage: dsv3 gguf-info FILE [--tensors] [--full]\n"
    "  prints version, alignment, metadata and a summary of tensor types\n"
    "  FILE may be any shard of a split GGUF (NAME-00001-of-0000N.gguf): all shards are read\n"
    "  --tensors  also list every tensor (name, type, ggml dims, offset, bytes)\n"
    "  --full     print long strings and arrays in full (default: first 8 elements, 200 chars)\n";

std::string quote(std::string_view s, bool full) {
  std::string r = "\"";
  size_t n = 0;
  for (char c : s) {
    if (!full && ++n > 200) { r += "..."; break; }
    if (c == '\n') r += "\\n";
    else if (c == '"') r += "\\\"";
    else r += c;
  }
  return r + "\"";
}

std::string value_str(const GgufValue& v, bool full) {
  char buf[64];
  switch (v.type) {
    case GgufType::STRING: return quote(v.s, full);
    case GgufType::BOOL: return v.b ? "true" : "false";
    case GgufType::F32:
    case GgufType::F64: std::snprintf(buf, sizeof buf, "%.9g", v.f); return buf;
    case GgufType::U64:
    case GgufType::U32:
    case GgufType::U16:
    case GgufType::U8: return std::to_string(v.u);
    case GgufType::ARRAY: {
      std::string r = std::string("[") + gguf_type_name(v.elem_type) + " x " + std::to_string(v.count) + "]";
      const uint64_t show = full ? v.count : std::min<uint64_t>(v.count, 8);
      if (show == 0) return r;
      r += " {";
      for (uint64_t k = 0; k < show; ++k) {
        if (k) r += ", ";
        if (v.elem_type == GgufType::STRING) r += quote(v.strs[k], full);
        else if (v.elem_type == GgufType::ARRAY) r += value_str(v.arrays[k], full);
        else if (v.elem_type == GgufType::F32 || v.elem_type == GgufType::F64) {
          std::snprintf(buf, sizeof buf, "%.6g", v.float_at(k));
          r += buf;
        } else {
          r += std::to_string(v.int_at(k));
        }
      }
      return r + (show < v.count ? ", ...}" : "}");
    }
    default: return std::to_string(v.i);
  }
}

int cmd_gguf_info(const std::vector<std::string>& argv) {
  Args a(argv, {"--tensors", "--full", "--help"});
  if (a.has("--help")) { std::fputs(kHelp, stdout); return 0; }
  DSV3_CHECK(a.positional().size() == 1, "usage: dsv3 gguf-info FILE (see --help)");
  const bool full = a.has("--full");
  auto g = GgufFile::open(a.positional()[0]);
  std::printf("file: %s\nversion: %u\nalignment: %" PRIu64 "\ndata offset: %" PRIu64 "\n", g->name().c_str(),
              g->version(), g->alignment(), g->data_offset());
  if (g->shards().size() > 1) {
    std::printf("shards: %zu\n", g->shards().size());
    for (size_t k = 0; k < g->shards().size(); ++k) {
      const GgufShard& s = g->shards()[k];
      std::printf("  %zu: %s (%" PRIu64 " bytes, data offset %" PRIu64 ", %" PRIu64 " tensors)\n", k + 1,
                  s.name.c_str(), s.size, s.data_offset, s.n_tensors);
    }
  }
  std::printf("metadata: %zu keys\n", g->metadata().size());
  for (const GgufKV& kv : g->metadata())
    std::printf("  %s (%s) = %s\n", kv.key.c_str(), gguf_type_name(kv.value.type), value_str(kv.value, full).c_str());
  std::map<std::string, std::pair<size_t, uint64_t>> by_type;  // type -> (tensors, bytes)
  uint64_t elems = 0, bytes = 0;
  for (const GgufTensorInfo& t : g->tensors()) {
    auto& e = by_type[ggml_type_info(t.type).name];
    e.first++;
    e.second += t.n_bytes;
    elems += t.n_elements;
    bytes += t.n_bytes;
  }
  std::printf("tensors: %zu, %" PRIu64 " elements, %.2f MiB (%.3f bits/element)\n", g->tensors().size(), elems,
              double(bytes) / (1 << 20), elems ? 8.0 * double(bytes) / double(elems) : 0.0);
  for (const auto& [name, e] : by_type)
    std::printf("  %-6s %5zu tensors, %10.2f MiB\n", name.c_str(), e.first, double(e.second) / (1 << 20));
  if (a.has("--tensors")) {
    for (const GgufTensorInfo& t : g->tensors()) {
      std::string dims;
      for (size_t i = 0; i < t.dims.size(); ++i) dims += (i ? ", " : "") + std::to_string(t.dims[i]);
      std::printf("  %-40s %-6s [%s] offset %" PRIu64 " bytes %" PRIu64, t.name.c_str(),
                  ggml_type_info(t.type).name, dims.c_str(), t.offset, t.n_bytes);
      if (g->shards().size() > 1) std::printf(" shard %u", t.shard + 1);
      std::printf("\n");
    }
  }
  return 0;
}

const bool registered =
    register_command({"gguf-info", "print a GGUF file's metadata and tensor table", cmd_gguf_info});

}  // namespace
}  // namespace dsv3::cli
