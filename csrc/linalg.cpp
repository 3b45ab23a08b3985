#include "linalg.hpp"

#include <cmath>

namespace uniscale::core {

bool cholesky_inverse(const double* A, std::int64_t ld, int d, double* inv,
                      std::vector<double>& work) {
  const std::int64_t n = d;
  work.assign(static_cast<std::size_t>(2 * n * n + n * (n + 1) / 2), 0.0);
  double* L = work.data();      // lower factor, row-major, L[i*n + j] for j <= i
  double* U = L + n * n;        // U = L^{-T}: row j of U is column j of L^{-1}
  for (std::int64_t i = 0; i < n; ++i) {
    const double* Li = L + i * n;
    for (std::int64_t j = 0; j <= i; ++j) {
      const double* Lj = L + j * n;
      double s = A[i * ld + j];
      for (std::int64_t k = 0; k < j; ++k) s -= Li[k] * Lj[k];
      if (i == j) {
        if (!(s > 0.0) || !std::isfinite(s)) return false;
        L[i * n + i] = std::sqrt(s);
      } else {
        L[i * n + j] = s / Lj[j];
      }
    }
  }
  // Column j of L^{-1} by forward substitution on L y = e_j (y_k = 0 for k < j).
  for (std::int64_t j = 0; j < n; ++j) {
    double* y = U + j * n;
    for (std::int64_t i = j; i < n; ++i) {
      const double* Li = L + i * n;
      double s = i == j ? 1.0 : 0.0;
      for (std::int64_t k = j; k < i; ++k) s -= Li[k] * y[k];
      y[i] = s / Li[i];
    }
  }
  // (L^{-T} L^{-1})[i][j] = sum over k >= max(i, j) of U[i][k] U[j][k]; symmetric by construction.
  // Staged in `work` so that a failure leaves `inv` untouched.
  double* out = U + n * n;
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::int64_t j = i; j < n; ++j) {
      double s = 0.0;
      for (std::int64_t k = j; k < n; ++k) s += U[i * n + k] * U[j * n + k];
      if (!std::isfinite(s)) return false;
      *out++ = s;
    }
  }
  const double* staged = U + n * n;
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = i; j < n; ++j, ++staged) {
      inv[i * ld + j] = *staged;
      inv[j * ld + i] = *staged;
    }
  return true;
}

}  // namespace uniscale::core
