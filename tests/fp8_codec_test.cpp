// FP8 codecs against torch 2.9 (tables made by scripts/make_fp8_refs.py, torch pinned in
// scripts/requirements.txt): every e4m3fn / e5m2 code decodes to torch's value, and fp32 -> fp8
// gives torch's code bit for bit on ~9,000 inputs per format (all representable values, every
// rounding tie and its fp32 neighbours, subnormals, the overflow edge, inf/NaN/±0, random
// magnitudes). Also UE8M0 scale rounding vs torch's exp2(ceil(log2 s)).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "core/fp8.h"
#include "io/npy.h"
#include "test_util.h"

using namespace dsv3;

namespace {

std::vector<float> f32(const std::string& name) {
  return read_npy(test::data_path("fp8/" + name)).as_f32();
}
std::vector<int64_t> i64(const std::string& name) {
  return read_npy(test::data_path("fp8/" + name)).as_i64();
}

void expect_same_float(float got, float want, int code) {
  if (std::isnan(want)) {
    EXPECT_TRUE(std::isnan(got)) << "code " << code;
  } else {
    uint32_t a, b;
    std::memcpy(&a, &got, 4);
    std::memcpy(&b, &want, 4);
    EXPECT_EQ(a, b) << "code " << code << ": " << got << " vs torch " << want;
  }
}

TEST(Fp8Codec, E4m3DecodeAll256LikeTorch) {
  const auto ref = f32("e4m3_decode.npy");
  ASSERT_EQ(ref.size(), 256u);
  int nan = 0;
  for (int b = 0; b < 256; ++b) {
    expect_same_float(e4m3_to_f32(uint8_t(b)), ref[size_t(b)], b);
    nan += std::isnan(ref[size_t(b)]);
  }
  EXPECT_EQ(nan, 2);  // 0x7f and 0xff only
  EXPECT_EQ(e4m3_to_f32(0x7e), 448.0f);
  EXPECT_EQ(e4m3_to_f32(0x01), std::ldexp(1.0f, -9));
}

TEST(Fp8Codec, E4m3EncodeMatchesTorchRne) {
  const auto in = f32("e4m3_encode_in.npy");
  const auto out = i64("e4m3_encode_out.npy");
  ASSERT_EQ(in.size(), out.size());
  ASSERT_GT(in.size(), 5000u);
  int bad = 0;
  for (size_t i = 0; i < in.size(); ++i)
    if (f32_to_e4m3(in[i]) != out[i] && ++bad < 10)
      ADD_FAILURE() << "x=" << in[i] << " got " << int(f32_to_e4m3(in[i])) << " torch " << out[i];
  EXPECT_EQ(bad, 0);
}

TEST(Fp8Codec, E4m3SaturatingEncode) {
  EXPECT_EQ(f32_to_e4m3(480.0f), 0x7f);  // torch: overflow is NaN
  EXPECT_EQ(f32_to_e4m3_sat(480.0f), 0x7e);
  EXPECT_EQ(f32_to_e4m3_sat(-1e30f), 0xfe);
  EXPECT_EQ(f32_to_e4m3_sat(INFINITY), 0x7e);
  EXPECT_EQ(f32_to_e4m3_sat(std::nanf("")) & 0x7f, 0x7f);
  EXPECT_EQ(f32_to_e4m3_sat(1.0f), f32_to_e4m3(1.0f));
}

TEST(Fp8Codec, E5m2DecodeAndEncodeLikeTorch) {
  const auto dec = f32("e5m2_decode.npy");
  ASSERT_EQ(dec.size(), 256u);
  for (int b = 0; b < 256; ++b) expect_same_float(e5m2_to_f32(uint8_t(b)), dec[size_t(b)], b);
  const auto in = f32("e5m2_encode_in.npy");
  const auto out = i64("e5m2_encode_out.npy");
  ASSERT_EQ(in.size(), out.size());
  int bad = 0;
  for (size_t i = 0; i < in.size(); ++i)
    if (f32_to_e5m2(in[i]) != out[i] && ++bad < 10)
      ADD_FAILURE() << "x=" << in[i] << " got " << int(f32_to_e5m2(in[i])) << " torch " << out[i];
  EXPECT_EQ(bad, 0);
}

TEST(Fp8Codec, Ue8m0RoundingLikeTorch) {
  const auto in = f32("ue8m0_in.npy");
  const auto out = f32("ue8m0_out.npy");
  ASSERT_EQ(in.size(), out.size());
  for (size_t i = 0; i < in.size(); ++i) {
    EXPECT_EQ(round_scale_ue8m0(in[i]), out[i]) << in[i];
    EXPECT_TRUE(is_pow2(round_scale_ue8m0(in[i])));
  }
  EXPECT_FALSE(is_pow2(3.0f));
  EXPECT_FALSE(is_pow2(0.0f));
}

}  // namespace
