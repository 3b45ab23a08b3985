// Batched UCB scoring and arm selection over an ArmStore, split across the thread pool when the
// batch is large enough to pay for waking it.
//
//   mean[i, a]  = theta^T x            width[i, a] = sqrt(x^T A^{-1} x)
//   ucb[i, a]   = mean[i, a] + alpha * width[i, a] - penalty[i, a]
//
// For the shared model x = X[i, a, :] and (A, theta) is the one arm of the store; for the
// disjoint model x = X[i, :] and (A, theta) = (A_a, theta_a).
#pragma once

#include <cstdint>

#include "arm_store.hpp"

namespace uniscale::core {

// Shared model: X is (N, d) row-major (N = B * K joint feature rows); mean and width are (N,).
template <typename T>
void score_shared(const ArmStore& store, const T* X, std::int64_t N, T* mean, T* width);

// Disjoint model: X is (B, d); mean and width are (B, K) with K = store.n_arms().
template <typename T>
void score_disjoint(const ArmStore& store, const T* X, std::int64_t B, T* mean, T* width);

// Row-wise argmax of the UCB over allowed arms, ties to the lowest index. mask (B, K) of 0/1 or
// null; penalty null, (K,) when penalty_per_row is false, else (B, K). A row without an allowed
// arm gets arm -1 and score -inf (the binding rejects such rows before calling).
template <typename T>
bool select_rows(const T* mean, const T* width, std::int64_t B, std::int64_t K, double alpha,
                 const std::uint8_t* mask, const double* penalty, bool penalty_per_row,
                 std::int64_t* arm, double* score);

// Thread-local scratch of at least n elements, reused across calls to avoid allocations.
template <typename T>
T* scratch(std::int64_t n, int slot);

}  // namespace uniscale::core
