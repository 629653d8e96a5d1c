// Fixed-size thread pool with a static, deterministic work split.
//
// Invariant: parallel_for(n, fn) calls fn(begin, end) on disjoint ranges covering [0, n);
// which thread runs which range never changes the result, because every kernel computes
// each output element with a fixed operation order that does not depend on the split.
// That is what makes logits bit-identical for any thread count.
// Worker threads are pinned one per core (no more threads than cores by default).
#pragma once
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace dsv3 {

class ThreadPool {
 public:
  // n_threads <= 0 means one per physical core (see default_thread_count()).
  explicit ThreadPool(int n_threads = 0, bool pin = true);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  // Splits [0, n) into at most size() contiguous chunks, each a multiple of `grain`
  // (except the last), and runs fn(begin, end) on them; returns when all are done.
  // The calling thread runs chunk 0. Not reentrant.
  void parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn,
                    int64_t grain = 1);

 private:
  void worker(int idx);

  int n_threads_;
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::condition_variable cv_start_, cv_done_;
  const std::function<void(int64_t, int64_t)>* job_ = nullptr;
  std::vector<std::pair<int64_t, int64_t>> ranges_;
  uint64_t generation_ = 0;
  int pending_ = 0;
  bool stop_ = false;
};

// Number of physical cores (distinct core ids in /proc/cpuinfo), at least 1.
int default_thread_count();

// Runs fn over [0, n) on `pool` if given, else serially on the calling thread.
void parallel_for(ThreadPool* pool, int64_t n, const std::function<void(int64_t, int64_t)>& fn,
                  int64_t grain = 1);

}  // namespace dsv3
