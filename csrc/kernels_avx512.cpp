// The SIMD kernels built for the avx512 instruction set (flags: see CMakeLists.txt).
// Tile: 8 rows x 3 vectors of 64 bytes, sized to the register file of the target.
#define UNISCALE_KERNEL_NS isa_avx512
#define UNISCALE_VEC_BYTES 64
#define UNISCALE_TILE_ROWS 8
#define UNISCALE_TILE_VECS 3
#include "kernel_impl.hpp"

namespace uniscale::core {

const KernelTable* kernels_avx512() {
  static const KernelTable table{"avx512", isa_avx512::score_f64, isa_avx512::score_f32,
                                 isa_avx512::score_tri_f64, isa_avx512::score_tri_f32,
                                 isa_avx512::symv,
                                 isa_avx512::sm_inv, isa_avx512::syrk};
  return &table;
}

}  // namespace uniscale::core
