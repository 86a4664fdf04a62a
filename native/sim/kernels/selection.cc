// Operators that pick elements by their values or by per-batch lengths: NonZero, whose output
// length depends on the data (TensorRT resolves it while running through its output allocator;
// the engine reports the dim as -1 and the run sets it), and ReverseSequence.
#include <algorithm>

#include "movement_util.h"

namespace tnrt {
namespace sim {

namespace {

// Any numeric or bool element, read as "is nonzero". float16/bfloat16 -0.0 is zero.
template <typename Fn>
void dispatchTruthy(const Node& node, DataType t, Fn&& fn) {
  if (t == DataType::kBool) {
    fn(TypeTag<Boolean>{});
    return;
  }
  dispatchNumeric(node, t, fn);
}

int64_t countNonZero(const Node& node, const ValueRef& x) {
  const int64_t n = volume(*x.shape);
  int64_t count = 0;
  dispatchTruthy(node, x.dtype, [&](auto tag) {
    using E = Elem<typename decltype(tag)::type>;
    const auto* p = static_cast<const typename E::Storage*>(x.data);
    for (int64_t i = 0; i < n; ++i) count += E::load(p, static_cast<size_t>(i)) != 0 ? 1 : 0;
  });
  return count;
}

// ---- NonZero ----
// Output: int64 [rank, count], the coordinates of the nonzero elements in row-major order. A
// scalar counts as a 1-element vector, as numpy's nonzero does. The count is known only with
// the data: at build time it is -1 unless the input is a constant.

void inferNonZero(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  requireInputs(node, in, 1, 1);
  dispatchTruthy(node, in[0].dtype, [](auto) {});
  requireMaxRank(node, *in[0].shape);
  const auto rank = static_cast<int64_t>(std::max<size_t>(1, in[0].shape->size()));
  (*out)[0].dtype = DataType::kInt64;
  (*out)[0].shape = {rank, in[0].data && rangeVolume(*in[0].shape, 0, in[0].shape->size()) >= 0 ? countNonZero(node, in[0]) : -1};
}

void runNonZero(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out, KernelScratch&) {
  const Dims& x = in[0].shape->empty() ? Dims{1} : *in[0].shape;
  const size_t rank = x.size();
  const int64_t n = volume(x);
  const int64_t count = (*out[0].shape)[1];
  auto* y = static_cast<int64_t*>(out[0].data);
  int64_t idx[kMaxRank] = {};
  int64_t j = 0;
  dispatchTruthy(node, in[0].dtype, [&](auto tag) {
    using E = Elem<typename decltype(tag)::type>;
    const auto* p = static_cast<const typename E::Storage*>(in[0].data);
    for (int64_t i = 0; i < n; ++i) {
      if (E::load(p, static_cast<size_t>(i)) != 0 && j < count) {
        for (size_t d = 0; d < rank; ++d) y[static_cast<int64_t>(d) * count + j] = idx[d];
        ++j;
      }
      for (size_t d = rank; d-- > 0;) {
        if (++idx[d] < x[d]) break;
        idx[d] = 0;
      }
    }
  });
}

// ---- ReverseSequence ----
// Reverses the first sequence_lens[b] steps along time_axis of each batch entry b; the steps
// beyond a sequence's length are copied unchanged. time_axis and batch_axis are 0 and 1 in
// either order.

void reverseSequenceAxes(const Node& node, int64_t* timeAxis, int64_t* batchAxis) {
  *timeAxis = node.attrInt("time_axis", 0);
  *batchAxis = node.attrInt("batch_axis", 1);
  if (!((*timeAxis == 0 && *batchAxis == 1) || (*timeAxis == 1 && *batchAxis == 0)))
    throwShape(node, "time_axis and batch_axis must be 0 and 1 (either way round) but are " +
                         std::to_string(*timeAxis) + " and " + std::to_string(*batchAxis));
}

void inferReverseSequence(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  requireInputs(node, in, 2, 2);
  requireWholeBytes(node, in[0].dtype);
  int64_t timeAxis, batchAxis;
  reverseSequenceAxes(node, &timeAxis, &batchAxis);
  const Dims& x = *in[0].shape;
  if (x.size() < 2) throwShape(node, "input must have rank 2 or more but has shape " + dimsToString(x));
  if (in[1].dtype != DataType::kInt64) throwDType(node, "sequence_lens must be int64");
  const Dims& lens = *in[1].shape;
  const int64_t batch = x[static_cast<size_t>(batchAxis)];
  if (lens.size() != 1 || (lens[0] >= 0 && batch >= 0 && lens[0] != batch))
    throwShape(node, "sequence_lens must have shape [" + std::to_string(batch) + "] but has " + dimsToString(lens));
  (*out)[0].dtype = in[0].dtype;
  (*out)[0].shape = x;
}

void runReverseSequence(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out,
                        KernelScratch&) {
  int64_t timeAxis, batchAxis;
  reverseSequenceAxes(node, &timeAxis, &batchAxis);
  const Dims& x = *in[0].shape;
  const int64_t steps = x[static_cast<size_t>(timeAxis)], batch = x[static_cast<size_t>(batchAxis)];
  const int64_t inner = rangeVolume(x, 2, x.size());
  const auto* lens = static_cast<const int64_t*>(in[1].data);
  for (int64_t b = 0; b < batch; ++b)
    if (lens[b] < 0 || lens[b] > steps)
      throwShape(node, "sequence_lens[" + std::to_string(b) + "] is " + std::to_string(lens[b]) +
                           ", outside 0 to the " + std::to_string(steps) + " time steps");
  // Offset, in elements, of (time t, batch b)'s row of `inner` elements.
  auto row = [&](int64_t t, int64_t b) { return timeAxis == 0 ? (t * batch + b) * inner : (b * steps + t) * inner; };
  dispatchBytes(node, in[0].dtype, [&](auto tag) {
    using U = typename decltype(tag)::type;
    const auto* src = static_cast<const U*>(in[0].data);
    auto* dst = static_cast<U*>(out[0].data);
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t t = 0; t < steps; ++t) {
        const int64_t from = t < lens[b] ? lens[b] - 1 - t : t;
        std::copy_n(src + row(from, b), inner, dst + row(t, b));
      }
  });
}

}  // namespace

void registerSelectionOps(OpRegistry& registry) {
  registry.add({"NonZero", 9, kMaxReviewedOpset, inferNonZero, runNonZero, false, 1, 1, {{9, 1, 1}}});
  registry.add({"ReverseSequence", 10, kMaxReviewedOpset, inferReverseSequence, runReverseSequence, false, 1, 1,
                {{10, 2, 2}}});
}

}  // namespace sim
}  // namespace tnrt
