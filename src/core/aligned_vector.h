// std::vector storage aligned to a cache line (or more): AlignedVector<T> is a std::vector whose
// data() is kCacheLine-aligned, so buffers whose rows are multiples of 64 bytes (the latent KV
// cache: 576 x 2 or x 4 bytes) put every row on a line boundary and a 64-byte vector load of a
// row never splits across two lines.
#pragma once
#include <cstddef>
#include <new>
#include <vector>

namespace dsv3 {

constexpr std::size_t kCacheLine = 64;

template <class T, std::size_t Align = kCacheLine>
struct AlignedAllocator {
  using value_type = T;
  AlignedAllocator() noexcept = default;
  template <class U>
  AlignedAllocator(const AlignedAllocator<U, Align>&) noexcept {}
  template <class U>
  struct rebind {
    using other = AlignedAllocator<U, Align>;
  };
  T* allocate(std::size_t n) {
    return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t(Align)));
  }
  void deallocate(T* p, std::size_t) noexcept { ::operator delete(p, std::align_val_t(Align)); }
  template <class U>
  bool operator==(const AlignedAllocator<U, Align>&) const noexcept {
    return true;
  }
};

template <class T, std::size_t Align = kCacheLine>
using AlignedVector = std::vector<T, AlignedAllocator<T, Align>>;

}  // namespace dsv3
