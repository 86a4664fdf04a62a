// The sim's float32 matrix-product engine: C[M,N] = alpha * A[M,K] * B[K,N] (+ C or + a
// per-row bias), cache-blocked with packed operands and a register-tiled micro-kernel chosen at
// run time for the CPU (AVX-512, AVX2+FMA, or portable C++). MatMul, Gemm, Conv and
// ConvTranspose all run on it, so one fast loop serves every convolution-heavy network.
//
// B can come from a dense matrix or from a caller-supplied packer: Conv packs its im2col view
// of the input straight into the panel format, so the column matrix is never materialized.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace tnrt {
namespace sim {

class ThreadPool;

// An element-wise operation fused onto a product's output (the executor folds the activation
// chain after a Conv into it, saving a pass over a tensor that is no longer in cache). Each
// computes exactly what the operator's own kernel computes on float32, in the same order.
struct PostOp {
  enum Kind {
    kRelu,
    kLeakyRelu,
    kClip,
    kHardSigmoid,
    kMax,
    kMin,
    kAdd,
    kMul,
    kSub,
    kDiv,
    // x * Clip(x + a, b, c) / d: the Add, Clip, Mul, Div nodes that exporters (paddle2onnx,
    // older PyTorch) write for HardSwish, computed in that order.
    kHardSwishChain,
    // The HardSwish operator: x * clamp(x * (1/6) + 0.5, 0, 1), as activation.cc computes it.
    kHardSwish,
    // BatchNormalization per output channel k: x * a[k] + b[k] with channel = {a, b} from
    // batchNormAffine(), as normalization.cc computes it.
    kBatchNorm,
  } kind;
  float a = 0, b = 0;  // alpha / lo / the constant operand; beta / hi
  float c = 0, d = 0;
  const float* channel[4] = {nullptr, nullptr, nullptr, nullptr};
};

// BatchNormalization as one multiply and one add per element, as TensorRT folds it:
// a = scale / sqrt(var + eps), b = bias - mean * a, in float32. normalization.cc and the
// Conv fusion (sim_execution_context.cc) both take theirs from here, so that a fused result
// is bitwise the separate layer's. (It was (x - mean) / sqrt(var + eps) * scale + bias: a
// divide per element, most of a fused Conv's epilogue on PP-OCR's 1x1 layers.)
inline void batchNormAffine(float scale, float bias, float mean, float var, float eps, float* a, float* b) {
  *a = scale / std::sqrt(var + eps);
  *b = bias - mean * *a;
}

// Applies ops[0..count) in order to the rows x cols block at c (row stride ldc); row i holds
// output channel channel0 + i (per-channel ops read their vectors there).
void applyPostOps(const PostOp* ops, int32_t count, float* c, int64_t ldc, int64_t rows, int64_t cols,
                  int64_t channel0);

// Writes the kc x nc block of B that starts at row k0, column n0 as ceil(nc / nr) panels of
// nr columns each: panel p holds, for every k in [0, kc), the nr values B[k0+k][n0+p*nr+j]
// contiguously (zeros past column n0+nc). `ctx` is the caller's state.
using GemmPackB = void (*)(const void* ctx, int64_t k0, int64_t kc, int64_t n0, int64_t nc, int64_t nr, float* dst);

struct GemmArgs {
  int64_t M = 0, N = 0, K = 0;
  // A is M x K row-major with leading dimension lda, or (transA) stored K x M.
  const float* A = nullptr;
  int64_t lda = 0;
  bool transA = false;
  // A already in the micro-kernel's layout (packWholeA): sgemm reads it instead of packing A
  // on every call, which for a product with few columns (a Conv on a small feature map) cost
  // more than the multiply-adds. A, lda and transA are then unused.
  const float* packedA = nullptr;
  // Dense B (when packB is null): K x N row-major with leading dimension ldb, or (transB)
  // stored N x K.
  const float* B = nullptr;
  int64_t ldb = 0;
  bool transB = false;
  GemmPackB packB = nullptr;
  const void* packCtx = nullptr;
  float* C = nullptr;
  int64_t ldc = 0;
  float alpha = 1.0f;
  // true: C += alpha*A*B. false: C = alpha*A*B + (rowBias ? rowBias[i] : 0).
  bool accumulate = false;
  const float* rowBias = nullptr;
  // Splits C into column (or, when C is narrow, row) ranges run on the pool's threads; null
  // or one thread: the calling thread alone. Each range starts on a micro-tile boundary and
  // keeps the K blocking, so every element of C is computed by the same operations in the
  // same order as on one thread: results are bitwise equal for any thread count. packB must
  // then be safe to call from several threads at once.
  ThreadPool* pool = nullptr;
  // Applied to each tile of C once its last K block is stored.
  const PostOp* post = nullptr;
  int32_t postCount = 0;
  int64_t postChannel0 = 0;  // the output channel of C's row 0 (a Conv group's first)
};

// The float count and the layout of a whole M x K matrix A packed for the micro-kernel the CPU
// dispatch picked: ceil(M / MR) panels of MR rows (zeros past row M), each K steps of MR
// values, so any K block of a panel is contiguous. Row-major A with leading dimension lda.
size_t packedASize(int64_t M, int64_t K);
void packWholeA(const float* A, int64_t lda, int64_t M, int64_t K, float* dst);

// Constant weights packed once per execution context and reused by every call: `groups`
// consecutive packWholeA matrices of M x K (a Conv's groups), packed from `source`.
struct PackedWeights {
  const void* source = nullptr;  // the weights as the model holds them (float32 or float16)
  int64_t groups = 0, M = 0, K = 0;
  // The direct convolution's layout (conv.cc) rather than packWholeA's.
  bool direct = false;
  std::vector<float> data;
};

// [sync] Runs the product on the calling thread (and the pool's). Packing buffers are
// thread-local and grow to the largest block once, so steady-state calls do not allocate.
void sgemm(const GemmArgs& args);

// Marks a hot loop to be compiled for AVX-512, AVX2 and baseline x86-64, one picked at load
// time (GCC/Clang function multiversioning through an ifunc); a no-op elsewhere, and where
// TNRT_SIM_NO_CPU_CLONES is defined: the ThreadSanitizer harness (fuzz/tsan/) needs that,
// as an instrumented ifunc resolver runs before the TSan runtime is up and crashes.
#if defined(__x86_64__) && defined(__ELF__) && (defined(__GNUC__) || defined(__clang__)) && !defined(TNRT_SIM_NO_CPU_CLONES)
#define TNRT_SIM_CPU_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define TNRT_SIM_CPU_CLONES
#endif

// For a cloned loop that must round each multiply and each add on its own, as kernels built
// for baseline x86-64 (no FMA) do: in the AVX-512 clone the compiler would fuse a * b + c.
// The attribute goes before the function, the body macro first in its body. Empty where
// nothing is cloned: there every kernel is compiled alike (on aarch64, with contraction), and
// fused results stay bitwise the separate layers that way.
#if defined(__x86_64__) && defined(__ELF__) && (defined(__GNUC__) || defined(__clang__)) && !defined(TNRT_SIM_NO_CPU_CLONES)
#if defined(__clang__)
#define TNRT_SIM_NO_FMA
#define TNRT_SIM_NO_FMA_BODY _Pragma("clang fp contract(off)")
#else
#define TNRT_SIM_NO_FMA __attribute__((optimize("fp-contract=off")))
#define TNRT_SIM_NO_FMA_BODY
#endif
#else
#define TNRT_SIM_NO_FMA
#define TNRT_SIM_NO_FMA_BODY
#endif

// Name of the micro-kernel the CPU dispatch picked ("avx512f", "avx2+fma", "generic").
const char* sgemmKernelName();

}  // namespace sim
}  // namespace tnrt
