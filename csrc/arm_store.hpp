// Ridge-regression statistics of K arms of dimension d, kept in flat padded arrays.
//
// Per arm a: A_a (d x d), b_a (d), A_a^{-1} (d x d), theta_a = A_a^{-1} b_a. A and b are exact
// sums; A^{-1} and theta are derived.
//
// Discounting (gamma < 1) forgets old data but never the ridge prior:
//   A <- gamma (A - lam I) + lam I + x x^T,   b <- gamma b + r x,
// so A = lam I + sum_s gamma^(n-1-s) x_s x_s^T stays >= lam I and ||A^{-1}|| <= 1 / lam however
// long the run (discounting the prior too lets a feature that is always 0 decay A_jj to denormals
// and A^{-1}_jj to inf). The added (1 - gamma) lam I is a rank-d change, so there is no exact
// rank-one update of A^{-1}: with gamma < 1, A^{-1} is recomputed from A by Cholesky at the end
// of every run of observations of an arm. With gamma = 1, A^{-1} is kept by Sherman-Morrison
// steps and recomputed exactly from A by Cholesky every `refresh_every` steps.
// All of it is double precision. A float32 model keeps, in addition, float32 copies of A^{-1} and
// theta that the scoring kernels read; updates stay in double.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels.hpp"

namespace uniscale::core {

enum class Precision { f64, f32 };

// Unpadded copy of the whole state, used for export and import.
// One arm's values, taken before an update so that a rejected update can be undone.
struct ArmCopy {
  std::int64_t arm = -1;
  std::vector<double> A, A_inv, b, theta;  // padded, as stored
  std::int64_t count = 0, since_refresh = 0;
};

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
  // r[rows[i]], i < n. theta_a is stale until finish(a). Returns false if gamma < 1 and the
  // closing Cholesky refresh failed (A_a numerically singular); the caller then restores a copy.
  bool observe(std::int64_t a, const double* X, const std::int64_t* rows, std::int64_t n,
               const double* r, double gamma, double lam, std::int64_t refresh_every);
  // theta_a = A_a^{-1} b_a and the float32 copies; call once after a run of observe(a, ...).
  void finish(std::int64_t a);
  // Recomputes A_a^{-1} from A_a; false (and A_a^{-1} untouched) if A_a is not positive definite.
  bool refresh(std::int64_t a);

  void copy_arm(std::int64_t a, ArmCopy& into) const;
  void restore_arm(const ArmCopy& c);
  // Whether A_a, A_a^{-1}, b_a and theta_a are all finite.
  bool arm_finite(std::int64_t a) const;

  void add_arms(std::int64_t count, double lam);
  // `keep` lists the arms to keep, strictly increasing.
  void keep_arms(const std::vector<std::int64_t>& keep);

  std::int64_t state_bytes() const;
  StateArrays export_state() const;
  // The caller has checked every shape; values are copied as they are (no refresh).
  void import_state(const StateArrays& s);

 private:
  void init_arm(std::int64_t a, double lam);
  void flush_A(std::int64_t a, double* Y, std::int64_t m, double gamma, double lam);
  bool observe_discounted(std::int64_t a, const double* X, const std::int64_t* rows,
                          std::int64_t n, const double* r, double gamma, double lam);
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
