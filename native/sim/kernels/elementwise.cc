// Binary arithmetic with numpy multidirectional broadcasting: Add, Sub, Mul, Div.
#include <type_traits>

#include "kernel_util.h"

namespace tnrt {
namespace sim {

namespace {

void inferBinary(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  requireInputs(node, in, 2, 2);
  requireSameType(node, in);
  dispatchArithmetic(node, in[0].dtype, [](auto) {});  // rejects types the kernel lacks
  (*out)[0].dtype = in[0].dtype;
  (*out)[0].shape = broadcastShapes(node, *in[0].shape, *in[1].shape);
  requireMaxRank(node, (*out)[0].shape);
}

template <typename T, typename Op>
void binaryLoop(const ValueRef& a, const ValueRef& b, const OutputRef& out, Op op) {
  using E = Elem<T>;
  using S = typename E::Storage;
  const S* pa = static_cast<const S*>(a.data);
  const S* pb = static_cast<const S*>(b.data);
  S* po = static_cast<S*>(out.data);
  const Dims& os = *out.shape;
  const int64_t n = volume(os);
  if (n <= 0) return;
  const int64_t na = volume(*a.shape), nb = volume(*b.shape);
  // Fast paths: equal volumes mean identical layouts once broadcast; scalars need no indexing.
  if (na == n && nb == n) {
    for (int64_t i = 0; i < n; ++i) E::store(po, i, op(E::load(pa, i), E::load(pb, i)));
    return;
  }
  if (na == n && nb == 1) {
    auto vb = E::load(pb, 0);
    for (int64_t i = 0; i < n; ++i) E::store(po, i, op(E::load(pa, i), vb));
    return;
  }
  if (na == 1 && nb == n) {
    auto va = E::load(pa, 0);
    for (int64_t i = 0; i < n; ++i) E::store(po, i, op(va, E::load(pb, i)));
    return;
  }
  // General case: walk the outer dims with an odometer; the innermost dim is a strided loop.
  const size_t rank = os.size();
  int64_t sa[kMaxRank], sb[kMaxRank], idx[kMaxRank] = {};
  broadcastStrides(*a.shape, os, sa);
  broadcastStrides(*b.shape, os, sb);
  const int64_t inner = os[rank - 1];
  const int64_t ia = sa[rank - 1], ib = sb[rank - 1];
  int64_t offA = 0, offB = 0;
  for (int64_t o = 0; o < n; o += inner) {
    for (int64_t j = 0; j < inner; ++j)
      E::store(po, static_cast<size_t>(o + j), op(E::load(pa, static_cast<size_t>(offA + j * ia)),
                                                 E::load(pb, static_cast<size_t>(offB + j * ib))));
    for (size_t d = rank - 1; d-- > 0;) {
      offA += sa[d];
      offB += sb[d];
      if (++idx[d] < os[d]) break;
      offA -= sa[d] * os[d];
      offB -= sb[d] * os[d];
      idx[d] = 0;
    }
  }
}

struct AddOp {
  template <typename C>
  C operator()(C a, C b) const { return wrapAdd(a, b); }
};
struct SubOp {
  template <typename C>
  C operator()(C a, C b) const { return wrapSub(a, b); }
};
struct MulOp {
  template <typename C>
  C operator()(C a, C b) const { return wrapMul(a, b); }
};
struct DivOp {
  template <typename C>
  C operator()(C a, C b) const {
    if constexpr (std::is_integral_v<C>) {
      // ONNX leaves integer division by zero undefined; return 0 rather than raise SIGFPE.
      if (b == 0) return 0;
      // INT_MIN / -1 traps on x86; wrap as numpy does.
      if constexpr (std::is_signed_v<C>) {
        if (b == -1) return wrapSub(C{0}, a);
      }
      return static_cast<C>(a / b);
    } else {
      return a / b;
    }
  }
};

template <typename Op>
void runBinary(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out, KernelScratch&) {
  dispatchArithmetic(node, in[0].dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    binaryLoop<T>(in[0], in[1], out[0], Op{});
  });
}

}  // namespace

void registerElementwiseOps(OpRegistry& registry) {
  // Opset 7 introduced numpy broadcasting; earlier versions used the legacy axis/broadcast
  // attributes, which the sim does not implement.
  registry.add({"Add", 7, kMaxReviewedOpset, inferBinary, runBinary<AddOp>, false, 1, 1});
  registry.add({"Sub", 7, kMaxReviewedOpset, inferBinary, runBinary<SubOp>, false, 1, 1});
  registry.add({"Mul", 7, kMaxReviewedOpset, inferBinary, runBinary<MulOp>, false, 1, 1});
  registry.add({"Div", 7, kMaxReviewedOpset, inferBinary, runBinary<DivOp>, false, 1, 1});
}

}  // namespace sim
}  // namespace tnrt
