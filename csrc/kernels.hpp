// Inner loops of the LinUCB core, compiled once per instruction set and chosen at run time.
//
// Layout contract shared by every kernel: a d x d matrix is stored row-major with a row stride
// `ld` that is a multiple of kPad<T> elements, and the columns [d, ld) are zero. Vectors (x, theta,
// u) are padded the same way. The padding lets every loop run over whole SIMD vectors with no tail.
#pragma once

#include <cstddef>
#include <cstdint>

namespace uniscale::core {

// Row stride granularity in elements: 64 bytes, the widest vector any kernel uses.
template <typename T>
inline constexpr std::int64_t kPad = 64 / static_cast<std::int64_t>(sizeof(T));

inline std::int64_t padded(std::int64_t d, std::int64_t pad) { return (d + pad - 1) / pad * pad; }

// Scores n rows of X (row stride ldx, padded) against one model (M, theta):
//   mean[r]  = x_r . theta
//   width[r] = sqrt(max(x_r^T M x_r, 0))
// Outputs are written with strides so that the disjoint model can fill a column of (B, K).
template <typename T>
using ScoreFn = void (*)(const T* X, std::int64_t ldx, std::int64_t n, const T* M, std::int64_t ldm,
                         const T* theta, int d, T* mean, std::int64_t mean_stride, T* width,
                         std::int64_t width_stride);

// u = M x for a symmetric padded M (u padded too; its padding comes out zero).
using SymvFn = void (*)(const double* M, std::int64_t ld, const double* x, int d, double* u);

// One discounted Sherman-Morrison step on the inverse, given u = Ainv x (before the step):
//   Ainv <- Ainv / gamma - w w^T,  w = (u / gamma) / sqrt(1 + x^T u / gamma)
// which is exactly (gamma A + x x^T)^{-1} in exact arithmetic. Writing the correction as w w^T
// keeps Ainv bit-for-bit symmetric.
using SmInvFn = void (*)(double* Ainv, std::int64_t ld, const double* x, const double* u,
                         double gamma, int d);

// The matching update of A for a run of observations, applied once after the run:
//   A <- g A + sum_t y_t y_t^T
// with Y holding the m padded rows y_t (row stride ld). For a run x_1..x_m under discount gamma
// the caller passes g = gamma^m and y_t = gamma^((m - t) / 2) x_t. Doing this once per run instead
// of once per observation halves the memory traffic of an update; products y_k y_j keep A
// bit-for-bit symmetric.
using SyrkFn = void (*)(double* A, std::int64_t ld, const double* Y, std::int64_t m, double g,
                        int d);

struct KernelTable {
  const char* isa;
  ScoreFn<double> score_f64;
  ScoreFn<float> score_f32;
  // Same results from the upper triangle of M only: for a few rows per matrix, where reading M
  // costs more than the arithmetic.
  ScoreFn<double> score_tri_f64;
  ScoreFn<float> score_tri_f32;
  SymvFn symv;
  SmInvFn sm_inv;
  SyrkFn syrk;
};

// The best table this CPU supports; UNISCALE_ISA=generic|avx2|avx512 narrows the choice.
const KernelTable& kernels();

// Tables compiled per instruction set (null where the build has no such file).
const KernelTable* kernels_generic();
const KernelTable* kernels_avx2();
const KernelTable* kernels_avx512();

}  // namespace uniscale::core
