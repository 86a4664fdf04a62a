// Unary element-wise activations: Relu, Sigmoid, Tanh.
#include <cmath>

#include "kernel_util.h"

namespace tnrt {
namespace sim {

namespace {

void inferRelu(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  requireInputs(node, in, 1, 1);
  dispatchArithmetic(node, in[0].dtype, [](auto) {});
  (*out)[0].dtype = in[0].dtype;
  (*out)[0].shape = *in[0].shape;
}

void inferFloatUnary(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  requireInputs(node, in, 1, 1);
  requireFloat(node, in[0], "input 0");
  (*out)[0].dtype = in[0].dtype;
  (*out)[0].shape = *in[0].shape;
}

template <typename T, typename Op>
void unaryLoop(const ValueRef& x, const OutputRef& y, Op op) {
  using E = Elem<T>;
  using S = typename E::Storage;
  const S* px = static_cast<const S*>(x.data);
  S* py = static_cast<S*>(y.data);
  const int64_t n = volume(*y.shape);
  for (int64_t i = 0; i < n; ++i) E::store(py, static_cast<size_t>(i), op(E::load(px, static_cast<size_t>(i))));
}

struct ReluOp {
  template <typename C>
  C operator()(C x) const { return x > C{0} ? x : C{0}; }
};
struct SigmoidOp {
  float operator()(float x) const {
    // Two forms so that exp() never overflows for large |x|.
    if (x >= 0.0f) return 1.0f / (1.0f + std::exp(-x));
    float e = std::exp(x);
    return e / (1.0f + e);
  }
};
struct TanhOp {
  float operator()(float x) const { return std::tanh(x); }
};

void runRelu(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out, KernelScratch&) {
  dispatchArithmetic(node, in[0].dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    unaryLoop<T>(in[0], out[0], ReluOp{});
  });
}

template <typename Op>
void runFloatUnary(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out,
                   KernelScratch&) {
  dispatchFloat(node, in[0].dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    unaryLoop<T>(in[0], out[0], Op{});
  });
}

}  // namespace

void registerActivationOps(OpRegistry& registry) {
  // Opsets 1-5 differ only by the legacy consumed_inputs attribute, which changes nothing here.
  registry.add({"Relu", 1, kMaxReviewedOpset, inferRelu, runRelu, false, 1, 1});
  registry.add({"Sigmoid", 1, kMaxReviewedOpset, inferFloatUnary, runFloatUnary<SigmoidOp>, false, 1, 1});
  registry.add({"Tanh", 1, kMaxReviewedOpset, inferFloatUnary, runFloatUnary<TanhOp>, false, 1, 1});
}

}  // namespace sim
}  // namespace tnrt
