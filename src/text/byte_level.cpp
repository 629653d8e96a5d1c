// Tables of the GPT-2 byte-level alphabet, built once.
#include "text/byte_level.h"

#include <array>

#include "text/utf8.h"

namespace dsv3::byte_level {

namespace {
struct Tables {
  std::array<uint32_t, 256> cp{};
  std::array<std::string, 256> utf8;
  std::array<int16_t, 0x144> back{};  // all alphabet code points are < 0x144
  Tables() {
    back.fill(-1);
    uint32_t extra = 0;
    for (int b = 0; b < 256; ++b) {
      bool printable =
          (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      cp[b] = printable ? uint32_t(b) : 0x100 + extra++;
      utf8::append(utf8[b], cp[b]);
      back[cp[b]] = int16_t(b);
    }
  }
};
const Tables& tables() {
  static const Tables t;
  return t;
}
}  // namespace

uint32_t byte_to_cp(uint8_t b) {
  return tables().cp[b];
}
std::string_view byte_to_utf8(uint8_t b) {
  return tables().utf8[b];
}
int cp_to_byte(uint32_t cp) {
  return cp < 0x144 ? tables().back[cp] : -1;
}

void encode(std::string_view raw, std::string& out) {
  const Tables& t = tables();
  out.reserve(out.size() + raw.size() * 2);
  for (unsigned char c : raw) out += t.utf8[c];
}

bool decode(std::string_view s, std::string& out) {
  const Tables& t = tables();
  for (size_t i = 0; i < s.size();) {
    utf8::Step st = utf8::step(s, i);
    if (st.kind != utf8::Step::kValid || st.cp >= 0x144 || t.back[st.cp] < 0) return false;
    out += char(t.back[st.cp]);
    i += st.len;
  }
  return true;
}

}  // namespace dsv3::byte_level
