// ThreadPool implementation: pinned workers, generation counter, static range split.
#include "core/thread_pool.h"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
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

ThreadPool::ThreadPool(int n_threads, bool pin) {
  n_threads_ = n_threads > 0 ? n_threads : default_thread_count();
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
    stop_ = true;
  }
  cv_start_.notify_all();
  for (auto& t : threads_) t.join();
}

void ThreadPool::worker(int idx) {
  uint64_t seen = 0;
  for (;;) {
    std::unique_lock<std::mutex> lk(mu_);
    cv_start_.wait(lk, [&] { return stop_ || generation_ != seen; });
    if (stop_) return;
    seen = generation_;
    auto range = idx < int(ranges_.size()) ? ranges_[idx] : std::pair<int64_t, int64_t>{0, 0};
    const auto* job = job_;
    lk.unlock();
    if (range.first < range.second) (*job)(range.first, range.second);
    lk.lock();
    if (--pending_ == 0) cv_done_.notify_one();
  }
}

void ThreadPool::parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn,
                              int64_t grain) {
  if (n <= 0) return;
  grain = std::max<int64_t>(1, grain);
  int64_t units = (n + grain - 1) / grain;
  int64_t parts = std::min<int64_t>(n_threads_, units);
  if (parts <= 1) {
    fn(0, n);
    return;
  }
  std::vector<std::pair<int64_t, int64_t>> ranges(n_threads_, {0, 0});
  for (int64_t p = 0; p < parts; ++p) {
    int64_t b = std::min(n, (units * p / parts) * grain);
    int64_t e = std::min(n, (units * (p + 1) / parts) * grain);
    ranges[p] = {b, e};
  }
  {
    std::lock_guard<std::mutex> lk(mu_);
    ranges_ = ranges;
    job_ = &fn;
    pending_ = n_threads_ - 1;
    ++generation_;
  }
  cv_start_.notify_all();
  if (ranges[0].first < ranges[0].second) fn(ranges[0].first, ranges[0].second);
  std::unique_lock<std::mutex> lk(mu_);
  cv_done_.wait(lk, [&] { return pending_ == 0; });
  job_ = nullptr;
}

void parallel_for(ThreadPool* pool, int64_t n, const std::function<void(int64_t, int64_t)>& fn,
                  int64_t grain) {
  if (pool)
    pool->parallel_for(n, fn, grain);
  else if (n > 0)
    fn(0, n);
}

}  // namespace dsv3
