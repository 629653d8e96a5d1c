// Tokenizer: byte-level BPE identical to Hugging Face tokenizers for the files DeepSeek V2/V3/R1,
// Qwen2 and Llama-3 ship (tokenizer.json + tokenizer_config.json), and for vocab-only GGUF files
// (tokenizer.ggml.*). Pipeline of encode():
//   text (invalid UTF-8 is first repaired: one U+FFFD per maximal invalid subpart)
//   -> added tokens matched on the raw text (normalized=false ones), normalizer, then added
//      tokens with normalized=true on the normalized text
//   -> pre-tokenizer (Split / ByteLevel steps) -> byte-level alphabet -> BPE per piece
//   -> post-processor (TemplateProcessing: BOS/EOS) when add_special_tokens.
// decode(): ids -> token strings (added tokens by content, unknown ids skipped, specials skipped
// on request) -> ByteLevel decoder -> lossy UTF-8 (-> clean_up_tokenization_spaces only with
// transformers' explicit BPE opt-in key, as transformers 5.x does).
// A Tokenizer is immutable after loading; encode/decode are thread-safe.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "text/bpe.h"
#include "text/pretokenizer.h"
#include "text/pretokenizer_added.h"

namespace dsv3 {

class GgufFile;

class Tokenizer {
 public:
  // Loads a tokenizer.json, a folder holding tokenizer.json (and tokenizer_config.json, if
  // present), or a GGUF file (by its magic). Throws Error naming the file/field on bad input.
  static std::unique_ptr<Tokenizer> from_file(const std::string& path);
  // From in-memory JSON texts (config may be empty). `name` is used in error messages.
  static std::unique_ptr<Tokenizer> from_json(std::string_view tokenizer_json,
                                              std::string_view config_json,
                                              const std::string& name = "tokenizer.json");
  // From a parsed GGUF (tokenizer.ggml.model must be "gpt2").
  static std::unique_ptr<Tokenizer> from_gguf(const GgufFile& gguf);

  // Ids of `text`. add_special_tokens: apply the post-processor (BOS/EOS per tokenizer.json /
  // tokenizer_config.json). Special tokens written in the text are always recognised.
  std::vector<int32_t> encode(std::string_view text, bool add_special_tokens) const;
  std::string decode(const std::vector<int32_t>& ids, bool skip_special_tokens) const;
  // Raw bytes one token decodes to (before UTF-8 repair; used by StreamDecoder). Empty for an
  // unknown id, or for a special token when skip_special.
  std::string token_bytes(int32_t id, bool skip_special) const;

  // Token string as stored (byte-level alphabet for BPE tokens, content for added tokens);
  // empty if the id is unknown.
  std::string token_text(int32_t id) const;
  int32_t token_id(std::string_view token) const;  // -1 if none
  // 1 + the largest id of any token (model or added).
  size_t vocab_size() const { return vocab_size_; }
  int32_t bos_id() const { return bos_id_; }
  int32_t eos_id() const { return eos_id_; }
  int32_t pad_id() const { return pad_id_; }
  bool is_special(int32_t id) const;
  const std::string& bos_token() const { return bos_token_; }
  const std::string& eos_token() const { return eos_token_; }
  const std::string& chat_template() const { return chat_template_; }
  const std::vector<AddedToken>& added_tokens() const { return added_; }
  bool add_bos() const { return !prefix_.empty(); }
  const PreTokenizer& pre_tokenizer() const { return pre_; }
  bool nfc() const { return nfc_; }

 private:
  Tokenizer() = default;
  void finish();  // builds matchers and derived tables after loading
  void encode_text(std::string_view text, std::vector<int32_t>& out) const;
  void encode_normalized(std::string_view text, std::vector<int32_t>& out) const;

  std::unique_ptr<Bpe> bpe_;
  PreTokenizer pre_;
  bool nfc_ = false;  // normalizer: NFC (otherwise none)
  std::vector<AddedToken> added_;
  AddedTokenMatcher raw_matcher_, normalized_matcher_;
  std::vector<int32_t> added_index_;      // id -> index in added_ or -1
  TokenMap added_ids_;                    // content -> id (first occurrence)
  std::vector<int32_t> prefix_, suffix_;  // post-processor ids around the sequence
  bool byte_level_decoder_ = false;
  bool has_decoder_ = false;
  bool clean_up_spaces_ = false;
  int32_t bos_id_ = -1, eos_id_ = -1, pad_id_ = -1;
  std::string bos_token_, eos_token_, chat_template_;
  size_t vocab_size_ = 0;
  std::string name_;
};

// Incremental detokenizer: push() returns the text completed by one more token. Bytes of an
// incomplete UTF-8 sequence are held back until it completes; invalid sequences become U+FFFD
// (the concatenation of all outputs plus flush() equals decode() of all ids, without
// clean_up_tokenization_spaces).
class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tok, bool skip_special_tokens = false)
      : tok_(tok), skip_special_(skip_special_tokens) {}
  std::string push(int32_t id);
  std::string flush();  // emits held-back bytes (an incomplete tail becomes U+FFFD)

 private:
  const Tokenizer& tok_;
  bool skip_special_;
  std::string pending_;
};

}  // namespace dsv3
