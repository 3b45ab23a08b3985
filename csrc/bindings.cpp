// The one file that knows about Python: argument checks, conversion, GIL handling.
// The math lives in uniscale::core (csrc/*.hpp) and never sees a Python object.
#include <pybind11/pybind11.h>

namespace py = pybind11;

PYBIND11_MODULE(_core, m) {
  m.doc() = "uniscale's compiled LinUCB core (private; use uniscale.bandit).";
  m.attr("__version__") = "0.1.0";
}
