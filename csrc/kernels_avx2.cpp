// The SIMD kernels built for the avx2 instruction set (flags: see CMakeLists.txt).
// Tile: 4 rows x 3 vectors of 32 bytes, sized to the register file of the target.
#define UNISCALE_KERNEL_NS isa_avx2
#define UNISCALE_VEC_BYTES 32
#define UNISCALE_TILE_ROWS 4
#define UNISCALE_TILE_VECS 3
#include "kernel_impl.hpp"

namespace uniscale::core {

const KernelTable* kernels_avx2() {
  static const KernelTable table{"avx2", isa_avx2::score_f64, isa_avx2::score_f32,
                                 isa_avx2::score_tri_f64, isa_avx2::score_tri_f32,
                                 isa_avx2::symv,
                                 isa_avx2::sm_inv, isa_avx2::syrk};
  return &table;
}

}  // namespace uniscale::core
