#include "thread_pool.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace uniscale::core {

int max_threads() {
  static const int n = [] {
    if (const char* env = std::getenv("UNISCALE_NUM_THREADS")) {
      const int v = std::atoi(env);
      if (v >= 1) return v;
    }
    const unsigned hw = std::thread::hardware_concurrency();
    return hw == 0 ? 1 : static_cast<int>(hw);
  }();
  return n;
}

namespace {

class Pool {
 public:
  explicit Pool(int n_workers) : pid_(getpid()) {
    for (int w = 1; w <= n_workers; ++w) std::thread([this, w] { loop(w); }).detach();
  }

  pid_t pid() const { return pid_; }
  std::mutex& owner() { return owner_; }

  void run(std::int64_t n_tasks, const std::function<void(std::int64_t, int)>& fn, int helpers) {
    {
      std::lock_guard<std::mutex> g(m_);
      fn_ = &fn;
      n_tasks_ = n_tasks;
      next_.store(0, std::memory_order_relaxed);
      active_ = helpers;
      wanted_ = helpers;
      error_ = nullptr;
      ++generation_;
    }
    cv_.notify_all();
    work(0);
    std::unique_lock<std::mutex> g(m_);
    // Helpers that have not woken up yet are released from this job: on a loaded machine a
    // wake-up can take a whole scheduler time slice, and there is no work left for them anyway.
    active_ -= wanted_;
    wanted_ = 0;
    done_cv_.wait(g, [this] { return active_ == 0; });
    fn_ = nullptr;
    if (error_) std::rethrow_exception(error_);
  }

 private:
  void work(int worker) {
    for (;;) {
      const std::int64_t t = next_.fetch_add(1, std::memory_order_relaxed);
      if (t >= n_tasks_) return;
      try {
        (*fn_)(t, worker);
      } catch (...) {
        std::lock_guard<std::mutex> g(m_);
        if (!error_) error_ = std::current_exception();
      }
    }
  }

  void loop(int worker) {
    std::uint64_t seen = 0;
    for (;;) {
      {
        std::unique_lock<std::mutex> g(m_);
        cv_.wait(g, [&] { return generation_ != seen && wanted_ > 0; });
        seen = generation_;
        --wanted_;
      }
      work(worker);
      std::lock_guard<std::mutex> g(m_);
      if (--active_ == 0) done_cv_.notify_one();
    }
  }

  pid_t pid_;
  std::mutex owner_;  // held by the one caller that uses the pool at a time
  std::mutex m_;
  std::condition_variable cv_, done_cv_;
  const std::function<void(std::int64_t, int)>* fn_ = nullptr;
  std::int64_t n_tasks_ = 0;
  std::atomic<std::int64_t> next_{0};
  int active_ = 0;
  int wanted_ = 0;
  std::uint64_t generation_ = 0;
  std::exception_ptr error_;
};

std::mutex g_pool_mutex;
Pool* g_pool = nullptr;  // deliberately leaked: joining threads at interpreter exit can hang

Pool* pool() {
  std::lock_guard<std::mutex> g(g_pool_mutex);
  // After fork() the child has the pool object but none of its threads: start a new one.
  if (g_pool == nullptr || g_pool->pid() != getpid()) g_pool = new Pool(max_threads() - 1);
  return g_pool;
}

}  // namespace

void parallel_for(std::int64_t n_tasks, const std::function<void(std::int64_t, int)>& fn) {
  const int helpers = static_cast<int>(std::min<std::int64_t>(max_threads() - 1, n_tasks - 1));
  if (helpers <= 0) {
    for (std::int64_t t = 0; t < n_tasks; ++t) fn(t, 0);
    return;
  }
  Pool* p = pool();
  std::unique_lock<std::mutex> own(p->owner(), std::try_to_lock);
  if (!own.owns_lock()) {
    for (std::int64_t t = 0; t < n_tasks; ++t) fn(t, 0);
    return;
  }
  p->run(n_tasks, fn, helpers);
}

}  // namespace uniscale::core
