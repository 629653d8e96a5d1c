// NFC data tables (generated into unicode_nfc_tables.cpp by
// scripts/gen_tokenizer_unicode_tables.py); each table is sorted by its first field.
#pragma once
#include <cstddef>
#include <cstdint>

namespace dsv3::nfc_tables {
struct CccEntry {
  uint32_t cp;
  uint8_t ccc;
};
struct DecompEntry {
  uint32_t cp;
  uint32_t offset, length;
};  // into kDecompData
struct CompEntry {
  uint32_t first, second, composite;
};
extern const char* const kUnicodeVersion;
extern const CccEntry kCcc[];
extern const size_t kCccCount;
extern const DecompEntry kDecomp[];
extern const size_t kDecompCount;
extern const uint32_t kDecompData[];
extern const CompEntry kComp[];
extern const size_t kCompCount;
}  // namespace dsv3::nfc_tables
