// Picks the kernel table once, from what the running CPU supports (not what the build machine
// had), so one portable wheel still uses AVX2 or AVX-512 where they exist.
#include <cstdlib>
#include <cstring>

#include "kernels.hpp"

namespace uniscale::core {

#if !defined(UNISCALE_HAVE_AVX2)
const KernelTable* kernels_avx2() { return nullptr; }
#endif
#if !defined(UNISCALE_HAVE_AVX512)
const KernelTable* kernels_avx512() { return nullptr; }
#endif

namespace {

bool cpu_has_avx2() {
#if defined(UNISCALE_HAVE_AVX2) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return false;
#endif
}

bool cpu_has_avx512() {
#if defined(UNISCALE_HAVE_AVX512) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("avx512vl");
#else
  return false;
#endif
}

const KernelTable* choose() {
  const char* want = std::getenv("UNISCALE_ISA");
  const bool any = want == nullptr || *want == '\0';
  if ((any || std::strcmp(want, "avx512") == 0) && cpu_has_avx512()) return kernels_avx512();
  if ((any || std::strcmp(want, "avx2") == 0 || std::strcmp(want, "avx512") == 0) &&
      cpu_has_avx2())
    return kernels_avx2();
  return kernels_generic();
}

}  // namespace

const KernelTable& kernels() {
  static const KernelTable* table = choose();
  return *table;
}

}  // namespace uniscale::core
