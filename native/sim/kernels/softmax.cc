// Softmax, LogSoftmax and Hardmax. Opset < 13 coerces the input to 2-D at `axis` (default 1) and normalizes each row;
// opset >= 13 normalizes along the single dimension `axis` (default -1).
#include <cmath>

#include "kernel_util.h"
#include "../thread_pool.h"

namespace tnrt {
namespace sim {

namespace {

int64_t softmaxAxis(const Node& node, size_t rank) {
  int64_t axis = node.attrInt("axis", node.opset < 13 ? 1 : -1);
  return normalizeAxis(node, axis, rank);
}

void inferSoftmax(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  requireInputs(node, in, 1, 1);
  requireFloat(node, in[0], "input 0");
  softmaxAxis(node, in[0].shape->size());
  (*out)[0].dtype = in[0].dtype;
  (*out)[0].shape = *in[0].shape;
}

template <typename T, bool kLog>
void softmaxTyped(const Node& node, const ValueRef& x, const OutputRef& y, KernelScratch& scratch) {
  using E = Elem<T>;
  const Dims& d = *x.shape;
  const size_t axis = static_cast<size_t>(softmaxAxis(node, d.size()));
  const int64_t outer = rangeVolume(d, 0, axis);
  int64_t n, inner;
  if (node.opset < 13) {
    n = rangeVolume(d, axis, d.size());
    inner = 1;
  } else {
    n = d[axis];
    inner = rangeVolume(d, axis + 1, d.size());
  }
  if (outer * n * inner == 0) return;
  const auto* px = static_cast<const typename E::Storage*>(x.data);
  auto* py = static_cast<typename E::Storage*>(y.data);
  // Rows are independent: ranges of them run on the context's threads (an exp and a few adds
  // per element, ~12 adds' worth). Each range gets its own slice of the context's scratch for
  // the exponentials, so the buffer is counted in memoryUsage() and freed with the context.
  const int64_t rows = outer * inner;
  const int64_t chunks = parallelChunks(scratch.pool, rows, 12 * n);
  float* exps = KernelScratch::as<float>(scratch.a, static_cast<size_t>(chunks * n));
  auto range = [&](int64_t c) {
    const int64_t r0 = rows * c / chunks, r1 = rows * (c + 1) / chunks;
    float* e = exps + c * n;
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t base = r / inner * n * inner + r % inner;
      // Subtracting the max keeps exp() finite for large inputs.
      float m = -INFINITY;
      for (int64_t k = 0; k < n; ++k) m = std::fmax(m, E::load(px, static_cast<size_t>(base + k * inner)));
      float sum = 0.0f;
      for (int64_t k = 0; k < n; ++k) {
        e[k] = std::exp(E::load(px, static_cast<size_t>(base + k * inner)) - m);
        sum += e[k];
      }
      if constexpr (kLog) {
        // x - max - log(sum): never forms exp(x) itself, so large inputs and tiny
        // probabilities stay finite instead of becoming log(0).
        const float logSum = std::log(sum);
        for (int64_t k = 0; k < n; ++k) {
          const size_t at = static_cast<size_t>(base + k * inner);
          E::store(py, at, (E::load(px, at) - m) - logSum);
        }
      } else {
        const float inv = 1.0f / sum;
        for (int64_t k = 0; k < n; ++k) E::store(py, static_cast<size_t>(base + k * inner), e[k] * inv);
      }
    }
  };
  if (chunks <= 1) {
    range(0);
  } else {
    scratch.pool->forEach(chunks, range);
  }
}

template <bool kLog>
void runSoftmax(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out,
                KernelScratch& scratch) {
  dispatchFloat(node, in[0].dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    softmaxTyped<T, kLog>(node, in[0], out[0], scratch);
  });
}

// Hardmax: 1 at the first maximum along the same rows Softmax normalizes, 0 elsewhere (ties
// go to the lowest index, as ONNX's argmax-based definition). NaN never compares greater, so
// NaNs are passed over; ONNX leaves their result unspecified.
template <typename T>
void hardmaxTyped(const Node& node, const ValueRef& x, const OutputRef& y) {
  using E = Elem<T>;
  const Dims& d = *x.shape;
  const size_t axis = static_cast<size_t>(softmaxAxis(node, d.size()));
  const int64_t outer = rangeVolume(d, 0, axis);
  int64_t n, inner;
  if (node.opset < 13) {
    n = rangeVolume(d, axis, d.size());
    inner = 1;
  } else {
    n = d[axis];
    inner = rangeVolume(d, axis + 1, d.size());
  }
  if (outer * n * inner == 0) return;
  const auto* px = static_cast<const typename E::Storage*>(x.data);
  auto* py = static_cast<typename E::Storage*>(y.data);
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      const int64_t base = o * n * inner + i;
      int64_t best = 0;
      float m = E::load(px, static_cast<size_t>(base));
      for (int64_t k = 1; k < n; ++k) {
        const float v = E::load(px, static_cast<size_t>(base + k * inner));
        if (v > m) {
          m = v;
          best = k;
        }
      }
      for (int64_t k = 0; k < n; ++k) E::store(py, static_cast<size_t>(base + k * inner), k == best ? 1.0f : 0.0f);
    }
  }
}

void inferHardmax(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  requireInputs(node, in, 1, 1);
  requireAnyFloat(node, in[0], "input 0");
  softmaxAxis(node, in[0].shape->size());
  (*out)[0].dtype = in[0].dtype;
  (*out)[0].shape = *in[0].shape;
}

void runHardmax(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out, KernelScratch&) {
  dispatchAnyFloat(node, in[0].dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    hardmaxTyped<T>(node, in[0], out[0]);
  });
}

}  // namespace

void registerSoftmaxOps(OpRegistry& registry) {
  registry.add({"Softmax", 1, kMaxReviewedOpset, inferSoftmax, runSoftmax<false>, false, 1, 1, {{1, 1, 1}}});
  registry.add({"LogSoftmax", 1, kMaxReviewedOpset, inferSoftmax, runSoftmax<true>, false, 1, 1, {{1, 1, 1}}});
  registry.add({"Hardmax", 1, kMaxReviewedOpset, inferHardmax, runHardmax, false, 1, 1, {{1, 1, 1}}});
}

}  // namespace sim
}  // namespace tnrt
