// Flush-to-zero / denormals-are-zero for the duration of the float arithmetic that dominates
// convolutional networks: the products (Conv, ConvTranspose, MatMul, Gemm: everything on
// gemm_core, the direct and depthwise convolutions, and the layers fused into them) and the
// element-wise Add, Sub, Mul and Div.
//
// Why: on x86 every multiply or add that reads or produces a float32 subnormal takes a
// microcode assist of about a hundred cycles instead of one. Trained weights often hold
// thousands of subnormals (weight decay drives unused weights towards zero: PaddleOCR's
// models do), and a 480x120 pointwise convolution with a third of its weights subnormal ran
// 55 times slower than with normal ones. A subnormal contributes less than 1.2e-38 to a sum,
// far below float32's resolution of any result that matters, so these kernels treat them as
// zero. Activations go subnormal too: a squeeze-excitation Mul in PP-OCRv4's detector took
// 13 times longer on them than with the flush.
//
// The guard sets the bits on the calling thread only and restores the previous mode when it
// goes out of scope, so code outside the kernels (other operators, the host application on
// the same thread) keeps IEEE subnormals. Each pool task installs its own guard.
#pragma once

#include <cstdint>

#if defined(__x86_64__) || defined(__i386__) || defined(_M_X64)
#include <immintrin.h>
#endif

namespace tnrt {
namespace sim {

class FlushDenormals {
 public:
#if defined(__x86_64__) || defined(__i386__) || defined(_M_X64)
  // MXCSR bit 15 is flush-to-zero (FTZ), bit 6 denormals-are-zero (DAZ); both are in every
  // x86-64 CPU's SSE unit and govern AVX and AVX-512 arithmetic alike.
  FlushDenormals() : saved_(_mm_getcsr()) { _mm_setcsr(saved_ | 0x8040u); }
  ~FlushDenormals() { _mm_setcsr(saved_); }

 private:
  unsigned saved_;
#elif defined(__aarch64__)
  // FPCR bit 24 (FZ) flushes subnormal inputs and results of AdvSIMD and scalar float ops.
  FlushDenormals() {
    uint64_t fpcr;
    __asm__ __volatile__("mrs %0, fpcr" : "=r"(fpcr));
    saved_ = fpcr;
    fpcr |= uint64_t{1} << 24;
    __asm__ __volatile__("msr fpcr, %0" : : "r"(fpcr));
  }
  ~FlushDenormals() { __asm__ __volatile__("msr fpcr, %0" : : "r"(saved_)); }

 private:
  uint64_t saved_;
#else
  // Elsewhere subnormals keep their IEEE behaviour (and their cost).
  FlushDenormals() = default;
#endif

 public:
  FlushDenormals(const FlushDenormals&) = delete;
  FlushDenormals& operator=(const FlushDenormals&) = delete;
};

}  // namespace sim
}  // namespace tnrt
