// convert_checkpoint (fp8_convert.h): FP8 quantization and fp8_cast_bf16 of HF checkpoints.
#include "model/fp8_convert.h"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/checkpoint.h"
#include "io/safetensors.h"
#include "model/config.h"
#include "model/fp8_weights.h"
#include "model/tensor_table.h"

namespace dsv3 {

namespace fs = std::filesystem;

namespace {

std::vector<float> to_f32(const StoredTensor& t) {
  const int64_t n = t.numel();
  std::vector<float> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    switch (t.dtype) {
      case DType::F32:
        std::memcpy(&out[size_t(i)], t.data + 4 * i, 4);
        break;
      case DType::BF16: {
        uint16_t h;
        std::memcpy(&h, t.data + 2 * i, 2);
        out[size_t(i)] = bf16_to_f32(h);
        break;
      }
      case DType::F16: {
        uint16_t h;
        std::memcpy(&h, t.data + 2 * i, 2);
        out[size_t(i)] = f16_to_f32(h);
        break;
      }
      default:
        fail(t.file, ": tensor '", t.name, "' has dtype ", dtype_name(t.dtype),
             ", cannot quantize");
    }
  }
  return out;
}

// One output tensor: either a view of the input mmap or an owned buffer.
struct OutTensor {
  TensorToWrite t;
  std::shared_ptr<std::vector<uint8_t>> owned;
};

class ShardWriter {
 public:
  ShardWriter(std::string dir, size_t shard_bytes) : dir_(std::move(dir)), limit_(shard_bytes) {}
  void add(OutTensor o) {
    if (!cur_.empty() && cur_bytes_ + o.t.nbytes > limit_) flush();
    cur_bytes_ += o.t.nbytes;
    total_ += o.t.nbytes;
    cur_.push_back(std::move(o));
  }
  // Writes the last shard, renames shards to their final names, writes the index if sharded.
  int64_t finish() {
    flush();
    const size_t n = tmp_.size();
    if (n == 1) {
      fs::rename(tmp_[0], dir_ + "/model.safetensors");
      return 1;
    }
    nlohmann::json wm = nlohmann::json::object();
    for (size_t i = 0; i < n; ++i) {
      char name[64];
      std::snprintf(name, sizeof name, "model-%05zu-of-%05zu.safetensors", i + 1, n);
      fs::rename(tmp_[i], dir_ + "/" + name);
      for (const std::string& t : names_[i]) wm[t] = name;
    }
    nlohmann::json idx = {{"metadata", {{"total_size", total_}}}, {"weight_map", wm}};
    std::ofstream f(dir_ + "/model.safetensors.index.json");
    f << idx.dump(2) << "\n";
    DSV3_CHECK(f.good(), dir_, "/model.safetensors.index.json: write failed");
    return int64_t(n);
  }

 private:
  void flush() {
    if (cur_.empty() && !tmp_.empty()) return;
    std::vector<TensorToWrite> ts;
    std::vector<std::string> names;
    for (auto& o : cur_) {
      ts.push_back(o.t);
      names.push_back(o.t.name);
    }
    const std::string p = dir_ + "/.dsv3-shard-" + std::to_string(tmp_.size()) + ".safetensors";
    write_safetensors(p, ts, {{"format", "pt"}});
    tmp_.push_back(p);
    names_.push_back(std::move(names));
    cur_.clear();
    cur_bytes_ = 0;
  }
  std::string dir_;
  size_t limit_;
  std::vector<OutTensor> cur_;
  size_t cur_bytes_ = 0, total_ = 0;
  std::vector<std::string> tmp_;
  std::vector<std::vector<std::string>> names_;
};

OutTensor view_of(const StoredTensor& t) {
  return {{t.name, t.dtype, t.shape, t.data, t.nbytes}, nullptr};
}

OutTensor owned(const std::string& name, DType dt, std::vector<int64_t> shape,
                std::shared_ptr<std::vector<uint8_t>> buf) {
  OutTensor o{{name, dt, std::move(shape), buf->data(), buf->size()}, buf};
  return o;
}

}  // namespace

ConvertStats convert_checkpoint(const std::string& in_dir, const std::string& out_dir,
                                ConvertTarget to, size_t shard_bytes, bool fp8_lm_head) {
  DSV3_CHECK(shard_bytes > 0, "shard size must be > 0");
  auto ck = Checkpoint::open(in_dir);
  const std::string cfg_path = in_dir + "/config.json";
  nlohmann::json cfg = ck->config();
  std::error_code ec;
  if (fs::exists(out_dir)) {
    DSV3_CHECK(!fs::equivalent(in_dir, out_dir, ec), out_dir,
               ": output folder is the input folder");
    DSV3_CHECK(fs::is_directory(out_dir), out_dir, ": exists and is not a folder");
    DSV3_CHECK(!fs::exists(out_dir + "/config.json"), out_dir,
               ": already holds a checkpoint (config.json); choose an empty folder");
  }
  fs::create_directories(out_dir, ec);
  DSV3_CHECK(!ec, out_dir, ": cannot create folder: ", ec.message());

  ConvertStats st;
  ShardWriter w(out_dir, shard_bytes);
  if (to == ConvertTarget::kFp8) {
    const ModelConfig mc = ModelConfig::from_json(cfg, cfg_path);
    std::map<std::string, TensorRole> role;
    for (const TensorSpec& s : expected_tensors(mc)) role[s.name] = s.role;
    for (const auto& [name, t] : ck->tensors()) {
      st.bytes_in += t->nbytes;
      DSV3_CHECK(t->dtype != DType::F8_E4M3 && t->dtype != DType::F8_E5M2, t->file, ": tensor '",
                 name, "' is already FP8; quantize a bf16/f32 checkpoint");
      auto it = role.find(name);
      const bool quant =
          it != role.end() &&
          (it->second == TensorRole::kLinear || (fp8_lm_head && it->second == TensorRole::kHead)) &&
          t->shape.size() == 2 &&
          (t->dtype == DType::F32 || t->dtype == DType::BF16 || t->dtype == DType::F16);
      if (!quant) {
        w.add(view_of(*t));
        st.copied++;
        st.bytes_out += t->nbytes;
        continue;
      }
      const int64_t R = t->shape[0], C = t->shape[1];
      const auto f = to_f32(*t);
      auto q = std::make_shared<std::vector<uint8_t>>(size_t(R * C));
      auto s =
          std::make_shared<std::vector<uint8_t>>(size_t((R + 127) / 128 * ((C + 127) / 128)) * 4);
      quantize_fp8_blocks(f.data(), R, C, q->data(), reinterpret_cast<float*>(s->data()),
                          t->file + ": tensor '" + name + "'");
      w.add(owned(name, DType::F8_E4M3, {R, C}, q));
      w.add(owned(fp8_scale_name(name), DType::F32, {(R + 127) / 128, (C + 127) / 128}, s));
      st.converted++;
      st.bytes_out += q->size() + s->size();
    }
    cfg["quantization_config"] = {{"activation_scheme", "dynamic"},
                                  {"fmt", "e4m3"},
                                  {"quant_method", "fp8"},
                                  {"weight_block_size", {128, 128}}};
  } else {
    const Fp8Config fc = parse_fp8_config(cfg, cfg_path);
    for (const auto& [name, t] : ck->tensors()) {
      st.bytes_in += t->nbytes;
      if (is_fp8_scale_of_weight(*ck, name)) {
        st.dropped++;
        continue;
      }
      DSV3_CHECK(t->dtype != DType::F8_E5M2, t->file, ": tensor '", name,
                 "' is F8_E5M2 (only e4m3 checkpoints are supported)");
      if (t->dtype != DType::F8_E4M3) {
        w.add(view_of(*t));
        st.copied++;
        st.bytes_out += t->nbytes;
        continue;
      }
      TensorView v = t->view();
      attach_fp8_scale(*ck, *t, name, fc, &v);
      const int64_t R = t->shape[0], C = t->shape[1];
      auto b = std::make_shared<std::vector<uint8_t>>(size_t(R * C) * 2);
      dequant_fp8_to_bf16(t->data, v.block_scale, R, C, reinterpret_cast<uint16_t*>(b->data()));
      w.add(owned(name, DType::BF16, {R, C}, b));
      st.converted++;
      st.bytes_out += b->size();
    }
    cfg.erase("quantization_config");
  }
  st.shards = w.finish();
  {
    std::ofstream f(out_dir + "/config.json");
    f << cfg.dump(2) << "\n";
    DSV3_CHECK(f.good(), out_dir, "/config.json: write failed");
  }
  for (const auto& e : fs::directory_iterator(in_dir)) {
    const std::string fn = e.path().filename().string();
    if (!e.is_regular_file() || fn == "config.json" || fn == "model.safetensors.index.json" ||
        e.path().extension() == ".safetensors")
      continue;
    fs::copy_file(e.path(), fs::path(out_dir) / fn, fs::copy_options::overwrite_existing, ec);
    DSV3_CHECK(!ec, e.path().string(), ": copy failed: ", ec.message());
  }
  return st;
}

}  // namespace dsv3
