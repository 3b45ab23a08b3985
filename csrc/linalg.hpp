// Dense double-precision helpers for the exact refresh of A^{-1}.
#pragma once

#include <cstdint>
#include <vector>

namespace uniscale::core {

// Writes A^{-1} (row stride ld) computed from a Cholesky factorization A = L L^T, as
// A^{-1} = L^{-T} L^{-1}. Only the first d columns of each row are read or written. Returns false
// and leaves `inv` untouched when A is not numerically positive definite.
bool cholesky_inverse(const double* A, std::int64_t ld, int d, double* inv,
                      std::vector<double>& work);

}  // namespace uniscale::core
