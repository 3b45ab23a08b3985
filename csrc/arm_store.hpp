// Ridge-regression statistics of K arms of dimension d, kept in flat padded arrays.
//
// Per arm a: A_a (d x d), b_a (d), A_a^{-1} (d x d) kept by discounted Sherman-Morrison steps and
// recomputed exactly from A_a by Cholesky every `refresh_every` steps, theta_a = A_a^{-1} b_a.
// A and b are the exact sums (A = gamma A + x x^T, b = gamma b + r x); A^{-1} and theta are
// derived.
// All of it is double precision. A float32 model keeps, in addition, float32 copies of A^{-1} and
// theta that the scoring kernels read; updates stay in double.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels.hpp"

namespace uniscale::core {

enum class Precision { f64, f32 };

// Unpadded copy of the whole state, used for export and import.
struct StateArrays {
  std::int64_t n_arms = 0;
  int d = 0;
  std::vector<double> A, A_inv, b, theta;         // (K, d, d), (K, d, d), (K, d), (K, d)
  std::vector<std::int64_t> counts, since_refresh;  // (K,), (K,)
};

class ArmStore {
 public:
  ArmStore(int d, std::int64_t n_arms, double lam, Precision precision);

  int d() const { return d_; }
  std::int64_t n_arms() const { return n_arms_; }
  std::int64_t ld() const { return ld_; }
  std::int64_t ld32() const { return ld32_; }
  Precision precision() const { return precision_; }

  // Scoring views (row stride ld() for double, ld32() for float).
  const double* ainv(std::int64_t a) const { return Ainv_.data() + a * d_ * ld_; }
  const double* theta(std::int64_t a) const { return theta_.data() + a * ld_; }
  const float* ainv32(std::int64_t a) const { return Ainv32_.data() + a * d_ * ld32_; }
  const float* theta32(std::int64_t a) const { return theta32_.data() + a * ld32_; }

  std::int64_t count(std::int64_t a) const { return counts_[a]; }

  // Observations of arm a in order: rows X[rows[i] * d ...] (rows null: i) with rewards
  // r[rows[i]], i < n. theta_a is stale until finish(a).
  void observe(std::int64_t a, const double* X, const std::int64_t* rows, std::int64_t n,
               const double* r, double gamma, std::int64_t refresh_every);
  // theta_a = A_a^{-1} b_a and the float32 copies; call once after a run of observe(a, ...).
  void finish(std::int64_t a);
  // Recomputes A_a^{-1} from A_a; false (and A_a^{-1} untouched) if A_a is not positive definite.
  bool refresh(std::int64_t a);

  void add_arms(std::int64_t count, double lam);
  // `keep` lists the arms to keep, strictly increasing.
  void keep_arms(const std::vector<std::int64_t>& keep);

  std::int64_t state_bytes() const;
  StateArrays export_state() const;
  // The caller has checked every shape; values are copied as they are (no refresh).
  void import_state(const StateArrays& s);

 private:
  void init_arm(std::int64_t a, double lam);
  void flush_A(std::int64_t a, double* Y, std::int64_t m, double gamma);
  void mirror32(std::int64_t a);

  int d_;
  std::int64_t n_arms_;
  std::int64_t ld_;
  std::int64_t ld32_;
  Precision precision_;
  std::vector<double> A_, Ainv_, b_, theta_;
  std::vector<float> Ainv32_, theta32_;
  std::vector<std::int64_t> counts_, since_refresh_;
};

}  // namespace uniscale::core
