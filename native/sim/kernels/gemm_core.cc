// Goto/BLIS-style blocking: B is packed in kc x nc blocks that stay in L2, A in mc x kc blocks
// whose MR-row micro-panels stay in L1, and a micro-kernel keeps an MR x NR tile of C in
// vector registers across the whole kc loop. Only the micro-kernel is ISA-specific; it is
// compiled once per instruction set with function target attributes (the addon ships as one
// generic x86-64 prebuild, so -march=native is not an option) and picked once at run time.
#include "gemm_core.h"

#include "../thread_pool.h"
#include "denormals.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace tnrt {
namespace sim {

namespace {

// How a micro-kernel writes its tile: C = alpha*acc + (load ? C : bias ? bias[i] : 0).
struct Epilogue {
  float alpha;
  bool load;
  const float* bias;  // already offset to the tile's first row
};

using MicroKernel = void (*)(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int64_t mr,
                             int64_t nr, const Epilogue& ep);

// Shared by every ISA: finishes a partial (edge) tile from a dense MR x NR accumulator copy.
inline void storeEdge(const float* tile, int64_t NR, float* c, int64_t ldc, int64_t mr, int64_t nr,
                      const Epilogue& ep) {
  for (int64_t i = 0; i < mr; ++i) {
    const float add = ep.bias ? ep.bias[i] : 0.0f;
    for (int64_t j = 0; j < nr; ++j) {
      const float v = ep.alpha * tile[i * NR + j];
      c[i * ldc + j] = ep.load ? c[i * ldc + j] + v : v + add;
    }
  }
}

// Portable micro-kernel (also the ARM path): plain loops over a small tile that the compiler
// keeps in registers and vectorizes with whatever the baseline ISA offers.
constexpr int64_t kGenericMR = 4, kGenericNR = 8;
void microGeneric(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int64_t mr, int64_t nr,
                  const Epilogue& ep) {
  float acc[kGenericMR][kGenericNR] = {};
  for (int64_t k = 0; k < kc; ++k) {
    for (int64_t i = 0; i < kGenericMR; ++i) {
      const float ai = a[i];
      for (int64_t j = 0; j < kGenericNR; ++j) acc[i][j] += ai * b[j];
    }
    a += kGenericMR;
    b += kGenericNR;
  }
  storeEdge(&acc[0][0], kGenericNR, c, ldc, mr, nr, ep);
}

#if defined(__x86_64__)

// AVX-512: 8 rows x 32 columns = 16 zmm accumulators, enough independent FMAs to cover the
// FMA latency on two pipes; A values are broadcast from memory.
constexpr int64_t kAvx512MR = 8, kAvx512NR = 32;
__attribute__((target("avx512f"))) void microAvx512(int64_t kc, const float* a, const float* b, float* c,
                                                    int64_t ldc, int64_t mr, int64_t nr, const Epilogue& ep) {
  __m512 acc[kAvx512MR][2];
#pragma GCC unroll 8
  for (int i = 0; i < kAvx512MR; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  for (int64_t k = 0; k < kc; ++k) {
    const __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
#pragma GCC unroll 8
    for (int i = 0; i < kAvx512MR; ++i) {
      const __m512 ai = _mm512_set1_ps(a[i]);
      acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
      acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
    }
    a += kAvx512MR;
    b += kAvx512NR;
  }
  const __m512 alpha = _mm512_set1_ps(ep.alpha);
  if (mr == kAvx512MR && nr == kAvx512NR) {
#pragma GCC unroll 8
    for (int i = 0; i < kAvx512MR; ++i) {
      float* ci = c + i * ldc;
      __m512 r0 = _mm512_mul_ps(acc[i][0], alpha), r1 = _mm512_mul_ps(acc[i][1], alpha);
      if (ep.load) {
        r0 = _mm512_add_ps(r0, _mm512_loadu_ps(ci));
        r1 = _mm512_add_ps(r1, _mm512_loadu_ps(ci + 16));
      } else if (ep.bias) {
        const __m512 bi = _mm512_set1_ps(ep.bias[i]);
        r0 = _mm512_add_ps(r0, bi);
        r1 = _mm512_add_ps(r1, bi);
      }
      _mm512_storeu_ps(ci, r0);
      _mm512_storeu_ps(ci + 16, r1);
    }
    return;
  }
  alignas(64) float tile[kAvx512MR * kAvx512NR];
  for (int i = 0; i < kAvx512MR; ++i) {
    _mm512_store_ps(tile + i * kAvx512NR, acc[i][0]);
    _mm512_store_ps(tile + i * kAvx512NR + 16, acc[i][1]);
  }
  storeEdge(tile, kAvx512NR, c, ldc, mr, nr, ep);
}

// AVX2 + FMA: the classic 6 x 16 tile (12 ymm accumulators, 2 for B, 1 broadcast).
constexpr int64_t kAvx2MR = 6, kAvx2NR = 16;
__attribute__((target("avx2,fma"))) void microAvx2(int64_t kc, const float* a, const float* b, float* c,
                                                  int64_t ldc, int64_t mr, int64_t nr, const Epilogue& ep) {
  __m256 acc[kAvx2MR][2];
#pragma GCC unroll 6
  for (int i = 0; i < kAvx2MR; ++i) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
  for (int64_t k = 0; k < kc; ++k) {
    const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
#pragma GCC unroll 6
    for (int i = 0; i < kAvx2MR; ++i) {
      const __m256 ai = _mm256_broadcast_ss(a + i);
      acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);
      acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);
    }
    a += kAvx2MR;
    b += kAvx2NR;
  }
  const __m256 alpha = _mm256_set1_ps(ep.alpha);
  if (mr == kAvx2MR && nr == kAvx2NR) {
#pragma GCC unroll 6
    for (int i = 0; i < kAvx2MR; ++i) {
      float* ci = c + i * ldc;
      __m256 r0 = _mm256_mul_ps(acc[i][0], alpha), r1 = _mm256_mul_ps(acc[i][1], alpha);
      if (ep.load) {
        r0 = _mm256_add_ps(r0, _mm256_loadu_ps(ci));
        r1 = _mm256_add_ps(r1, _mm256_loadu_ps(ci + 8));
      } else if (ep.bias) {
        const __m256 bi = _mm256_set1_ps(ep.bias[i]);
        r0 = _mm256_add_ps(r0, bi);
        r1 = _mm256_add_ps(r1, bi);
      }
      _mm256_storeu_ps(ci, r0);
      _mm256_storeu_ps(ci + 8, r1);
    }
    return;
  }
  alignas(32) float tile[kAvx2MR * kAvx2NR];
  for (int i = 0; i < kAvx2MR; ++i) {
    _mm256_store_ps(tile + i * kAvx2NR, acc[i][0]);
    _mm256_store_ps(tile + i * kAvx2NR + 8, acc[i][1]);
  }
  storeEdge(tile, kAvx2NR, c, ldc, mr, nr, ep);
}

#endif  // __x86_64__

struct KernelChoice {
  MicroKernel fn;
  int64_t mr, nr;
  const char* name;
};

const KernelChoice& kernelChoice() {
  static const KernelChoice choice = [] {
    // TNRT_SIM_GEMM_KERNEL=generic|avx2 caps the choice, so one machine can test every path.
    const char* cap = std::getenv("TNRT_SIM_GEMM_KERNEL");
    const std::string limit = cap ? cap : "";
    if (limit == "generic") return KernelChoice{microGeneric, kGenericMR, kGenericNR, "generic"};
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (limit != "avx2" && __builtin_cpu_supports("avx512f"))
      return KernelChoice{microAvx512, kAvx512MR, kAvx512NR, "avx512f"};
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
      return KernelChoice{microAvx2, kAvx2MR, kAvx2NR, "avx2+fma"};
#endif
    return KernelChoice{microGeneric, kGenericMR, kGenericNR, "generic"};
  }();
  return choice;
}

// Block sizes: a kc x nc block of packed B (256 x 512 floats = 512 KiB) fits in L2, an MR x kc
// micro-panel of A (8 KiB) in L1.
constexpr int64_t kKC = 256, kNC = 512, kMC = 192;

// A 64-byte-aligned view of a thread-local, grow-only buffer.
float* alignedBuffer(std::vector<float>& storage, size_t count) {
  if (storage.size() < count + 16) storage.resize(count + 16);
  auto p = reinterpret_cast<uintptr_t>(storage.data());
  return reinterpret_cast<float*>((p + 63) & ~uintptr_t{63});
}

void packA(const GemmArgs& g, int64_t i0, int64_t mc, int64_t k0, int64_t kc, int64_t mr, float* dst) {
  for (int64_t p = 0; p < mc; p += mr) {
    const int64_t rows = std::min(mr, mc - p);
    for (int64_t k = 0; k < kc; ++k) {
      float* d = dst + k * mr;
      for (int64_t i = 0; i < rows; ++i) {
        const int64_t r = i0 + p + i, col = k0 + k;
        d[i] = g.transA ? g.A[col * g.lda + r] : g.A[r * g.lda + col];
      }
      for (int64_t i = rows; i < mr; ++i) d[i] = 0.0f;
    }
    dst += kc * mr;
  }
}

void packDenseB(const GemmArgs& g, int64_t k0, int64_t kc, int64_t n0, int64_t nc, int64_t nr, float* dst) {
  for (int64_t p = 0; p < nc; p += nr) {
    const int64_t cols = std::min(nr, nc - p);
    for (int64_t k = 0; k < kc; ++k) {
      float* d = dst + k * nr;
      if (!g.transB) {
        std::memcpy(d, g.B + (k0 + k) * g.ldb + n0 + p, static_cast<size_t>(cols) * sizeof(float));
      } else {
        for (int64_t j = 0; j < cols; ++j) d[j] = g.B[(n0 + p + j) * g.ldb + k0 + k];
      }
      for (int64_t j = cols; j < nr; ++j) d[j] = 0.0f;
    }
    dst += kc * nr;
  }
}

// x >= 0 ? x : alpha * x along a row. The compiler keeps the scalar form a branch (the compare
// may trap, so it does not if-convert it), which mispredicts on half of the values: SSE2 (the
// x86-64 baseline) computes both sides and selects, with the same products.
void leakyReluRow(float* r, int64_t cols, float alpha) {
  int64_t j = 0;
#if defined(__x86_64__)
  const __m128 a = _mm_set1_ps(alpha), zero = _mm_setzero_ps();
  for (; j + 4 <= cols; j += 4) {
    const __m128 v = _mm_loadu_ps(r + j);
    const __m128 keep = _mm_cmpge_ps(v, zero);
    _mm_storeu_ps(r + j, _mm_or_ps(_mm_and_ps(keep, v), _mm_andnot_ps(keep, _mm_mul_ps(a, v))));
  }
#endif
  for (; j < cols; ++j) r[j] = r[j] >= 0.0f ? r[j] : alpha * r[j];
}

// applyPostOps' body, compiled per ISA (each op is one pass over a row, and every Conv's
// output takes them) but without fused multiply-adds, so that alpha * x + beta rounds twice,
// as the operators' own kernels in activation.cc and elementwise.cc do: fused results are
// bitwise those of the separate layers. Internal, behind the plain applyPostOps: Clang before
// 18 gives an exported multiversioned function no symbol under its plain name, so conv.cc
// could not link against it.
TNRT_SIM_CPU_CLONES TNRT_SIM_NO_FMA void postOpsCloned(const PostOp* ops, int32_t count, float* c, int64_t ldc,
                                                       int64_t rows, int64_t cols, int64_t channel0) {
  TNRT_SIM_NO_FMA_BODY
  for (int64_t i = 0; i < rows; ++i) {
    float* r = c + i * ldc;
    const int64_t ch = channel0 + i;
    for (int32_t k = 0; k < count; ++k) {
      const float a = ops[k].a, b = ops[k].b;
      switch (ops[k].kind) {
        case PostOp::kRelu:
          for (int64_t j = 0; j < cols; ++j) r[j] = r[j] > 0.0f ? r[j] : 0.0f;
          break;
        case PostOp::kLeakyRelu:
          leakyReluRow(r, cols, a);
          break;
        case PostOp::kClip:
          for (int64_t j = 0; j < cols; ++j) {
            const float v = r[j] < a ? a : r[j];
            r[j] = v > b ? b : v;
          }
          break;
        case PostOp::kHardSigmoid:
          for (int64_t j = 0; j < cols; ++j) {
            const float v = a * r[j] + b;
            r[j] = v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
          }
          break;
        case PostOp::kMax:  // Max(x, a): a NaN x stays, as elementwise.cc's MaxOp
          for (int64_t j = 0; j < cols; ++j) r[j] = (r[j] != r[j]) ? r[j] : (r[j] > a ? r[j] : a);
          break;
        case PostOp::kMin:
          for (int64_t j = 0; j < cols; ++j) r[j] = (r[j] != r[j]) ? r[j] : (r[j] < a ? r[j] : a);
          break;
        case PostOp::kAdd:
          for (int64_t j = 0; j < cols; ++j) r[j] = r[j] + a;
          break;
        case PostOp::kMul:
          for (int64_t j = 0; j < cols; ++j) r[j] = r[j] * a;
          break;
        case PostOp::kSub:
          for (int64_t j = 0; j < cols; ++j) r[j] = r[j] - a;
          break;
        case PostOp::kDiv:
          for (int64_t j = 0; j < cols; ++j) r[j] = r[j] / a;
          break;
        case PostOp::kHardSwishChain: {
          const float lo = b, hi = ops[k].c, d = ops[k].d;
          for (int64_t j = 0; j < cols; ++j) {
            float t = r[j] + a;
            t = t < lo ? lo : t;
            t = t > hi ? hi : t;
            r[j] = r[j] * t / d;
          }
          break;
        }
        case PostOp::kHardSwish:
          for (int64_t j = 0; j < cols; ++j) {
            const float v = r[j] * (1.0f / 6.0f) + 0.5f;
            r[j] = r[j] * (v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v));
          }
          break;
        case PostOp::kBatchNorm: {
          const float scale = ops[k].channel[0][ch], shift = ops[k].channel[1][ch];
          for (int64_t j = 0; j < cols; ++j) r[j] = r[j] * scale + shift;
          break;
        }
      }
    }
  }
}

}  // namespace

void applyPostOps(const PostOp* ops, int32_t count, float* c, int64_t ldc, int64_t rows, int64_t cols, int64_t channel0) {
  postOpsCloned(ops, count, c, ldc, rows, cols, channel0);
}

const char* sgemmKernelName() { return kernelChoice().name; }

size_t packedASize(int64_t M, int64_t K) {
  const int64_t MR = kernelChoice().mr;
  return static_cast<size_t>((M + MR - 1) / MR * MR * K);
}

void packWholeA(const float* A, int64_t lda, int64_t M, int64_t K, float* dst) {
  GemmArgs g;
  g.A = A, g.lda = lda;
  packA(g, 0, M, 0, K, kernelChoice().mr, dst);
}

namespace {

// The blocked product over rows [m0, m1) and columns [n0, n1) of C, on the calling thread.
// Ranges start on MR / NR multiples, so the micro-tiles are the ones a whole-matrix call makes.
void sgemmRange(const GemmArgs& g, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
  const FlushDenormals flush;  // on whichever thread runs the range
  const KernelChoice& kc0 = kernelChoice();
  const int64_t MR = kc0.mr, NR = kc0.nr;
  const int64_t M = m1 - m0, N = n1 - n0;
  const int64_t mcMax = std::min<int64_t>(kMC, (M + MR - 1) / MR * MR);
  const int64_t ncMax = std::min<int64_t>(kNC, (N + NR - 1) / NR * NR);
  const int64_t kcMax = std::min<int64_t>(kKC, g.K);
  thread_local std::vector<float> aStorage, bStorage;
  float* Ap = alignedBuffer(aStorage, static_cast<size_t>(mcMax * kcMax));
  float* Bp = alignedBuffer(bStorage, static_cast<size_t>(ncMax * kcMax));

  for (int64_t jc = n0; jc < n1; jc += kNC) {
    const int64_t nc = std::min(kNC, n1 - jc);
    for (int64_t pc = 0; pc < g.K; pc += kKC) {
      const int64_t kc = std::min(kKC, g.K - pc);
      if (g.packB) g.packB(g.packCtx, pc, kc, jc, nc, NR, Bp);
      else packDenseB(g, pc, kc, jc, nc, NR, Bp);
      // Later K blocks add onto what the first one stored.
      const bool first = pc == 0;
      for (int64_t ic = m0; ic < m1; ic += kMC) {
        const int64_t mc = std::min(kMC, m1 - ic);
        if (!g.packedA) packA(g, ic, mc, pc, kc, MR, Ap);
        for (int64_t ir = 0; ir < mc; ir += MR) {
          // ic + ir is a multiple of MR: its panel of the whole packed A, from row pc on.
          const float* a = g.packedA ? g.packedA + (ic + ir) * g.K + pc * MR : Ap + ir * kc;
          const int64_t row = ic + ir;
          Epilogue ep{g.alpha, g.accumulate || !first, g.rowBias ? g.rowBias + row : nullptr};
          for (int64_t jr = 0; jr < nc; jr += NR) {
            kc0.fn(kc, a, Bp + jr * kc, g.C + row * g.ldc + jc + jr, g.ldc, std::min(MR, mc - ir),
                   std::min(NR, nc - jr), ep);
            // The tile is still in L1: the fused activations cost no extra pass over C.
            if (g.postCount && pc + kc == g.K)
              applyPostOps(g.post, g.postCount, g.C + row * g.ldc + jc + jr, g.ldc, std::min(MR, mc - ir),
                           std::min(NR, nc - jr), g.postChannel0 + row);
          }
        }
      }
    }
  }
}

// ---- one column of C (a Conv on a 1x1 map: squeeze-and-excitation layers) ----------------
//
// The micro-kernels compute a whole MR x NR tile whatever the tile's width, so a product with
// one column did NR times its multiply-adds (32x on AVX-512) after packing B as wide. Here each
// group of kGemvPanels row panels walks K once, every element of C with the operations the
// micro-kernel gives it: per K block of kKC a sum from 0 in k order (an FMA where the chosen
// kernel uses one, else a multiply and an add), then alpha * sum stored onto the bias (or 0)
// or added onto C, as storeEdge does. The results are bitwise those of the tiled path.
constexpr int64_t kGemvPanels = 4;

// P panels of MR rows: sums into registers (a local array the compiler vectorizes over the
// rows), written to `out` once.
template <int64_t MR, int64_t P, bool kFma>
__attribute__((always_inline)) inline void gemvPanelsFixed(const float* __restrict pa, int64_t K,
                                                           const float* __restrict b, int64_t k0, int64_t kc,
                                                           float* __restrict out) {
  float acc[P][MR] = {};
  for (int64_t k = k0; k < k0 + kc; ++k) {
    const float bk = b[k];
    for (int64_t p = 0; p < P; ++p) {
      const float* __restrict a = pa + p * MR * K + k * MR;
      for (int64_t i = 0; i < MR; ++i) {
        if constexpr (kFma) acc[p][i] = __builtin_fmaf(a[i], bk, acc[p][i]);
        else acc[p][i] += a[i] * bk;
      }
    }
  }
  for (int64_t p = 0; p < P; ++p)
    for (int64_t i = 0; i < MR; ++i) out[p * MR + i] = acc[p][i];
}

template <int64_t MR, bool kFma>
__attribute__((always_inline)) inline void gemvPanelsBody(const float* pa, int64_t K, int64_t panels, const float* b,
                                                          int64_t k0, int64_t kc, float* out) {
  static_assert(kGemvPanels == 4, "the cases below");
  switch (panels) {
    case 1: return gemvPanelsFixed<MR, 1, kFma>(pa, K, b, k0, kc, out);
    case 2: return gemvPanelsFixed<MR, 2, kFma>(pa, K, b, k0, kc, out);
    case 3: return gemvPanelsFixed<MR, 3, kFma>(pa, K, b, k0, kc, out);
    default: return gemvPanelsFixed<MR, 4, kFma>(pa, K, b, k0, kc, out);
  }
}

template <int64_t MR>
void gemvPanelsPlain(const float* pa, int64_t K, int64_t panels, const float* b, int64_t k0, int64_t kc, float* acc) {
  gemvPanelsBody<MR, false>(pa, K, panels, b, k0, kc, acc);
}

#if defined(__x86_64__)
template <int64_t MR>
__attribute__((target("avx2,fma"))) void gemvPanelsFma(const float* pa, int64_t K, int64_t panels, const float* b,
                                                       int64_t k0, int64_t kc, float* acc) {
  gemvPanelsBody<MR, true>(pa, K, panels, b, k0, kc, acc);
}
#endif

using GemvPanelsFn = void (*)(const float* pa, int64_t K, int64_t panels, const float* b, int64_t k0, int64_t kc,
                              float* acc);

// The most rows any micro-kernel's panel has: the size of gemvRange's accumulators.
#if defined(__x86_64__)
constexpr int64_t kMaxMR = std::max({kGenericMR, kAvx512MR, kAvx2MR});
#else
constexpr int64_t kMaxMR = kGenericMR;
#endif

// The panel loop that matches the chosen micro-kernel (null: none does, use the tiles).
GemvPanelsFn gemvPanelsFor(const KernelChoice& kc0) {
  if (kc0.fn == microGeneric) return gemvPanelsPlain<kGenericMR>;
#if defined(__x86_64__)
  if (kc0.fn == microAvx512) return gemvPanelsFma<kAvx512MR>;
  if (kc0.fn == microAvx2) return gemvPanelsFma<kAvx2MR>;
#endif
  return nullptr;
}

// Rows [m0, m1) of the one-column product (m0 on a panel boundary), on the calling thread.
// `b` is B's column, K values; `pa` A packed whole (packedASize layout) from row m0's panel.
void gemvRange(const GemmArgs& g, const float* pa, const float* b, int64_t m0, int64_t m1) {
  const FlushDenormals flush;
  const KernelChoice& kc0 = kernelChoice();
  const int64_t MR = kc0.mr, K = g.K;
  const GemvPanelsFn panelsFn = gemvPanelsFor(kc0);
  float acc[kGemvPanels * kMaxMR];
  for (int64_t r0 = m0; r0 < m1; r0 += kGemvPanels * MR) {
    const int64_t rows = std::min(kGemvPanels * MR, m1 - r0);
    const int64_t panels = (rows + MR - 1) / MR;
    const float* p = pa + (r0 - m0) * K;
    for (int64_t pc = 0; pc < K; pc += kKC) {
      const int64_t kc = std::min(kKC, K - pc);
      panelsFn(p, K, panels, b, pc, kc, acc);
      const bool load = g.accumulate || pc > 0;
      for (int64_t i = 0; i < rows; ++i) {
        float* c = g.C + (r0 + i) * g.ldc;
        const float v = g.alpha * acc[i];
        *c = load ? *c + v : v + (g.rowBias ? g.rowBias[r0 + i] : 0.0f);
      }
    }
    if (g.postCount) applyPostOps(g.post, g.postCount, g.C + r0 * g.ldc, g.ldc, rows, 1, g.postChannel0 + r0);
  }
}

// C = A x (one column of B). False when the tiled path must run (no matching panel loop).
bool sgemv(const GemmArgs& g, int64_t parallelMinMacs) {
  const KernelChoice& kc0 = kernelChoice();
  if (!gemvPanelsFor(kc0)) return false;
  const int64_t MR = kc0.mr, K = g.K, M = g.M;
  // B's column, dense.
  thread_local std::vector<float> column;
  column.resize(static_cast<size_t>(K));
  if (g.packB) {
    for (int64_t pc = 0; pc < K; pc += kKC) g.packB(g.packCtx, pc, std::min(kKC, K - pc), 0, 1, 1, column.data() + pc);
  } else {
    for (int64_t k = 0; k < K; ++k) column[static_cast<size_t>(k)] = g.transB ? g.B[k] : g.B[k * g.ldb];
  }
  const float* pa = g.packedA;
  thread_local std::vector<float> packed;
  if (!pa) {
    packed.resize(static_cast<size_t>((M + MR - 1) / MR * MR * K));
    packA(g, 0, M, 0, K, MR, packed.data());
    pa = packed.data();
  }
  const int threads = g.pool ? g.pool->threads() : 1;
  const int64_t panelRows = kGemvPanels * MR;
  const int64_t groups = (M + panelRows - 1) / panelRows;
  const int64_t ranges = M * K >= parallelMinMacs ? balancedRanges(groups, 2 * threads, threads) : 1;
  if (ranges <= 1) {
    gemvRange(g, pa, column.data(), 0, M);
    return true;
  }
  const float* b = column.data();
  g.pool->forEach(ranges, [&](int64_t r) {
    const int64_t lo = std::min(M, groups * r / ranges * panelRows), hi = std::min(M, groups * (r + 1) / ranges * panelRows);
    if (lo < hi) gemvRange(g, pa + lo * K, b, lo, hi);
  });
  return true;
}

// Below this many multiply-adds a product stays on one thread: waking another costs more.
constexpr int64_t kParallelMinMacs = int64_t{1} << 18;
// A range narrower than this repacks A (or B) for too little work.
constexpr int64_t kMinRangeCols = 64, kMinRangeRows = 32;

}  // namespace

void sgemm(const GemmArgs& g) {
  if (g.M <= 0 || g.N <= 0) return;
  if (g.K <= 0) {
    // An empty sum: C keeps its value (accumulate) or becomes the bias.
    if (!g.accumulate)
      for (int64_t i = 0; i < g.M; ++i)
        std::fill(g.C + i * g.ldc, g.C + i * g.ldc + g.N, g.rowBias ? g.rowBias[i] : 0.0f);
    return;
  }
  if (g.N == 1 && sgemv(g, kParallelMinMacs)) return;
  const int threads = g.pool ? g.pool->threads() : 1;
  if (threads <= 1 || g.M * g.N * g.K < kParallelMinMacs) {
    sgemmRange(g, 0, g.M, 0, g.N);
    return;
  }
  const KernelChoice& kc0 = kernelChoice();
  // Up to twice as many ranges as threads, so that a thread slowed by another process on a
  // shared machine hands its second range to one that is done; balancedRanges picks a count
  // that leaves no thread an extra range.
  const int64_t want = 2 * threads;
  const bool byCols = g.N >= kMinRangeCols * threads || g.N >= g.M;
  const int64_t extent = byCols ? g.N : g.M, unit = byCols ? kc0.nr : kc0.mr;
  const int64_t minRange = byCols ? kMinRangeCols : kMinRangeRows;
  const int64_t units = (extent + unit - 1) / unit;
  const int64_t ranges = balancedRanges(units, std::min<int64_t>(want, extent / minRange), threads);
  if (ranges == 1) {
    sgemmRange(g, 0, g.M, 0, g.N);
    return;
  }
  g.pool->forEach(ranges, [&](int64_t r) {
    const int64_t lo = std::min(extent, units * r / ranges * unit);
    const int64_t hi = std::min(extent, units * (r + 1) / ranges * unit);
    if (lo >= hi) return;
    if (byCols) sgemmRange(g, 0, g.M, lo, hi);
    else sgemmRange(g, lo, hi, 0, g.N);
  });
}

}  // namespace sim
}  // namespace tnrt
