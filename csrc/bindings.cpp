// The one file that knows about Python: it checks every argument while holding the GIL, converts
// arrays to C-contiguous buffers of the model's precision, then releases the GIL around the math
// in uniscale::core, which never sees a Python object. A call that fails a check raises before
// any state is touched.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <new>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "kernels.hpp"
#include "linucb.hpp"
#include "thread_pool.hpp"

namespace py = pybind11;
using uniscale::core::DisjointLinUCB;
using uniscale::core::Hyper;
using uniscale::core::ModelState;
using uniscale::core::Precision;
using uniscale::core::SharedLinUCB;
using i64 = std::int64_t;

namespace {

// ------------------------------------------------------------------------------ messages

std::string shape_of(const py::array& a) {
  std::ostringstream os;
  os << '(';
  for (py::ssize_t i = 0; i < a.ndim(); ++i) os << (i ? ", " : "") << a.shape(i);
  os << (a.ndim() == 1 ? ",)" : ")");
  return os.str();
}

std::string dtype_of(const py::array& a) { return py::str(a.dtype()).cast<std::string>(); }

// ------------------------------------------------------------------------------ conversions

// Any array-like to an ndarray; objects numpy cannot read become a TypeError naming the argument.
py::array to_array(const py::handle& obj, const std::string& op, const char* name) {
  if (py::isinstance<py::array>(obj)) return py::reinterpret_borrow<py::array>(obj);
  py::array a = py::array::ensure(obj);
  if (!a) {
    PyErr_Clear();
    throw py::type_error(op + ": " + name + " must be an array, got " +
                         py::str(py::type::of(obj)).cast<std::string>());
  }
  return a;
}

enum class Kind { real, integer, boolean };

void check_kind(const py::array& a, Kind kind, const std::string& op, const char* name) {
  const char k = a.dtype().kind();
  bool ok = false;
  const char* want = "";
  switch (kind) {
    case Kind::real:
      ok = k == 'f' || k == 'i' || k == 'u';
      want = "a real (float or integer) dtype";
      break;
    case Kind::integer:
      ok = k == 'i' || k == 'u';
      want = "an integer dtype";
      break;
    case Kind::boolean:
      ok = k == 'b';
      want = "dtype bool";
      break;
  }
  if (!ok)
    throw py::type_error(op + ": " + name + " must have " + want + ", got " + dtype_of(a));
}

// Checks ndim and the given dimensions (-1 = any), naming the expected layout on failure.
void check_shape(const py::array& a, const std::vector<i64>& want, const std::string& layout,
                 const std::string& op, const char* name) {
  bool ok = a.ndim() == static_cast<py::ssize_t>(want.size());
  for (std::size_t i = 0; ok && i < want.size(); ++i)
    if (want[i] >= 0 && a.shape(static_cast<py::ssize_t>(i)) != want[i]) ok = false;
  if (!ok)
    throw py::value_error(op + ": " + name + " must have shape " + layout + ", got " +
                          shape_of(a));
}

template <typename T>
py::array_t<T, py::array::c_style> contiguous(const py::array& a) {
  // Copies only when the dtype differs or the array is not C-contiguous.
  return py::array_t<T, py::array::c_style | py::array::forcecast>::ensure(a);
}

template <typename T>
bool all_finite(const T* p, i64 n) {
  // NaN and inf are exactly the values whose exponent bits are all set. Integer tests vectorize
  // where a floating-point reduction would not (no reassociation without -ffast-math).
  using U = std::conditional_t<sizeof(T) == 8, std::uint64_t, std::uint32_t>;
  constexpr U exp = static_cast<U>(sizeof(T) == 8 ? 0x7ff0000000000000ull : 0x7f800000ull);
  U bad = 0;
  for (i64 i = 0; i < n; ++i) {
    U u;
    std::memcpy(&u, p + i, sizeof(U));
    bad |= static_cast<U>((u & exp) == exp);
  }
  return bad == 0;
}

template <typename T>
i64 first_non_finite(const T* p, i64 n) {
  for (i64 i = 0; i < n; ++i)
    if (!std::isfinite(p[i])) return i;
  return -1;
}

template <typename T>
void require_finite(const T* p, i64 n, const std::string& op, const char* name) {
  if (all_finite(p, n)) return;
  const i64 at = first_non_finite(p, n);
  std::ostringstream os;
  os << op << ": " << name << " must be finite, got " << p[at] << " at flat index " << at;
  throw py::value_error(os.str());
}

// Largest |x| for which the scores of a model with ridge prior lam stay finite in T whatever
// the data: width^2 = x^T A^{-1} x <= d max|x|^2 / lam because A >= lam I (the mean also needs
// theta, which is bounded by the data; see raise_bad_scores). Capped at kMaxAbs.
constexpr double kMaxAbs = 1e100;

template <typename T>
double score_bound(double lam, int d) {
  const double top = static_cast<double>(std::numeric_limits<T>::max());
  return std::min(kMaxAbs, 0.5 * std::sqrt(top / static_cast<double>(d)) * std::sqrt(lam));
}

// Scores were NaN or inf: say whether the input or the magnitude is at fault, naming X and the
// bound that keeps the scores finite.
template <typename T>
[[noreturn]] void raise_bad_scores(const T* X, i64 n, const std::string& op, double lam, int d) {
  require_finite(X, n, op, "X");
  i64 at = 0;
  double top = 0.0;
  for (i64 i = 0; i < n; ++i) {
    const double v = std::fabs(static_cast<double>(X[i]));
    if (v > top) {
      top = v;
      at = i;
    }
  }
  const double bound = score_bound<T>(lam, d);
  std::ostringstream os;
  os << op << ": X is too large in magnitude, the " << (sizeof(T) == 4 ? "float32" : "float64")
     << " scores overflow: max |X| = " << top << " at flat index " << at;
  if (top > bound) {
    os << "; with lam = " << lam << " and d = " << d << " keep |X| <= " << bound;
  } else {
    os << " is within |X| <= " << bound << " but theta = A^{-1} b is too large for it (rewards "
       << "far larger than the features)";
  }
  throw py::value_error(os.str());
}

// Values that fit any real dtype but not float32 (|v| > FLT_MAX) become inf when cast, with a
// numpy RuntimeWarning; a float32 model converts wider floats itself to name the problem instead.
template <typename T>
py::array_t<T, py::array::c_style> to_model_dtype(const py::array& x, const std::string& op,
                                                  const char* name) {
  if constexpr (std::is_same_v<T, float>) {
    if (x.dtype().kind() == 'f' && x.dtype().itemsize() > 4) {
      auto wide = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(x);
      std::vector<py::ssize_t> shape(x.shape(), x.shape() + x.ndim());
      py::array_t<float, py::array::c_style> out(shape);
      const double* p = wide.data();
      float* q = out.mutable_data();
      const i64 n = static_cast<i64>(wide.size());
      for (i64 i = 0; i < n; ++i) {
        const double v = p[i];
        if (!(std::fabs(v) <= static_cast<double>(FLT_MAX))) {
          std::ostringstream os;
          if (std::isfinite(v)) {
            os << op << ": " << name << " is out of float32 range (the model's dtype): got " << v
               << " at flat index " << i << ", expected |" << name << "| <= " << FLT_MAX;
          } else {
            os << op << ": " << name << " must be finite, got " << v << " at flat index " << i;
          }
          throw py::value_error(os.str());
        }
        q[i] = static_cast<float>(v);
      }
      return out;
    }
  }
  return py::array_t<T, py::array::c_style | py::array::forcecast>::ensure(x);
}

Precision parse_dtype(const std::string& dtype) {
  if (dtype == "float64") return Precision::f64;
  if (dtype == "float32") return Precision::f32;
  throw py::value_error("LinUCB: dtype must be 'float64' or 'float32', got '" + dtype + "'");
}

const char* dtype_name(Precision p) { return p == Precision::f64 ? "float64" : "float32"; }

Hyper make_hyper(double alpha, double lam, double gamma, i64 refresh_every,
                 const std::string& dtype, const std::string& op) {
  if (!(alpha >= 0.0) || !std::isfinite(alpha))
    throw py::value_error(op + ": alpha must be finite and >= 0, got " + std::to_string(alpha));
  if (!(lam > 0.0) || !std::isfinite(lam))
    throw py::value_error(op + ": lam must be finite and > 0, got " + std::to_string(lam));
  if (!(gamma > 0.0 && gamma <= 1.0))
    throw py::value_error(op + ": gamma must be in (0, 1], got " + std::to_string(gamma));
  if (refresh_every < 1)
    throw py::value_error(op + ": refresh_every must be >= 1, got " +
                          std::to_string(refresh_every));
  Hyper h;
  h.alpha = alpha;
  h.lam = lam;
  h.gamma = gamma;
  h.refresh_every = refresh_every;
  h.precision = parse_dtype(dtype);
  return h;
}

// ------------------------------------------------------------------------------ mask, penalty

struct Choice {
  py::array_t<std::uint8_t, py::array::c_style> mask_buf;
  py::array_t<double, py::array::c_style> pen_buf;
  const std::uint8_t* mask = nullptr;
  const double* penalty = nullptr;
  bool per_row = false;
};

Choice check_choice(const py::object& mask, const py::object& penalty, i64 B, i64 K,
                    const std::string& op) {
  Choice c;
  if (B > 0 && K == 0) throw py::value_error(op + ": there are no arms to choose from (K = 0)");
  if (!mask.is_none()) {
    py::array m = to_array(mask, op, "mask");
    check_kind(m, Kind::boolean, op, "mask");
    check_shape(m, {B, K}, "(B, K) = (" + std::to_string(B) + ", " + std::to_string(K) + ")", op,
                "mask");
    // numpy bools are bytes of 0 or 1: view them as uint8 (copied only if not contiguous).
    c.mask_buf = contiguous<std::uint8_t>(py::array(m.attr("view")("uint8")));
    c.mask = c.mask_buf.data();
    for (i64 i = 0; i < B; ++i) {
      const std::uint8_t* row = c.mask + i * K;
      if (std::none_of(row, row + K, [](std::uint8_t v) { return v != 0; }))
        throw py::value_error(op + ": mask row " + std::to_string(i) +
                              " allows no arm; every request needs at least one allowed arm");
    }
  }
  if (!penalty.is_none()) {
    py::array p = to_array(penalty, op, "penalty");
    check_kind(p, Kind::real, op, "penalty");
    const std::string ks = std::to_string(K);
    if (p.ndim() == 1) {
      check_shape(p, {K}, "(K,) = (" + ks + ",) or (B, K)", op, "penalty");
    } else {
      check_shape(p, {B, K}, "(K,) or (B, K) = (" + std::to_string(B) + ", " + ks + ")", op,
                  "penalty");
      c.per_row = true;
    }
    c.pen_buf = contiguous<double>(p);
    c.penalty = c.pen_buf.data();
    require_finite(c.penalty, static_cast<i64>(c.pen_buf.size()), op, "penalty");
  }
  return c;
}

// ------------------------------------------------------------------------------ update inputs

// The shared model keeps a count per arm index it has seen; the bound keeps a stray index from
// allocating much (65536 counts are 512 KiB). Must match MAX_SHARED_ARMS in bandit/_checks.py.
constexpr i64 kMaxSharedArms = i64{1} << 16;
// Largest feature dimension: A and A^{-1} of one model take 2 * 8 * d^2 bytes (1 GiB at the
// bound) and a Cholesky refresh d^3 flops. Must match MAX_D in bandit/_checks.py.
constexpr int kMaxD = 8192;

// |v| <= kMaxAbs for every value, else a ValueError naming the argument and the bound: x x^T
// and r x stay below 1e200 per observation, so sums over any feasible number of updates stay
// finite (non-finite results are caught as well and rejected without a change; see update()).
void require_bounded(const double* p, i64 n, i64 cols, const std::string& op, const char* name) {
  for (i64 i = 0; i < n; ++i) {
    if (std::fabs(p[i]) > kMaxAbs) {
      std::ostringstream os;
      os << op << ": " << name << "[";
      if (cols > 1) {
        os << i / cols << ", " << i % cols;
      } else {
        os << i;
      }
      os << "] = " << p[i] << " is too large in magnitude, expected |" << name
         << "| <= " << kMaxAbs << " (larger values overflow A = lam I + sum x x^T or b)";
      throw py::value_error(os.str());
    }
  }
}

struct Batch {
  py::array_t<i64, py::array::c_style> arms_buf;
  py::array_t<double, py::array::c_style> X_buf, r_buf;
  i64 B = 0;
};

Batch check_batch(const py::object& arms, const py::object& X, const py::object& rewards, int d,
                  i64 n_arms, bool arms_optional, const std::string& op) {
  Batch bt;
  py::array x = to_array(X, op, "X");
  check_kind(x, Kind::real, op, "X");
  check_shape(x, {-1, d}, "(B, d) with d = " + std::to_string(d), op, "X");
  bt.B = x.shape(0);
  py::array r = to_array(rewards, op, "rewards");
  check_kind(r, Kind::real, op, "rewards");
  check_shape(r, {bt.B}, "(B,) = (" + std::to_string(bt.B) + ",)", op, "rewards");
  if (arms.is_none()) {
    if (!arms_optional) throw py::type_error(op + ": arms must be an integer array, got None");
  } else {
    py::array a = to_array(arms, op, "arms");
    check_kind(a, Kind::integer, op, "arms");
    check_shape(a, {bt.B}, "(B,) = (" + std::to_string(bt.B) + ",)", op, "arms");
    bt.arms_buf = contiguous<i64>(a);
    const i64* p = bt.arms_buf.data();
    for (i64 i = 0; i < bt.B; ++i) {
      // The shared model keeps a count per arm index: bound the index so a stray large value
      // cannot allocate gigabytes.
      const i64 limit = n_arms >= 0 ? n_arms : kMaxSharedArms;
      if (p[i] < 0 || p[i] >= limit) {
        std::ostringstream os;
        os << op << ": arms[" << i << "] = " << p[i] << " is out of range, expected ";
        os << "0 <= arm < " << limit;
        throw py::index_error(os.str());
      }
    }
  }
  bt.X_buf = contiguous<double>(x);
  bt.r_buf = contiguous<double>(r);
  require_finite(bt.X_buf.data(), bt.B * d, op, "X");
  require_finite(bt.r_buf.data(), bt.B, op, "rewards");
  require_bounded(bt.X_buf.data(), bt.B * d, d, op, "X");
  require_bounded(bt.r_buf.data(), bt.B, 1, op, "rewards");
  return bt;
}

// ------------------------------------------------------------------------------ state

py::array_t<double> to_numpy(const std::vector<double>& v, std::vector<py::ssize_t> shape) {
  py::array_t<double> out(shape);
  if (!v.empty()) std::memcpy(out.mutable_data(), v.data(), sizeof(double) * v.size());
  return out;
}

py::array_t<i64> to_numpy(const std::vector<i64>& v) {
  py::array_t<i64> out(static_cast<py::ssize_t>(v.size()));
  if (!v.empty()) std::memcpy(out.mutable_data(), v.data(), sizeof(i64) * v.size());
  return out;
}

py::dict state_to_dict(const ModelState& s, bool shared) {
  const auto& a = s.arrays;
  const py::ssize_t K = a.n_arms, d = a.d;
  py::dict out;
  if (shared) {
    out["A"] = to_numpy(a.A, {d, d});
    out["A_inv"] = to_numpy(a.A_inv, {d, d});
    out["b"] = to_numpy(a.b, {d});
    out["theta"] = to_numpy(a.theta, {d});
    out["since_refresh"] = py::int_(a.since_refresh.at(0));
    out["counts"] = to_numpy(s.arm_counts);
  } else {
    out["A"] = to_numpy(a.A, {K, d, d});
    out["A_inv"] = to_numpy(a.A_inv, {K, d, d});
    out["b"] = to_numpy(a.b, {K, d});
    out["theta"] = to_numpy(a.theta, {K, d});
    out["since_refresh"] = to_numpy(a.since_refresh);
    out["counts"] = to_numpy(a.counts);
  }
  out["n_updates"] = py::int_(s.n_updates);
  out["alpha"] = py::float_(s.hyper.alpha);
  out["lam"] = py::float_(s.hyper.lam);
  out["gamma"] = py::float_(s.hyper.gamma);
  out["refresh_every"] = py::int_(s.hyper.refresh_every);
  out["dtype"] = py::str(dtype_name(s.hyper.precision));
  return out;
}

std::vector<double> doubles(const py::dict& sd, const char* key, std::size_t n) {
  auto a = contiguous<double>(py::array(sd[key]));
  if (static_cast<std::size_t>(a.size()) != n)
    throw py::value_error(std::string("set_state: ") + key + " has " + std::to_string(a.size()) +
                          " values, expected " + std::to_string(n));
  return std::vector<double>(a.data(), a.data() + n);
}

std::vector<i64> ints(const py::handle& obj) {
  auto a = contiguous<i64>(py::array::ensure(obj));
  return std::vector<i64>(a.data(), a.data() + a.size());
}

// Python has validated every entry (shapes, finiteness); this only guards memory safety.
ModelState dict_to_state(const py::dict& sd, int d, i64 K, bool shared) {
  ModelState s;
  s.hyper.alpha = sd["alpha"].cast<double>();
  s.hyper.lam = sd["lam"].cast<double>();
  s.hyper.gamma = sd["gamma"].cast<double>();
  s.hyper.refresh_every = sd["refresh_every"].cast<i64>();
  s.n_updates = sd["n_updates"].cast<i64>();
  auto& a = s.arrays;
  a.n_arms = K;
  a.d = d;
  const auto kd = static_cast<std::size_t>(K * d);
  a.A = doubles(sd, "A", kd * d);
  a.A_inv = doubles(sd, "A_inv", kd * d);
  a.b = doubles(sd, "b", kd);
  a.theta = doubles(sd, "theta", kd);
  if (shared) {
    a.counts = {0};
    a.since_refresh = {sd["since_refresh"].cast<i64>()};
    s.arm_counts = ints(sd["counts"]);
  } else {
    a.counts = ints(sd["counts"]);
    a.since_refresh = ints(sd["since_refresh"]);
    if (static_cast<i64>(a.counts.size()) != K || static_cast<i64>(a.since_refresh.size()) != K)
      throw py::value_error("set_state: counts and since_refresh must have n_arms entries");
  }
  return s;
}

int check_dim(int d, const char* op) {
  if (d < 1 || d > kMaxD)
    throw py::value_error(std::string(op) + ": d must be in [1, " + std::to_string(kMaxD) +
                          "], got " + std::to_string(d));
  return d;
}

// Update rejected by the model after the fact (see SharedLinUCB::update); nothing was changed.
[[noreturn]] void raise_rejected(const std::string& op, const Batch& bt, int d, double lam) {
  double top = 0.0;
  for (i64 i = 0; i < bt.B * d; ++i) top = std::max(top, std::fabs(bt.X_buf.data()[i]));
  std::ostringstream os;
  os << op << ": X is too large relative to lam: these observations would make A numerically "
     << "singular or A^{-1} or theta non-finite (max |X| = " << top << ", lam = " << lam
     << "); the model is unchanged";
  throw py::value_error(os.str());
}

// ------------------------------------------------------------------------------ shared model

class PySharedLinUCB {
 public:
  PySharedLinUCB(int d, double alpha, double lam, double gamma, i64 refresh_every,
                 const std::string& dtype)
      : m_(check_d(d), make_hyper(alpha, lam, gamma, refresh_every, dtype, "LinUCB")) {}

  static int check_d(int d) { return check_dim(d, "LinUCB"); }

  SharedLinUCB& model() { return m_; }

  py::tuple scores(const py::object& X) {
    return m_.hyper().precision == Precision::f64 ? scores_as<double>(X) : scores_as<float>(X);
  }

  py::tuple select(const py::object& X, const py::object& mask, const py::object& penalty) {
    return m_.hyper().precision == Precision::f64 ? select_as<double>(X, mask, penalty)
                                                  : select_as<float>(X, mask, penalty);
  }

  void update(const py::object& arms, const py::object& X, const py::object& rewards) {
    const std::string op = "LinUCB.update";
    Batch bt = check_batch(arms, X, rewards, m_.d(), -1, true, op);
    const i64* a = arms.is_none() ? nullptr : bt.arms_buf.data();
    bool ok;
    {
      py::gil_scoped_release nogil;
      ok = m_.update(a, bt.X_buf.data(), bt.r_buf.data(), bt.B);
    }
    if (!ok) raise_rejected(op, bt, m_.d(), m_.hyper().lam);
  }

  bool refresh() {
    py::gil_scoped_release nogil;
    return m_.refresh();
  }

  py::dict state() {
    ModelState s;
    {
      py::gil_scoped_release nogil;
      s = m_.state();
    }
    return state_to_dict(s, true);
  }

  void set_state(const py::dict& sd) {
    ModelState s = dict_to_state(sd, m_.d(), 1, true);
    py::gil_scoped_release nogil;
    m_.set_state(s);
  }

 private:
  template <typename T>
  py::array_t<T, py::array::c_style> joint_X(const py::object& X, const std::string& op) {
    py::array x = to_array(X, op, "X");
    check_kind(x, Kind::real, op, "X");
    check_shape(x, {-1, -1, m_.d()}, "(B, K, d) with d = " + std::to_string(m_.d()), op, "X");
    return to_model_dtype<T>(x, op, "X");
  }

  template <typename T>
  py::tuple scores_as(const py::object& X) {
    const std::string op = "LinUCB.scores";
    auto x = joint_X<T>(X, op);
    const i64 B = x.shape(0), K = x.shape(1), N = B * K;
    py::array_t<T> mean({B, K}), width({B, K});
    bool ok;
    {
      py::gil_scoped_release nogil;
      m_.scores<T>(x.data(), N, mean.mutable_data(), width.mutable_data());
      ok = all_finite(mean.data(), N) && all_finite(width.data(), N);
    }
    if (!ok) raise_bad_scores(x.data(), N * m_.d(), op, m_.hyper().lam, m_.d());
    return py::make_tuple(mean, width);
  }

  template <typename T>
  py::tuple select_as(const py::object& X, const py::object& mask, const py::object& penalty) {
    const std::string op = "LinUCB.select";
    auto x = joint_X<T>(X, op);
    const i64 B = x.shape(0), K = x.shape(1);
    Choice c = check_choice(mask, penalty, B, K, op);
    py::array_t<i64> arm(B);
    py::array_t<double> score(B);
    bool ok;
    {
      py::gil_scoped_release nogil;
      // A NaN or inf anywhere in a row of X makes that row's mean NaN or inf (x_k * theta_k is
      // NaN or inf even for theta_k = 0), so checking every mean and width, masked or not, checks
      // X for B K values instead of B K d.
      ok = m_.select<T>(x.data(), B, K, c.mask, c.penalty, c.per_row, arm.mutable_data(),
                        score.mutable_data());
    }
    if (!ok) raise_bad_scores(x.data(), B * K * m_.d(), op, m_.hyper().lam, m_.d());
    return py::make_tuple(arm, score);
  }

  SharedLinUCB m_;
};

// ------------------------------------------------------------------------------ disjoint model

class PyDisjointLinUCB {
 public:
  PyDisjointLinUCB(i64 n_arms, int d, double alpha, double lam, double gamma, i64 refresh_every,
                   const std::string& dtype) try
      : m_(check_k(n_arms), check_d(d),
           make_hyper(alpha, lam, gamma, refresh_every, dtype, "DisjointLinUCB")) {
  } catch (const std::bad_alloc&) {
    raise_no_memory("DisjointLinUCB", n_arms, d);
  }

  // std::bad_alloc as a MemoryError that says what was asked for.
  [[noreturn]] static void raise_no_memory(const std::string& op, i64 n_arms, int d) {
    std::ostringstream os;
    os << op << ": not enough memory for " << n_arms << " arms of d = " << d << " (about "
       << 16.0 * static_cast<double>(n_arms) * d * d / (1 << 30) << " GiB of A and A^{-1})";
    PyErr_SetString(PyExc_MemoryError, os.str().c_str());
    throw py::error_already_set();
  }

  static int check_d(int d) { return check_dim(d, "DisjointLinUCB"); }
  static i64 check_k(i64 k) {
    if (k < 0)
      throw py::value_error("DisjointLinUCB: n_arms must be >= 0, got " + std::to_string(k));
    return k;
  }

  DisjointLinUCB& model() { return m_; }

  py::tuple scores(const py::object& X) {
    return m_.hyper().precision == Precision::f64 ? scores_as<double>(X) : scores_as<float>(X);
  }

  py::tuple select(const py::object& X, const py::object& mask, const py::object& penalty) {
    return m_.hyper().precision == Precision::f64 ? select_as<double>(X, mask, penalty)
                                                  : select_as<float>(X, mask, penalty);
  }

  void update(const py::object& arms, const py::object& X, const py::object& rewards) {
    const std::string op = "DisjointLinUCB.update";
    const i64 K = m_.n_arms();
    Batch bt = check_batch(arms, X, rewards, m_.d(), K, false, op);
    int status;
    {
      py::gil_scoped_release nogil;
      status = m_.update(bt.arms_buf.data(), bt.X_buf.data(), bt.r_buf.data(), bt.B);
    }
    if (status == DisjointLinUCB::kArmsChanged)
      throw py::index_error(op + ": arms were removed by another thread during the call");
    if (status == DisjointLinUCB::kRejected) raise_rejected(op, bt, m_.d(), m_.hyper().lam);
  }

  i64 refresh() {
    py::gil_scoped_release nogil;
    return m_.refresh();
  }

  i64 add_arms(const py::object& count) {
    const std::string op = "DisjointLinUCB.add_arms";
    if (!py::isinstance<py::int_>(count) || py::isinstance<py::bool_>(count))
      throw py::type_error(op + ": count must be an int, got " +
                           py::str(py::type::of(count)).cast<std::string>());
    const i64 n = count.cast<i64>();
    if (n < 1) throw py::value_error(op + ": count must be >= 1, got " + std::to_string(n));
    try {
      py::gil_scoped_release nogil;
      return m_.add_arms(n);
    } catch (const std::bad_alloc&) {
      raise_no_memory(op, m_.n_arms() + n, m_.d());
    }
  }

  void remove_arms(const py::object& indices) {
    const std::string op = "DisjointLinUCB.remove_arms";
    py::array a = to_array(indices, op, "indices");
    check_kind(a, Kind::integer, op, "indices");
    if (a.ndim() > 1)
      throw py::value_error(op + ": indices must be an int or a 1-D array, got shape " +
                            shape_of(a));
    auto buf = contiguous<i64>(a);
    std::vector<i64> idx(buf.data(), buf.data() + buf.size());
    std::sort(idx.begin(), idx.end());
    const i64 K = m_.n_arms();
    for (const i64 v : idx)
      if (v < 0 || v >= K)
        throw py::index_error(op + ": index " + std::to_string(v) +
                              " is out of range, expected 0 <= index < " + std::to_string(K));
    if (std::adjacent_find(idx.begin(), idx.end()) != idx.end())
      throw py::value_error(op + ": indices must not repeat");
    bool ok;
    {
      py::gil_scoped_release nogil;
      ok = m_.remove_arms(idx);
    }
    if (!ok) throw py::index_error(op + ": arms were removed by another thread during the call");
  }

  py::dict state() {
    ModelState s;
    {
      py::gil_scoped_release nogil;
      s = m_.state();
    }
    return state_to_dict(s, false);
  }

  void set_state(const py::dict& sd, i64 n_arms) {
    ModelState s = dict_to_state(sd, m_.d(), n_arms, false);
    py::gil_scoped_release nogil;
    m_.set_state(s);
  }

 private:
  template <typename T>
  py::array_t<T, py::array::c_style> contexts(const py::object& X, const std::string& op) {
    py::array x = to_array(X, op, "X");
    check_kind(x, Kind::real, op, "X");
    check_shape(x, {-1, m_.d()}, "(B, d) with d = " + std::to_string(m_.d()), op, "X");
    auto c = to_model_dtype<T>(x, op, "X");
    // Contexts are few (B d values) and shared by all arms, so check them up front.
    require_finite(c.data(), c.shape(0) * m_.d(), op, "X");
    return c;
  }

  template <typename T>
  py::tuple scores_as(const py::object& X) {
    const std::string op = "DisjointLinUCB.scores";
    auto x = contexts<T>(X, op);
    const i64 B = x.shape(0);
    for (;;) {  // retried only if another thread changes the arm set meanwhile
      const i64 K = m_.n_arms();
      py::array_t<T> mean({B, K}), width({B, K});
      bool done, ok = true;
      {
        py::gil_scoped_release nogil;
        done = m_.scores<T>(x.data(), B, K, mean.mutable_data(), width.mutable_data());
        if (done) ok = all_finite(mean.data(), B * K) && all_finite(width.data(), B * K);
      }
      if (!done) continue;
      if (!ok) raise_bad_scores(x.data(), B * m_.d(), op, m_.hyper().lam, m_.d());
      return py::make_tuple(mean, width);
    }
  }

  template <typename T>
  py::tuple select_as(const py::object& X, const py::object& mask, const py::object& penalty) {
    const std::string op = "DisjointLinUCB.select";
    auto x = contexts<T>(X, op);
    const i64 B = x.shape(0);
    for (;;) {
      const i64 K = m_.n_arms();
      Choice c = check_choice(mask, penalty, B, K, op);
      py::array_t<i64> arm(B);
      py::array_t<double> score(B);
      bool done, ok = true;
      {
        py::gil_scoped_release nogil;
        done = m_.select<T>(x.data(), B, K, c.mask, c.penalty, c.per_row, arm.mutable_data(),
                            score.mutable_data(), &ok);
      }
      if (!done) continue;
      if (!ok) raise_bad_scores(x.data(), B * m_.d(), op, m_.hyper().lam, m_.d());
      return py::make_tuple(arm, score);
    }
  }

  DisjointLinUCB m_;
};

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "uniscale's compiled LinUCB core (private; use uniscale.bandit).";
  m.attr("__version__") = "0.1.0";
  m.def("isa", [] { return std::string(uniscale::core::kernels().isa); },
        "Instruction set of the kernels chosen for this CPU: 'avx512', 'avx2' or 'generic'.");
  m.def("max_threads", &uniscale::core::max_threads,
        "Threads a large batched call may use (UNISCALE_NUM_THREADS or the CPU count).");

  py::class_<PySharedLinUCB>(m, "LinUCB")
      .def(py::init<int, double, double, double, i64, const std::string&>(), py::arg("d"),
           py::kw_only(), py::arg("alpha") = 1.0, py::arg("lam") = 1.0, py::arg("gamma") = 1.0,
           py::arg("refresh_every") = 4096, py::arg("dtype") = "float64")
      .def("scores", &PySharedLinUCB::scores, py::arg("X"))
      .def("select", &PySharedLinUCB::select, py::arg("X"), py::arg("mask") = py::none(),
           py::arg("penalty") = py::none())
      .def("update", &PySharedLinUCB::update, py::arg("arms"), py::arg("X"), py::arg("rewards"))
      .def("refresh", &PySharedLinUCB::refresh)
      .def("state", &PySharedLinUCB::state)
      .def("set_state", &PySharedLinUCB::set_state, py::arg("state"))
      .def_property_readonly("d", [](PySharedLinUCB& s) { return s.model().d(); })
      .def_property(
          "alpha", [](PySharedLinUCB& s) { return s.model().hyper().alpha; },
          [](PySharedLinUCB& s, double a) {
            if (!(a >= 0.0) || !std::isfinite(a))
              throw py::value_error("LinUCB.alpha: must be finite and >= 0, got " +
                                    std::to_string(a));
            s.model().set_alpha(a);
          })
      .def_property_readonly("lam", [](PySharedLinUCB& s) { return s.model().hyper().lam; })
      .def_property_readonly("gamma", [](PySharedLinUCB& s) { return s.model().hyper().gamma; })
      .def_property_readonly("refresh_every",
                             [](PySharedLinUCB& s) { return s.model().hyper().refresh_every; })
      .def_property_readonly(
          "dtype", [](PySharedLinUCB& s) { return dtype_name(s.model().hyper().precision); })
      .def_property_readonly("n_updates", [](PySharedLinUCB& s) { return s.model().n_updates(); })
      .def_property_readonly("state_bytes",
                             [](PySharedLinUCB& s) { return s.model().state_bytes(); });

  py::class_<PyDisjointLinUCB>(m, "DisjointLinUCB")
      .def(py::init<i64, int, double, double, double, i64, const std::string&>(),
           py::arg("n_arms"), py::arg("d"), py::kw_only(), py::arg("alpha") = 1.0,
           py::arg("lam") = 1.0, py::arg("gamma") = 1.0, py::arg("refresh_every") = 4096,
           py::arg("dtype") = "float64")
      .def("scores", &PyDisjointLinUCB::scores, py::arg("X"))
      .def("select", &PyDisjointLinUCB::select, py::arg("X"), py::arg("mask") = py::none(),
           py::arg("penalty") = py::none())
      .def("update", &PyDisjointLinUCB::update, py::arg("arms"), py::arg("X"),
           py::arg("rewards"))
      .def("refresh", &PyDisjointLinUCB::refresh)
      .def("add_arms", &PyDisjointLinUCB::add_arms, py::arg("count"))
      .def("remove_arms", &PyDisjointLinUCB::remove_arms, py::arg("indices"))
      .def("state", &PyDisjointLinUCB::state)
      .def("set_state", &PyDisjointLinUCB::set_state, py::arg("state"), py::arg("n_arms"))
      .def_property_readonly("d", [](PyDisjointLinUCB& s) { return s.model().d(); })
      .def_property_readonly("n_arms", [](PyDisjointLinUCB& s) { return s.model().n_arms(); })
      .def_property(
          "alpha", [](PyDisjointLinUCB& s) { return s.model().hyper().alpha; },
          [](PyDisjointLinUCB& s, double a) {
            if (!(a >= 0.0) || !std::isfinite(a))
              throw py::value_error("DisjointLinUCB.alpha: must be finite and >= 0, got " +
                                    std::to_string(a));
            s.model().set_alpha(a);
          })
      .def_property_readonly("lam", [](PyDisjointLinUCB& s) { return s.model().hyper().lam; })
      .def_property_readonly("gamma",
                             [](PyDisjointLinUCB& s) { return s.model().hyper().gamma; })
      .def_property_readonly("refresh_every",
                             [](PyDisjointLinUCB& s) { return s.model().hyper().refresh_every; })
      .def_property_readonly(
          "dtype", [](PyDisjointLinUCB& s) { return dtype_name(s.model().hyper().precision); })
      .def_property_readonly("n_updates",
                             [](PyDisjointLinUCB& s) { return s.model().n_updates(); })
      .def_property_readonly("state_bytes",
                             [](PyDisjointLinUCB& s) { return s.model().state_bytes(); });
}
