// Tokenizers trained with HF `tokenizers` in the exact configurations of DeepSeek-V3, DeepSeek-V2,
// R1-Distill-Qwen (Qwen2) and R1-Distill-Llama (Llama-3) (scripts/make_tokenizer_refs.py):
// ids must be identical to HF for every corpus string (5,801 strings incl. a 100 kB word and 300
// invalid-UTF-8 byte strings), with and without special tokens; decode must equal transformers'
// decode; the pre-tokenizers must split like HF for every code point of Unicode (probe strings);
// NFC must equal HF's for every code point.
#include <gtest/gtest.h>

#include <deque>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "test_util.h"
#include "text/tokenizer.h"
#include "text/unicode_nfc.h"
#include "text/utf8.h"

using namespace dsv3;
using json = nlohmann::json;

namespace {

struct Text {
  std::string text;  // what is fed to encode (raw bytes for the invalid-UTF-8 cases)
  std::string hf;    // the str HF saw
  bool invalid = false;
};

std::string from_hex(const std::string& h) {
  std::string out;
  for (size_t i = 0; i + 1 < h.size(); i += 2) out += char(std::stoi(h.substr(i, 2), nullptr, 16));
  return out;
}

const std::vector<Text>& corpus() {
  static std::vector<Text> c = [] {
    std::vector<Text> v;
    std::ifstream f(test::data_path("tokenizers/corpus.jsonl"));
    std::string line;
    std::getline(f, line);  // header
    while (std::getline(f, line)) {
      json j = json::parse(line);
      Text t;
      t.hf = j["t"].get<std::string>();
      if (j.contains("hex")) {
        t.text = from_hex(j["hex"].get<std::string>());
        t.invalid = true;
      } else {
        t.text = t.hf;
      }
      v.push_back(std::move(t));
    }
    return v;
  }();
  return c;
}

std::vector<int32_t> parse_ids(const std::string& s) {
  std::vector<int32_t> out;
  std::istringstream ss(s);
  for (int32_t v; ss >> v;) out.push_back(v);
  return out;
}

std::string show(const std::string& s) {
  return s.size() > 200 ? s.substr(0, 200) + "..." : s;
}

void check_corpus(const std::string& name) {
  std::string dir = test::data_path("tokenizers/" + name);
  auto tok = Tokenizer::from_file(dir);
  const auto& texts = corpus();
  ASSERT_GE(texts.size(), 5000u);
  std::ifstream f(dir + "/refs.jsonl");
  std::string line;
  ASSERT_TRUE(std::getline(f, line));
  json head = json::parse(line);
  auto prefix = head["prefix"].get<std::vector<int32_t>>();
  auto suffix = head["suffix"].get<std::vector<int32_t>>();
  ASSERT_EQ(head["count"].get<size_t>(), texts.size());
  size_t bad_ids = 0, bad_dec = 0, n = 0, roundtrip = 0, invalid = 0;
  for (const Text& t : texts) {
    ASSERT_TRUE(std::getline(f, line));
    json r = json::parse(line);
    std::vector<int32_t> want = parse_ids(r["ids"].get<std::string>());
    std::vector<int32_t> got = tok->encode(t.text, false);
    if (got != want && ++bad_ids <= 5)
      ADD_FAILURE() << name << " #" << n << " ids differ for '" << show(t.hf) << "'";
    std::vector<int32_t> want_sp = prefix;
    want_sp.insert(want_sp.end(), want.begin(), want.end());
    want_sp.insert(want_sp.end(), suffix.begin(), suffix.end());
    EXPECT_EQ(tok->encode(t.text, true), want_sp) << name << " #" << n;
    std::string dec = r.contains("dec") ? r["dec"].get<std::string>() : t.hf;
    std::string dec_skip = r.contains("dec_skip") ? r["dec_skip"].get<std::string>() : dec;
    roundtrip += !r.contains("dec") && !t.invalid;
    invalid += t.invalid;
    std::string d = tok->decode(want, false);
    if (d != dec && ++bad_dec <= 5)
      ADD_FAILURE() << name << " #" << n << " decode '" << show(d) << "' != HF '" << show(dec)
                    << "'";
    EXPECT_EQ(tok->decode(want, true), dec_skip) << name << " #" << n;
    // Streaming decode gives the same text.
    if (n % 5 == 0 && want.size() < 5000) {
      StreamDecoder sd(*tok);
      std::string s;
      for (int32_t id : want) s += sd.push(id);
      s += sd.flush();
      EXPECT_EQ(s, dec) << name << " #" << n << " stream decode";
    }
    ++n;
  }
  EXPECT_EQ(bad_ids, 0u) << name << ": " << bad_ids << " of " << n << " strings have different ids";
  EXPECT_EQ(bad_dec, 0u) << name << ": " << bad_dec << " of " << n << " decodes differ";
  EXPECT_GT(roundtrip, 4000u) << name;
  EXPECT_EQ(invalid, 300u);
}

// Split signature (byte lengths of the pieces) of the probe string for code point c; the same
// probe as make_tokenizer_refs.py:probe_strings.
std::string probe_signature(const PreTokenizer& pre, uint32_t c) {
  std::string ch;
  utf8::append(ch, c);
  std::string s = "a" + ch + "1" + ch + ch + "," + ch + " " + ch + "\n" + ch + "x " + ch + "一" +
                  ch + "'s" + ch;
  std::vector<std::string_view> pieces;
  std::deque<std::string> arena;
  pre.split(s, pieces, arena);
  std::string sig;
  for (size_t k = 0; k < pieces.size(); ++k) {
    if (k) sig += ',';
    sig += std::to_string(pieces[k].size());
  }
  return sig;
}

void check_unicode(const std::string& name) {
  std::string dir = test::data_path("tokenizers/" + name);
  auto tok = Tokenizer::from_file(dir);
  std::ifstream f(dir + "/unicode_probes.txt");
  ASSERT_TRUE(f.good());
  size_t checked = 0, bad = 0;
  uint32_t a, b;
  std::string sig;
  while (f >> std::hex >> a >> b >> sig) {
    for (uint32_t c = a; c <= b; ++c) {
      std::string got = probe_signature(tok->pre_tokenizer(), c);
      if (got != sig && ++bad <= 10)
        ADD_FAILURE() << name << ": U+" << std::hex << c << std::dec << " splits " << got << ", HF "
                      << sig;
      ++checked;
    }
  }
  EXPECT_EQ(checked, 0x110000u - 0x800u) << name;
  EXPECT_EQ(bad, 0u) << name << ": " << bad << " code points split differently from HF";
}

}  // namespace

TEST(TokenizerHf, DeepSeekV3Corpus) {
  check_corpus("deepseek_v3");
}
TEST(TokenizerHf, DeepSeekV2Corpus) {
  check_corpus("deepseek_v2");
}
TEST(TokenizerHf, Qwen2Corpus) {
  check_corpus("qwen2");
}
TEST(TokenizerHf, Llama3Corpus) {
  check_corpus("llama3");
}

TEST(TokenizerHf, DeepSeekV3AllCodePoints) {
  check_unicode("deepseek_v3");
}
TEST(TokenizerHf, DeepSeekV2AllCodePoints) {
  check_unicode("deepseek_v2");
}
TEST(TokenizerHf, Qwen2AllCodePoints) {
  check_unicode("qwen2");
}
TEST(TokenizerHf, Llama3AllCodePoints) {
  check_unicode("llama3");
}

TEST(TokenizerHf, NfcOfEveryCodePoint) {
  std::ifstream f(test::data_path("tokenizers/qwen2/nfc_changes.txt"));
  ASSERT_TRUE(f.good());
  std::map<uint32_t, std::string> changes;
  std::string line;
  while (std::getline(f, line)) {
    std::istringstream ss(line);
    uint32_t c, x;
    ss >> std::hex >> c;
    std::string out;
    while (ss >> x) utf8::append(out, x);
    changes[c] = out;
  }
  ASSERT_GT(changes.size(), 1000u);
  size_t bad = 0;
  for (uint32_t c = 0; c < 0x110000; ++c) {
    if (c >= 0xD800 && c <= 0xDFFF) continue;
    std::string s;
    utf8::append(s, c);
    auto it = changes.find(c);
    std::string want = it == changes.end() ? s : it->second;
    if (nfc_normalize(s) != want && ++bad <= 10) ADD_FAILURE() << "NFC of U+" << std::hex << c;
  }
  EXPECT_EQ(bad, 0u) << bad << " code points normalize differently (tables: Unicode "
                     << nfc_unicode_version() << ")";
}

TEST(TokenizerHf, InvalidUtf8RepairMatchesPython) {
  // Python's errors="replace" and our repair both substitute maximal subparts.
  size_t n = 0, really_invalid = 0;
  for (const Text& t : corpus()) {
    if (!t.invalid) continue;
    EXPECT_EQ(utf8::repair(t.text), t.hf);
    EXPECT_EQ(utf8::is_valid(t.text), t.text == t.hf);
    really_invalid += !utf8::is_valid(t.text);
    ++n;
  }
  EXPECT_EQ(n, 300u);
  EXPECT_GT(really_invalid, 200u);
}
