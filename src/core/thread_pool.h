// Fixed-size thread pool with a static, deterministic work split.
//
// Invariant: parallel_for(n, fn) calls fn(begin, end) on disjoint ranges covering [0, n);
// which thread runs which range never changes the result, because every kernel computes
// each output element with a fixed operation order that does not depend on the split.
// That is what makes logits bit-identical for any thread count.
// Worker threads are pinned one per core (no more threads than cores by default).
// Hand-off: idle workers spin briefly (DSV3_SPIN_US, default 100 us) on the job counter before
// sleeping on a condition variable, so the back-to-back small jobs of a decode step do not
// pay a futex wake-up each; the split, and so every result, is the same either way.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>  // not used here; kept for includers that relied on it
#include <mutex>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace dsv3 {

// Non-owning reference to a callable void(int64_t, int64_t) (no allocation, unlike
// std::function): valid while the callable it was made from lives.
class RangeFn {
 public:
  template <class F, class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, RangeFn>>>
  RangeFn(F&& f)  // NOLINT: implicit on purpose, call sites pass lambdas
      : obj_(const_cast<void*>(static_cast<const void*>(&f))),
        call_([](void* o, int64_t b, int64_t e) { (*static_cast<std::remove_reference_t<F>*>(o))(b, e); }) {}
  void operator()(int64_t b, int64_t e) const { call_(obj_, b, e); }

 private:
  void* obj_;
  void (*call_)(void*, int64_t, int64_t);
};

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
  void parallel_for(int64_t n, RangeFn fn, int64_t grain = 1);

 private:
  void worker(int idx);

  int n_threads_;
  int64_t spin_ns_;  // how long idle threads poll before sleeping
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::condition_variable cv_start_, cv_done_;
  const RangeFn* job_ = nullptr;                     // written before generation_ is bumped
  std::vector<std::pair<int64_t, int64_t>> ranges_;  // idem; sized n_threads_ once
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
};

// Number of physical cores (distinct core ids in /proc/cpuinfo), at least 1.
int default_thread_count();

// Runs fn over [0, n) on `pool` if given, else serially on the calling thread.
void parallel_for(ThreadPool* pool, int64_t n, RangeFn fn, int64_t grain = 1);

}  // namespace dsv3
