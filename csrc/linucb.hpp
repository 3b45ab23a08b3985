// The two LinUCB models with their locking. Arguments are trusted here: the binding has checked
// shapes, ranges and finiteness before it calls in, so no method can fail half-way.
//
// Threads: scoring and selection take a shared lock, updates and structural changes an exclusive
// one, so a decision sees the state wholly before or wholly after an update.
#pragma once

#include <cstdint>
#include <shared_mutex>
#include <vector>

#include "arm_store.hpp"

namespace uniscale::core {

struct Hyper {
  double alpha = 1.0;
  double lam = 1.0;
  double gamma = 1.0;
  std::int64_t refresh_every = 4096;
  Precision precision = Precision::f64;
};

struct ModelState {
  Hyper hyper;
  std::int64_t n_updates = 0;
  StateArrays arrays;
  std::vector<std::int64_t> arm_counts;  // shared model only: updates per arm index seen
};

// Shared parameters over joint request-arm features: one (A, b) for every arm.
class SharedLinUCB {
 public:
  SharedLinUCB(int d, const Hyper& h);

  int d() const { return store_.d(); }
  Hyper hyper() const;
  void set_alpha(double alpha);
  std::int64_t n_updates() const;
  std::int64_t state_bytes() const;

  // X (N, d) with N = B * K; mean, width (N,).
  template <typename T>
  void scores(const T* X, std::int64_t N, T* mean, T* width) const;
  // X (B, K, d); see select_rows for mask and penalty. Returns whether all scores were finite.
  template <typename T>
  bool select(const T* X, std::int64_t B, std::int64_t K, const std::uint8_t* mask,
              const double* penalty, bool penalty_per_row, std::int64_t* arm,
              double* score) const;
  // arms (B,) or null, X (B, d), rewards (B,); observations applied in the order given.
  // Returns false, with the state as before the call, if the result would not be finite or A
  // would be numerically singular.
  bool update(const std::int64_t* arms, const double* X, const double* rewards, std::int64_t B);
  // Returns false if A is not positive definite (A^{-1} then keeps its Sherman-Morrison value).
  bool refresh();

  ModelState state() const;
  void set_state(const ModelState& s);

 private:
  mutable std::shared_mutex mu_;
  Hyper h_;
  ArmStore store_;
  std::int64_t n_updates_ = 0;
  std::vector<std::int64_t> arm_counts_;
  ArmCopy before_;  // the arm before the running update (kept to reuse its memory)
};

// One (A_a, b_a) per arm over request contexts.
class DisjointLinUCB {
 public:
  DisjointLinUCB(std::int64_t n_arms, int d, const Hyper& h);

  int d() const { return store_.d(); }
  std::int64_t n_arms() const;
  Hyper hyper() const;
  void set_alpha(double alpha);
  std::int64_t n_updates() const;
  std::int64_t state_bytes() const;

  // X (B, d); mean, width (B, K). Returns false, doing nothing, if the model no longer has
  // expected_k arms (another thread added or removed arms since the caller sized its buffers).
  template <typename T>
  bool scores(const T* X, std::int64_t B, std::int64_t expected_k, T* mean, T* width) const;
  template <typename T>
  bool select(const T* X, std::int64_t B, std::int64_t expected_k, const std::uint8_t* mask,
              const double* penalty, bool penalty_per_row, std::int64_t* arm, double* score,
              bool* finite) const;
  // Returns kArmsChanged, doing nothing, if an arm index is no longer below n_arms(), and
  // kRejected, with the state as before the call, if the result would not be finite or an A_a
  // would be numerically singular.
  static constexpr int kDone = 0, kArmsChanged = 1, kRejected = 2;
  int update(const std::int64_t* arms, const double* X, const double* rewards, std::int64_t B);
  std::int64_t refresh();  // number of arms whose A was not positive definite

  std::int64_t add_arms(std::int64_t count);  // index of the first new arm
  // Returns false, doing nothing, if an index is no longer below n_arms(). `remove` is sorted
  // and has no duplicates.
  bool remove_arms(const std::vector<std::int64_t>& remove);

  ModelState state() const;
  void set_state(const ModelState& s);

 private:
  mutable std::shared_mutex mu_;
  Hyper h_;
  ArmStore store_;
  std::int64_t n_updates_ = 0;
  std::vector<ArmCopy> before_;  // per group of the running update (kept to reuse its memory)
};

}  // namespace uniscale::core
