// Tests of io/safetensors: reading a file written by the Python library (safetensors 0.8.0,
// tests/data/loader/python_written.safetensors, made by scripts/make_loader_refs.py), writing
// byte-identical files, and one corrupt variant per validation rule (generated at run time),
// each checked for a message that names the file and the tensor.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <vector>

#include "io/safetensors.h"
#include "loader_test_util.h"
#include "test_util.h"

using namespace dsv3;
using namespace dsv3::test;

namespace {

const std::string kPyFile = "loader/python_written.safetensors";

template <typename T>
T load_at(const StoredTensor& t, size_t i) {
  T v;
  std::memcpy(&v, t.data + i * sizeof(T), sizeof(T));
  return v;
}

// Writes header + data to a fresh temp file and returns its path.
std::string corrupt_file(const std::string& header, size_t data_len) {
  std::string p = temp_dir("st") + "/bad.safetensors";
  write_bytes(p, raw_safetensors(header, data_len));
  return p;
}

void expect_open_error(const std::string& header, size_t data_len,
                       std::initializer_list<std::string> parts) {
  std::string p = corrupt_file(header, data_len);
  expect_error([&] { SafetensorsFile::open(p); }, parts);
  expect_error([&] { SafetensorsFile::open(p); }, {p});  // every message names the file
}

}  // namespace

TEST(SafetensorsLoader, ReadsPythonWrittenFile) {
  auto f = SafetensorsFile::open(data_path(kPyFile));
  ASSERT_EQ(f->tensors().size(), 9u);
  EXPECT_EQ(f->metadata().at("format"), "pt");
  EXPECT_EQ(f->copied_bytes(), 0u);
  const auto& ts = f->tensors();

  const StoredTensor& a = ts.at("a.f32");
  EXPECT_EQ(a.dtype, DType::F32);
  EXPECT_EQ(a.shape, (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(a.nbytes, 48u);
  for (size_t i = 0; i < 12; ++i) EXPECT_EQ(load_at<float>(a, i), float(i) * 0.25f - 1) << i;
  TensorView v = a.view();
  EXPECT_EQ(v.ndim, 2);
  EXPECT_EQ(v.rows(), 3);
  EXPECT_EQ(v.cols(), 4);
  EXPECT_EQ(v.data, a.data);

  const StoredTensor& b = ts.at("b.bf16");
  EXPECT_EQ(b.dtype, DType::BF16);
  EXPECT_EQ(b.shape, (std::vector<int64_t>{2, 5}));
  for (size_t i = 0; i < 10; ++i)
    EXPECT_EQ(bf16_to_f32(load_at<uint16_t>(b, i)), float(i) * 0.5f - 2);

  const StoredTensor& c = ts.at("c.f16");
  EXPECT_EQ(c.dtype, DType::F16);
  EXPECT_EQ(c.nbytes, 14u);
  for (size_t i = 0; i < 7; ++i) EXPECT_EQ(f16_to_f32(load_at<uint16_t>(c, i)), float(i) / 4);

  // OCP FP8 E4M3 (bias 7) codes of 0.5, -1, 2, 448 as torch.float8_e4m3fn encodes them.
  const StoredTensor& d = ts.at("d.f8");
  EXPECT_EQ(d.dtype, DType::F8_E4M3);
  const uint8_t want8[] = {0x30, 0xB8, 0x40, 0x7E};
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(d.data[i], want8[i]) << i;

  const StoredTensor& e = ts.at("e.i64");
  EXPECT_EQ(e.dtype, DType::I64);
  EXPECT_EQ(load_at<int64_t>(e, 0), 1);
  EXPECT_EQ(load_at<int64_t>(e, 1), -2);
  EXPECT_EQ(load_at<int64_t>(e, 2), 3);

  const StoredTensor& s = ts.at("f.scalar");
  EXPECT_TRUE(s.shape.empty());
  EXPECT_EQ(s.numel(), 1);
  EXPECT_EQ(load_at<float>(s, 0), 3.5f);
  EXPECT_EQ(s.view().ndim, 1);
  EXPECT_EQ(s.view().shape[0], 1);

  const StoredTensor& z = ts.at("g.empty");
  EXPECT_EQ(z.shape, (std::vector<int64_t>{0, 3}));
  EXPECT_EQ(z.numel(), 0);
  EXPECT_EQ(z.nbytes, 0u);

  EXPECT_EQ(load_at<float>(ts.at("h.\xc3\xbc"
                                 "n\xc3\xaf"
                                 "code.weight"),
                           0),
            7.0f);
  const StoredTensor& u = ts.at("i.u8");
  EXPECT_EQ(u.data[0], 0);
  EXPECT_EQ(u.data[2], 255);

  // Every pointer is naturally aligned and inside the mapping; ranges are disjoint.
  size_t total = 0;
  for (const auto& [name, t] : ts) {
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data) % dtype_size(t.dtype), 0u) << name;
    EXPECT_EQ(t.file, data_path(kPyFile));
    EXPECT_TRUE(f->owns(t)) << name;
    total += t.nbytes;
  }
  StoredTensor outside = ts.at("a.f32");
  outside.data = reinterpret_cast<const uint8_t*>(&total);
  EXPECT_FALSE(f->owns(outside));
  outside = ts.at("i.u8");
  outside.nbytes += 1;  // one byte past the end of the file
  EXPECT_FALSE(f->owns(outside));
  EXPECT_EQ(total, f->tensor_bytes());
  EXPECT_EQ(f->mapped_bytes(), std::filesystem::file_size(data_path(kPyFile)));
}

TEST(SafetensorsLoader, WriterIsByteIdenticalToPython) {
  auto f = SafetensorsFile::open(data_path(kPyFile));
  std::vector<TensorToWrite> w;
  // Reverse name order: the writer must reorder as the library does.
  for (auto it = f->tensors().rbegin(); it != f->tensors().rend(); ++it)
    w.push_back(
        {it->first, it->second.dtype, it->second.shape, it->second.data, it->second.nbytes});
  std::string out = temp_dir("st") + "/ours.safetensors";
  write_safetensors(out, w, {{"format", "pt"}});
  EXPECT_EQ(read_bytes(out), read_bytes(data_path(kPyFile)));
  EXPECT_FALSE(std::filesystem::exists(out + ".tmp"));
}

TEST(SafetensorsLoader, WriterRoundTripsOddNamesAndMetadata) {
  const std::string dir = temp_dir("st");
  const std::string p = dir + "/rt.safetensors";
  std::vector<float> f32 = {1.5f, -2.25f, 3.0f};
  std::vector<uint16_t> bf = {0x3f80, 0xc000, 0x7f80, 0x0001, 0x8000};
  std::vector<uint8_t> u8 = {9};
  const std::string odd =
      "q\"uote\\back\nnl\x01"
      "ctl/\xe2\x82\xac";
  write_safetensors(p,
                    {{"u8", DType::U8, {1}, u8.data(), 1},
                     {odd, DType::F32, {3}, f32.data(), 12},
                     {"bf", DType::BF16, {5, 1}, bf.data(), 10},
                     {"none", DType::F32, {2, 0}, nullptr, 0}},
                    {{"z", "last"}, {"a", "first \"q\""}, {"format", "pt"}});
  std::string bytes = read_bytes(p);
  uint64_t hlen = 0;
  for (int i = 0; i < 8; ++i) hlen |= uint64_t(uint8_t(bytes[size_t(i)])) << (8 * i);
  EXPECT_EQ(hlen % 8, 0u);
  EXPECT_EQ(bytes.compare(8, 16, "{\"__metadata__\":"), 0);
  EXPECT_EQ(bytes.size(), 8 + hlen + 12 + 10 + 1);

  auto f = SafetensorsFile::open(p);
  ASSERT_EQ(f->tensors().size(), 4u);
  EXPECT_EQ(f->metadata().size(), 3u);
  EXPECT_EQ(f->metadata().at("a"), "first \"q\"");
  const StoredTensor& o = f->tensors().at(odd);
  EXPECT_EQ(std::memcmp(o.data, f32.data(), 12), 0);
  EXPECT_EQ(std::memcmp(f->tensors().at("bf").data, bf.data(), 10), 0);
  EXPECT_EQ(f->tensors().at("u8").data[0], 9);
  EXPECT_EQ(f->tensors().at("none").shape, (std::vector<int64_t>{2, 0}));
}

TEST(SafetensorsLoader, WriterRejectsBadInput) {
  const std::string dir = temp_dir("st");
  const std::string p = dir + "/w.safetensors";
  float x[4] = {};
  expect_error(
      [&] {
        write_safetensors(p, {{"t", DType::F32, {3}, x, 16}});
      },
      {p, "tensor 't'", "does not match 16 bytes"});
  expect_error(
      [&] {
        write_safetensors(p, {{"t", DType::F32, {1}, x, 4}, {"t", DType::F16, {2}, x, 4}});
      },
      {p, "tensor 't'", "given twice"});
  expect_error(
      [&] {
        write_safetensors(p, {{"__metadata__", DType::F32, {1}, x, 4}});
      },
      {p, "reserved name"});
  expect_error(
      [&] {
        write_safetensors(p, {{"t", DType::F32, {-1}, x, 4}});
      },
      {p, "tensor 't'", "negative"});
  expect_error(
      [&] {
        write_safetensors(p, {{"bad\xff", DType::F32, {1}, x, 4}});
      },
      {p, "not valid UTF-8"});
  EXPECT_FALSE(std::filesystem::exists(p));
  EXPECT_FALSE(std::filesystem::exists(p + ".tmp"));
  expect_error([&] { write_safetensors(dir + "/no/such/dir/x.safetensors", {}); },
               {"cannot create"});
}

TEST(SafetensorsLoader, RejectsTooSmallAndBadHeaderLength) {
  const std::string dir = temp_dir("st");
  for (size_t n : {0, 1, 7}) {
    std::string p = dir + "/small" + std::to_string(n) + ".safetensors";
    write_bytes(p, std::string(n, '\0'));
    expect_error([&] { SafetensorsFile::open(p); }, {p, "too small"});
  }
  std::string p = dir + "/len.safetensors";
  write_bytes(p, le64(100) + "{}");
  expect_error([&] { SafetensorsFile::open(p); },
               {p, "header length 100 past end of file (size 10)"});
  write_bytes(p, le64(uint64_t(1) << 60) + "{}");
  expect_error([&] { SafetensorsFile::open(p); }, {p, "exceeds the limit"});
  write_bytes(p, le64(~uint64_t(0)) + "{}");
  expect_error([&] { SafetensorsFile::open(p); }, {p, "exceeds the limit"});
  write_bytes(p, le64(1) + "{");
  expect_error([&] { SafetensorsFile::open(p); }, {p, "too small for a JSON object"});
}

TEST(SafetensorsLoader, RejectsTruncatedPythonFile) {
  // The last tensor in the data section is the one with the largest end offset.
  std::string bytes = read_bytes(data_path(kPyFile));
  auto f = SafetensorsFile::open(data_path(kPyFile));
  std::string last;
  const uint8_t* last_end = nullptr;
  for (const auto& [n, t] : f->tensors())
    if (t.nbytes && t.data + t.nbytes > last_end) last_end = t.data + t.nbytes, last = n;
  std::string p = temp_dir("st") + "/model.safetensors";
  write_bytes(p, bytes.substr(0, bytes.size() - 1));
  expect_error([&] { SafetensorsFile::open(p); },
               {p, "tensor '" + last + "'", "past end of file",
                "file size " + std::to_string(bytes.size() - 1)});
  // Several tensors cut off: one of them is named.
  write_bytes(p, bytes.substr(0, bytes.size() - 20));
  expect_error([&] { SafetensorsFile::open(p); }, {p, "tensor '", "past end of file"});
  // Cut inside the header.
  write_bytes(p, bytes.substr(0, 40));
  expect_error([&] { SafetensorsFile::open(p); }, {p, "past end of file (size 40)"});
}

TEST(SafetensorsLoader, RejectsMalformedJson) {
  expect_open_error("{\"x\": {\"dtype\": ", 0, {"malformed JSON"});
  expect_open_error("{\"x\": 1} trailing", 0, {"malformed JSON"});
  expect_open_error("{\"x\xff\": 1}   ", 0, {"malformed JSON"});  // invalid UTF-8
  expect_open_error("[1, 2, 3]", 0, {"expected a JSON object, got array"});
  expect_open_error("\"str\"   ", 0, {"expected a JSON object, got string"});
  std::string deep = "{\"__metadata__\": " + std::string(100, '[') + std::string(100, ']') + "}";
  expect_open_error(deep, 0, {"nested deeper than"});
  std::string deep_obj;
  for (int i = 0; i < 200; ++i) deep_obj += "{\"a\":";
  deep_obj += "1" + std::string(200, '}');
  expect_open_error(deep_obj, 0, {"nested deeper than"});
}

TEST(SafetensorsLoader, RejectsDuplicateNames) {
  expect_open_error(
      R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
      8, {"duplicate key 'w'"});
  expect_open_error(R"({"w":{"dtype":"F32","dtype":"F16","shape":[1],"data_offsets":[0,4]}})", 4,
                    {"duplicate key 'dtype'"});
}

TEST(SafetensorsLoader, RejectsBadEntries) {
  expect_open_error(R"({"x.weight":{"dtype":"F7","shape":[1],"data_offsets":[0,4]}})", 4,
                    {"tensor 'x.weight'", "unknown dtype 'F7'"});
  expect_open_error(R"({"x.weight":{"dtype":3,"shape":[1],"data_offsets":[0,4]}})", 4,
                    {"tensor 'x.weight'", "\"dtype\" must be a string"});
  expect_open_error(R"({"x.weight":{"shape":[1],"data_offsets":[0,4]}})", 4,
                    {"tensor 'x.weight'", "missing \"dtype\""});
  expect_open_error(R"({"x.weight":{"dtype":"F32","data_offsets":[0,4]}})", 4,
                    {"tensor 'x.weight'", "missing \"shape\""});
  expect_open_error(R"({"x.weight":{"dtype":"F32","shape":[1]}})", 4,
                    {"tensor 'x.weight'", "missing \"data_offsets\""});
  expect_open_error(R"({"x.weight":[1,2]})", 4, {"tensor 'x.weight'", "entry must be an object"});
  expect_open_error(R"({"x.weight":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4,
                    {"tensor 'x.weight'", "non-negative integers"});
  expect_open_error(R"({"x.weight":{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}})", 4,
                    {"tensor 'x.weight'", "non-negative integers"});
  expect_open_error(R"({"x.weight":{"dtype":"F32","shape":["1"],"data_offsets":[0,4]}})", 4,
                    {"tensor 'x.weight'", "non-negative integers"});
  expect_open_error(R"({"x.weight":{"dtype":"F32","shape":4,"data_offsets":[0,4]}})", 4,
                    {"tensor 'x.weight'", "\"shape\" must be an array"});
  expect_open_error(
      R"({"x.weight":{"dtype":"F32","shape":[9223372036854775808],"data_offsets":[0,4]}})", 4,
      {"tensor 'x.weight'", "non-negative integers"});
  expect_open_error(
      R"({"x.weight":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}})", 4,
      {"tensor 'x.weight'", "overflows"});
  expect_open_error(
      R"({"x.weight":{"dtype":"BF16","shape":[4611686018427387904,4],"data_offsets":[0,4]}})", 4,
      {"tensor 'x.weight'", "overflows"});
  // 2^62 BF16 elements = 2^63 bytes: representable, but not what the offsets span.
  expect_open_error(
      R"({"x.weight":{"dtype":"BF16","shape":[4611686018427387904],"data_offsets":[0,4]}})", 4,
      {"tensor 'x.weight'", "needs 9223372036854775808 bytes"});
  std::string many = R"({"x.weight":{"dtype":"F32","shape":[)";
  for (int i = 0; i < 70; ++i) many += i ? ",1" : "1";
  expect_open_error(many + R"(],"data_offsets":[0,4]}})", 4,
                    {"tensor 'x.weight'", "70 dimensions"});
}

TEST(SafetensorsLoader, RejectsBadOffsets) {
  expect_open_error(R"({"x.weight":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8,
                    {"tensor 'x.weight'", "needs 12 bytes but data_offsets [0, 8] span 8"});
  expect_open_error(R"({"x.weight":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}})", 8,
                    {"tensor 'x.weight'", "data_offsets [8, 4] have begin > end"});
  expect_open_error(R"({"x.weight":{"dtype":"F32","shape":[100],"data_offsets":[0,400]}})", 100,
                    {"tensor 'x.weight'", "data_offsets [0, 400] past end of file",
                     "data section holds 100 bytes"});
  expect_open_error(
      R"({"x.weight":{"dtype":"U8","shape":[1],"data_offsets":[9223372036854775806,9223372036854775807]}})",
      4, {"tensor 'x.weight'", "past end of file"});
  expect_open_error(R"({"x.weight":{"dtype":"F32","shape":[1],"data_offsets":[0]}})", 4,
                    {"tensor 'x.weight'", "must be [begin, end]"});
  expect_open_error(R"({"x.weight":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}})", 4,
                    {"tensor 'x.weight'", "must be [begin, end]"});
  expect_open_error(R"({"x.weight":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}})", 4,
                    {"tensor 'x.weight'", "must be [begin, end]"});
  expect_open_error(R"({"x.weight":{"dtype":"F32","shape":[1],"data_offsets":"0,4"}})", 4,
                    {"tensor 'x.weight'", "must be [begin, end]"});
}

TEST(SafetensorsLoader, RejectsOverlapHolesAndTail) {
  expect_open_error(
      R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
      12, {"tensors 'a' data_offsets [0, 8] and 'b' data_offsets [4, 12] overlap"});
  // The same range used twice (aliasing) is an overlap too.
  expect_open_error(
      R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
      4, {"'a'", "'b'", "overlap"});
  // An empty tensor strictly inside another one's range.
  expect_open_error(
      R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"e":{"dtype":"F32","shape":[0],"data_offsets":[4,4]}})",
      8, {"'a'", "'e'", "overlap"});
  expect_open_error(
      R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
      12, {"tensor 'b'", "hole of 4 unindexed bytes", "after tensor 'a'"});
  expect_open_error(R"({"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8,
                    {"tensor 'b'", "hole of 4", "at the data start"});
  expect_open_error(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 12,
                    {"8 bytes after the last tensor are not covered"});
}

TEST(SafetensorsLoader, RejectsBadMetadata) {
  const std::string t = R"("x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]})";
  expect_open_error("{\"__metadata__\":{\"k\":1}," + t + "}", 4,
                    {"__metadata__ value of 'k'", "number"});
  expect_open_error("{\"__metadata__\":[\"k\"]," + t + "}", 4, {"__metadata__ must be an object"});
  // null metadata is accepted, as by the Python library.
  auto f = SafetensorsFile::open(corrupt_file("{\"__metadata__\":null," + t + "}", 4));
  EXPECT_TRUE(f->metadata().empty());
  EXPECT_EQ(f->tensors().size(), 1u);
}

TEST(SafetensorsLoader, CopiesMisalignedTensorsOnly) {
  // Header of odd length: the data section starts at an odd offset, so the F32 tensor would be
  // misaligned in the mmap; the U8 one never is. Extra unknown keys are ignored (as in Python).
  const std::string h =
      R"({"f":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"u":{"dtype":"U8","shape":[3],"data_offsets":[8,11]},"e":{"dtype":"F32","shape":[0],"data_offsets":[11,11],"extra":1}} )";
  ASSERT_EQ(h.size() % 2, 1u);
  auto f = SafetensorsFile::open(corrupt_file(h, 11));
  EXPECT_EQ(f->copied_bytes(), 8u);
  const StoredTensor& t = f->tensors().at("f");
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data) % 4, 0u);
  for (size_t i = 0; i < 8; ++i) EXPECT_EQ(t.data[i], uint8_t(i));
  EXPECT_TRUE(f->owns(t));
  const StoredTensor& u = f->tensors().at("u");
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(u.data[i], uint8_t(8 + i));
}

TEST(SafetensorsLoader, ViewRejectsMoreThanFourDims) {
  auto f = SafetensorsFile::open(
      corrupt_file(R"({"t5":{"dtype":"U8","shape":[1,1,1,1,2],"data_offsets":[0,2]}}      )", 2));
  expect_error([&] { f->tensors().at("t5").view(); }, {"tensor 't5'", "5 dimensions"});
}

TEST(SafetensorsLoader, RejectsMissingFileAndDirectory) {
  const std::string dir = temp_dir("st");
  expect_error([&] { SafetensorsFile::open(dir + "/nope.safetensors"); },
               {dir + "/nope.safetensors", "cannot open"});
  expect_error([&] { SafetensorsFile::open(dir); }, {dir, "not a regular file"});
}
