// Counting heap allocations in tests: the test binary replaces the global operator new
// (alloc_count.cpp) with one that counts calls while an AllocCounter is alive on any thread.
// Used to enforce "no allocation in a warm decode step / decode loop".
#pragma once
#include <cstdint>

namespace dsv3::test {

// Counts operator new calls (all threads) between construction and count(). Not reentrant:
// one counter at a time.
class AllocCounter {
 public:
  AllocCounter();
  ~AllocCounter();
  int64_t count() const;
  AllocCounter(const AllocCounter&) = delete;
  AllocCounter& operator=(const AllocCounter&) = delete;
};

}  // namespace dsv3::test
