// Comparisons and boolean logic with numpy broadcasting: Equal, Greater, GreaterOrEqual, Less,
// LessOrEqual (bool outputs), Not, And, Or, Xor (bool in and out), Where (a bool condition
// choosing between two tensors of any type) and Mod.
//
// bool tensors are one byte per element, as TensorRT's kBOOL; a kernel reads any nonzero byte
// as true and writes 0 or 1.
#include <cmath>
#include <type_traits>

#include "broadcast_loop.h"
#include "movement_util.h"

namespace tnrt {
namespace sim {

namespace {

void requireBool(const Node& node, const ValueRef& v, const char* what) {
  if (v.dtype != DataType::kBool) throwDType(node, std::string(what) + " must be bool but is " + dataTypeName(v.dtype));
}

// ---- comparisons ----

// Two inputs of one numeric type (bool too for Equal, which ONNX allows from opset 7), a bool
// output of the broadcast shape. Opsets before 7 used the legacy broadcast attribute; the sim
// registers these from 7, the first opset with numpy broadcasting.
void inferCompare(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  requireInputs(node, in, 2, 2);
  requireSameType(node, in);
  if (!(node.opType == "Equal" && in[0].dtype == DataType::kBool)) dispatchNumeric(node, in[0].dtype, [](auto) {});
  (*out)[0].dtype = DataType::kBool;
  (*out)[0].shape = broadcastShapes(node, *in[0].shape, *in[1].shape);
  requireMaxRank(node, (*out)[0].shape);
}

// Comparisons in the compute type (float for the 16-bit floats: exact, both widen losslessly).
// NaN compares false with everything, Equal included, as IEEE and numpy say.
struct EqualOp {
  template <typename C>
  bool operator()(C a, C b) const { return a == b; }
};
struct GreaterOp {
  template <typename C>
  bool operator()(C a, C b) const { return a > b; }
};
struct GreaterOrEqualOp {
  template <typename C>
  bool operator()(C a, C b) const { return a >= b; }
};
struct LessOp {
  template <typename C>
  bool operator()(C a, C b) const { return a < b; }
};
struct LessOrEqualOp {
  template <typename C>
  bool operator()(C a, C b) const { return a <= b; }
};

template <typename Op>
void runCompare(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out, KernelScratch&) {
  const auto loop = [&](auto tag) {
    using T = typename decltype(tag)::type;
    broadcastLoop<Elem<T>, Elem<T>, Elem<Boolean>>(in[0].data, *in[0].shape, in[1].data, *in[1].shape, out[0].data,
                                                   *out[0].shape, Op{});
  };
  if (in[0].dtype == DataType::kBool) loop(TypeTag<Boolean>{});
  else dispatchNumeric(node, in[0].dtype, loop);
}

// ---- logic ----

void inferLogicBinary(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  requireInputs(node, in, 2, 2);
  requireBool(node, in[0], "input 0");
  requireBool(node, in[1], "input 1");
  (*out)[0].dtype = DataType::kBool;
  (*out)[0].shape = broadcastShapes(node, *in[0].shape, *in[1].shape);
  requireMaxRank(node, (*out)[0].shape);
}

struct AndOp {
  bool operator()(bool a, bool b) const { return a && b; }
};
struct OrOp {
  bool operator()(bool a, bool b) const { return a || b; }
};
struct XorOp {
  bool operator()(bool a, bool b) const { return a != b; }
};

template <typename Op>
void runLogicBinary(const Node&, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out, KernelScratch&) {
  using B = Elem<Boolean>;
  broadcastLoop<B, B, B>(in[0].data, *in[0].shape, in[1].data, *in[1].shape, out[0].data, *out[0].shape, Op{});
}

void inferNot(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  requireInputs(node, in, 1, 1);
  requireBool(node, in[0], "input 0");
  (*out)[0].dtype = DataType::kBool;
  (*out)[0].shape = *in[0].shape;
}

void runNot(const Node&, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out, KernelScratch&) {
  const auto* x = static_cast<const uint8_t*>(in[0].data);
  auto* y = static_cast<uint8_t*>(out[0].data);
  const int64_t n = volume(*out[0].shape);
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] != 0 ? 0 : 1;
}

// ---- Where ----

// condition (bool), X, Y broadcast together; X and Y share a type, which is the output's.
void inferWhere(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  requireInputs(node, in, 3, 3);
  requireBool(node, in[0], "the condition");
  if (in[2].dtype != in[1].dtype)
    throwDType(node, std::string("X is ") + dataTypeName(in[1].dtype) + " but Y is " + dataTypeName(in[2].dtype) +
                         "; ONNX requires them to match");
  requireWholeBytes(node, in[1].dtype);
  (*out)[0].dtype = in[1].dtype;
  (*out)[0].shape = broadcastShapes(node, broadcastShapes(node, *in[0].shape, *in[1].shape), *in[2].shape);
  requireMaxRank(node, (*out)[0].shape);
}

// One odometer walk over the output with each operand's broadcast strides. Elements move as
// raw bytes, so every element type is exact.
void runWhere(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out, KernelScratch&) {
  const Dims& os = *out[0].shape;
  const int64_t n = volume(os);
  if (n <= 0) return;
  const size_t rank = os.size();
  int64_t sc[kMaxRank], sx[kMaxRank], sy[kMaxRank], idx[kMaxRank] = {};
  broadcastStrides(*in[0].shape, os, sc);
  broadcastStrides(*in[1].shape, os, sx);
  broadcastStrides(*in[2].shape, os, sy);
  const auto* cond = static_cast<const uint8_t*>(in[0].data);
  dispatchBytes(node, out[0].dtype, [&](auto tag) {
    using U = typename decltype(tag)::type;
    const auto* x = static_cast<const U*>(in[1].data);
    const auto* y = static_cast<const U*>(in[2].data);
    auto* o = static_cast<U*>(out[0].data);
    int64_t oc = 0, ox = 0, oy = 0;
    for (int64_t i = 0; i < n; ++i) {
      o[i] = cond[oc] != 0 ? x[ox] : y[oy];
      for (size_t d = rank; d-- > 0;) {
        oc += sc[d];
        ox += sx[d];
        oy += sy[d];
        if (++idx[d] < os[d]) break;
        oc -= sc[d] * os[d];
        ox -= sx[d] * os[d];
        oy -= sy[d] * os[d];
        idx[d] = 0;
      }
    }
  });
}

// ---- Mod ----

// fmod=0 (the default) is Python's %, the result taking the divisor's sign, for integers only;
// fmod=1 is C's fmod, the dividend's sign, and is required for floats.
void inferMod(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  requireInputs(node, in, 2, 2);
  requireSameType(node, in);
  dispatchNumeric(node, in[0].dtype, [](auto) {});
  const bool isFloat = in[0].dtype == DataType::kFloat32 || in[0].dtype == DataType::kFloat16 ||
                       in[0].dtype == DataType::kBFloat16;
  if (isFloat && node.attrInt("fmod", 0) == 0)
    throwUnsupported(node, "fmod=0 is not defined for floating-point inputs; ONNX requires fmod=1 for them");
  (*out)[0].dtype = in[0].dtype;
  (*out)[0].shape = broadcastShapes(node, *in[0].shape, *in[1].shape);
  requireMaxRank(node, (*out)[0].shape);
}

template <bool kFmod>
struct ModOp {
  template <typename C>
  C operator()(C a, C b) const {
    if constexpr (std::is_floating_point_v<C>) {
      return std::fmod(a, b);
    } else {
      // ONNX leaves x mod 0 undefined; 0 rather than SIGFPE. MIN mod -1 is 0 (and traps on x86).
      if (b == 0) return 0;
      if constexpr (std::is_signed_v<C>) {
        if (b == -1) return 0;
      }
      C r = static_cast<C>(a % b);
      if constexpr (!kFmod && std::is_signed_v<C>) {
        if (r != 0 && ((r < 0) != (b < 0))) r = static_cast<C>(r + b);
      }
      return r;
    }
  }
};

void runMod(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out, KernelScratch&) {
  const bool fmod = node.attrInt("fmod", 0) != 0;
  dispatchNumeric(node, in[0].dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    using E = Elem<T>;
    if (fmod)
      broadcastLoop<E, E, E>(in[0].data, *in[0].shape, in[1].data, *in[1].shape, out[0].data, *out[0].shape,
                             ModOp<true>{});
    else
      broadcastLoop<E, E, E>(in[0].data, *in[0].shape, in[1].data, *in[1].shape, out[0].data, *out[0].shape,
                             ModOp<false>{});
  });
}

}  // namespace

void registerLogicOps(OpRegistry& registry) {
  // Opset 7 brought numpy broadcasting (earlier ones had the broadcast attribute); later
  // revisions (9, 11, 13, 16, 19) only widened the types, to ones the sim covers or to
  // strings, which TensorRT has no tensors of.
  registry.add({"Equal", 7, kMaxReviewedOpset, inferCompare, runCompare<EqualOp>, false, 1, 1, {{1, 2, 2}}});
  registry.add({"Greater", 7, kMaxReviewedOpset, inferCompare, runCompare<GreaterOp>, false, 1, 1, {{1, 2, 2}}});
  registry.add({"Less", 7, kMaxReviewedOpset, inferCompare, runCompare<LessOp>, false, 1, 1, {{1, 2, 2}}});
  registry.add({"GreaterOrEqual", 12, kMaxReviewedOpset, inferCompare, runCompare<GreaterOrEqualOp>, false, 1, 1, {{12, 2, 2}}});
  registry.add({"LessOrEqual", 12, kMaxReviewedOpset, inferCompare, runCompare<LessOrEqualOp>, false, 1, 1, {{12, 2, 2}}});
  registry.add({"And", 7, kMaxReviewedOpset, inferLogicBinary, runLogicBinary<AndOp>, false, 1, 1, {{1, 2, 2}}});
  registry.add({"Or", 7, kMaxReviewedOpset, inferLogicBinary, runLogicBinary<OrOp>, false, 1, 1, {{1, 2, 2}}});
  registry.add({"Xor", 7, kMaxReviewedOpset, inferLogicBinary, runLogicBinary<XorOp>, false, 1, 1, {{1, 2, 2}}});
  registry.add({"Not", 1, kMaxReviewedOpset, inferNot, runNot, false, 1, 1, {{1, 1, 1}}});
  // 16 added bfloat16.
  registry.add({"Where", 9, kMaxReviewedOpset, inferWhere, runWhere, false, 1, 1, {{9, 3, 3}}});
  // 13 added bfloat16.
  registry.add({"Mod", 10, kMaxReviewedOpset, inferMod, runMod, false, 1, 1, {{10, 2, 2}}});
}

}  // namespace sim
}  // namespace tnrt
