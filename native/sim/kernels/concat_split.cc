// Operators that join, split or relabel dimensions: Concat, Split, Squeeze, Unsqueeze, Shape.
// Split sizes and Squeeze/Unsqueeze axes may be run-time tensors (opset 13+): then only the
// output ranks are known while building, and the dims resolve per call.
#include <algorithm>
#include <cstring>

#include "../thread_pool.h"

#include "../checked_math.h"
#include "movement_util.h"

namespace tnrt {
namespace sim {

namespace {

// ---- Concat ----

int64_t concatAxis(const Node& node) {
  // Opsets 1-3 defaulted the axis to 1; from opset 4 it is required.
  const Attribute* a = node.attr("axis");
  if (!a) {
    if (node.opset < 4) return 1;
    throwShape(node, "the axis attribute is required");
  }
  return a->i;
}

void inferConcat(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  if (in.empty()) throwShape(node, "needs at least one input");
  requireInputs(node, in, in.size(), in.size());
  requireSameType(node, in);
  requireWholeBytes(node, in[0].dtype);
  const size_t rank = in[0].shape->size();
  if (rank == 0) throwShape(node, "cannot concatenate scalars");
  const size_t axis = static_cast<size_t>(normalizeAxis(node, concatAxis(node), rank));
  Dims result = *in[0].shape;
  for (size_t k = 1; k < in.size(); ++k) {
    const Dims& d = *in[k].shape;
    if (d.size() != rank)
      throwShape(node, "input " + std::to_string(k) + " has shape " + dimsToString(d) + " but input 0 has " +
                           dimsToString(*in[0].shape) + "; ranks must match");
    for (size_t i = 0; i < rank; ++i) {
      if (i == axis) {
        if (result[i] < 0 || d[i] < 0) result[i] = -1;
        else if (!checkedAdd(result[i], d[i], &result[i]))
          throwShape(node, "the concatenated axis overflows; fix the model");
      } else if (result[i] < 0) {
        result[i] = d[i];
      } else if (d[i] >= 0 && d[i] != result[i]) {
        throwShape(node, "input " + std::to_string(k) + " has shape " + dimsToString(d) +
                             ", which differs from the others outside axis " + std::to_string(axis));
      }
    }
  }
  (*out)[0].dtype = in[0].dtype;
  (*out)[0].shape = std::move(result);
}

void runConcat(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out,
               KernelScratch& scratch) {
  const Dims& od = *out[0].shape;
  const size_t axis = static_cast<size_t>(normalizeAxis(node, concatAxis(node), od.size()));
  const size_t esize = elementSize(out[0].dtype);
  const int64_t outer = rangeVolume(od, 0, axis), inner = rangeVolume(od, axis + 1, od.size());
  const int64_t rowElems = od[axis] * inner;  // one output row: every input's block, in order
  if (outer == 0 || rowElems == 0) return;
  // Where each input's block starts inside an output row, in elements (the last: the row's end).
  // (The ranges read it through a pointer: a thread_local named inside them would be each
  // pool thread's own, empty copy.)
  thread_local std::vector<int64_t> startsStorage;
  startsStorage.assign(in.size() + 1, 0);
  for (size_t k = 0; k < in.size(); ++k) startsStorage[k + 1] = startsStorage[k] + (*in[k].shape)[axis] * inner;
  const int64_t* const starts = startsStorage.data();
  auto* dst = static_cast<uint8_t*>(out[0].data);
  // A pure copy, split into ranges of the output (a channel Concat of batch 1 is one row):
  // any split gives the same bytes.
  parallelRanges(scratch.pool, outer * rowElems, 1, [&](int64_t lo, int64_t hi) {
    int64_t o = lo / rowElems, j = lo % rowElems;
    size_t k = 0;
    for (int64_t e = lo; e < hi;) {
      while (starts[k + 1] <= j) ++k;  // the input whose block holds column j (empty ones skipped)
      const int64_t len = std::min(hi - e, starts[k + 1] - j);
      const int64_t block = starts[k + 1] - starts[k];
      const auto* src = static_cast<const uint8_t*>(in[k].data) + static_cast<size_t>(o * block + j - starts[k]) * esize;
      std::memcpy(dst + static_cast<size_t>(o * rowElems + j) * esize, src, static_cast<size_t>(len) * esize);
      e += len, j += len;
      if (j == rowElems) j = 0, ++o, k = 0;
    }
  });
}

// ---- Split ----

// The sizes along the axis, or false while they are not known yet.
bool splitSizes(const Node& node, const std::vector<ValueRef>& in, int64_t dim, size_t numOutputs,
                std::vector<int64_t>* sizes) {
  // Opset 1 took the sizes as an attribute or a second input; 2-12 as an attribute; 13+ as an
  // input only.
  bool given = false;
  if (in.size() > 1 && in[1].present()) {
    if (!readIndexInput(node, in[1], "the split input", sizes)) return false;
    given = true;
  } else if (node.opset < 13) {
    given = readIntsAttr(node, "split", sizes);
  }
  if (given) {
    if (sizes->size() != numOutputs)
      throwShape(node, "split has " + std::to_string(sizes->size()) + " entries for " + std::to_string(numOutputs) +
                           " outputs");
    int64_t total = 0;
    for (int64_t s : *sizes) {
      if (s < 0) throwShape(node, "split sizes must not be negative");
      if (!checkedAdd(total, s, &total)) throwShape(node, "split sizes overflow when added; fix the split input");
    }
    if (dim >= 0 && total != dim)
      throwShape(node, "split sizes add up to " + std::to_string(total) + " but the axis has " + std::to_string(dim));
    return true;
  }
  if (dim < 0) return false;
  const auto n = static_cast<int64_t>(numOutputs);
  if (node.opset >= 18) {
    // num_outputs: chunks of ceil(dim / n), the last one smaller when it does not divide.
    const int64_t want = node.attrInt("num_outputs", -1);
    if (want != n)
      throwShape(node, "num_outputs is " + std::to_string(want) + " but the node has " + std::to_string(n) +
                           " outputs (opset 18 requires num_outputs without a split input)");
    const int64_t chunk = (dim + n - 1) / n;
    sizes->assign(numOutputs, 0);
    int64_t left = dim;
    for (auto& s : *sizes) {
      s = std::min(chunk, left);
      left -= s;
    }
    return true;
  }
  if (dim % n != 0)
    throwShape(node, "axis length " + std::to_string(dim) + " does not split into " + std::to_string(n) +
                         " equal parts");
  sizes->assign(numOutputs, dim / n);
  return true;
}

void inferSplit(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  requireInputs(node, in, 1, 2);
  requireWholeBytes(node, in[0].dtype);
  const Dims& d = *in[0].shape;
  const size_t axis = static_cast<size_t>(normalizeAxis(node, node.attrInt("axis", 0), d.size()));
  std::vector<int64_t> sizes;
  const bool known = splitSizes(node, in, d[axis], out->size(), &sizes);
  for (size_t k = 0; k < out->size(); ++k) {
    (*out)[k].dtype = in[0].dtype;
    (*out)[k].shape = d;
    (*out)[k].shape[axis] = known ? sizes[k] : -1;
  }
}

void runSplit(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out, KernelScratch&) {
  const Dims& d = *in[0].shape;
  const size_t axis = static_cast<size_t>(normalizeAxis(node, node.attrInt("axis", 0), d.size()));
  const size_t esize = elementSize(in[0].dtype);
  const int64_t outer = rangeVolume(d, 0, axis), inner = rangeVolume(d, axis + 1, d.size());
  const size_t inRow = static_cast<size_t>(d[axis] * inner) * esize;
  const auto* src = static_cast<const uint8_t*>(in[0].data);
  size_t at = 0;
  for (const OutputRef& o : out) {
    const size_t row = static_cast<size_t>((*o.shape)[axis] * inner) * esize;
    auto* dst = static_cast<uint8_t*>(o.data);
    if (row && dst)  // dst is null for an omitted output while folding
      for (int64_t r = 0; r < outer; ++r) std::memcpy(dst + r * row, src + r * inRow + at, row);
    at += row;
  }
}

// ---- Squeeze / Unsqueeze ----

// Axes from the attribute (opset < 13) or the optional second input (13+); false while the
// input's contents are unknown. `present` says whether any axes were given at all.
bool squeezeAxes(const Node& node, const std::vector<ValueRef>& in, std::vector<int64_t>* axes, bool* present) {
  *present = true;
  if (node.opset >= 13) {
    if (in.size() < 2 || !in[1].present()) {
      *present = false;
      return true;
    }
    return readIndexInput(node, in[1], "the axes input", axes);
  }
  if (in.size() > 1) throwShape(node, "takes its axes as an attribute before opset 13");
  *present = readIntsAttr(node, "axes", axes);
  return true;
}

void copyOrAlias(const Node&, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out, KernelScratch&) {
  const size_t bytes = dataTypeBytes(out[0].dtype, volume(*out[0].shape));
  if (bytes && out[0].data != in[0].data) std::memcpy(out[0].data, in[0].data, bytes);
}

void inferSqueeze(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  requireInputs(node, in, 1, 2);
  const Dims& d = *in[0].shape;
  std::vector<int64_t> axes;
  bool present = false;
  (*out)[0].dtype = in[0].dtype;
  Dims& result = (*out)[0].shape;
  if (!squeezeAxes(node, in, &axes, &present)) {
    const int64_t n = indexInputLength(node, in[1], "the axes input");
    if (n < 0 || n > static_cast<int64_t>(d.size()))
      throwShape(node, "the length of the axes input must be known when the engine is built");
    result.assign(d.size() - static_cast<size_t>(n), -1);
    return;
  }
  std::vector<bool> drop(d.size(), false);
  if (!present) {
    for (size_t i = 0; i < d.size(); ++i) {
      if (d[i] < 0)
        throwUnsupported(node, "squeezing without axes needs every input dim known when the engine is built (dim " +
                                   std::to_string(i) + " of " + dimsToString(d) + " is dynamic)");
      drop[i] = d[i] == 1;
    }
  }
  for (int64_t a : axes) {
    const auto i = static_cast<size_t>(normalizeAxis(node, a, d.size()));
    if (drop[i]) throwShape(node, "axis " + std::to_string(a) + " is given twice");
    if (d[i] >= 0 && d[i] != 1)
      throwShape(node, "cannot squeeze axis " + std::to_string(a) + " of shape " + dimsToString(d) +
                           ": its size is not 1");
    drop[i] = true;
  }
  result.clear();
  for (size_t i = 0; i < d.size(); ++i)
    if (!drop[i]) result.push_back(d[i]);
}

void inferUnsqueeze(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  requireInputs(node, in, node.opset >= 13 ? 2 : 1, node.opset >= 13 ? 2 : 1);
  const Dims& d = *in[0].shape;
  std::vector<int64_t> axes;
  bool present = false;
  (*out)[0].dtype = in[0].dtype;
  Dims& result = (*out)[0].shape;
  if (!squeezeAxes(node, in, &axes, &present)) {
    const int64_t n = indexInputLength(node, in[1], "the axes input");
    if (n < 0) throwShape(node, "the length of the axes input must be known when the engine is built");
    result.assign(d.size() + static_cast<size_t>(n), -1);
    return;
  }
  if (!present) throwShape(node, "needs axes");
  const size_t rank = d.size() + axes.size();
  std::vector<bool> inserted(rank, false);
  for (int64_t a : axes) {
    const auto i = static_cast<size_t>(normalizeAxis(node, a, rank));
    if (inserted[i]) throwShape(node, "axis " + std::to_string(a) + " is given twice");
    inserted[i] = true;
  }
  result.assign(rank, 1);
  size_t next = 0;
  for (size_t i = 0; i < rank; ++i)
    if (!inserted[i]) result[i] = d[next++];
}

// ---- Shape ----

// [start, end) of the dims Shape reports, clamped as opset 15 specifies.
void shapeRange(const Node& node, size_t rank, int64_t* start, int64_t* end) {
  const auto r = static_cast<int64_t>(rank);
  int64_t s = node.opset >= 15 ? node.attrInt("start", 0) : 0;
  int64_t e = node.opset >= 15 ? node.attrInt("end", r) : r;
  if (s < 0) s += r;
  if (e < 0) e += r;
  *start = std::clamp<int64_t>(s, 0, r);
  *end = std::clamp<int64_t>(e, 0, r);
}

void inferShape(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  requireInputs(node, in, 1, 1);
  int64_t s = 0, e = 0;
  shapeRange(node, in[0].shape->size(), &s, &e);
  (*out)[0].dtype = DataType::kInt64;
  (*out)[0].shape = {std::max<int64_t>(0, e - s)};
}

void runShape(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out, KernelScratch&) {
  int64_t s = 0, e = 0;
  shapeRange(node, in[0].shape->size(), &s, &e);
  auto* dst = static_cast<int64_t*>(out[0].data);
  for (int64_t i = s; i < e; ++i) dst[i - s] = (*in[0].shape)[static_cast<size_t>(i)];
}

}  // namespace

void registerConcatSplitOps(OpRegistry& registry) {
  // Split had an optional `split` input in opset 1, an attribute in 2-12 and an input again from
  // 13; Squeeze's axes became an optional input and Unsqueeze's a required one in opset 13.
  registry.add({"Concat", 1, kMaxReviewedOpset, inferConcat, runConcat, false, 1, 1, {{1, 1, kVariadicInputs}}});
  registry.add({"Split", 1, kMaxReviewedOpset, inferSplit, runSplit, false, 1, 1 << 16, {{1, 1, 2}, {2, 1, 1}, {13, 1, 2}}});
  registry.add({"Squeeze", 1, kMaxReviewedOpset, inferSqueeze, copyOrAlias, true, 1, 1, {{1, 1, 1}, {13, 1, 2}}});
  registry.add({"Unsqueeze", 1, kMaxReviewedOpset, inferUnsqueeze, copyOrAlias, true, 1, 1, {{1, 1, 1}, {13, 2, 2}}});
  registry.add({"Shape", 1, kMaxReviewedOpset, inferShape, runShape, false, 1, 1, {{1, 1, 1}}, nullptr, true});
}

}  // namespace sim
}  // namespace tnrt
