// StreamDecoder: emits the longest complete UTF-8 prefix of the pending bytes.
#include "text/tokenizer.h"
#include "text/utf8.h"

namespace dsv3 {

std::string StreamDecoder::push(int32_t id) {
  pending_ += tok_.token_bytes(id, skip_special_);
  std::string out;
  size_t i = 0;
  while (i < pending_.size()) {
    utf8::Step st = utf8::step(pending_, i);
    if (st.kind == utf8::Step::kIncomplete) break;  // wait for the rest of the sequence
    if (st.kind == utf8::Step::kValid)
      out.append(pending_, i, st.len);
    else
      utf8::append(out, utf8::kReplacement);
    i += st.len;
  }
  pending_.erase(0, i);
  return out;
}

std::string StreamDecoder::flush() {
  std::string out = utf8::repair(pending_);
  pending_.clear();
  return out;
}

}  // namespace dsv3
