// NFC: UAX #15 algorithm over the generated tables; Hangul (de)composition is arithmetic.
#include "text/unicode_nfc.h"

#include <algorithm>
#include <vector>

#include "text/unicode_nfc_tables.h"
#include "text/utf8.h"

namespace dsv3 {

namespace {
using namespace nfc_tables;

constexpr uint32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr uint32_t kLCount = 19, kVCount = 21, kTCount = 28, kNCount = kVCount * kTCount,
                   kSCount = kLCount * kNCount;

uint8_t ccc(uint32_t cp) {
  if (cp < 0x300) return 0;
  auto it = std::lower_bound(kCcc, kCcc + kCccCount, cp,
                             [](const CccEntry& e, uint32_t c) { return e.cp < c; });
  return it != kCcc + kCccCount && it->cp == cp ? it->ccc : 0;
}

void decompose(uint32_t cp, std::vector<uint32_t>& out) {
  if (cp >= kSBase && cp < kSBase + kSCount) {
    uint32_t s = cp - kSBase;
    out.push_back(kLBase + s / kNCount);
    out.push_back(kVBase + (s % kNCount) / kTCount);
    if (s % kTCount) out.push_back(kTBase + s % kTCount);
    return;
  }
  auto it = std::lower_bound(kDecomp, kDecomp + kDecompCount, cp,
                             [](const DecompEntry& e, uint32_t c) { return e.cp < c; });
  if (it != kDecomp + kDecompCount && it->cp == cp)
    out.insert(out.end(), kDecompData + it->offset, kDecompData + it->offset + it->length);
  else
    out.push_back(cp);
}

// Primary composite of (a, b) or 0.
uint32_t compose(uint32_t a, uint32_t b) {
  if (a >= kLBase && a < kLBase + kLCount && b >= kVBase && b < kVBase + kVCount)
    return kSBase + ((a - kLBase) * kVCount + (b - kVBase)) * kTCount;
  if (a >= kSBase && a < kSBase + kSCount && (a - kSBase) % kTCount == 0 && b > kTBase &&
      b < kTBase + kTCount)
    return a + (b - kTBase);
  auto it = std::lower_bound(kComp, kComp + kCompCount, std::make_pair(a, b),
                             [](const CompEntry& e, const std::pair<uint32_t, uint32_t>& k) {
                               return e.first != k.first ? e.first < k.first : e.second < k.second;
                             });
  return it != kComp + kCompCount && it->first == a && it->second == b ? it->composite : 0;
}
}  // namespace

const char* nfc_unicode_version() {
  return kUnicodeVersion;
}

std::string nfc_normalize(std::string_view s) {
  bool quick = true;
  for (size_t i = 0; i < s.size() && quick;) {
    uint8_t b = static_cast<uint8_t>(s[i]);
    if (b < 0x80) {
      ++i;
      continue;
    }
    size_t j = i;
    quick = utf8::next(s, j) < 0x300;
    i = j;
  }
  if (quick) return std::string(s);
  std::vector<uint32_t> d;
  d.reserve(s.size());
  for (size_t i = 0; i < s.size();) decompose(utf8::next(s, i), d);
  // Canonical ordering: stable sort each run of non-starters by ccc.
  for (size_t i = 0; i < d.size();) {
    if (ccc(d[i]) == 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < d.size() && ccc(d[j]) != 0) ++j;
    std::stable_sort(d.begin() + i, d.begin() + j,
                     [](uint32_t a, uint32_t b) { return ccc(a) < ccc(b); });
    i = j;
  }
  // Canonical composition.
  std::vector<uint32_t> out;
  out.reserve(d.size());
  long starter = -1;  // index in out of the last starter
  int last_ccc = -1;
  for (uint32_t c : d) {
    int cc = ccc(c);
    if (starter >= 0) {
      bool blocked = last_ccc != -1 && (last_ccc == 0 || last_ccc >= cc);
      // The char right after the starter is never blocked.
      if (size_t(starter) + 1 == out.size()) blocked = false;
      if (!blocked) {
        uint32_t p = compose(out[starter], c);
        if (p) {
          out[starter] = p;
          continue;
        }
      }
    }
    if (cc == 0) {
      starter = long(out.size());
      last_ccc = -1;
    } else {
      last_ccc = cc;
    }
    out.push_back(c);
  }
  std::string r;
  r.reserve(s.size());
  for (uint32_t c : out) utf8::append(r, c);
  return r;
}

}  // namespace dsv3
