// Dense double-precision helpers for the exact refresh of A^{-1}.
#pragma once

#include <cstdint>
#include <vector>

namespace uniscale::core {

// TODO(uniscale): this is plain scalar code (baseline ISA, sequential dot products). With
// gamma < 1 it runs once per update call and arm, and dominates small updates: ~70 us of CPU for
// one observation at d = 64 against ~6 us with gamma = 1. A blocked, vectorized version (or the
// kernels' AVX2/AVX-512 dispatch) would cut that several times.
//
// Writes A^{-1} (row stride ld) computed from a Cholesky factorization A = L L^T, as
// A^{-1} = L^{-T} L^{-1}. Only the first d columns of each row are read or written. Returns false
// and leaves `inv` untouched when A is not numerically positive definite.
bool cholesky_inverse(const double* A, std::int64_t ld, int d, double* inv,
                      std::vector<double>& work);

}  // namespace uniscale::core
