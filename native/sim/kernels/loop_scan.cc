// Loop and Scan: each runs its body (subgraph.h) once per iteration.
//
// The reader keeps a body's GraphProto bytes in the node's `body` attribute and appends the
// outer-scope values the body reads as extra node inputs, so the engine format is unchanged
// and the executor's liveness, guards and load-time checks cover them like any input.
//
// Shapes: with every input's contents known (at run time, or a constant Loop at build time)
// infer runs the loop itself, because a Loop's scan outputs have as many rows as iterations
// ran, and hands the results to the kernel, which runs right after it on the same node. With
// contents unknown (parse and build time) the body's static shape inference gives the ranks:
// a Loop's carried values keep their initial type and rank (TensorRT's loop recurrences do;
// a dim the body changes is -1), its scan outputs get a leading -1 (set by each run, as
// NonZero's count), and Scan's stacked outputs take the scan inputs' sequence length.
//
// Bodies: the run paths take the execution context's prepared body (subgraph.h), read once per
// context; shape inference without data (at build time) reads the body afresh.
//
// Bounds (a hostile model must not hang or exhaust memory): a Loop runs at most
// kMaxLoopIterations iterations per node and call (TensorRT's ILoop trip limit is an int32
// tensor; the sim stops far sooner, with a typed error, rather than spin for hours on
// M = INT64_MAX with a condition that never turns false), and a scan output is held to
// maxTensorBytes as it grows, before the memory is taken.
#include <cstring>

#include "../shape_inference.h"
#include "../subgraph.h"
#include "kernel_util.h"

namespace tnrt {
namespace sim {

namespace {

constexpr int64_t kMaxLoopIterations = int64_t{1} << 20;

// Results computed by infer for the kernel that follows it on the same node and thread.
struct PendingResults {
  const Node* node = nullptr;
  std::vector<OwnedTensor> outputs;
};
thread_local PendingResults tPending;

bool allKnown(const std::vector<ValueRef>& in) {
  for (const ValueRef& v : in)
    if (v.present() && !v.data) return false;
  return true;
}

// Copies `v` into `t`, reusing t's memory (carried values are copied every iteration).
void assignCopy(OwnedTensor& t, const ValueRef& v) {
  t.dtype = v.dtype;
  t.shape = *v.shape;
  const size_t bytes = dataTypeBytes(v.dtype, volume(t.shape));
  const auto* p = static_cast<const uint8_t*>(v.data);
  t.data.assign(p, p + bytes);
}

OwnedTensor copyOf(const ValueRef& v) {
  OwnedTensor t;
  assignCopy(t, v);
  return t;
}

void requireWholeBytes(const Node& node, DataType t, const std::string& what) {
  if (dataTypeBits(t) < 8)
    throwUnsupported(node, what + " is " + dataTypeName(t) + ", a packed sub-byte type the sim does not stack or slice");
}

// A carried value's type and rank stay those of its initial value (TensorRT's recurrence).
OutputDesc carriedDesc(const Node& node, size_t k, const ValueRef& initial, const OutputDesc& body) {
  if (body.dtype != initial.dtype)
    throwDType(node, "loop-carried value " + std::to_string(k) + " starts as " + dataTypeName(initial.dtype) +
                         " but the body makes it " + dataTypeName(body.dtype));
  if (body.shape.size() != initial.shape->size())
    throwShape(node, "loop-carried value " + std::to_string(k) + " starts with rank " +
                         std::to_string(initial.shape->size()) + " but the body makes it rank " +
                         std::to_string(body.shape.size()) + "; TensorRT's loops keep a recurrence's rank");
  OutputDesc d{initial.dtype, *initial.shape};
  for (size_t i = 0; i < d.shape.size(); ++i)
    if (d.shape[i] != body.shape[i]) d.shape[i] = -1;
  return d;
}

void copyResults(const std::vector<OwnedTensor>& results, const std::vector<OutputRef>& out) {
  for (size_t k = 0; k < out.size() && k < results.size(); ++k)
    if (out[k].data && !results[k].data.empty())
      std::memcpy(out[k].data, results[k].data.data(),
                  std::min(results[k].data.size(), dataTypeBytes(out[k].dtype, volume(*out[k].shape))));
}

// ---------------------------------------------------------------------------------------
// Loop: inputs [M, cond, v_initial..., outer...]; body (iteration_num, cond_in, v...) ->
// (cond_out, v..., scan...); outputs [v_final..., scan...].

struct LoopLayout {
  size_t carried = 0, scans = 0;
};

LoopLayout loopLayout(const Node& node, const Subgraph& body, size_t numInputs, size_t numOutputs) {
  if (body.numDeclaredInputs() < 2)
    throwShape(node, "has a body with " + std::to_string(body.numDeclaredInputs()) +
                         " inputs; a Loop body takes the iteration number, the condition and the carried values");
  LoopLayout l;
  l.carried = body.numDeclaredInputs() - 2;
  if (numInputs != 2 + l.carried + body.numOuterInputs())
    throwShape(node, "has " + std::to_string(numInputs) + " inputs but its body carries " + std::to_string(l.carried) +
                         " values (the node needs M, cond and one initial value each)");
  if (body.numOutputs() < 1 + l.carried)
    throwShape(node, "has a body with " + std::to_string(body.numOutputs()) + " outputs, fewer than the condition and " +
                         std::to_string(l.carried) + " carried values");
  l.scans = body.numOutputs() - 1 - l.carried;
  if (numOutputs != l.carried + l.scans)
    throwShape(node, "has " + std::to_string(numOutputs) + " outputs but its body gives " + std::to_string(l.carried) +
                         " carried values and " + std::to_string(l.scans) + " scan outputs");
  return l;
}

void checkLoopControls(const Node& node, const std::vector<ValueRef>& in) {
  if (in[0].present() && (in[0].dtype != DataType::kInt64 || safeVolume(*in[0].shape) > 1 || in[0].shape->size() > 1))
    throwShape(node, "M must be an int64 scalar but is " + std::string(dataTypeName(in[0].dtype)) + " " +
                         dimsToString(*in[0].shape));
  if (in[1].present() && (in[1].dtype != DataType::kBool || safeVolume(*in[1].shape) > 1 || in[1].shape->size() > 1))
    throwShape(node, "cond must be a bool scalar but is " + std::string(dataTypeName(in[1].dtype)) + " " +
                         dimsToString(*in[1].shape));
}

std::vector<OwnedTensor> runLoop(const Node& node, const std::vector<ValueRef>& in, size_t numOutputs) {
  std::unique_ptr<Subgraph> local;
  Subgraph& body = preparedBody(node, &local);
  const LoopLayout l = loopLayout(node, body, in.size(), numOutputs);
  checkLoopControls(node, in);
  const bool bounded = in[0].present();
  int64_t tripCount = INT64_MAX;
  if (bounded) {
    if (safeVolume(*in[0].shape) != 1) throwShape(node, "M must hold one element");
    std::memcpy(&tripCount, in[0].data, sizeof tripCount);
  }
  const bool useCond = in[1].present();
  uint8_t cond = 1;
  if (useCond) {
    if (safeVolume(*in[1].shape) != 1) throwShape(node, "cond must hold one element");
    cond = *static_cast<const uint8_t*>(in[1].data) != 0;
  }
  std::vector<OwnedTensor> carried, next(l.carried);
  for (size_t k = 0; k < l.carried; ++k) carried.push_back(copyOf(in[2 + k]));
  std::vector<OwnedTensor> scans(l.scans);
  std::vector<uint64_t> rowBytes(l.scans, 0);
  const uint64_t limit = activeMaxTensorBytes();

  int64_t iteration = 0;
  uint8_t condIn = cond;
  const Dims scalar;
  std::vector<ValueRef> bodyIn(2 + l.carried + body.numOuterInputs());
  for (size_t k = 0; k < body.numOuterInputs(); ++k) bodyIn[2 + l.carried + k] = in[2 + l.carried + k];
  for (; (!bounded || iteration < tripCount) && (!useCond || cond); ++iteration) {
    if (iteration >= kMaxLoopIterations)
      throwUnsupported(node, "ran " + std::to_string(kMaxLoopIterations) +
                                 " iterations without its trip count or condition ending it, the sim's limit per "
                                 "Loop (a hostile or runaway model); fix the model's trip count or condition");
    condIn = cond;
    bodyIn[0] = {DataType::kInt64, &scalar, &iteration};
    bodyIn[1] = {DataType::kBool, &scalar, &condIn};
    for (size_t k = 0; k < l.carried; ++k) bodyIn[2 + k] = carried[k].ref();
    const std::vector<ValueRef>& out = body.run(bodyIn);
    if (out[0].dtype != DataType::kBool || safeVolume(*out[0].shape) != 1)
      throwShape(node, "its body's condition output must be a single bool but is " +
                           std::string(dataTypeName(out[0].dtype)) + " " + dimsToString(*out[0].shape));
    // Without a cond input the body's condition is computed but ignored (ONNX's for loop).
    if (useCond) cond = *static_cast<const uint8_t*>(out[0].data) != 0;
    for (size_t k = 0; k < l.carried; ++k) {
      const ValueRef& v = out[1 + k];
      if (v.dtype != carried[k].dtype)
        throwDType(node, "loop-carried value " + std::to_string(k) + " starts as " + dataTypeName(carried[k].dtype) +
                             " but the body makes it " + dataTypeName(v.dtype));
      if (v.shape->size() != in[2 + k].shape->size())
        throwShape(node, "loop-carried value " + std::to_string(k) + " changes rank in iteration " +
                             std::to_string(iteration) + "; TensorRT's loops keep a recurrence's rank");
      assignCopy(next[k], v);
    }
    carried.swap(next);
    for (size_t k = 0; k < l.scans; ++k) {
      const ValueRef& v = out[1 + l.carried + k];
      OwnedTensor& s = scans[k];
      if (iteration == 0) {
        requireWholeBytes(node, v.dtype, "scan output " + std::to_string(k));
        s.dtype = v.dtype;
        s.shape = *v.shape;
        s.shape.insert(s.shape.begin(), 0);
        rowBytes[k] = dataTypeBytes(v.dtype, volume(*v.shape));
      } else if (v.dtype != s.dtype || !std::equal(v.shape->begin(), v.shape->end(), s.shape.begin() + 1, s.shape.end()) ||
                 v.shape->size() + 1 != s.shape.size()) {
        throwShape(node, "scan output " + std::to_string(k) + " is " + dataTypeName(v.dtype) + " " +
                             dimsToString(*v.shape) + " in iteration " + std::to_string(iteration) +
                             " but was " + dataTypeName(s.dtype) + " of rows " +
                             dimsToString(Dims(s.shape.begin() + 1, s.shape.end())) + " before; every row must match");
      }
      // Held to maxTensorBytes as it grows, before the row's memory is taken.
      Dims grown = s.shape;
      grown[0] = iteration + 1;
      checkTensorBytesLazy([&] { return node.label() + ": scan output " + std::to_string(k); }, s.dtype, grown, limit);
      const auto* p = static_cast<const uint8_t*>(v.data);
      s.data.insert(s.data.end(), p, p + rowBytes[k]);
      s.shape[0] = iteration + 1;
    }
  }
  if (iteration == 0 && l.scans > 0) {
    // No row was produced: the rows' shape comes from the body's static shapes.
    std::vector<ValueRef> staticIn = bodyIn;
    staticIn[0] = {DataType::kInt64, &scalar, nullptr};
    staticIn[1] = {DataType::kBool, &scalar, nullptr};
    for (size_t k = 0; k < l.carried; ++k) staticIn[2 + k] = {carried[k].dtype, &carried[k].shape, nullptr};
    const std::vector<OutputDesc> descs = body.inferOutputs(staticIn);
    for (size_t k = 0; k < l.scans; ++k) {
      scans[k].dtype = descs[1 + l.carried + k].dtype;
      scans[k].shape = descs[1 + l.carried + k].shape;
      for (int64_t& d : scans[k].shape)
        if (d < 0) d = 0;
      scans[k].shape.insert(scans[k].shape.begin(), 0);
    }
  }
  for (auto& s : scans) carried.push_back(std::move(s));
  return carried;
}

void inferLoop(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  tPending.node = nullptr;
  if (in.size() < 2) throwShape(node, "needs the M and cond inputs (either may be empty)");
  if (allKnown(in)) {
    std::vector<OwnedTensor> results = runLoop(node, in, out->size());
    for (size_t k = 0; k < out->size(); ++k) (*out)[k] = {results[k].dtype, results[k].shape};
    tPending.outputs = std::move(results);
    tPending.node = &node;
    return;
  }
  Subgraph body(node);
  const LoopLayout l = loopLayout(node, body, in.size(), out->size());
  checkLoopControls(node, in);
  const Dims scalar;
  std::vector<ValueRef> bodyIn(in.size());
  bodyIn[0] = {DataType::kInt64, &scalar, nullptr};
  bodyIn[1] = {DataType::kBool, &scalar, nullptr};
  for (size_t k = 2; k < in.size(); ++k) bodyIn[k] = {in[k].dtype, in[k].shape, nullptr};
  const std::vector<OutputDesc> descs = body.inferOutputs(bodyIn);
  if (descs[0].dtype != DataType::kBool) throwDType(node, "its body's condition output must be bool");
  for (size_t k = 0; k < l.carried; ++k) (*out)[k] = carriedDesc(node, k, in[2 + k], descs[1 + k]);
  for (size_t k = 0; k < l.scans; ++k) {
    OutputDesc d = descs[1 + l.carried + k];
    requireWholeBytes(node, d.dtype, "scan output " + std::to_string(k));
    d.shape.insert(d.shape.begin(), -1);  // as many rows as iterations run: known per run
    (*out)[l.carried + k] = d;
  }
}

void runLoopKernel(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out, KernelScratch&) {
  if (tPending.node == &node) {
    tPending.node = nullptr;
    copyResults(tPending.outputs, out);
    tPending.outputs.clear();
    return;
  }
  copyResults(runLoop(node, in, out.size()), out);
}

// ---------------------------------------------------------------------------------------
// Scan (opset 9 on): inputs [state..., scan_input..., outer...]; body (state..., slice...) ->
// (state..., row...); outputs [final state..., stacked rows...].

struct ScanLayout {
  size_t states = 0, scanInputs = 0, scanOutputs = 0;
  std::vector<int64_t> inAxes, inReverse, outAxes, outReverse;
};

std::vector<int64_t> listAttr(const Node& node, const char* name, size_t count, int64_t fallback) {
  const Attribute* a = node.attr(name);
  if (!a) return std::vector<int64_t>(count, fallback);
  if (a->ints.size() != count)
    throwShape(node, std::string("attribute '") + name + "' has " + std::to_string(a->ints.size()) +
                         " entries but there are " + std::to_string(count));
  return a->ints;
}

ScanLayout scanLayout(const Node& node, const Subgraph& body, const std::vector<ValueRef>& in, size_t numOutputs) {
  ScanLayout l;
  const int64_t m = node.attrInt("num_scan_inputs", -1);
  if (m < 1 || static_cast<size_t>(m) > body.numDeclaredInputs())
    throwShape(node, "attribute 'num_scan_inputs' is " + std::to_string(m) + "; it must be 1 to the body's " +
                         std::to_string(body.numDeclaredInputs()) + " inputs");
  l.scanInputs = static_cast<size_t>(m);
  l.states = body.numDeclaredInputs() - l.scanInputs;
  if (in.size() != body.numDeclaredInputs() + body.numOuterInputs())
    throwShape(node, "has " + std::to_string(in.size()) + " inputs but its body takes " +
                         std::to_string(body.numDeclaredInputs()));
  if (body.numOutputs() < l.states || numOutputs != body.numOutputs())
    throwShape(node, "has " + std::to_string(numOutputs) + " outputs but its body gives " +
                         std::to_string(body.numOutputs()) + " for " + std::to_string(l.states) + " states");
  l.scanOutputs = body.numOutputs() - l.states;
  l.inAxes = listAttr(node, "scan_input_axes", l.scanInputs, 0);
  l.inReverse = listAttr(node, "scan_input_directions", l.scanInputs, 0);
  l.outAxes = listAttr(node, "scan_output_axes", l.scanOutputs, 0);
  l.outReverse = listAttr(node, "scan_output_directions", l.scanOutputs, 0);
  for (auto* dirs : {&l.inReverse, &l.outReverse})
    for (int64_t d : *dirs)
      if (d != 0 && d != 1) throwShape(node, "a scan direction is " + std::to_string(d) + "; it must be 0 or 1");
  for (size_t j = 0; j < l.scanInputs; ++j) {
    const ValueRef& v = in[l.states + j];
    requireWholeBytes(node, v.dtype, "scan input " + std::to_string(j));
    l.inAxes[j] = normalizeAxis(node, l.inAxes[j], v.shape->size());
  }
  return l;
}

// The sequence length: every scan input's extent along its axis (-1 while unknown).
int64_t sequenceLength(const Node& node, const ScanLayout& l, const std::vector<ValueRef>& in) {
  int64_t length = -1;
  for (size_t j = 0; j < l.scanInputs; ++j) {
    const int64_t d = (*in[l.states + j].shape)[static_cast<size_t>(l.inAxes[j])];
    if (d < 0) continue;
    if (length >= 0 && d != length)
      throwShape(node, "scan input " + std::to_string(j) + " has " + std::to_string(d) +
                           " steps along its axis but an earlier one has " + std::to_string(length));
    length = d;
  }
  return length;
}

Dims withoutAxis(const Dims& d, size_t axis) {
  Dims r = d;
  r.erase(r.begin() + static_cast<std::ptrdiff_t>(axis));
  return r;
}

Dims stackedShape(const Node& node, const Dims& row, int64_t axis, int64_t length) {
  const int64_t a = normalizeAxis(node, axis, row.size() + 1);
  Dims r = row;
  r.insert(r.begin() + a, length);
  return r;
}

std::vector<ValueRef> staticBodyInputs(const ScanLayout& l, const std::vector<ValueRef>& in, std::vector<Dims>* sliceShapes) {
  std::vector<ValueRef> bodyIn(in.size());
  sliceShapes->resize(l.scanInputs);
  for (size_t k = 0; k < in.size(); ++k) bodyIn[k] = {in[k].dtype, in[k].shape, nullptr};
  for (size_t j = 0; j < l.scanInputs; ++j) {
    (*sliceShapes)[j] = withoutAxis(*in[l.states + j].shape, static_cast<size_t>(l.inAxes[j]));
    bodyIn[l.states + j].shape = &(*sliceShapes)[j];
  }
  return bodyIn;
}

// `node` gives the attributes (opset 8's batched form passes a per-item copy), `body` its body.
std::vector<OwnedTensor> runScan(const Node& node, Subgraph& body, const std::vector<ValueRef>& in, size_t numOutputs) {
  const ScanLayout l = scanLayout(node, body, in, numOutputs);
  const int64_t length = sequenceLength(node, l, in);
  const uint64_t limit = activeMaxTensorBytes();
  std::vector<OwnedTensor> states;
  for (size_t k = 0; k < l.states; ++k) states.push_back(copyOf(in[k]));
  // Slices of the scan inputs, one buffer each, refilled per step.
  std::vector<OwnedTensor> slices(l.scanInputs);
  std::vector<int64_t> sliceOuter(l.scanInputs), sliceInner(l.scanInputs);
  for (size_t j = 0; j < l.scanInputs; ++j) {
    const ValueRef& v = in[l.states + j];
    const auto axis = static_cast<size_t>(l.inAxes[j]);
    slices[j].dtype = v.dtype;
    slices[j].shape = withoutAxis(*v.shape, axis);
    sliceOuter[j] = rangeVolume(*v.shape, 0, axis);
    sliceInner[j] = static_cast<int64_t>(dataTypeBytes(v.dtype, rangeVolume(*v.shape, axis + 1, v.shape->size())));
    slices[j].data.resize(static_cast<size_t>(sliceOuter[j] * sliceInner[j]));
  }
  std::vector<OwnedTensor> stacked(l.scanOutputs);
  std::vector<int64_t> outOuter(l.scanOutputs), outInner(l.scanOutputs);
  std::vector<ValueRef> bodyIn(in.size());
  for (size_t k = l.states + l.scanInputs; k < in.size(); ++k) bodyIn[k] = in[k];
  std::vector<OwnedTensor> next(l.states);
  for (int64_t t = 0; t < length; ++t) {
    for (size_t j = 0; j < l.scanInputs; ++j) {
      const int64_t step = l.inReverse[j] ? length - 1 - t : t;
      const auto* src = static_cast<const uint8_t*>(in[l.states + j].data);
      const int64_t inner = sliceInner[j];
      for (int64_t o = 0; o < sliceOuter[j]; ++o)
        std::memcpy(slices[j].data.data() + o * inner, src + (o * length + step) * inner, static_cast<size_t>(inner));
      bodyIn[l.states + j] = slices[j].ref();
    }
    for (size_t k = 0; k < l.states; ++k) bodyIn[k] = states[k].ref();
    const std::vector<ValueRef>& out = body.run(bodyIn);
    for (size_t k = 0; k < l.states; ++k) {
      if (out[k].dtype != states[k].dtype || out[k].shape->size() != states[k].shape.size())
        throwShape(node, "state " + std::to_string(k) + " changes type or rank in step " + std::to_string(t));
      assignCopy(next[k], out[k]);
    }
    states.swap(next);
    for (size_t k = 0; k < l.scanOutputs; ++k) {
      const ValueRef& v = out[l.states + k];
      OwnedTensor& s = stacked[k];
      const Dims& row = *v.shape;
      const int64_t axis = normalizeAxis(node, l.outAxes[k], row.size() + 1);
      if (t == 0) {
        requireWholeBytes(node, v.dtype, "scan output " + std::to_string(k));
        s.dtype = v.dtype;
        s.shape = stackedShape(node, row, axis, length);
        // The whole output is known now: held to maxTensorBytes before it is allocated.
        const uint64_t bytes = checkTensorBytesLazy(
            [&] { return node.label() + ": scan output " + std::to_string(k); }, s.dtype, s.shape, limit);
        s.data.resize(static_cast<size_t>(bytes));
        outOuter[k] = rangeVolume(row, 0, static_cast<size_t>(axis));
        outInner[k] = static_cast<int64_t>(dataTypeBytes(v.dtype, rangeVolume(row, static_cast<size_t>(axis), row.size())));
      } else if (v.dtype != s.dtype || stackedShape(node, row, axis, length) != s.shape) {
        throwShape(node, "scan output " + std::to_string(k) + " is " + dataTypeName(v.dtype) + " " + dimsToString(row) +
                             " in step " + std::to_string(t) + ", unlike step 0; every row must match");
      }
      const int64_t pos = l.outReverse[k] ? length - 1 - t : t;
      const auto* src = static_cast<const uint8_t*>(v.data);
      const int64_t inner = outInner[k];
      for (int64_t o = 0; o < outOuter[k]; ++o)
        std::memcpy(s.data.data() + (o * length + pos) * inner, src + o * inner, static_cast<size_t>(inner));
    }
  }
  if (length == 0 && l.scanOutputs > 0) {
    std::vector<Dims> sliceShapes;
    const std::vector<OutputDesc> descs = body.inferOutputs(staticBodyInputs(l, in, &sliceShapes));
    for (size_t k = 0; k < l.scanOutputs; ++k) {
      Dims row = descs[l.states + k].shape;
      for (int64_t& d : row)
        if (d < 0) d = 0;
      stacked[k].dtype = descs[l.states + k].dtype;
      stacked[k].shape = stackedShape(node, row, l.outAxes[k], 0);
    }
  }
  for (auto& s : stacked) states.push_back(std::move(s));
  return states;
}

void inferScan(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  tPending.node = nullptr;
  for (const ValueRef& v : in)
    if (!v.present()) throwShape(node, "has an empty input; Scan's inputs are all required");
  if (allKnown(in)) {
    std::unique_ptr<Subgraph> local;
    std::vector<OwnedTensor> results = runScan(node, preparedBody(node, &local), in, out->size());
    for (size_t k = 0; k < out->size(); ++k) (*out)[k] = {results[k].dtype, results[k].shape};
    tPending.outputs = std::move(results);
    tPending.node = &node;
    return;
  }
  Subgraph body(node);
  const ScanLayout l = scanLayout(node, body, in, out->size());
  const int64_t length = sequenceLength(node, l, in);
  std::vector<Dims> sliceShapes;
  const std::vector<OutputDesc> descs = body.inferOutputs(staticBodyInputs(l, in, &sliceShapes));
  for (size_t k = 0; k < l.states; ++k) (*out)[k] = carriedDesc(node, k, in[k], descs[k]);
  for (size_t k = 0; k < l.scanOutputs; ++k) {
    OutputDesc d = descs[l.states + k];
    requireWholeBytes(node, d.dtype, "scan output " + std::to_string(k));
    d.shape = stackedShape(node, d.shape, l.outAxes[k], length);
    (*out)[l.states + k] = d;
  }
}

void runScanKernel(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out, KernelScratch&) {
  if (tPending.node == &node) {
    tPending.node = nullptr;
    copyResults(tPending.outputs, out);
    tPending.outputs.clear();
    return;
  }
  std::unique_ptr<Subgraph> local;
  copyResults(runScan(node, preparedBody(node, &local), in, out.size()), out);
}

// ---------------------------------------------------------------------------------------
// Scan opset 8: inputs [sequence_lens, state..., scan_input...], every one with a leading batch
// axis; each batch item is scanned on its own along its first axis, in `directions`. The sim
// runs each item through the opset-9 path (a copy of the node with that form's attributes) and
// stacks the items. sequence_lens must be absent or equal to the scan length for every item.

Node itemNode(const Node& node) {
  Node item = node;
  item.attributes.clear();
  for (const Attribute& a : node.attributes) {
    if (a.name == "directions") {
      Attribute d = a;
      d.name = "scan_input_directions";
      item.attributes.push_back(std::move(d));
    } else if (a.name == "num_scan_inputs" || a.name == kBodyAttr) {
      item.attributes.push_back(a);
    }
  }
  return item;
}

int64_t batchSize(const Node& node, const std::vector<ValueRef>& in) {
  int64_t batch = -1;
  for (size_t k = 1; k < in.size(); ++k) {
    if (!in[k].present()) throwShape(node, "leaves input " + std::to_string(k) + " empty");
    if (in[k].shape->empty()) throwShape(node, "input " + std::to_string(k) + " is a scalar; opset 8 Scan needs a batch axis");
    const int64_t b = (*in[k].shape)[0];
    if (b >= 0 && batch >= 0 && b != batch) throwShape(node, "inputs disagree on the batch size");
    if (b >= 0) batch = b;
  }
  return batch;
}

// The item view of input k for batch item b (shape without the batch axis).
ValueRef itemView(const ValueRef& v, const Dims* itemShape, int64_t b) {
  const size_t bytes = v.data ? dataTypeBytes(v.dtype, volume(*itemShape)) : 0;
  return {v.dtype, itemShape, v.data ? static_cast<const uint8_t*>(v.data) + static_cast<size_t>(b) * bytes : nullptr};
}

std::vector<OwnedTensor> runBatchedScan(const Node& node, const std::vector<ValueRef>& in, size_t numOutputs) {
  const Node item = itemNode(node);
  const int64_t batch = batchSize(node, in);
  std::vector<Dims> itemShapes(in.size());
  for (size_t k = 1; k < in.size(); ++k) itemShapes[k].assign(in[k].shape->begin() + 1, in[k].shape->end());
  std::vector<OwnedTensor> out(numOutputs);
  // in[0] is sequence_lens; the first scan input follows the states.
  std::unique_ptr<Subgraph> local;
  Subgraph& body = preparedBody(node, &local);
  const size_t firstScan = 1 + body.numDeclaredInputs() - static_cast<size_t>(std::max<int64_t>(0, node.attrInt("num_scan_inputs", 0)));
  for (int64_t b = 0; b < batch; ++b) {
    std::vector<ValueRef> itemIn;
    for (size_t k = 1; k < in.size(); ++k) itemIn.push_back(itemView(in[k], &itemShapes[k], b));
    if (in[0].present()) {
      const int64_t n = safeVolume(*in[0].shape);
      if (in[0].dtype != DataType::kInt64 || n != batch) throwShape(node, "sequence_lens must be int64 with one entry per batch item");
      const int64_t len = static_cast<const int64_t*>(in[0].data)[b];
      if (len < 0) throwShape(node, "sequence_lens holds a negative length");
      // Every scan input's first item axis is the sequence: a shorter length would need padding
      // rules ONNX left to the runtime, which the sim does not guess.
      if (firstScan < in.size() && !itemShapes[firstScan].empty() && len != itemShapes[firstScan][0])
        throwUnsupported(node, "sequence_lens " + std::to_string(len) + " is shorter than the scan inputs' " +
                                   std::to_string(itemShapes[firstScan][0]) + " steps; the sim scans whole sequences");
    }
    std::vector<OwnedTensor> r = runScan(item, body, itemIn, numOutputs);
    for (size_t k = 0; k < numOutputs; ++k) {
      if (b == 0) {
        out[k].dtype = r[k].dtype;
        out[k].shape = r[k].shape;
        out[k].shape.insert(out[k].shape.begin(), batch);
        checkTensorBytesLazy([&] { return node.label() + ": output " + std::to_string(k); }, out[k].dtype, out[k].shape,
                             activeMaxTensorBytes());
      } else if (r[k].dtype != out[k].dtype || !std::equal(r[k].shape.begin(), r[k].shape.end(), out[k].shape.begin() + 1,
                                                           out[k].shape.end())) {
        throwShape(node, "output " + std::to_string(k) + " differs in shape between batch items");
      }
      out[k].data.insert(out[k].data.end(), r[k].data.begin(), r[k].data.end());
    }
  }
  if (batch == 0) {
    std::vector<OutputDesc> descs(numOutputs);
    std::vector<ValueRef> itemIn;
    for (size_t k = 1; k < in.size(); ++k) itemIn.push_back({in[k].dtype, &itemShapes[k], nullptr});
    inferScan(item, itemIn, &descs);
    for (size_t k = 0; k < numOutputs; ++k) {
      out[k].dtype = descs[k].dtype;
      out[k].shape = descs[k].shape;
      for (int64_t& d : out[k].shape)
        if (d < 0) d = 0;
      out[k].shape.insert(out[k].shape.begin(), 0);
    }
  }
  return out;
}

void inferBatchedScan(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  tPending.node = nullptr;
  if (in.size() < 2) throwShape(node, "needs sequence_lens (may be empty) and at least one scan input");
  const int64_t batch = batchSize(node, in);
  if (allKnown(in)) {
    std::vector<OwnedTensor> results = runBatchedScan(node, in, out->size());
    for (size_t k = 0; k < out->size(); ++k) (*out)[k] = {results[k].dtype, results[k].shape};
    tPending.outputs = std::move(results);
    tPending.node = &node;
    return;
  }
  const Node item = itemNode(node);
  std::vector<Dims> itemShapes(in.size());
  std::vector<ValueRef> itemIn;
  for (size_t k = 1; k < in.size(); ++k) {
    itemShapes[k].assign(in[k].shape->begin() + 1, in[k].shape->end());
    itemIn.push_back({in[k].dtype, &itemShapes[k], nullptr});
  }
  inferScan(item, itemIn, out);
  for (OutputDesc& d : *out) d.shape.insert(d.shape.begin(), batch);
}

void runBatchedScanKernel(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out,
                          KernelScratch&) {
  if (tPending.node == &node) {
    tPending.node = nullptr;
    copyResults(tPending.outputs, out);
    tPending.outputs.clear();
    return;
  }
  copyResults(runBatchedScan(node, in, out.size()), out);
}

void inferAnyScan(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  if (node.opset < 9) inferBatchedScan(node, in, out);
  else inferScan(node, in, out);
}

void runAnyScan(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out, KernelScratch& s) {
  if (node.opset < 9) runBatchedScanKernel(node, in, out, s);
  else runScanKernel(node, in, out, s);
}

}  // namespace

void registerLoopScanOps(OpRegistry& registry) {
  // Loop: opset 1 and 11 differ in shape rules only; 13 added sequence-typed carried values,
  // 16 optionals and bfloat16, which the sim refuses as non-tensor body inputs (TensorRT has
  // no sequences either). The reader appends the outer-scope values, so no upper bound.
  registry.add({"Loop", 1, kMaxReviewedOpset, inferLoop, runLoopKernel, false, 0, kVariadicInputs,
                {{1, 0, kVariadicInputs}}});
  // Scan opset 8 (a batch axis on every input, sequence_lens, `directions`; the lengths must be
  // whole) and from opset 9 (no batch axis, scan_input_axes/directions and scan_output_axes/
  // directions). Opset 8's sequence_lens may be left empty, so no input is required there.
  registry.add({"Scan", 8, kMaxReviewedOpset, inferAnyScan, runAnyScan, false, 1, kVariadicInputs,
                {{8, 0, kVariadicInputs}, {9, 1, kVariadicInputs}}});
}

}  // namespace sim
}  // namespace tnrt
