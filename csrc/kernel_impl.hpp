// Body of the SIMD kernels. Included by kernels_<isa>.cpp, each compiled with its own target
// flags and defining UNISCALE_KERNEL_NS, UNISCALE_VEC_BYTES, UNISCALE_TILE_ROWS and
// UNISCALE_TILE_VECS.
//
// Everything here lives in an anonymous namespace and uses no standard-library templates: an
// inline function compiled with AVX-512 flags must never be merged by the linker with the generic
// copy, or a CPU without AVX-512 would run it.
#pragma once

#include <cstdint>

#include "kernels.hpp"

namespace uniscale::core::UNISCALE_KERNEL_NS {
namespace {

using i64 = std::int64_t;

template <typename T>
struct Simd {
  static constexpr int W = UNISCALE_VEC_BYTES / static_cast<int>(sizeof(T));
  typedef T vec __attribute__((vector_size(UNISCALE_VEC_BYTES)));
  static inline vec load(const T* p) {
    vec v;
    __builtin_memcpy(&v, p, sizeof(v));
    return v;
  }
  static inline void store(T* p, vec v) { __builtin_memcpy(p, &v, sizeof(v)); }
  static inline vec zero() { return vec{} - vec{}; }
  // Pairwise sum of the lanes: log2(W) dependent adds instead of W (a sequential sum is a
  // latency chain that dominates the row cost when d is small).
  static inline T hsum(vec v) {
    T a[W];
    __builtin_memcpy(a, &v, sizeof(v));
    for (int w = W / 2; w >= 1; w /= 2)
      for (int i = 0; i < w; ++i) a[i] += a[i + w];
    return a[0];
  }
};

// Register tile: R rows of X times C vectors of columns of M, over the whole k range. Each row's
// part of x^T M x is reduced right away so the (rows x d) product X M is never written out.
template <typename T, int R, int C>
inline void tile(const T* X, i64 ldx, const T* M, i64 ldm, int d, i64 j0,
                 typename Simd<T>::vec* quad) {
  using S = Simd<T>;
  using vec = typename S::vec;
  vec acc[R][C];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) acc[r][c] = S::zero();
  const T* mp = M + j0;
  for (int k = 0; k < d; ++k, mp += ldm) {
    vec m[C];
    for (int c = 0; c < C; ++c) m[c] = S::load(mp + c * S::W);
    for (int r = 0; r < R; ++r) {
      const T xv = X[r * ldx + k];
      for (int c = 0; c < C; ++c) acc[r][c] += xv * m[c];
    }
  }
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) quad[r] += acc[r][c] * S::load(X + r * ldx + j0 + c * S::W);
}

template <typename T, int R>
inline void row_block(const T* X, i64 ldx, const T* M, i64 ldm, const T* theta, int d, T* mean,
                      i64 ms, T* width, i64 ws) {
  using S = Simd<T>;
  using vec = typename S::vec;
  constexpr int C = UNISCALE_TILE_VECS;
  const int nv = (d + S::W - 1) / S::W;
  vec quad[R];  // per row, lanes of x^T M x still to be summed
  for (int r = 0; r < R; ++r) quad[r] = S::zero();
  int v = 0;
  for (; v + C <= nv; v += C) tile<T, R, C>(X, ldx, M, ldm, d, static_cast<i64>(v) * S::W, quad);
  const int rest = nv - v;
  const i64 j0 = static_cast<i64>(v) * S::W;
  if constexpr (C > 3) {
    if (rest == 3) tile<T, R, 3>(X, ldx, M, ldm, d, j0, quad);
  }
  if constexpr (C > 2) {
    if (rest == 2) tile<T, R, 2>(X, ldx, M, ldm, d, j0, quad);
  }
  if (rest == 1) tile<T, R, 1>(X, ldx, M, ldm, d, j0, quad);
  for (int r = 0; r < R; ++r) {
    const T* x = X + r * ldx;
    vec acc = S::zero();
    for (int u = 0; u < nv; ++u) acc += S::load(x + u * S::W) * S::load(theta + u * S::W);
    mean[r * ms] = S::hsum(acc);
    T q = S::hsum(quad[r]);
    q = q > T(0) ? q : T(0);  // rounding can make a tiny quadratic negative
    width[r * ws] = __builtin_sqrt(q);
  }
}

template <typename T>
void score(const T* X, i64 ldx, i64 n, const T* M, i64 ldm, const T* theta, int d, T* mean,
           i64 ms, T* width, i64 ws) {
  constexpr int R = UNISCALE_TILE_ROWS;
  i64 i = 0;
  for (; i + R <= n; i += R)
    row_block<T, R>(X + i * ldx, ldx, M, ldm, theta, d, mean + i * ms, ms, width + i * ws, ws);
  // Leftover rows in blocks of 4, 2, 1 so a single decision does not pay for R rows.
  if constexpr (R > 4) {
    if (n - i >= 4) {
      row_block<T, 4>(X + i * ldx, ldx, M, ldm, theta, d, mean + i * ms, ms, width + i * ws, ws);
      i += 4;
    }
  }
  if (n - i >= 2) {
    row_block<T, 2>(X + i * ldx, ldx, M, ldm, theta, d, mean + i * ms, ms, width + i * ws, ws);
    i += 2;
  }
  if (n - i >= 1) row_block<T, 1>(X + i * ldx, ldx, M, ldm, theta, d, mean + i * ms, ms,
                                  width + i * ws, ws);
}

// One row against one symmetric M, reading only its upper triangle (about half the bytes of M,
// which is what bounds this case: every arm's matrix is streamed from memory for a handful of
// rows). x^T M x = sum_k M_kk x_k^2 + 2 sum_k x_k sum_{j>k} M_kj x_j. The rows of M are taken W
// at a time so that W independent sums are in flight.
template <typename T>
inline void tri_row(const T* x, const T* M, i64 ldm, const T* theta, int d, T* mean, T* width) {
  using S = Simd<T>;
  using vec = typename S::vec;
  constexpr int W = S::W;
  vec lane;
  for (int l = 0; l < W; ++l) lane[l] = T(l);
  vec acc = S::zero();
  T diag = 0;
  int a = 0;
  for (; a + W <= d; a += W) {
    const vec xa = S::load(x + a);
    vec t[W];
    for (int s = 0; s < W; ++s) {
      const vec m = S::load(M + (a + s) * ldm + a);
      t[s] = (lane > T(s) ? m : S::zero()) * xa;  // lanes right of the diagonal only
    }
    for (i64 v = a + W; v < ldm; v += W) {
      const vec xv = S::load(x + v);
      for (int s = 0; s < W; ++s) t[s] += S::load(M + (a + s) * ldm + v) * xv;
    }
    for (int s = 0; s < W; ++s) {
      const T xk = x[a + s];
      acc += xk * t[s];
      diag += M[(a + s) * ldm + a + s] * xk * xk;
    }
  }
  for (int k = a; k < d; ++k) {  // the last, partial block of rows
    const vec m = S::load(M + k * ldm + a);
    vec t = (lane > T(k - a) ? m : S::zero()) * S::load(x + a);
    for (i64 v = a + W; v < ldm; v += W) t += S::load(M + k * ldm + v) * S::load(x + v);
    acc += x[k] * t;
    diag += M[k * ldm + k] * x[k] * x[k];
  }
  vec macc = S::zero();
  for (i64 v = 0; v < ldm; v += W) macc += S::load(x + v) * S::load(theta + v);
  *mean = S::hsum(macc);
  T q = T(2) * S::hsum(acc) + diag;
  q = q > T(0) ? q : T(0);
  *width = __builtin_sqrt(q);
}

template <typename T>
void score_tri(const T* X, i64 ldx, i64 n, const T* M, i64 ldm, const T* theta, int d, T* mean,
               i64 ms, T* width, i64 ws) {
  for (i64 i = 0; i < n; ++i)
    tri_row<T>(X + i * ldx, M, ldm, theta, d, mean + i * ms, width + i * ws);
}

void score_tri_f64(const double* X, i64 ldx, i64 n, const double* M, i64 ldm,
                   const double* theta, int d, double* mean, i64 ms, double* width, i64 ws) {
  score_tri<double>(X, ldx, n, M, ldm, theta, d, mean, ms, width, ws);
}

void score_tri_f32(const float* X, i64 ldx, i64 n, const float* M, i64 ldm, const float* theta,
                   int d, float* mean, i64 ms, float* width, i64 ws) {
  score_tri<float>(X, ldx, n, M, ldm, theta, d, mean, ms, width, ws);
}

void score_f64(const double* X, i64 ldx, i64 n, const double* M, i64 ldm, const double* theta,
               int d, double* mean, i64 ms, double* width, i64 ws) {
  score<double>(X, ldx, n, M, ldm, theta, d, mean, ms, width, ws);
}

void score_f32(const float* X, i64 ldx, i64 n, const float* M, i64 ldm, const float* theta, int d,
               float* mean, i64 ms, float* width, i64 ws) {
  score<float>(X, ldx, n, M, ldm, theta, d, mean, ms, width, ws);
}

void symv(const double* M, i64 ld, const double* x, int d, double* u) {
  using S = Simd<double>;
  using vec = S::vec;
  constexpr int C = 4;
  const int nv = static_cast<int>(ld / S::W);
  int v = 0;
  for (; v + C <= nv; v += C) {
    vec acc[C];
    for (int c = 0; c < C; ++c) acc[c] = S::zero();
    const double* mp = M + v * S::W;
    for (int k = 0; k < d; ++k, mp += ld)
      for (int c = 0; c < C; ++c) acc[c] += x[k] * S::load(mp + c * S::W);
    for (int c = 0; c < C; ++c) S::store(u + (v + c) * S::W, acc[c]);
  }
  for (; v < nv; ++v) {
    vec acc = S::zero();
    const double* mp = M + v * S::W;
    for (int k = 0; k < d; ++k, mp += ld) acc += x[k] * S::load(mp);
    S::store(u + v * S::W, acc);
  }
}

void sm_inv(double* Ainv, i64 ld, const double* x, const double* u, double gamma, int d) {
  using S = Simd<double>;
  const int nv = static_cast<int>(ld / S::W);
  const double ig = 1.0 / gamma;
  double xu = 0;
  for (int k = 0; k < d; ++k) xu += x[k] * u[k];
  // x^T Ainv x >= 0 because Ainv is positive definite, so the root is real and >= 1.
  const double scale = ig / __builtin_sqrt(1.0 + xu * ig);
  for (int k = 0; k < d; ++k) {
    double* ai = Ainv + k * ld;
    const double wk = u[k] * scale;
    if (gamma == 1.0) {
      for (int v = 0; v < nv; ++v) {
        const i64 o = static_cast<i64>(v) * S::W;
        S::store(ai + o, S::load(ai + o) - wk * (scale * S::load(u + o)));
      }
    } else {
      for (int v = 0; v < nv; ++v) {
        const i64 o = static_cast<i64>(v) * S::W;
        S::store(ai + o, ig * S::load(ai + o) - wk * (scale * S::load(u + o)));
      }
    }
  }
}

void syrk(double* A, i64 ld, const double* X, i64 m, double g, int d) {
  using S = Simd<double>;
  using vec = S::vec;
  constexpr int C = 4;
  const int nv = static_cast<int>(ld / S::W);
  for (int k = 0; k < d; ++k) {
    double* a = A + k * ld;
    int v = 0;
    for (; v + C <= nv; v += C) {
      vec acc[C];
      for (int c = 0; c < C; ++c) acc[c] = g * S::load(a + (v + c) * S::W);
      for (i64 t = 0; t < m; ++t) {
        const double s = X[t * ld + k];
        for (int c = 0; c < C; ++c) acc[c] += s * S::load(X + t * ld + (v + c) * S::W);
      }
      for (int c = 0; c < C; ++c) S::store(a + (v + c) * S::W, acc[c]);
    }
    for (; v < nv; ++v) {
      vec acc = g * S::load(a + v * S::W);
      for (i64 t = 0; t < m; ++t) acc += X[t * ld + k] * S::load(X + t * ld + v * S::W);
      S::store(a + v * S::W, acc);
    }
  }
}

}  // namespace
}  // namespace uniscale::core::UNISCALE_KERNEL_NS
