#include "linucb.hpp"

#include <algorithm>
#include <mutex>
#include <numeric>

#include "scoring.hpp"
#include "thread_pool.hpp"

namespace uniscale::core {

namespace {

using ReadLock = std::shared_lock<std::shared_mutex>;
using WriteLock = std::unique_lock<std::shared_mutex>;

}  // namespace

// ---------------------------------------------------------------------------- SharedLinUCB

SharedLinUCB::SharedLinUCB(int d, const Hyper& h) : h_(h), store_(d, 1, h.lam, h.precision) {}

Hyper SharedLinUCB::hyper() const {
  ReadLock g(mu_);
  return h_;
}

void SharedLinUCB::set_alpha(double alpha) {
  WriteLock g(mu_);
  h_.alpha = alpha;
}

std::int64_t SharedLinUCB::n_updates() const {
  ReadLock g(mu_);
  return n_updates_;
}

std::int64_t SharedLinUCB::state_bytes() const {
  ReadLock g(mu_);
  return store_.state_bytes() +
         static_cast<std::int64_t>(sizeof(std::int64_t) * arm_counts_.size());
}

template <typename T>
void SharedLinUCB::scores(const T* X, std::int64_t N, T* mean, T* width) const {
  ReadLock g(mu_);
  score_shared<T>(store_, X, N, mean, width);
}

template <typename T>
bool SharedLinUCB::select(const T* X, std::int64_t B, std::int64_t K, const std::uint8_t* mask,
                          const double* penalty, bool penalty_per_row, std::int64_t* arm,
                          double* score) const {
  T* mean = scratch<T>(2 * B * K, 2);
  T* width = mean + B * K;
  ReadLock g(mu_);
  score_shared<T>(store_, X, B * K, mean, width);
  return select_rows<T>(mean, width, B, K, h_.alpha, mask, penalty, penalty_per_row, arm, score);
}

bool SharedLinUCB::update(const std::int64_t* arms, const double* X, const double* rewards,
                          std::int64_t B) {
  if (B == 0) return true;
  WriteLock g(mu_);
  store_.copy_arm(0, before_);
  const bool ok = store_.observe(0, X, nullptr, B, rewards, h_.gamma, h_.lam, h_.refresh_every);
  store_.finish(0);
  if (!ok || !store_.arm_finite(0)) {
    store_.restore_arm(before_);
    return false;
  }
  if (arms) {
    const std::int64_t top = *std::max_element(arms, arms + B);
    if (top >= static_cast<std::int64_t>(arm_counts_.size()))
      arm_counts_.resize(static_cast<std::size_t>(top + 1), 0);
    for (std::int64_t i = 0; i < B; ++i) ++arm_counts_[arms[i]];
  }
  n_updates_ += B;
  return true;
}

bool SharedLinUCB::refresh() {
  WriteLock g(mu_);
  return store_.refresh(0);
}

ModelState SharedLinUCB::state() const {
  ReadLock g(mu_);
  ModelState s;
  s.hyper = h_;
  s.n_updates = n_updates_;
  s.arrays = store_.export_state();
  s.arm_counts = arm_counts_;
  return s;
}

void SharedLinUCB::set_state(const ModelState& s) {
  WriteLock g(mu_);
  h_ = s.hyper;
  h_.precision = store_.precision();  // fixed at construction
  n_updates_ = s.n_updates;
  store_.import_state(s.arrays);
  arm_counts_ = s.arm_counts;
}

// -------------------------------------------------------------------------- DisjointLinUCB

DisjointLinUCB::DisjointLinUCB(std::int64_t n_arms, int d, const Hyper& h)
    : h_(h), store_(d, n_arms, h.lam, h.precision) {}

std::int64_t DisjointLinUCB::n_arms() const {
  ReadLock g(mu_);
  return store_.n_arms();
}

Hyper DisjointLinUCB::hyper() const {
  ReadLock g(mu_);
  return h_;
}

void DisjointLinUCB::set_alpha(double alpha) {
  WriteLock g(mu_);
  h_.alpha = alpha;
}

std::int64_t DisjointLinUCB::n_updates() const {
  ReadLock g(mu_);
  return n_updates_;
}

std::int64_t DisjointLinUCB::state_bytes() const {
  ReadLock g(mu_);
  return store_.state_bytes();
}

template <typename T>
bool DisjointLinUCB::scores(const T* X, std::int64_t B, std::int64_t expected_k, T* mean,
                            T* width) const {
  ReadLock g(mu_);
  if (store_.n_arms() != expected_k) return false;
  score_disjoint<T>(store_, X, B, mean, width);
  return true;
}

template <typename T>
bool DisjointLinUCB::select(const T* X, std::int64_t B, std::int64_t expected_k,
                            const std::uint8_t* mask, const double* penalty,
                            bool penalty_per_row, std::int64_t* arm, double* score,
                            bool* finite) const {
  T* mean = scratch<T>(2 * B * expected_k, 2);
  T* width = mean + B * expected_k;
  ReadLock g(mu_);
  if (store_.n_arms() != expected_k) return false;
  score_disjoint<T>(store_, X, B, mean, width);
  *finite = select_rows<T>(mean, width, B, expected_k, h_.alpha, mask, penalty, penalty_per_row,
                           arm, score);
  return true;
}

int DisjointLinUCB::update(const std::int64_t* arms, const double* X, const double* rewards,
                           std::int64_t B) {
  if (B == 0) return kDone;
  WriteLock g(mu_);
  const std::int64_t K = store_.n_arms();
  for (std::int64_t i = 0; i < B; ++i)
    if (arms[i] >= K) return kArmsChanged;
  // Observations grouped by arm, each group in the order given; groups are independent.
  std::vector<std::int64_t> order(static_cast<std::size_t>(B));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [arms](std::int64_t p, std::int64_t q) { return arms[p] < arms[q]; });
  std::vector<std::int64_t> starts;
  for (std::int64_t i = 0; i < B; ++i)
    if (i == 0 || arms[order[i]] != arms[order[i - 1]]) starts.push_back(i);
  starts.push_back(B);
  const std::int64_t n_groups = static_cast<std::int64_t>(starts.size()) - 1;
  const int d = store_.d();
  // Each group keeps a copy of its arm so that a rejected batch can be undone as a whole.
  if (static_cast<std::int64_t>(before_.size()) < n_groups)
    before_.resize(static_cast<std::size_t>(n_groups));
  std::vector<char> ok(static_cast<std::size_t>(n_groups), 1);
  auto body = [&](std::int64_t gi, int) {
    const std::int64_t a = arms[order[starts[gi]]];
    store_.copy_arm(a, before_[gi]);
    const bool done = store_.observe(a, X, order.data() + starts[gi],
                                     starts[gi + 1] - starts[gi], rewards, h_.gamma, h_.lam,
                                     h_.refresh_every);
    store_.finish(a);
    ok[gi] = done && store_.arm_finite(a);
  };
  // An observation costs about 6 d^2 flops; below ~1 Mflop the pool is not worth waking.
  if (6.0 * static_cast<double>(B) * d * d < 1.0e6 || n_groups < 2) {
    for (std::int64_t gi = 0; gi < n_groups; ++gi) body(gi, 0);
  } else {
    parallel_for(n_groups, body);
  }
  if (std::find(ok.begin(), ok.end(), 0) != ok.end()) {
    for (std::int64_t gi = 0; gi < n_groups; ++gi) store_.restore_arm(before_[gi]);
    return kRejected;
  }
  n_updates_ += B;
  return kDone;
}

std::int64_t DisjointLinUCB::refresh() {
  WriteLock g(mu_);
  std::int64_t failed = 0;
  for (std::int64_t a = 0; a < store_.n_arms(); ++a)
    if (!store_.refresh(a)) ++failed;
  return failed;
}

std::int64_t DisjointLinUCB::add_arms(std::int64_t count) {
  WriteLock g(mu_);
  const std::int64_t first = store_.n_arms();
  store_.add_arms(count, h_.lam);
  return first;
}

bool DisjointLinUCB::remove_arms(const std::vector<std::int64_t>& remove) {
  WriteLock g(mu_);
  const std::int64_t K = store_.n_arms();
  if (!remove.empty() && remove.back() >= K) return false;
  std::vector<std::int64_t> keep;
  keep.reserve(static_cast<std::size_t>(K));
  std::size_t j = 0;
  for (std::int64_t a = 0; a < K; ++a) {
    if (j < remove.size() && remove[j] == a) {
      ++j;
    } else {
      keep.push_back(a);
    }
  }
  store_.keep_arms(keep);
  return true;
}

ModelState DisjointLinUCB::state() const {
  ReadLock g(mu_);
  ModelState s;
  s.hyper = h_;
  s.n_updates = n_updates_;
  s.arrays = store_.export_state();
  return s;
}

void DisjointLinUCB::set_state(const ModelState& s) {
  WriteLock g(mu_);
  h_ = s.hyper;
  h_.precision = store_.precision();  // fixed at construction
  n_updates_ = s.n_updates;
  store_.import_state(s.arrays);
}

#define UNISCALE_INSTANTIATE(T)                                                                 \
  template void SharedLinUCB::scores<T>(const T*, std::int64_t, T*, T*) const;                 \
  template bool SharedLinUCB::select<T>(const T*, std::int64_t, std::int64_t,                  \
                                        const std::uint8_t*, const double*, bool,              \
                                        std::int64_t*, double*) const;                         \
  template bool DisjointLinUCB::scores<T>(const T*, std::int64_t, std::int64_t, T*, T*) const; \
  template bool DisjointLinUCB::select<T>(const T*, std::int64_t, std::int64_t,                \
                                          const std::uint8_t*, const double*, bool,            \
                                          std::int64_t*, double*, bool*) const;
UNISCALE_INSTANTIATE(double)
UNISCALE_INSTANTIATE(float)
#undef UNISCALE_INSTANTIATE

}  // namespace uniscale::core
