#include "scoring.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "thread_pool.hpp"

namespace uniscale::core {

namespace {

// Below this many flops a call stays on one thread: waking a pool thread costs a few
// microseconds, about what 200k flops take.
constexpr double kParallelFlops = 2.0e6;
constexpr std::int64_t kRowChunk = 256;  // rows per task of the shared model (a multiple of 8)
constexpr std::int64_t kFewRows = 4;     // up to this many requests, disjoint scoring reads
                                         // only the upper triangles

template <typename T>
ScoreFn<T> score_fn() {
  if constexpr (std::is_same_v<T, double>) {
    return kernels().score_f64;
  } else {
    return kernels().score_f32;
  }
}

template <typename T>
ScoreFn<T> score_tri_fn() {
  if constexpr (std::is_same_v<T, double>) {
    return kernels().score_tri_f64;
  } else {
    return kernels().score_tri_f32;
  }
}

template <typename T>
const T* model_ainv(const ArmStore& s, std::int64_t a) {
  if constexpr (std::is_same_v<T, double>) {
    return s.ainv(a);
  } else {
    return s.ainv32(a);
  }
}

template <typename T>
const T* model_theta(const ArmStore& s, std::int64_t a) {
  if constexpr (std::is_same_v<T, double>) {
    return s.theta(a);
  } else {
    return s.theta32(a);
  }
}

template <typename T>
std::int64_t model_ld(const ArmStore& s) {
  if constexpr (std::is_same_v<T, double>) {
    return s.ld();
  } else {
    return s.ld32();
  }
}

// Copies n rows of d values into rows of ld values with zero padding.
template <typename T>
void pack_rows(const T* X, std::int64_t n, int d, std::int64_t ld, T* out) {
  for (std::int64_t i = 0; i < n; ++i) {
    std::memcpy(out + i * ld, X + i * d, sizeof(T) * static_cast<std::size_t>(d));
    std::fill(out + i * ld + d, out + (i + 1) * ld, T(0));
  }
}

}  // namespace

template <typename T>
T* scratch(std::int64_t n, int slot) {
  thread_local std::vector<T> bufs[3];
  std::vector<T>& b = bufs[slot];
  if (static_cast<std::int64_t>(b.size()) < n) b.resize(static_cast<std::size_t>(n));
  return b.data();
}

template <typename T>
void score_shared(const ArmStore& store, const T* X, std::int64_t N, T* mean, T* width) {
  if (N == 0) return;
  const int d = store.d();
  const std::int64_t ld = model_ld<T>(store);
  const T* M = model_ainv<T>(store, 0);
  const T* theta = model_theta<T>(store, 0);
  const ScoreFn<T> fn = score_fn<T>();
  const bool pack = ld != d;
  const std::int64_t n_tasks = (N + kRowChunk - 1) / kRowChunk;
  auto body = [&](std::int64_t t, int) {
    const std::int64_t r0 = t * kRowChunk;
    const std::int64_t n = std::min(kRowChunk, N - r0);
    const T* x = X + r0 * d;
    std::int64_t ldx = d;
    if (pack) {
      T* buf = scratch<T>(n * ld, 0);
      pack_rows(x, n, d, ld, buf);
      x = buf;
      ldx = ld;
    }
    fn(x, ldx, n, M, ld, theta, d, mean + r0, 1, width + r0, 1);
  };
  if (2.0 * static_cast<double>(N) * d * d < kParallelFlops) {
    for (std::int64_t t = 0; t < n_tasks; ++t) body(t, 0);
  } else {
    parallel_for(n_tasks, body);
  }
}

template <typename T>
void score_disjoint(const ArmStore& store, const T* X, std::int64_t B, T* mean, T* width) {
  const std::int64_t K = store.n_arms();
  if (B == 0 || K == 0) return;
  const int d = store.d();
  const std::int64_t ld = model_ld<T>(store);
  // With few requests every arm's matrix is streamed from memory for a handful of rows: read
  // only its upper triangle.
  const ScoreFn<T> fn = B <= kFewRows ? score_tri_fn<T>() : score_fn<T>();
  const T* x = X;
  std::int64_t ldx = d;
  if (ld != d) {  // pack once; every arm reads the same contexts
    T* buf = scratch<T>(B * ld, 1);
    pack_rows(X, B, d, ld, buf);
    x = buf;
    ldx = ld;
  }
  // TODO(uniscale): with few requests this loop is still bound by memory bandwidth, not flops
  // (K = 168, d = 64: ~3 MB of upper triangles per decision in float64); a decision over
  // thousands of per-arm models cannot reach the ~30 us of the shared model on this hardware.
  const std::int64_t row_chunk = B <= 2 * kRowChunk ? B : kRowChunk;
  const std::int64_t n_row_chunks = (B + row_chunk - 1) / row_chunk;
  const double arm_flops = 2.0 * static_cast<double>(row_chunk) * d * d;
  // Group arms so that one task is worth at least ~100k flops.
  const std::int64_t group =
      std::max<std::int64_t>(1, static_cast<std::int64_t>(1.0e5 / arm_flops));
  const std::int64_t n_groups = (K + group - 1) / group;
  auto body = [&](std::int64_t t, int) {
    const std::int64_t g = t / n_row_chunks;
    const std::int64_t r0 = (t % n_row_chunks) * row_chunk;
    const std::int64_t n = std::min(row_chunk, B - r0);
    const std::int64_t a1 = std::min(K, (g + 1) * group);
    for (std::int64_t a = g * group; a < a1; ++a)
      fn(x + r0 * ldx, ldx, n, model_ainv<T>(store, a), ld, model_theta<T>(store, a), d,
         mean + r0 * K + a, K, width + r0 * K + a, K);
  };
  const std::int64_t n_tasks = n_groups * n_row_chunks;
  if (2.0 * static_cast<double>(B) * K * d * d < kParallelFlops) {
    for (std::int64_t t = 0; t < n_tasks; ++t) body(t, 0);
  } else {
    parallel_for(n_tasks, body);
  }
}

template <typename T>
bool select_rows(const T* mean, const T* width, std::int64_t B, std::int64_t K, double alpha,
                 const std::uint8_t* mask, const double* penalty, bool penalty_per_row,
                 std::int64_t* arm, double* score) {
  bool finite = true;
  for (std::int64_t i = 0; i < B; ++i) {
    const T* m = mean + i * K;
    const T* w = width + i * K;
    const std::uint8_t* allow = mask ? mask + i * K : nullptr;
    const double* pen = penalty ? (penalty_per_row ? penalty + i * K : penalty) : nullptr;
    std::int64_t best = -1;
    double best_score = -std::numeric_limits<double>::infinity();
    for (std::int64_t a = 0; a < K; ++a) {
      finite = finite && std::isfinite(m[a]) && std::isfinite(w[a]);
      if (allow && !allow[a]) continue;
      double s = static_cast<double>(m[a]) + alpha * static_cast<double>(w[a]);
      if (pen) s -= pen[a];
      if (best < 0 || s > best_score) {  // strict: a tie keeps the lower index
        best = a;
        best_score = s;
      }
    }
    arm[i] = best;
    score[i] = best_score;
  }
  return finite;
}

#define UNISCALE_INSTANTIATE(T)                                                                \
  template T* scratch<T>(std::int64_t, int);                                                   \
  template void score_shared<T>(const ArmStore&, const T*, std::int64_t, T*, T*);              \
  template void score_disjoint<T>(const ArmStore&, const T*, std::int64_t, T*, T*);            \
  template bool select_rows<T>(const T*, const T*, std::int64_t, std::int64_t, double,         \
                               const std::uint8_t*, const double*, bool, std::int64_t*, double*);
UNISCALE_INSTANTIATE(double)
UNISCALE_INSTANTIATE(float)
#undef UNISCALE_INSTANTIATE

}  // namespace uniscale::core
