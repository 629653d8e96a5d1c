// Byte-pair-encoding model (HF tokenizers `BPE`): vocab, ranked merges, and the merge loop of
// tokenizers' Word::merge_all (lowest rank first, leftmost first among equal ranks), with
// unk/fuse_unk, byte_fallback and ignore_merges. Words are strings in the model's alphabet
// (for byte-level tokenizers: already mapped through the GPT-2 byte alphabet).
#pragma once
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace dsv3 {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using TokenMap = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

struct BpeOptions {
  std::string unk_token;  // empty: none (unknown characters are dropped, as HF does)
  bool fuse_unk = false;
  bool byte_fallback = false;
  bool ignore_merges = false;  // a word that is itself in the vocab is emitted whole
};

class Bpe {
 public:
  // `merges` in rank order (a later duplicate overrides an earlier one, as in HF). Throws Error
  // if a merge names a token missing from the vocab, or the merged token is missing, or the
  // vocab has negative or duplicate ids.
  Bpe(TokenMap vocab, const std::vector<std::pair<std::string, std::string>>& merges,
      BpeOptions opt);

  // Appends the ids of one pre-tokenized word.
  void encode_word(std::string_view word, std::vector<int32_t>& out) const;

  int32_t token_id(std::string_view tok) const;  // -1 if absent
  // Token string of id, or nullptr if no vocab entry has that id.
  const std::string* token(int32_t id) const;
  // 1 + the largest id in the vocab.
  size_t id_limit() const { return id_to_token_.size(); }
  size_t vocab_entries() const { return vocab_.size(); }

 private:
  void merge_word(std::string_view word, std::vector<int32_t>& out) const;
  static uint64_t key(int32_t a, int32_t b) { return (uint64_t(uint32_t(a)) << 32) | uint32_t(b); }

  TokenMap vocab_;
  std::vector<const std::string*> id_to_token_;
  std::unordered_map<uint64_t, std::pair<int32_t, int32_t>> merges_;  // (a,b) -> (rank, new id)
  BpeOptions opt_;
  int32_t unk_id_ = -1;
  std::vector<int32_t> byte_fallback_ids_;  // "<0xXX>" ids, -1 if absent

  // Cache of encoded words (only words up to kCacheMaxWord bytes; bounded size).
  static constexpr size_t kCacheMaxWord = 256;
  static constexpr size_t kCacheCapacity = 200000;
  mutable std::mutex cache_mu_;
  mutable std::unordered_map<std::string, std::vector<int32_t>, StringHash, std::equal_to<>> cache_;
};

}  // namespace dsv3
