// Operators that pick elements by their values or by per-batch lengths: NonZero and
// NonMaxSuppression, whose output length depends on the data (TensorRT resolves it while
// running through its output allocator; the engine reports the dim as -1 and the run sets it),
// and ReverseSequence.
#include <algorithm>
#include <array>
#include <cmath>

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


// ---- NonMaxSuppression ----
// boxes [B, S, 4], scores [B, C, S], then optional scalars max_output_boxes_per_class (int64,
// default 0: select nothing), iou_threshold and score_threshold (float). Per batch and class,
// boxes scoring above score_threshold are taken greedily by descending score (ties: lower
// index first), each dropping the later ones whose IoU with it exceeds iou_threshold. Output:
// int64 [selected, 3] of (batch, class, box), batch-major then class then selection order.

bool scalarOf(const ValueRef& v, double* out) {
  if (!v.present()) return false;
  if (v.dtype == DataType::kInt64) *out = static_cast<double>(*static_cast<const int64_t*>(v.data));
  else *out = *static_cast<const float*>(v.data);
  return true;
}

struct NmsBox {
  float x1, y1, x2, y2;
};

NmsBox nmsBox(const float* p, bool centered) {
  if (centered) {
    const float cx = p[0], cy = p[1], hw = p[2] / 2, hh = p[3] / 2;
    return {cx - hw, cy - hh, cx + hw, cy + hh};
  }
  // [y1, x1, y2, x2], either corner first.
  return {std::min(p[1], p[3]), std::min(p[0], p[2]), std::max(p[1], p[3]), std::max(p[0], p[2])};
}

bool suppresses(const NmsBox& a, const NmsBox& b, float threshold) {
  const float iw = std::min(a.x2, b.x2) - std::max(a.x1, b.x1), ih = std::min(a.y2, b.y2) - std::max(a.y1, b.y1);
  if (iw <= 0 || ih <= 0) return false;
  const float inter = iw * ih;
  const float areaA = (a.x2 - a.x1) * (a.y2 - a.y1), areaB = (b.x2 - b.x1) * (b.y2 - b.y1);
  const float uni = areaA + areaB - inter;
  if (areaA <= 0 || areaB <= 0 || uni <= 0) return false;
  return inter / uni > threshold;
}

std::vector<std::array<int64_t, 3>> nonMaxSuppression(const Node& node, const std::vector<ValueRef>& in) {
  const auto opt = [&](size_t k) { return k < in.size() ? in[k] : ValueRef{}; };
  const Dims& bs = *in[0].shape;
  const Dims& ss = *in[1].shape;
  const int64_t batches = bs[0], spatial = bs[1], classes = ss[1];
  double maxOut = 0, iou = 0, scoreThreshold = 0;
  scalarOf(opt(2), &maxOut);
  scalarOf(opt(3), &iou);
  const bool hasScore = scalarOf(opt(4), &scoreThreshold);
  const bool centered = node.attrInt("center_point_box", 0) != 0;
  const auto* boxes = static_cast<const float*>(in[0].data);
  const auto* scores = static_cast<const float*>(in[1].data);
  std::vector<std::array<int64_t, 3>> selected;
  if (maxOut <= 0) return selected;
  std::vector<int64_t> order;
  std::vector<NmsBox> kept;
  for (int64_t b = 0; b < batches; ++b)
    for (int64_t c = 0; c < classes; ++c) {
      const float* sc = scores + (b * classes + c) * spatial;
      order.clear();
      for (int64_t i = 0; i < spatial; ++i)
        if (!hasScore || sc[i] > scoreThreshold) order.push_back(i);
      std::stable_sort(order.begin(), order.end(), [&](int64_t p, int64_t q) { return sc[p] > sc[q]; });
      kept.clear();
      for (int64_t i : order) {
        if (static_cast<double>(kept.size()) >= maxOut) break;
        const NmsBox box = nmsBox(boxes + (b * spatial + i) * 4, centered);
        bool drop = false;
        for (const NmsBox& k : kept) drop = drop || suppresses(k, box, static_cast<float>(iou));
        if (drop) continue;
        kept.push_back(box);
        selected.push_back({b, c, i});
      }
    }
  return selected;
}

void inferNms(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  requireInputs(node, in, 2, 5);
  if (in[0].dtype != DataType::kFloat32 || in[1].dtype != DataType::kFloat32)
    throwDType(node, "boxes and scores must be float32");
  const Dims& b = *in[0].shape;
  const Dims& s = *in[1].shape;
  if (b.size() != 3 || (b[2] >= 0 && b[2] != 4)) throwShape(node, "boxes must be [batch, boxes, 4] but is " + dimsToString(b));
  if (s.size() != 3) throwShape(node, "scores must be [batch, classes, boxes] but is " + dimsToString(s));
  if ((b[0] >= 0 && s[0] >= 0 && b[0] != s[0]) || (b[1] >= 0 && s[2] >= 0 && b[1] != s[2]))
    throwShape(node, "boxes " + dimsToString(b) + " and scores " + dimsToString(s) + " disagree on batch or box count");
  const char* names[] = {"", "", "max_output_boxes_per_class", "iou_threshold", "score_threshold"};
  bool known = in[0].data && in[1].data;
  for (size_t k = 2; k < in.size(); ++k) {
    if (!in[k].present()) continue;
    if (in[k].dtype != (k == 2 ? DataType::kInt64 : DataType::kFloat32))
      throwDType(node, std::string(names[k]) + (k == 2 ? " must be int64" : " must be float32"));
    if (rangeVolume(*in[k].shape, 0, in[k].shape->size()) != 1 || in[k].shape->size() > 1)
      throwShape(node, std::string(names[k]) + " must be a scalar (or one element) but is " + dimsToString(*in[k].shape));
    known = known && in[k].data;
  }
  if (node.attrInt("center_point_box", 0) != 0 && node.attrInt("center_point_box", 0) != 1)
    throwShape(node, "center_point_box must be 0 or 1");
  (*out)[0].dtype = DataType::kInt64;
  (*out)[0].shape = {known ? static_cast<int64_t>(nonMaxSuppression(node, in).size()) : -1, 3};
}

void runNms(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out, KernelScratch&) {
  const auto selected = nonMaxSuppression(node, in);
  auto* y = static_cast<int64_t*>(out[0].data);
  const auto rows = std::min<size_t>(selected.size(), static_cast<size_t>((*out[0].shape)[0]));
  for (size_t i = 0; i < rows; ++i)
    for (size_t k = 0; k < 3; ++k) y[3 * i + k] = selected[i][k];
}

}  // namespace

void registerSelectionOps(OpRegistry& registry) {
  registry.add({"NonZero", 9, kMaxReviewedOpset, inferNonZero, runNonZero, false, 1, 1, {{9, 1, 1}}});
  registry.add({"NonMaxSuppression", 10, kMaxReviewedOpset, inferNms, runNms, false, 1, 1, {{10, 2, 5}}});
  registry.add({"ReverseSequence", 10, kMaxReviewedOpset, inferReverseSequence, runReverseSequence, false, 1, 1,
                {{10, 2, 2}}});
}

}  // namespace sim
}  // namespace tnrt
