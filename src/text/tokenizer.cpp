// Tokenizer loading (tokenizer.json, tokenizer_config.json, GGUF vocab) and encode/decode.
#include "text/tokenizer.h"

#include <cstring>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/mapped_file.h"
#include "io/gguf.h"
#include "text/byte_level.h"
#include "text/unicode_nfc.h"
#include "text/utf8.h"

namespace dsv3 {

using json = nlohmann::json;

namespace {

// Field access with errors that name the file and the JSON path.
struct Ctx {
  const std::string& file;
  [[noreturn]] void bad(const std::string& path, const std::string& msg) const {
    fail(file, ": ", path, ": ", msg);
  }
  const json& obj(const json& j, const std::string& path) const {
    if (!j.is_object()) bad(path, "expected an object");
    return j;
  }
  std::string string(const json& j, const char* key, const std::string& path,
                     const std::string& def = "") const {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return def;
    if (!it->is_string()) bad(path + "." + key, "expected a string");
    return it->get<std::string>();
  }
  bool boolean(const json& j, const char* key, const std::string& path, bool def) const {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return def;
    if (!it->is_boolean()) bad(path + "." + key, "expected true/false");
    return it->get<bool>();
  }
  int32_t id(const json& j, const std::string& path) const {
    if (!j.is_number_integer()) bad(path, "expected an integer id");
    int64_t v = j.get<int64_t>();
    if (v < 0 || v > 50000000) bad(path, str("id ", v, " out of range"));
    return int32_t(v);
  }
};

// A special-token field of tokenizer_config.json: "text", {"content": "text", ...} or null.
std::string token_field(const Ctx& c, const json& cfg, const char* key) {
  auto it = cfg.find(key);
  if (it == cfg.end() || it->is_null()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object()) return c.string(*it, "content", std::string(key));
  c.bad(key, "expected a string or an object with 'content'");
}

void parse_normalizer(const Ctx& c, const json& n, const std::string& path, bool& nfc) {
  if (n.is_null()) return;
  c.obj(n, path);
  std::string type = c.string(n, "type", path);
  if (type == "Sequence") {
    auto it = n.find("normalizers");
    if (it == n.end() || !it->is_array()) c.bad(path + ".normalizers", "expected an array");
    for (size_t k = 0; k < it->size(); ++k)
      parse_normalizer(c, (*it)[k], str(path, ".normalizers[", k, "]"), nfc);
  } else if (type == "NFC") {
    nfc = true;
  } else {
    c.bad(path, "unsupported normalizer type '" + type + "' (supported: Sequence, NFC)");
  }
}

void parse_pre(const Ctx& c, const json& p, const std::string& path, PreTokenizer& pre) {
  if (p.is_null()) return;
  c.obj(p, path);
  std::string type = c.string(p, "type", path);
  if (type == "Sequence") {
    auto it = p.find("pretokenizers");
    if (it == p.end() || !it->is_array()) c.bad(path + ".pretokenizers", "expected an array");
    for (size_t k = 0; k < it->size(); ++k)
      parse_pre(c, (*it)[k], str(path, ".pretokenizers[", k, "]"), pre);
  } else if (type == "Split") {
    auto pit = p.find("pattern");
    if (pit == p.end() || !pit->is_object()) c.bad(path + ".pattern", "expected an object");
    bool is_regex = pit->contains("Regex");
    if (!is_regex && !pit->contains("String")) c.bad(path + ".pattern", "expected Regex or String");
    std::string pat = c.string(*pit, is_regex ? "Regex" : "String", path + ".pattern");
    SplitBehavior b;
    try {
      b = parse_split_behavior(c.string(p, "behavior", path));
    } catch (const Error& e) {
      c.bad(path + ".behavior", e.what());
    }
    try {
      pre.add_split(pat, is_regex, b, c.boolean(p, "invert", path, false));
    } catch (const Error& e) {
      c.bad(path, e.what());
    }
  } else if (type == "ByteLevel") {
    try {
      pre.add_byte_level(c.boolean(p, "add_prefix_space", path, true),
                         c.boolean(p, "use_regex", path, true));
    } catch (const Error& e) {
      c.bad(path, e.what());
    }
  } else if (type == "Digits") {
    bool individual = c.boolean(p, "individual_digits", path, false);
    pre.add_split("\\p{N}", true,
                  individual ? SplitBehavior::kIsolated : SplitBehavior::kContiguous, false);
  } else {
    c.bad(path, "unsupported pre_tokenizer type '" + type +
                    "' (supported: Sequence, Split, ByteLevel, Digits)");
  }
}

}  // namespace

// Post-processor and decoder parsing need the token table, so they live in the loader body.
std::unique_ptr<Tokenizer> Tokenizer::from_json(std::string_view tok_text,
                                                std::string_view cfg_text,
                                                const std::string& name) {
  std::unique_ptr<Tokenizer> t(new Tokenizer());
  t->name_ = name;
  Ctx c{name};
  try {
    json j = json::parse(tok_text.begin(), tok_text.end());
    c.obj(j, "(root)");
    // --- model
    auto mit = j.find("model");
    if (mit == j.end()) c.bad("model", "missing");
    const json& m = c.obj(*mit, "model");
    std::string mtype = c.string(m, "type", "model", "BPE");
    if (mtype != "BPE") c.bad("model.type", "only BPE models are supported, got '" + mtype + "'");
    if (auto d = m.find("dropout"); d != m.end() && !d->is_null()) {
      if (!d->is_number()) c.bad("model.dropout", "expected a number or null");
      if (d->get<double>() > 0) c.bad("model.dropout", "BPE dropout is not supported");
    }
    if (!c.string(m, "continuing_subword_prefix", "model").empty() ||
        !c.string(m, "end_of_word_suffix", "model").empty())
      c.bad("model", "continuing_subword_prefix / end_of_word_suffix are not supported");
    BpeOptions opt;
    opt.unk_token = c.string(m, "unk_token", "model");
    opt.fuse_unk = c.boolean(m, "fuse_unk", "model", false);
    opt.byte_fallback = c.boolean(m, "byte_fallback", "model", false);
    opt.ignore_merges = c.boolean(m, "ignore_merges", "model", false);
    auto vit = m.find("vocab");
    if (vit == m.end() || !vit->is_object()) c.bad("model.vocab", "expected an object");
    TokenMap vocab;
    vocab.reserve(vit->size());
    for (auto it = vit->begin(); it != vit->end(); ++it)
      vocab[it.key()] = c.id(it.value(), "model.vocab['" + it.key() + "']");
    std::vector<std::pair<std::string, std::string>> merges;
    if (auto git = m.find("merges"); git != m.end() && !git->is_null()) {
      if (!git->is_array()) c.bad("model.merges", "expected an array");
      merges.reserve(git->size());
      for (size_t k = 0; k < git->size(); ++k) {
        const json& e = (*git)[k];
        std::string path = str("model.merges[", k, "]");
        if (e.is_string()) {
          const std::string& s = e.get_ref<const std::string&>();
          size_t sp = s.find(' ');
          if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos)
            c.bad(path, "expected \"left right\" with exactly one space");
          merges.emplace_back(s.substr(0, sp), s.substr(sp + 1));
        } else if (e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_string()) {
          merges.emplace_back(e[0].get<std::string>(), e[1].get<std::string>());
        } else {
          c.bad(path, "expected a string or a pair of strings");
        }
      }
    }
    try {
      t->bpe_ = std::make_unique<Bpe>(std::move(vocab), merges, opt);
    } catch (const Error& e) {
      c.bad("model", e.what());
    }
    // --- added tokens
    if (auto ait = j.find("added_tokens"); ait != j.end() && !ait->is_null()) {
      if (!ait->is_array()) c.bad("added_tokens", "expected an array");
      for (size_t k = 0; k < ait->size(); ++k) {
        std::string path = str("added_tokens[", k, "]");
        const json& a = c.obj((*ait)[k], path);
        AddedToken tok;
        auto idit = a.find("id");
        if (idit == a.end()) c.bad(path + ".id", "missing");
        tok.id = c.id(*idit, path + ".id");
        tok.content = c.string(a, "content", path);
        if (tok.content.empty()) c.bad(path + ".content", "missing or empty");
        tok.special = c.boolean(a, "special", path, false);
        tok.single_word = c.boolean(a, "single_word", path, false);
        tok.lstrip = c.boolean(a, "lstrip", path, false);
        tok.rstrip = c.boolean(a, "rstrip", path, false);
        tok.normalized = c.boolean(a, "normalized", path, !tok.special);
        // As HF: a content already in the model vocab keeps the model's id.
        int32_t mid = t->bpe_->token_id(tok.content);
        if (mid >= 0) tok.id = mid;
        t->added_.push_back(std::move(tok));
      }
    }
    // --- normalizer, pre-tokenizer
    if (auto n = j.find("normalizer"); n != j.end()) parse_normalizer(c, *n, "normalizer", t->nfc_);
    if (auto p = j.find("pre_tokenizer"); p != j.end()) parse_pre(c, *p, "pre_tokenizer", t->pre_);
    // --- post-processor
    auto special_ids = [&](const json& tp, const std::string& tname, const std::string& path) {
      std::vector<int32_t> ids;
      auto st = tp.find("special_tokens");
      if (st == tp.end() || !st->is_object()) c.bad(path + ".special_tokens", "expected an object");
      auto e = st->find(tname);
      if (e == st->end() || !e->is_object())
        c.bad(path + ".special_tokens", "no entry for '" + tname + "'");
      auto idsit = e->find("ids");
      if (idsit == e->end() || !idsit->is_array())
        c.bad(path + ".special_tokens['" + tname + "'].ids", "expected an array");
      for (const json& v : *idsit)
        ids.push_back(c.id(v, path + ".special_tokens['" + tname + "'].ids"));
      return ids;
    };
    std::function<void(const json&, const std::string&)> parse_post = [&](const json& p,
                                                                          const std::string& path) {
      if (p.is_null()) return;
      c.obj(p, path);
      std::string type = c.string(p, "type", path);
      if (type == "Sequence") {
        auto it = p.find("processors");
        if (it == p.end() || !it->is_array()) c.bad(path + ".processors", "expected an array");
        for (size_t k = 0; k < it->size(); ++k)
          parse_post((*it)[k], str(path, ".processors[", k, "]"));
      } else if (type == "ByteLevel") {
        // Only adjusts offsets.
      } else if (type == "TemplateProcessing") {
        auto sit = p.find("single");
        if (sit == p.end() || !sit->is_array()) c.bad(path + ".single", "expected an array");
        std::vector<int32_t> pre, post;
        bool seen_a = false;
        for (size_t k = 0; k < sit->size(); ++k) {
          std::string ip = str(path, ".single[", k, "]");
          const json& item = c.obj((*sit)[k], ip);
          if (auto s = item.find("SpecialToken"); s != item.end()) {
            std::string tid = c.string(c.obj(*s, ip + ".SpecialToken"), "id", ip + ".SpecialToken");
            auto ids = special_ids(p, tid, path);
            (seen_a ? post : pre).insert((seen_a ? post : pre).end(), ids.begin(), ids.end());
          } else if (item.contains("Sequence")) {
            if (seen_a) c.bad(ip, "more than one sequence in a single-sequence template");
            seen_a = true;
          } else {
            c.bad(ip, "expected SpecialToken or Sequence");
          }
        }
        if (!seen_a) c.bad(path + ".single", "template has no Sequence");
        t->prefix_.insert(t->prefix_.begin(), pre.begin(), pre.end());
        t->suffix_.insert(t->suffix_.end(), post.begin(), post.end());
      } else if (type == "BertProcessing" || type == "RobertaProcessing") {
        for (const char* k : {"cls", "sep"}) {
          auto it = p.find(k);
          if (it == p.end() || !it->is_array() || it->size() != 2)
            c.bad(path + "." + k, "expected [token, id]");
          int32_t id = c.id((*it)[1], path + "." + k);
          if (std::strcmp(k, "cls") == 0)
            t->prefix_.insert(t->prefix_.begin(), id);
          else
            t->suffix_.push_back(id);
        }
      } else {
        c.bad(path, "unsupported post_processor type '" + type + "'");
      }
    };
    if (auto p = j.find("post_processor"); p != j.end()) parse_post(*p, "post_processor");
    // --- decoder
    std::function<void(const json&, const std::string&)> parse_dec = [&](const json& d,
                                                                         const std::string& path) {
      if (d.is_null()) return;
      c.obj(d, path);
      std::string type = c.string(d, "type", path);
      t->has_decoder_ = true;
      if (type == "ByteLevel") {
        t->byte_level_decoder_ = true;
      } else if (type == "Sequence") {
        auto it = d.find("decoders");
        if (it == d.end() || !it->is_array()) c.bad(path + ".decoders", "expected an array");
        for (size_t k = 0; k < it->size(); ++k)
          parse_dec((*it)[k], str(path, ".decoders[", k, "]"));
      } else {
        c.bad(path, "unsupported decoder type '" + type + "' (supported: ByteLevel, Sequence)");
      }
    };
    if (auto d = j.find("decoder"); d != j.end()) parse_dec(*d, "decoder");

    // --- tokenizer_config.json
    if (!cfg_text.empty()) {
      std::string cname = name + " (tokenizer_config.json)";
      Ctx cc{cname};
      json cfg = json::parse(cfg_text.begin(), cfg_text.end());
      cc.obj(cfg, "(root)");
      if (auto atd = cfg.find("added_tokens_decoder"); atd != cfg.end() && !atd->is_null()) {
        cc.obj(*atd, "added_tokens_decoder");
        for (auto it = atd->begin(); it != atd->end(); ++it) {
          std::string path = "added_tokens_decoder['" + it.key() + "']";
          char* endp = nullptr;
          long long id = std::strtoll(it.key().c_str(), &endp, 10);
          if (it.key().empty() || *endp || id < 0 || id > 50000000)
            cc.bad(path, "key is not an id");
          const json& a = cc.obj(it.value(), path);
          bool known = false;
          for (const auto& x : t->added_) known = known || x.id == id;
          if (known) continue;
          AddedToken tok;
          tok.id = int32_t(id);
          tok.content = cc.string(a, "content", path);
          if (tok.content.empty()) cc.bad(path + ".content", "missing or empty");
          tok.special = cc.boolean(a, "special", path, false);
          tok.single_word = cc.boolean(a, "single_word", path, false);
          tok.lstrip = cc.boolean(a, "lstrip", path, false);
          tok.rstrip = cc.boolean(a, "rstrip", path, false);
          tok.normalized = cc.boolean(a, "normalized", path, !tok.special);
          t->added_.push_back(std::move(tok));
        }
      }
      t->bos_token_ = token_field(cc, cfg, "bos_token");
      t->eos_token_ = token_field(cc, cfg, "eos_token");
      std::string pad = token_field(cc, cfg, "pad_token");
      if (auto ct = cfg.find("chat_template"); ct != cfg.end() && !ct->is_null()) {
        if (ct->is_string()) {
          t->chat_template_ = ct->get<std::string>();
        } else if (ct->is_array()) {
          for (size_t k = 0; k < ct->size(); ++k) {
            const json& e = cc.obj((*ct)[k], str("chat_template[", k, "]"));
            std::string nm = cc.string(e, "name", str("chat_template[", k, "]"));
            if (nm == "default" || (k == 0))
              t->chat_template_ = cc.string(e, "template", str("chat_template[", k, "]"));
          }
        } else {
          cc.bad("chat_template", "expected a string or a list of {name, template}");
        }
      }
      // transformers (5.x) ignores clean_up_tokenization_spaces for BPE tokenizers unless this
      // explicit opt-in is also set; it builds the post-processor from tokenizer.json alone
      // (add_bos_token / add_eos_token do not change it for these byte-level files).
      t->clean_up_spaces_ =
          cc.boolean(cfg, "clean_up_tokenization_spaces", "(root)", false) &&
          cc.boolean(cfg, "clean_up_tokenization_spaces_for_bpe_even_though_it_will_corrupt_output",
                     "(root)", false);
      t->finish();
      t->bos_id_ = t->bos_token_.empty() ? -1 : t->token_id(t->bos_token_);
      t->eos_id_ = t->eos_token_.empty() ? -1 : t->token_id(t->eos_token_);
      t->pad_id_ = pad.empty() ? -1 : t->token_id(pad);
    }
  } catch (const json::exception& e) {
    fail(name, ": invalid JSON: ", e.what());
  }
  t->finish();
  if (t->bos_id_ < 0 && !t->prefix_.empty()) {
    t->bos_id_ = t->prefix_[0];
    t->bos_token_ = t->token_text(t->bos_id_);
  }
  for (int32_t id : t->prefix_)
    if (size_t(id) >= t->vocab_size_) fail(name, ": post_processor id ", id, " is not a token");
  for (int32_t id : t->suffix_)
    if (size_t(id) >= t->vocab_size_) fail(name, ": post_processor id ", id, " is not a token");
  return t;
}

std::unique_ptr<Tokenizer> Tokenizer::from_gguf(const GgufFile& g) {
  const std::string& name = g.name();
  std::string model = g.get_string("tokenizer.ggml.model");
  if (model != "gpt2")
    fail(name, ": tokenizer.ggml.model '", model,
         "' is not supported (only byte-level BPE 'gpt2')");
  std::unique_ptr<Tokenizer> t(new Tokenizer());
  t->name_ = name;
  std::vector<std::string_view> tokens = g.get_string_array("tokenizer.ggml.tokens");
  std::vector<int64_t> types;
  if (g.find("tokenizer.ggml.token_type")) {
    types = g.get_int_array("tokenizer.ggml.token_type");
    if (types.size() != tokens.size())
      fail(name, ": tokenizer.ggml.token_type has ", types.size(), " entries for ", tokens.size(),
           " tokens");
  }
  if (tokens.size() > 50000000) fail(name, ": too many tokens");
  TokenMap vocab;
  vocab.reserve(tokens.size());
  for (size_t k = 0; k < tokens.size(); ++k) {
    int64_t type = types.empty() ? 1 : types[k];
    if (type == 3 || type == 4) {  // control / user-defined: matched in text like HF added tokens
      if (tokens[k].empty()) continue;
      AddedToken a;
      a.id = int32_t(k);
      a.content = std::string(tokens[k]);
      a.special = type == 3;
      t->added_.push_back(std::move(a));
      continue;
    }
    vocab.emplace(std::string(tokens[k]), int32_t(k));  // a duplicate string keeps its first id
  }
  std::vector<std::pair<std::string, std::string>> merges;
  if (g.find("tokenizer.ggml.merges")) {
    auto ms = g.get_string_array("tokenizer.ggml.merges");
    merges.reserve(ms.size());
    for (size_t k = 0; k < ms.size(); ++k) {
      size_t sp = ms[k].find(' ', 1);  // a merge side may itself start with a space
      if (sp == std::string_view::npos) fail(name, ": tokenizer.ggml.merges[", k, "] has no space");
      merges.emplace_back(std::string(ms[k].substr(0, sp)), std::string(ms[k].substr(sp + 1)));
    }
  }
  try {
    t->bpe_ = std::make_unique<Bpe>(std::move(vocab), merges, BpeOptions{});
  } catch (const Error& e) {
    fail(name, ": ", e.what());
  }
  std::string pre = g.get_string("tokenizer.ggml.pre", "default");
  if (!add_named_pretokenizer(pre, t->pre_))
    fail(name, ": tokenizer.ggml.pre '", pre,
         "' is not supported (known: default, gpt-2, "
         "deepseek-llm, deepseek-coder, deepseek-v3, llama3, llama-bpe, qwen2, smollm)");
  t->byte_level_decoder_ = t->has_decoder_ = true;
  t->chat_template_ = g.get_string("tokenizer.chat_template", "");
  auto id_key = [&](const char* key) {
    int64_t v = g.get_int(key, -1);
    if (v >= int64_t(tokens.size())) fail(name, ": ", key, " = ", v, " is not a token id");
    return int32_t(v < 0 ? -1 : v);
  };
  t->bos_id_ = id_key("tokenizer.ggml.bos_token_id");
  t->eos_id_ = id_key("tokenizer.ggml.eos_token_id");
  t->pad_id_ = id_key("tokenizer.ggml.padding_token_id");
  t->finish();
  if (t->bos_id_ >= 0) t->bos_token_ = t->token_text(t->bos_id_);
  if (t->eos_id_ >= 0) t->eos_token_ = t->token_text(t->eos_id_);
  if (g.get_bool("tokenizer.ggml.add_bos_token", false) && t->bos_id_ >= 0)
    t->prefix_ = {t->bos_id_};
  if (g.get_bool("tokenizer.ggml.add_eos_token", false) && t->eos_id_ >= 0)
    t->suffix_ = {t->eos_id_};
  t->clean_up_spaces_ = false;
  return t;
}

std::unique_ptr<Tokenizer> Tokenizer::from_file(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    fs::path dir(path);
    fs::path tj = dir / "tokenizer.json";
    if (!fs::exists(tj, ec)) fail(path, ": folder has no tokenizer.json");
    fs::path cj = dir / "tokenizer_config.json";
    std::string cfg = fs::exists(cj, ec) ? read_text_file(cj.string()) : "";
    return from_json(read_text_file(tj.string()), cfg, tj.string());
  }
  MappedFile f(path);
  if (f.size() >= 4 && std::memcmp(f.data(), "GGUF", 4) == 0) {
    auto g = GgufFile::open(path);
    return from_gguf(*g);
  }
  std::string text(reinterpret_cast<const char*>(f.data()), f.size());
  // A tokenizer_config.json beside a tokenizer.json is read too.
  fs::path cj = fs::path(path).parent_path() / "tokenizer_config.json";
  std::string cfg;
  if (fs::path(path).filename() == "tokenizer.json" && fs::exists(cj, ec))
    cfg = read_text_file(cj.string());
  return from_json(text, cfg, path);
}

void Tokenizer::finish() {
  vocab_size_ = bpe_ ? bpe_->id_limit() : 0;
  for (const auto& a : added_) vocab_size_ = std::max(vocab_size_, size_t(a.id) + 1);
  added_index_.assign(vocab_size_, -1);
  for (size_t k = 0; k < added_.size(); ++k)
    if (added_index_[added_[k].id] < 0) added_index_[added_[k].id] = int32_t(k);
  added_ids_.clear();
  for (const auto& a : added_) added_ids_.emplace(a.content, a.id);  // first content wins
  std::vector<AddedToken> raw, norm;
  // As HF: tokens with normalized=false are matched on the raw text first, then those with
  // normalized=true on the remaining (normalized) pieces.
  for (const auto& a : added_) (a.normalized ? norm : raw).push_back(a);
  raw_matcher_ = AddedTokenMatcher(raw);
  normalized_matcher_ = AddedTokenMatcher(norm);
}

void Tokenizer::encode_normalized(std::string_view text, std::vector<int32_t>& out) const {
  thread_local std::vector<std::string_view> pieces;
  thread_local std::string mapped;
  std::deque<std::string> arena;
  pieces.clear();
  if (pre_.empty())
    pieces.push_back(text);
  else
    pre_.split(text, pieces, arena);
  for (std::string_view p : pieces) {
    if (pre_.byte_level()) {
      mapped.clear();
      byte_level::encode(p, mapped);
      bpe_->encode_word(mapped, out);
    } else {
      bpe_->encode_word(p, out);
    }
  }
}

void Tokenizer::encode_text(std::string_view text, std::vector<int32_t>& out) const {
  std::vector<Segment> segs;
  raw_matcher_.split(text, segs);
  for (const Segment& s : segs) {
    if (s.token >= 0) {
      out.push_back(s.token);
      continue;
    }
    std::string_view piece = text.substr(s.begin, s.end - s.begin);
    if (normalized_matcher_.empty() && !nfc_) {
      encode_normalized(piece, out);
      continue;
    }
    std::string n = nfc_ ? nfc_normalize(piece) : std::string(piece);
    std::vector<Segment> inner;
    normalized_matcher_.split(n, inner);
    for (const Segment& t : inner) {
      if (t.token >= 0)
        out.push_back(t.token);
      else
        encode_normalized(std::string_view(n).substr(t.begin, t.end - t.begin), out);
    }
  }
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special_tokens) const {
  std::vector<int32_t> out;
  if (add_special_tokens) out = prefix_;
  if (utf8::is_valid(text)) {
    encode_text(text, out);
  } else {
    std::string fixed = utf8::repair(text);
    encode_text(fixed, out);
  }
  if (add_special_tokens) out.insert(out.end(), suffix_.begin(), suffix_.end());
  return out;
}

std::string Tokenizer::token_text(int32_t id) const {
  if (id < 0 || size_t(id) >= vocab_size_) return "";
  if (added_index_[id] >= 0) return added_[added_index_[id]].content;
  const std::string* s = bpe_->token(id);
  return s ? *s : "";
}

int32_t Tokenizer::token_id(std::string_view token) const {
  auto it = added_ids_.find(token);  // added tokens first, as HF's token_to_id
  if (it != added_ids_.end()) return it->second;
  return bpe_->token_id(token);
}

bool Tokenizer::is_special(int32_t id) const {
  return id >= 0 && size_t(id) < vocab_size_ && added_index_[id] >= 0 &&
         added_[added_index_[id]].special;
}

std::string Tokenizer::token_bytes(int32_t id, bool skip_special) const {
  if (id < 0 || size_t(id) >= vocab_size_) return "";
  const std::string* s;
  if (added_index_[id] >= 0) {
    const AddedToken& a = added_[added_index_[id]];
    if (skip_special && a.special) return "";
    s = &a.content;
  } else {
    s = bpe_->token(id);
    if (!s) return "";
  }
  if (!byte_level_decoder_) return *s;
  // ByteLevel decoder: a token made only of alphabet characters maps back to its bytes; any
  // other token is kept as its UTF-8 text.
  std::string out;
  if (byte_level::decode(*s, out)) return out;
  return *s;
}

namespace {
void replace_all(std::string& s, std::string_view from, std::string_view to) {
  size_t pos = 0;
  while ((pos = s.find(from, pos)) != std::string::npos) {
    s.replace(pos, from.size(), to);
    pos += to.size();
  }
}
}  // namespace

std::string Tokenizer::decode(const std::vector<int32_t>& ids, bool skip_special_tokens) const {
  std::string out;
  if (!has_decoder_) {  // HF joins the token strings with spaces when there is no decoder
    bool first = true;
    for (int32_t id : ids) {
      if (id < 0 || size_t(id) >= vocab_size_) continue;
      if (skip_special_tokens && is_special(id)) continue;
      std::string s = token_text(id);
      if (s.empty() && added_index_[id] < 0 && !bpe_->token(id)) continue;
      if (!first) out += ' ';
      out += s;
      first = false;
    }
  } else {
    for (int32_t id : ids) out += token_bytes(id, skip_special_tokens);
    if (!utf8::is_valid(out)) out = utf8::repair(out);
  }
  if (clean_up_spaces_) {
    for (auto [a, b] : {std::pair{" .", "."},
                        {" ?", "?"},
                        {" !", "!"},
                        {" ,", ","},
                        {" ' ", "'"},
                        {" n't", "n't"},
                        {" 'm", "'m"},
                        {" 's", "'s"},
                        {" 've", "'ve"},
                        {" 're", "'re"}})
      replace_all(out, a, b);
  }
  return out;
}

}  // namespace dsv3
