// Operators whose output is generated rather than computed element by element from an input:
// EyeLike, Range, OneHot, Size.
//
// Range's length and OneHot's depth come from tensor data: they are untrusted counts, turned
// into dims with the checked_math.h helpers, and ShapeInference then holds the output to
// maxTensorBytes before anything is allocated.
#include <cmath>
#include <type_traits>

#include "movement_util.h"
#include "../checked_math.h"

namespace tnrt {
namespace sim {

namespace {

// Stores the value `v` (0 or 1, or a small integer) as any element type the sim has.
template <typename Fn>
void dispatchStorable(const Node& node, DataType t, Fn&& fn) {
  if (t == DataType::kBool) {
    fn(TypeTag<Boolean>{});
    return;
  }
  dispatchNumeric(node, t, fn);
}

// ---- EyeLike ----

DataType eyeLikeType(const Node& node, DataType input) {
  const Attribute* a = node.attr("dtype");
  if (!a) return input;
  DataType t;
  if (!dataTypeFromOnnx(a->i, &t))
    throwUnsupported(node, "dtype=" + std::to_string(a->i) + " (" + onnxTypeName(a->i) + ") is not a type TensorRT has tensors of");
  return t;
}

void inferEyeLike(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  requireInputs(node, in, 1, 1);
  if (in[0].shape->size() != 2) throwShape(node, "the input must be 2-D but is " + dimsToString(*in[0].shape));
  const DataType t = eyeLikeType(node, in[0].dtype);
  dispatchStorable(node, t, [](auto) {});
  (*out)[0].dtype = t;
  (*out)[0].shape = *in[0].shape;
}

void runEyeLike(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out, KernelScratch&) {
  const Dims& s = *out[0].shape;
  const int64_t k = node.attrInt("k", 0);
  dispatchStorable(node, out[0].dtype, [&](auto tag) {
    using E = Elem<typename decltype(tag)::type>;
    using C = typename E::Compute;
    auto* p = static_cast<typename E::Storage*>(out[0].data);
    for (int64_t i = 0; i < s[0]; ++i)
      for (int64_t j = 0; j < s[1]; ++j)
        E::store(p, static_cast<size_t>(i * s[1] + j), static_cast<C>(j - i == k ? 1 : 0));
  });
}

// ---- Range ----

bool isFloatType(DataType t) { return t == DataType::kFloat32 || t == DataType::kFloat16 || t == DataType::kBFloat16; }

// Element 0 of a scalar input as double.
double scalarAsDouble(const Node& node, const ValueRef& v) {
  double r = 0;
  dispatchNumeric(node, v.dtype, [&](auto tag) {
    using E = Elem<typename decltype(tag)::type>;
    r = static_cast<double>(E::load(static_cast<const typename E::Storage*>(v.data), 0));
  });
  return r;
}

void inferRange(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  requireInputs(node, in, 3, 3);
  requireSameType(node, in);
  const DataType t = in[0].dtype;
  if (t != DataType::kFloat32 && t != DataType::kFloat16 && t != DataType::kBFloat16 && t != DataType::kInt32 &&
      t != DataType::kInt64)
    throwDType(node, std::string("Range takes float32, float16, bfloat16, int32 or int64, not ") + dataTypeName(t));
  for (size_t i = 0; i < 3; ++i)
    if (volume(*in[i].shape) != 1 && !in[i].shape->empty())
      throwShape(node, "input " + std::to_string(i) + " must be a scalar but has shape " + dimsToString(*in[i].shape));
  (*out)[0].dtype = t;
  (*out)[0].shape = {-1};
  if (!in[0].data || !in[1].data || !in[2].data) return;
  int64_t n = 0;
  if (isFloatType(t)) {
    const double start = scalarAsDouble(node, in[0]), limit = scalarAsDouble(node, in[1]), delta = scalarAsDouble(node, in[2]);
    if (delta == 0 || !std::isfinite(delta) || !std::isfinite(start) || !std::isfinite(limit))
      throwShape(node, "start, limit and delta must be finite and delta nonzero");
    const double count = std::ceil((limit - start) / delta);
    if (count > 0 && !checkedDimFromDouble(count, &n))
      throwShape(node, "the range from " + std::to_string(start) + " to " + std::to_string(limit) + " by " +
                           std::to_string(delta) + " has too many elements");
  } else {
    const auto load = [&](size_t i) {
      return t == DataType::kInt64 ? *static_cast<const int64_t*>(in[i].data)
                                   : static_cast<int64_t>(*static_cast<const int32_t*>(in[i].data));
    };
    const int64_t start = load(0), limit = load(1), delta = load(2);
    if (delta == 0) throwShape(node, "delta must not be zero");
    // ceil((limit - start) / delta) in 128 bits: the difference of two int64s can overflow 64.
    const __int128 span = static_cast<__int128>(limit) - start;
    __int128 q = span / delta;
    if (span % delta != 0 && ((span < 0) == (delta < 0))) ++q;
    if (q > INT64_MAX) throwShape(node, "the range has too many elements");
    n = q > 0 ? static_cast<int64_t>(q) : 0;
  }
  (*out)[0].shape = {n};
}

void runRange(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out, KernelScratch&) {
  const int64_t n = (*out[0].shape)[0];
  dispatchNumeric(node, out[0].dtype, [&](auto tag) {
    using E = Elem<typename decltype(tag)::type>;
    using C = typename E::Compute;
    const auto* ps = static_cast<const typename E::Storage*>(in[0].data);
    const auto* pd = static_cast<const typename E::Storage*>(in[2].data);
    auto* py = static_cast<typename E::Storage*>(out[0].data);
    const C start = E::load(ps, 0), delta = E::load(pd, 0);
    // ONNX defines element i as start + i * delta (not a running sum, which would drift for
    // floats); integers wrap rather than overflow (the count check above keeps them in range).
    for (int64_t i = 0; i < n; ++i) {
      if constexpr (std::is_floating_point_v<C>) E::store(py, static_cast<size_t>(i), start + static_cast<C>(i) * delta);
      else E::store(py, static_cast<size_t>(i), wrapAdd(start, wrapMul(static_cast<C>(i), delta)));
    }
  });
}

// ---- OneHot ----

// depth: a scalar (or 1-element) tensor of any numeric type; TensorRT requires it known when
// the engine is built. Returns -1 while unknown.
int64_t oneHotDepth(const Node& node, const ValueRef& depth) {
  if (volume(*depth.shape) != 1 && !depth.shape->empty()) throwShape(node, "depth must be a scalar but has shape " + dimsToString(*depth.shape));
  if (!depth.data) return -1;
  const double d = scalarAsDouble(node, depth);
  int64_t n = 0;
  if (!(d >= 1) || !checkedDimFromDouble(d, &n)) throwShape(node, "depth must be a positive count but is " + std::to_string(d));
  return n;
}

void inferOneHot(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  requireInputs(node, in, 3, 3);
  dispatchNumeric(node, in[0].dtype, [](auto) {});
  const Dims& values = *in[2].shape;
  if (values.size() != 1 || (values[0] >= 0 && values[0] != 2))
    throwShape(node, "values must be [off_value, on_value] but has shape " + dimsToString(values));
  dispatchStorable(node, in[2].dtype, [](auto) {});
  const int64_t depth = oneHotDepth(node, in[1]);
  const Dims& x = *in[0].shape;
  const auto axis = static_cast<size_t>(normalizeAxis(node, node.attrInt("axis", -1), x.size() + 1));
  Dims y = x;
  y.insert(y.begin() + static_cast<ptrdiff_t>(axis), depth);
  requireMaxRank(node, y);
  (*out)[0].dtype = in[2].dtype;
  (*out)[0].shape = y;
}

void runOneHot(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out,
               KernelScratch& scratch) {
  const Dims& x = *in[0].shape;
  const int64_t depth = oneHotDepth(node, in[1]);
  const auto axis = static_cast<size_t>(normalizeAxis(node, node.attrInt("axis", -1), x.size() + 1));
  const int64_t outer = rangeVolume(x, 0, axis), inner = rangeVolume(x, axis, x.size());
  const auto count = static_cast<size_t>(outer * inner);
  double* idx = KernelScratch::as<double>(scratch.a, count);
  dispatchNumeric(node, in[0].dtype, [&](auto tag) {
    using E = Elem<typename decltype(tag)::type>;
    const auto* p = static_cast<const typename E::Storage*>(in[0].data);
    for (size_t i = 0; i < count; ++i) idx[i] = static_cast<double>(E::load(p, i));
  });
  dispatchBytes(node, out[0].dtype, [&](auto tag) {
    using U = typename decltype(tag)::type;
    const auto* values = static_cast<const U*>(in[2].data);
    auto* py = static_cast<U*>(out[0].data);
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t d = 0; d < depth; ++d)
        for (int64_t j = 0; j < inner; ++j) {
          // Indices are truncated to integers; negative ones count from depth; ones outside
          // [-depth, depth - 1] select no class (the row is all off_value), as ONNX says.
          double v = std::trunc(idx[static_cast<size_t>(o * inner + j)]);
          if (v < 0) v += static_cast<double>(depth);
          py[(o * depth + d) * inner + j] = values[v == static_cast<double>(d) ? 1 : 0];
        }
  });
}

// ---- Size ----

void inferSize(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  requireInputs(node, in, 1, 1);
  (*out)[0].dtype = DataType::kInt64;
  (*out)[0].shape = {};
}

void runSize(const Node&, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out, KernelScratch&) {
  *static_cast<int64_t*>(out[0].data) = volume(*in[0].shape);
}

}  // namespace

void registerGeneratorOps(OpRegistry& registry) {
  registry.add({"EyeLike", 9, kMaxReviewedOpset, inferEyeLike, runEyeLike, false, 1, 1, {{9, 1, 1}}});
  registry.add({"Range", 11, kMaxReviewedOpset, inferRange, runRange, false, 1, 1, {{11, 3, 3}}});
  // 11 allowed negative indices and axis.
  registry.add({"OneHot", 9, kMaxReviewedOpset, inferOneHot, runOneHot, false, 1, 1, {{9, 3, 3}}});
  // 13 added bfloat16, 19 and 21 more input types; the output is always an int64 scalar.
  registry.add({"Size", 1, kMaxReviewedOpset, inferSize, runSize, false, 1, 1, {{1, 1, 1}}, nullptr, true});
}

}  // namespace sim
}  // namespace tnrt
