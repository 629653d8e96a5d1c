// Per-thread slot buffers of model/scratch.h.
#include "model/scratch.h"

#include <array>
#include <vector>

namespace dsv3 {

namespace {

struct Slots {
  std::array<std::vector<float>, size_t(Scratch::kCount)> f;
  std::array<std::vector<int64_t>, size_t(Scratch::kCount)> i;
};

Slots& slots() {
  thread_local Slots s;
  return s;
}

template <class T>
T* grow(std::vector<T>& v, size_t n) {
  if (v.size() < n) {
    v.clear();
    v.shrink_to_fit();
    v.resize(n);
  }
  return v.data();
}

}  // namespace

float* scratch_floats(Scratch slot, size_t n) {
  return grow(slots().f[size_t(slot)], n == 0 ? 1 : n);
}

int64_t* scratch_i64(Scratch slot, size_t n) {
  return grow(slots().i[size_t(slot)], n == 0 ? 1 : n);
}

void scratch_trim(size_t keep_bytes) {
  Slots& s = slots();
  for (auto& v : s.f)
    if (v.size() * sizeof(float) > keep_bytes) std::vector<float>().swap(v);
  for (auto& v : s.i)
    if (v.size() * sizeof(int64_t) > keep_bytes) std::vector<int64_t>().swap(v);
}

}  // namespace dsv3
