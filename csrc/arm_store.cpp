#include "arm_store.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "linalg.hpp"

namespace uniscale::core {

namespace {

// Per-thread scratch for one observation: padded x and u = A^{-1} x.
std::vector<double>& update_scratch(std::int64_t n) {
  thread_local std::vector<double> buf;
  if (static_cast<std::int64_t>(buf.size()) < n) buf.assign(static_cast<std::size_t>(n), 0.0);
  return buf;
}

}  // namespace

ArmStore::ArmStore(int d, std::int64_t n_arms, double lam, Precision precision)
    : d_(d),
      n_arms_(0),
      ld_(padded(d, kPad<double>)),
      ld32_(padded(d, kPad<float>)),
      precision_(precision) {
  add_arms(n_arms, lam);
}

void ArmStore::init_arm(std::int64_t a, double lam) {
  double* A = A_.data() + a * d_ * ld_;
  double* Ai = Ainv_.data() + a * d_ * ld_;
  std::fill(A, A + d_ * ld_, 0.0);
  std::fill(Ai, Ai + d_ * ld_, 0.0);
  for (int k = 0; k < d_; ++k) {
    A[k * ld_ + k] = lam;
    Ai[k * ld_ + k] = 1.0 / lam;
  }
  std::fill(b_.data() + a * ld_, b_.data() + (a + 1) * ld_, 0.0);
  std::fill(theta_.data() + a * ld_, theta_.data() + (a + 1) * ld_, 0.0);
  counts_[a] = 0;
  since_refresh_[a] = 0;
  mirror32(a);
}

void ArmStore::mirror32(std::int64_t a) {
  if (precision_ != Precision::f32) return;
  const double* src = Ainv_.data() + a * d_ * ld_;
  float* dst = Ainv32_.data() + a * d_ * ld32_;
  for (int k = 0; k < d_; ++k) {
    for (int j = 0; j < d_; ++j) dst[k * ld32_ + j] = static_cast<float>(src[k * ld_ + j]);
    for (std::int64_t j = d_; j < ld32_; ++j) dst[k * ld32_ + j] = 0.0f;
  }
  const double* th = theta_.data() + a * ld_;
  float* th32 = theta32_.data() + a * ld32_;
  for (int j = 0; j < d_; ++j) th32[j] = static_cast<float>(th[j]);
  for (std::int64_t j = d_; j < ld32_; ++j) th32[j] = 0.0f;
}

void ArmStore::flush_A(std::int64_t a, double* Y, std::int64_t m, double gamma, double lam) {
  if (m == 0) return;
  double g = 1.0;
  if (gamma != 1.0) {
    // y_t = gamma^((m - 1 - t) / 2) x_t, walking back from the newest row.
    const double root = std::sqrt(gamma);
    double s = 1.0;
    for (std::int64_t t = m - 1; t >= 0; --t) {
      for (std::int64_t j = 0; j < d_; ++j) Y[t * ld_ + j] *= s;
      s *= root;
    }
    g = std::pow(gamma, static_cast<double>(m));
  }
  double* A = A_.data() + a * d_ * ld_;
  kernels().syrk(A, ld_, Y, m, g, d_);
  // m steps of A <- gamma (A - lam I) + lam I + x x^T scale A by g = gamma^m and give back
  // (1 - g) lam I of the prior.
  if (gamma != 1.0)
    for (int k = 0; k < d_; ++k) A[k * ld_ + k] += (1.0 - g) * lam;
}

bool ArmStore::observe_discounted(std::int64_t a, const double* X, const std::int64_t* rows,
                                  std::int64_t n, const double* r, double gamma, double lam) {
  // No Sherman-Morrison steps: the prior's share of each step is rank d (see the header), so
  // A^{-1} is recomputed from A once at the end.
  constexpr std::int64_t kRun = 128;
  std::vector<double>& buf = update_scratch(kRun * ld_);
  double* Y = buf.data();
  double* b = b_.data() + a * ld_;
  std::int64_t m = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t row = rows ? rows[i] : i;
    const double* x = X + row * d_;
    const double ri = r[row];
    double* xp = Y + m * ld_;
    std::memcpy(xp, x, sizeof(double) * static_cast<std::size_t>(d_));
    std::fill(xp + d_, xp + ld_, 0.0);
    for (int k = 0; k < d_; ++k) b[k] = gamma * b[k] + ri * xp[k];
    ++counts_[a];
    if (++m == kRun) {
      flush_A(a, Y, m, gamma, lam);
      m = 0;
    }
  }
  flush_A(a, Y, m, gamma, lam);
  since_refresh_[a] = 0;
  return n == 0 || refresh(a);
}

bool ArmStore::observe(std::int64_t a, const double* X, const std::int64_t* rows, std::int64_t n,
                       const double* r, double gamma, double lam, std::int64_t refresh_every) {
  if (gamma != 1.0) return observe_discounted(a, X, rows, n, r, gamma, lam);
  // Runs of up to kRun observations update A^{-1} one by one and A once at the end of the run
  // (or before a refresh, which reads A).
  constexpr std::int64_t kRun = 128;
  const KernelTable& kt = kernels();
  std::vector<double>& buf = update_scratch((kRun + 1) * ld_);
  double* Y = buf.data();
  double* u = Y + kRun * ld_;
  double* Ai = Ainv_.data() + a * d_ * ld_;
  double* b = b_.data() + a * ld_;
  std::int64_t m = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t row = rows ? rows[i] : i;
    const double* x = X + row * d_;
    const double ri = r[row];
    double* xp = Y + m * ld_;
    std::memcpy(xp, x, sizeof(double) * static_cast<std::size_t>(d_));
    std::fill(xp + d_, xp + ld_, 0.0);
    kt.symv(Ai, ld_, xp, d_, u);
    kt.sm_inv(Ai, ld_, xp, u, 1.0, d_);
    for (int k = 0; k < d_; ++k) b[k] += ri * xp[k];
    ++counts_[a];
    ++m;
    const bool refresh_now = ++since_refresh_[a] >= refresh_every;
    if (m == kRun || refresh_now) {
      flush_A(a, Y, m, 1.0, lam);
      m = 0;
    }
    if (refresh_now) {
      refresh(a);  // a failure keeps the Sherman-Morrison inverse, which is still usable
      since_refresh_[a] = 0;
    }
  }
  flush_A(a, Y, m, 1.0, lam);
  return true;
}

void ArmStore::finish(std::int64_t a) {
  kernels().symv(Ainv_.data() + a * d_ * ld_, ld_, b_.data() + a * ld_, d_,
                 theta_.data() + a * ld_);
  mirror32(a);
}

bool ArmStore::refresh(std::int64_t a) {
  thread_local std::vector<double> work;
  const bool ok =
      cholesky_inverse(A_.data() + a * d_ * ld_, ld_, d_, Ainv_.data() + a * d_ * ld_, work);
  if (ok) finish(a);
  return ok;
}

void ArmStore::copy_arm(std::int64_t a, ArmCopy& c) const {
  // assign() reuses the copy's capacity, so a caller that keeps its ArmCopy allocates once.
  c.arm = a;
  const std::int64_t mat = d_ * ld_;
  c.A.assign(A_.begin() + a * mat, A_.begin() + (a + 1) * mat);
  c.A_inv.assign(Ainv_.begin() + a * mat, Ainv_.begin() + (a + 1) * mat);
  c.b.assign(b_.begin() + a * ld_, b_.begin() + (a + 1) * ld_);
  c.theta.assign(theta_.begin() + a * ld_, theta_.begin() + (a + 1) * ld_);
  c.count = counts_[a];
  c.since_refresh = since_refresh_[a];
}

void ArmStore::restore_arm(const ArmCopy& c) {
  const std::int64_t a = c.arm, mat = d_ * ld_;
  std::copy(c.A.begin(), c.A.end(), A_.begin() + a * mat);
  std::copy(c.A_inv.begin(), c.A_inv.end(), Ainv_.begin() + a * mat);
  std::copy(c.b.begin(), c.b.end(), b_.begin() + a * ld_);
  std::copy(c.theta.begin(), c.theta.end(), theta_.begin() + a * ld_);
  counts_[a] = c.count;
  since_refresh_[a] = c.since_refresh;
  mirror32(a);
}

bool ArmStore::arm_finite(std::int64_t a) const {
  // O(d) suffices. theta = A^{-1} b is NaN or inf wherever a row of A^{-1} or b holds one
  // (0 * inf is NaN), and A is a sum of x x^T with a positive definite start, so
  // |A_ij| <= max(A_ii, A_jj): a finite diagonal bounds every entry. x - x is 0 exactly for
  // finite x.
  const double* A = A_.data() + a * d_ * ld_;
  const double* th = theta_.data() + a * ld_;
  double acc = 0.0;
  for (int k = 0; k < d_; ++k) acc += (A[k * ld_ + k] - A[k * ld_ + k]) + (th[k] - th[k]);
  return acc == 0.0;
}

void ArmStore::add_arms(std::int64_t count, double lam) {
  const std::int64_t first = n_arms_;
  const std::int64_t K = n_arms_ + count;
  const auto mat = static_cast<std::size_t>(K * d_ * ld_);
  const auto vec = static_cast<std::size_t>(K * ld_);
  A_.resize(mat);
  Ainv_.resize(mat);
  b_.resize(vec);
  theta_.resize(vec);
  if (precision_ == Precision::f32) {
    Ainv32_.resize(static_cast<std::size_t>(K * d_ * ld32_));
    theta32_.resize(static_cast<std::size_t>(K * ld32_));
  }
  counts_.resize(static_cast<std::size_t>(K));
  since_refresh_.resize(static_cast<std::size_t>(K));
  n_arms_ = K;
  for (std::int64_t a = first; a < K; ++a) init_arm(a, lam);
}

void ArmStore::keep_arms(const std::vector<std::int64_t>& keep) {
  const std::int64_t mat = d_ * ld_, mat32 = d_ * ld32_;
  std::int64_t out = 0;
  for (const std::int64_t a : keep) {
    if (a != out) {
      std::memmove(A_.data() + out * mat, A_.data() + a * mat, sizeof(double) * mat);
      std::memmove(Ainv_.data() + out * mat, Ainv_.data() + a * mat, sizeof(double) * mat);
      std::memmove(b_.data() + out * ld_, b_.data() + a * ld_, sizeof(double) * ld_);
      std::memmove(theta_.data() + out * ld_, theta_.data() + a * ld_, sizeof(double) * ld_);
      if (precision_ == Precision::f32) {
        std::memmove(Ainv32_.data() + out * mat32, Ainv32_.data() + a * mat32,
                     sizeof(float) * mat32);
        std::memmove(theta32_.data() + out * ld32_, theta32_.data() + a * ld32_,
                     sizeof(float) * ld32_);
      }
      counts_[out] = counts_[a];
      since_refresh_[out] = since_refresh_[a];
    }
    ++out;
  }
  n_arms_ = out;
  A_.resize(static_cast<std::size_t>(out * mat));
  Ainv_.resize(static_cast<std::size_t>(out * mat));
  b_.resize(static_cast<std::size_t>(out * ld_));
  theta_.resize(static_cast<std::size_t>(out * ld_));
  if (precision_ == Precision::f32) {
    Ainv32_.resize(static_cast<std::size_t>(out * mat32));
    theta32_.resize(static_cast<std::size_t>(out * ld32_));
  }
  counts_.resize(static_cast<std::size_t>(out));
  since_refresh_.resize(static_cast<std::size_t>(out));
}

std::int64_t ArmStore::state_bytes() const {
  return static_cast<std::int64_t>(
      sizeof(double) * (A_.size() + Ainv_.size() + b_.size() + theta_.size()) +
      sizeof(float) * (Ainv32_.size() + theta32_.size()) +
      sizeof(std::int64_t) * (counts_.size() + since_refresh_.size()));
}

StateArrays ArmStore::export_state() const {
  StateArrays s;
  s.n_arms = n_arms_;
  s.d = d_;
  const std::int64_t dd = static_cast<std::int64_t>(d_) * d_;
  s.A.resize(static_cast<std::size_t>(n_arms_ * dd));
  s.A_inv.resize(static_cast<std::size_t>(n_arms_ * dd));
  s.b.resize(static_cast<std::size_t>(n_arms_ * d_));
  s.theta.resize(static_cast<std::size_t>(n_arms_ * d_));
  for (std::int64_t a = 0; a < n_arms_; ++a) {
    for (int k = 0; k < d_; ++k) {
      std::memcpy(&s.A[a * dd + k * d_], A_.data() + (a * d_ + k) * ld_, sizeof(double) * d_);
      std::memcpy(&s.A_inv[a * dd + k * d_], Ainv_.data() + (a * d_ + k) * ld_,
                  sizeof(double) * d_);
    }
    std::memcpy(&s.b[a * d_], b_.data() + a * ld_, sizeof(double) * d_);
    std::memcpy(&s.theta[a * d_], theta_.data() + a * ld_, sizeof(double) * d_);
  }
  s.counts = counts_;
  s.since_refresh = since_refresh_;
  return s;
}

void ArmStore::import_state(const StateArrays& s) {
  const std::int64_t dd = static_cast<std::int64_t>(d_) * d_;
  if (s.n_arms != n_arms_) {
    std::vector<std::int64_t> none;
    keep_arms(none);
    add_arms(s.n_arms, 1.0);
  }
  for (std::int64_t a = 0; a < n_arms_; ++a) {
    for (int k = 0; k < d_; ++k) {
      std::memcpy(A_.data() + (a * d_ + k) * ld_, &s.A[a * dd + k * d_], sizeof(double) * d_);
      std::memcpy(Ainv_.data() + (a * d_ + k) * ld_, &s.A_inv[a * dd + k * d_],
                  sizeof(double) * d_);
    }
    std::memcpy(b_.data() + a * ld_, &s.b[a * d_], sizeof(double) * d_);
    std::memcpy(theta_.data() + a * ld_, &s.theta[a * d_], sizeof(double) * d_);
    counts_[a] = s.counts[a];
    since_refresh_[a] = s.since_refresh[a];
    mirror32(a);
  }
}

}  // namespace uniscale::core
