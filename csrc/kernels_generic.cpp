// The SIMD kernels built for the generic instruction set (flags: see CMakeLists.txt).
// Tile: 4 rows x 2 vectors of 16 bytes, sized to the register file of the target.
#define UNISCALE_KERNEL_NS isa_generic
#define UNISCALE_VEC_BYTES 16
#define UNISCALE_TILE_ROWS 4
#define UNISCALE_TILE_VECS 2
#include "kernel_impl.hpp"

namespace uniscale::core {

const KernelTable* kernels_generic() {
  static const KernelTable table{"generic", isa_generic::score_f64, isa_generic::score_f32,
                                 isa_generic::score_tri_f64, isa_generic::score_tri_f32,
                                 isa_generic::symv,
                                 isa_generic::sm_inv, isa_generic::syrk};
  return &table;
}

}  // namespace uniscale::core
