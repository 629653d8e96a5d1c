// ThreadPool implementation: pinned workers, generation counter, static range split.
#include "core/thread_pool.h"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <set>
#include <string>

namespace dsv3 {

int default_thread_count() {
  std::ifstream f("/proc/cpuinfo");
  std::set<std::pair<int, int>> cores;  // (physical id, core id)
  std::string line;
  int phys = 0;
  while (std::getline(f, line)) {
    if (line.rfind("physical id", 0) == 0) phys = std::atoi(line.c_str() + line.find(':') + 1);
    if (line.rfind("core id", 0) == 0) cores.insert({phys, std::atoi(line.c_str() + line.find(':') + 1)});
  }
  int n = int(cores.size());
  if (n <= 0) n = int(std::thread::hardware_concurrency());
  return std::max(1, n);
}

namespace {

int64_t spin_ns_from_env() {
  const char* e = std::getenv("DSV3_SPIN_US");
  if (!e || !*e) return 100'000;  // 100 us: covers the gap between the ops of a decode step
  return std::max<int64_t>(0, std::atoll(e)) * 1000;
}

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// Polls pred() for up to spin_ns; true if it became true.
template <class Pred>
bool spin_until(Pred pred, int64_t spin_ns) {
  if (spin_ns <= 0) return pred();
  const auto t0 = std::chrono::steady_clock::now();
  for (;;) {
    for (int i = 0; i < 64; ++i) {
      if (pred()) return true;
      cpu_relax();
    }
    if (std::chrono::steady_clock::now() - t0 > std::chrono::nanoseconds(spin_ns)) return pred();
  }
}

}  // namespace

ThreadPool::ThreadPool(int n_threads, bool pin) {
  n_threads_ = n_threads > 0 ? n_threads : default_thread_count();
  spin_ns_ = spin_ns_from_env();
  ranges_.assign(size_t(n_threads_), {0, 0});
  int n_cpus = int(std::thread::hardware_concurrency());
  for (int i = 1; i < n_threads_; ++i) threads_.emplace_back([this, i] { worker(i); });
  if (pin && n_cpus > 0 && n_threads_ <= n_cpus) {
    for (int i = 0; i < n_threads_; ++i) {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(i % n_cpus, &set);
      pthread_t t = i == 0 ? pthread_self() : threads_[i - 1].native_handle();
      pthread_setaffinity_np(t, sizeof(set), &set);  // best effort; failure is harmless
    }
  }
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_.store(true);
  }
  cv_start_.notify_all();
  for (auto& t : threads_) t.join();
}

void ThreadPool::worker(int idx) {
  uint64_t seen = 0;
  for (;;) {
    auto ready = [&] { return stop_.load(std::memory_order_acquire) ||
                              generation_.load(std::memory_order_acquire) != seen; };
    if (!spin_until(ready, spin_ns_)) {
      std::unique_lock<std::mutex> lk(mu_);
      cv_start_.wait(lk, ready);
    }
    if (stop_.load(std::memory_order_acquire)) return;
    seen = generation_.load(std::memory_order_acquire);
    // job_ and ranges_ were written before the generation bump (release) we just observed.
    const auto range = ranges_[size_t(idx)];
    if (range.first < range.second) (*job_)(range.first, range.second);
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      std::lock_guard<std::mutex> lk(mu_);  // pairs with the caller's predicate check
      cv_done_.notify_one();
    }
  }
}

void ThreadPool::parallel_for(int64_t n, RangeFn fn, int64_t grain) {
  if (n <= 0) return;
  grain = std::max<int64_t>(1, grain);
  int64_t units = (n + grain - 1) / grain;
  int64_t parts = std::min<int64_t>(n_threads_, units);
  if (parts <= 1) {
    fn(0, n);
    return;
  }
  for (int64_t p = 0; p < n_threads_; ++p) {
    if (p < parts) {
      int64_t b = std::min(n, (units * p / parts) * grain);
      int64_t e = std::min(n, (units * (p + 1) / parts) * grain);
      ranges_[size_t(p)] = {b, e};
    } else {
      ranges_[size_t(p)] = {0, 0};
    }
  }
  job_ = &fn;
  pending_.store(n_threads_ - 1, std::memory_order_relaxed);
  {
    std::lock_guard<std::mutex> lk(mu_);  // sleeping workers check the generation under mu_
    generation_.fetch_add(1, std::memory_order_release);
  }
  cv_start_.notify_all();
  if (ranges_[0].first < ranges_[0].second) fn(ranges_[0].first, ranges_[0].second);
  auto done = [&] { return pending_.load(std::memory_order_acquire) == 0; };
  if (!spin_until(done, spin_ns_)) {
    std::unique_lock<std::mutex> lk(mu_);
    cv_done_.wait(lk, done);
  }
  job_ = nullptr;
}

void parallel_for(ThreadPool* pool, int64_t n, RangeFn fn, int64_t grain) {
  if (pool)
    pool->parallel_for(n, fn, grain);
  else if (n > 0)
    fn(0, n);
}

}  // namespace dsv3
