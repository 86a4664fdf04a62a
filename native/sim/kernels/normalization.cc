// Normalizations: BatchNormalization (inference only), InstanceNormalization,
// LayerNormalization, GroupNormalization, MeanVarianceNormalization, LpNormalization. Statistics are accumulated in double and the normalization itself is done
// in float32 in the order ONNX's reference writes it, (x - mean) / sqrt(var + eps) * scale + bias,
// so float32 results agree with it to an ulp or two; float16 rounds once at the output.
#include <algorithm>
#include <cmath>

#include "../checked_math.h"
#include "gemm_core.h"
#include "kernel_util.h"
#include "../thread_pool.h"

namespace tnrt {
namespace sim {

namespace {

// `count` float32 values of a float32 or float16 tensor: the tensor itself when it is float32,
// else a float32 copy in `buffer` starting at element `at`. Callers size `buffer` for all their
// parameters first, since growing it would move copies made earlier.
const float* floatsOf(const ValueRef& v, size_t count, std::vector<uint8_t>& buffer, size_t at) {
  if (v.dtype == DataType::kFloat32) return static_cast<const float*>(v.data);
  float* dst = KernelScratch::as<float>(buffer, at + count) + at;
  const auto* src = static_cast<const uint16_t*>(v.data);
  for (size_t i = 0; i < count; ++i) dst[i] = halfToFloat(src[i]);
  return dst;
}

// A per-channel parameter: 1-D of length C (unknown dims accepted).
void requireChannelVector(const Node& node, const ValueRef& v, int64_t channels, const char* what) {
  const Dims& d = *v.shape;
  if (d.size() != 1 || (d[0] >= 0 && channels >= 0 && d[0] != channels))
    throwShape(node, std::string(what) + " must have shape [" + std::to_string(channels) + "] but has " +
                         dimsToString(d));
}

// Channels are dim 1; a 1-D input is N samples of one channel.
int64_t channelsOf(const Dims& x) { return x.size() >= 2 ? x[1] : 1; }

// ---- BatchNormalization ----

void inferBatchNorm(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  requireInputs(node, in, 5, 5);
  // TensorRT builds inference engines: batch statistics and running-mean updates have no
  // equivalent there, so training mode fails the build rather than computing something else.
  if (node.attrInt("training_mode", 0) != 0)
    throwUnsupported(node, "attribute training_mode=1 is not supported: TensorRT runs BatchNormalization in "
                           "inference mode only");
  for (size_t k = 1; k < node.outputs.size(); ++k)
    if (node.outputs[k] >= 0)
      throwUnsupported(node, "output " + std::to_string(k) +
                                 " (a training-mode statistic) is not supported: TensorRT runs "
                                 "BatchNormalization in inference mode only");
  if (node.opset < 9 && node.attrInt("spatial", 1) == 0)
    throwUnsupported(node, "attribute spatial=0 (per-activation statistics) is not supported");
  for (size_t i = 0; i < in.size(); ++i) requireFloat(node, in[i], i == 0 ? "X" : "a parameter");
  // Opset 15 let scale/bias and mean/var have their own float types; before, all match X.
  if (node.opset < 15) requireSameType(node, in);
  const Dims& x = *in[0].shape;
  if (x.empty()) throwShape(node, "X must have rank 1 or more");
  const int64_t c = channelsOf(x);
  static const char* const names[] = {"X", "scale", "B", "input_mean", "input_var"};
  for (size_t i = 1; i < 5; ++i) requireChannelVector(node, in[i], c, names[i]);
  (*out)[0].dtype = in[0].dtype;
  (*out)[0].shape = x;
}

template <typename T>
void batchNormTyped(const Node& node, const std::vector<ValueRef>& in, const OutputRef& out, KernelScratch& scratch) {
  using E = Elem<T>;
  const Dims& x = *in[0].shape;
  const int64_t n = x[0], c = channelsOf(x), inner = rangeVolume(x, 2, x.size());
  const auto cc = static_cast<size_t>(c);
  KernelScratch::as<float>(scratch.a, 4 * cc);
  const float* scale = floatsOf(in[1], cc, scratch.a, 0);
  const float* bias = floatsOf(in[2], cc, scratch.a, cc);
  const float* mean = floatsOf(in[3], cc, scratch.a, 2 * cc);
  const float* var = floatsOf(in[4], cc, scratch.a, 3 * cc);
  const float eps = node.attrFloat("epsilon", 1e-5f);
  float* a = KernelScratch::as<float>(scratch.b, 2 * cc);
  float* b = a + cc;
  for (size_t k = 0; k < cc; ++k) batchNormAffine(scale[k], bias[k], mean[k], var[k], eps, &a[k], &b[k]);
  const auto* px = static_cast<const typename E::Storage*>(in[0].data);
  auto* py = static_cast<typename E::Storage*>(out.data);
  // Planes (one image's one channel) are independent: ranges of them on the context's threads
  // (a multiply and an add per element).
  parallelRanges(scratch.pool, n * c, 2 * inner, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const auto k = static_cast<size_t>(p % c);
      for (auto i = static_cast<size_t>(p * inner); i < static_cast<size_t>((p + 1) * inner); ++i)
        E::store(py, i, E::load(px, i) * a[k] + b[k]);
    }
  });
}

void runBatchNorm(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out,
                  KernelScratch& scratch) {
  dispatchFloat(node, in[0].dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    batchNormTyped<T>(node, in, out[0], scratch);
  });
}

// ---- InstanceNormalization ----

void inferInstanceNorm(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  requireInputs(node, in, 3, 3);
  requireFloat(node, in[0], "input");
  requireSameType(node, in);
  const Dims& x = *in[0].shape;
  if (x.size() < 2) throwShape(node, "input must be N x C x D1 x ... but has shape " + dimsToString(x));
  requireChannelVector(node, in[1], x[1], "scale");
  requireChannelVector(node, in[2], x[1], "B");
  (*out)[0].dtype = in[0].dtype;
  (*out)[0].shape = x;
}

template <typename T>
void instanceNormTyped(const Node& node, const std::vector<ValueRef>& in, const OutputRef& out,
                       KernelScratch& scratch) {
  using E = Elem<T>;
  const Dims& x = *in[0].shape;
  const int64_t n = x[0], c = x[1], inner = rangeVolume(x, 2, x.size());
  const auto cc = static_cast<size_t>(c);
  KernelScratch::as<float>(scratch.a, 2 * cc);
  const float* scale = floatsOf(in[1], cc, scratch.a, 0);
  const float* bias = floatsOf(in[2], cc, scratch.a, cc);
  const float eps = node.attrFloat("epsilon", 1e-5f);
  const auto* px = static_cast<const typename E::Storage*>(in[0].data);
  auto* py = static_cast<typename E::Storage*>(out.data);
  for (int64_t b = 0; b < n; ++b) {
    for (size_t k = 0; k < cc; ++k) {
      const size_t base = static_cast<size_t>((b * c + static_cast<int64_t>(k)) * inner);
      // Two passes: the mean first, then the centered squares, which does not cancel.
      double sum = 0.0;
      for (int64_t j = 0; j < inner; ++j) sum += E::load(px, base + static_cast<size_t>(j));
      const double mean = inner > 0 ? sum / static_cast<double>(inner) : 0.0;
      double sq = 0.0;
      for (int64_t j = 0; j < inner; ++j) {
        const double d = E::load(px, base + static_cast<size_t>(j)) - mean;
        sq += d * d;
      }
      const double var = inner > 0 ? sq / static_cast<double>(inner) : 0.0;
      const auto m = static_cast<float>(mean);
      const auto stddev = static_cast<float>(std::sqrt(var + static_cast<double>(eps)));
      for (int64_t j = 0; j < inner; ++j) {
        const size_t at = base + static_cast<size_t>(j);
        E::store(py, at, scale[k] * ((E::load(px, at) - m) / stddev) + bias[k]);
      }
    }
  }
}

void runInstanceNorm(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out,
                     KernelScratch& scratch) {
  dispatchFloat(node, in[0].dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    instanceNormTyped<T>(node, in, out[0], scratch);
  });
}

// ---- LayerNormalization ----

// Scale and B broadcast to X in one direction (numpy rules, right-aligned); ONNX writes them
// with X's normalized shape, X.shape[axis:], which is one such case.
void requireBroadcastsTo(const Node& node, const Dims& p, const Dims& x, const char* what) {
  bool ok = p.size() <= x.size();
  for (size_t k = 0; ok && k < p.size(); ++k) {
    const int64_t dp = p[p.size() - 1 - k], dx = x[x.size() - 1 - k];
    ok = dp == 1 || dp == dx || dp < 0 || dx < 0;
  }
  if (!ok) throwShape(node, std::string(what) + " " + dimsToString(p) + " does not broadcast to X " + dimsToString(x));
}

void inferLayerNorm(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  requireInputs(node, in, 2, 3);
  requireFloat(node, in[0], "X");
  requireSameType(node, in);
  // stash_type picks the type the statistics are computed and returned in; the sim (and
  // TensorRT's normalization layer) compute them in float32 only.
  const int64_t stash = node.attrInt("stash_type", 1);
  if (stash != 1)
    throwUnsupported(node, "attribute stash_type=" + std::to_string(stash) + " is not supported (only 1, float32)");
  const Dims& x = *in[0].shape;
  requireMaxRank(node, x);
  const auto axis = static_cast<size_t>(normalizeAxis(node, node.attrInt("axis", -1), x.size()));
  requireBroadcastsTo(node, *in[1].shape, x, "Scale");
  if (in.size() > 2 && in[2].present()) requireBroadcastsTo(node, *in[2].shape, x, "B");
  (*out)[0].dtype = in[0].dtype;
  (*out)[0].shape = x;
  // Mean and InvStdDev: X's shape with the normalized dims set to 1, in the stash type.
  Dims stats(x.begin(), x.begin() + static_cast<std::ptrdiff_t>(axis));
  stats.resize(x.size(), 1);
  for (size_t k = 1; k < out->size() && k < 3; ++k) {
    (*out)[k].dtype = DataType::kFloat32;
    (*out)[k].shape = stats;
  }
}

template <typename T>
void layerNormTyped(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out,
                    KernelScratch& scratch) {
  using E = Elem<T>;
  const Dims& x = *in[0].shape;
  const size_t rank = x.size();
  const auto axis = static_cast<size_t>(normalizeAxis(node, node.attrInt("axis", -1), rank));
  const int64_t rows = rangeVolume(x, 0, axis), cols = rangeVolume(x, axis, rank);
  if (rows <= 0) return;
  const bool hasBias = in.size() > 2 && in[2].present();
  const float* w = floatsOf(in[1], static_cast<size_t>(volume(*in[1].shape)), scratch.a, 0);
  const float* bias = hasBias ? floatsOf(in[2], static_cast<size_t>(volume(*in[2].shape)), scratch.b, 0) : nullptr;
  // Per row: mean and 1 / sqrt(var + eps), as float32 (the stash type).
  float* stats = KernelScratch::as<float>(scratch.c, static_cast<size_t>(2 * rows));
  const double eps = node.attrFloat("epsilon", 1e-5f);
  const auto* px = static_cast<const typename E::Storage*>(in[0].data);
  for (int64_t r = 0; r < rows; ++r) {
    const size_t base = static_cast<size_t>(r * cols);
    double sum = 0.0;
    for (int64_t j = 0; j < cols; ++j) sum += E::load(px, base + static_cast<size_t>(j));
    const double mean = cols > 0 ? sum / static_cast<double>(cols) : 0.0;
    double sq = 0.0;
    for (int64_t j = 0; j < cols; ++j) {
      const double d = E::load(px, base + static_cast<size_t>(j)) - mean;
      sq += d * d;
    }
    const double var = cols > 0 ? sq / static_cast<double>(cols) : 0.0;
    stats[2 * r] = static_cast<float>(mean);
    stats[2 * r + 1] = static_cast<float>(1.0 / std::sqrt(var + eps));
  }
  // Y = (x - mean) * invStdDev * Scale + B, walking X with an odometer for the broadcast
  // offsets of Scale and B.
  int64_t sw[kMaxRank], sb[kMaxRank], idx[kMaxRank] = {};
  broadcastStrides(*in[1].shape, x, sw);
  if (hasBias) broadcastStrides(*in[2].shape, x, sb);
  else std::fill(sb, sb + rank, 0);
  auto* py = static_cast<typename E::Storage*>(out[0].data);
  const int64_t n = rows * cols;
  int64_t offW = 0, offB = 0;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t r = i / cols;
    const float normalized = (E::load(px, static_cast<size_t>(i)) - stats[2 * r]) * stats[2 * r + 1];
    E::store(py, static_cast<size_t>(i), normalized * w[offW] + (hasBias ? bias[offB] : 0.0f));
    for (size_t d = rank; d-- > 0;) {
      offW += sw[d];
      offB += sb[d];
      if (++idx[d] < x[d]) break;
      offW -= sw[d] * x[d];
      offB -= sb[d] * x[d];
      idx[d] = 0;
    }
  }
  for (size_t k = 1; k < out.size() && k < 3; ++k) {
    if (node.outputs[k] < 0 || out[k].data == nullptr) continue;
    auto* dst = static_cast<float*>(out[k].data);
    for (int64_t r = 0; r < rows; ++r) dst[r] = stats[2 * r + (k - 1)];
  }
}

void runLayerNorm(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out,
                  KernelScratch& scratch) {
  dispatchFloat(node, in[0].dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    layerNormTyped<T>(node, in, out, scratch);
  });
}


// Any float tensor (float32, float16, bfloat16) as float32 values in `buffer`.
const float* anyFloatsOf(const Node& node, const ValueRef& v, size_t count, std::vector<uint8_t>& buffer) {
  if (v.dtype == DataType::kFloat32) return static_cast<const float*>(v.data);
  float* dst = KernelScratch::as<float>(buffer, count);
  dispatchAnyFloat(node, v.dtype, [&](auto tag) {
    using E = Elem<typename decltype(tag)::type>;
    const auto* src = static_cast<const typename E::Storage*>(v.data);
    for (size_t i = 0; i < count; ++i) dst[i] = E::load(src, i);
  });
  return dst;
}

// ---- GroupNormalization ----
// Opset 18 gives scale and bias one value per group; opset 21 changed them to one per channel
// (and deprecated 18's form). Both normalize each (sample, group) over its channels and
// spatial positions, statistics in double as the other normalizations here.

void inferGroupNorm(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  requireInputs(node, in, 3, 3);
  requireAnyFloat(node, in[0], "X");
  requireAnyFloat(node, in[1], "scale");
  requireAnyFloat(node, in[2], "bias");
  const Dims& x = *in[0].shape;
  if (x.size() < 2) throwShape(node, "X must be N x C x D1 x ... but has shape " + dimsToString(x));
  const int64_t groups = node.attrInt("num_groups", 0);
  if (groups <= 0) throwShape(node, "attribute num_groups must be positive but is " + std::to_string(groups));
  if (x[1] >= 0 && x[1] % groups != 0)
    throwShape(node, "channels (" + std::to_string(x[1]) + ") must be a multiple of num_groups (" +
                         std::to_string(groups) + ")");
  const bool perChannel = node.opset >= 21;
  requireChannelVector(node, in[1], perChannel ? x[1] : groups, "scale");
  requireChannelVector(node, in[2], perChannel ? x[1] : groups, "bias");
  (*out)[0].dtype = in[0].dtype;
  (*out)[0].shape = x;
}

template <typename T>
void groupNormTyped(const Node& node, const std::vector<ValueRef>& in, const OutputRef& out, KernelScratch& scratch) {
  using E = Elem<T>;
  const Dims& x = *in[0].shape;
  const int64_t n = x[0], c = x[1], inner = rangeVolume(x, 2, x.size());
  const int64_t groups = node.attrInt("num_groups", 0);
  const int64_t perGroup = c / groups;
  const bool perChannel = node.opset >= 21;
  const auto params = static_cast<size_t>(perChannel ? c : groups);
  const float* scale = anyFloatsOf(node, in[1], params, scratch.a);
  const float* bias = anyFloatsOf(node, in[2], params, scratch.b);
  const double eps = node.attrFloat("epsilon", 1e-5f);
  const auto* px = static_cast<const typename E::Storage*>(in[0].data);
  auto* py = static_cast<typename E::Storage*>(out.data);
  const int64_t span = perGroup * inner;
  if (n * span == 0) return;  // also spares a loop over a huge num_groups with zero channels
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t g = 0; g < groups; ++g) {
      const size_t base = static_cast<size_t>((b * groups + g) * span);
      double sum = 0.0;
      for (int64_t j = 0; j < span; ++j) sum += E::load(px, base + static_cast<size_t>(j));
      const double mean = span > 0 ? sum / static_cast<double>(span) : 0.0;
      double sq = 0.0;
      for (int64_t j = 0; j < span; ++j) {
        const double d = E::load(px, base + static_cast<size_t>(j)) - mean;
        sq += d * d;
      }
      const auto m = static_cast<float>(mean);
      const auto stddev = static_cast<float>(std::sqrt((span > 0 ? sq / static_cast<double>(span) : 0.0) + eps));
      for (int64_t j = 0; j < span; ++j) {
        const size_t at = base + static_cast<size_t>(j);
        const auto p = static_cast<size_t>(perChannel ? g * perGroup + j / inner : g);
        E::store(py, at, scale[p] * ((E::load(px, at) - m) / stddev) + bias[p]);
      }
    }
  }
}

void runGroupNorm(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out,
                  KernelScratch& scratch) {
  dispatchAnyFloat(node, in[0].dtype, [&](auto tag) { groupNormTyped<typename decltype(tag)::type>(node, in, out[0], scratch); });
}

// ---- MeanVarianceNormalization ----
// (X - mean) / (sqrt(variance) + 1e-9) over `axes` (default 0, 2, 3), the formula of ONNX's
// function body; the variance is computed from centered values rather than E[x^2] - E[x]^2,
// which agrees to rounding and cannot go negative.

// Bit k set when dim k is reduced.
uint32_t mvnAxes(const Node& node, size_t rank) {
  std::vector<int64_t> axes = {0, 2, 3};
  if (const Attribute* a = node.attr("axes")) axes = a->ints;
  uint32_t mask = 0;
  for (int64_t axis : axes) {
    const auto k = static_cast<uint32_t>(normalizeAxis(node, axis, rank));
    if (mask & (1u << k)) throwShape(node, "attribute axes names dim " + std::to_string(k) + " twice");
    mask |= 1u << k;
  }
  return mask;
}

void inferMvn(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  requireInputs(node, in, 1, 1);
  requireAnyFloat(node, in[0], "X");
  requireMaxRank(node, *in[0].shape);
  mvnAxes(node, in[0].shape->size());
  (*out)[0].dtype = in[0].dtype;
  (*out)[0].shape = *in[0].shape;
}

// The flat index, among the kept (unreduced) dims, of every element of `x`, written to `group`.
void keptIndex(const Dims& x, uint32_t reduced, int64_t* group) {
  const size_t rank = x.size();
  int64_t idx[kMaxRank] = {}, stride[kMaxRank];
  int64_t s = 1;
  for (size_t d = rank; d-- > 0;) {
    stride[d] = (reduced & (1u << d)) ? 0 : s;
    if (!(reduced & (1u << d))) s *= x[d];
  }
  const int64_t n = volume(x);
  int64_t off = 0;
  for (int64_t i = 0; i < n; ++i) {
    group[i] = off;
    for (size_t d = rank; d-- > 0;) {
      off += stride[d];
      if (++idx[d] < x[d]) break;
      off -= stride[d] * x[d];
      idx[d] = 0;
    }
  }
}

template <typename T>
void mvnTyped(const Node& node, const ValueRef& xv, const OutputRef& out, KernelScratch& scratch) {
  using E = Elem<T>;
  const Dims& x = *xv.shape;
  const uint32_t reduced = mvnAxes(node, x.size());
  const int64_t n = volume(x);
  if (n == 0) return;
  int64_t groups = 1, count = 1;
  for (size_t d = 0; d < x.size(); ++d) (reduced & (1u << d) ? count : groups) *= x[d];
  int64_t* group = KernelScratch::as<int64_t>(scratch.a, static_cast<size_t>(n));
  keptIndex(x, reduced, group);
  double* stats = KernelScratch::as<double>(scratch.b, static_cast<size_t>(2 * groups));
  std::fill(stats, stats + 2 * groups, 0.0);
  const auto* px = static_cast<const typename E::Storage*>(xv.data);
  auto* py = static_cast<typename E::Storage*>(out.data);
  for (int64_t i = 0; i < n; ++i) stats[2 * group[i]] += E::load(px, static_cast<size_t>(i));
  for (int64_t g = 0; g < groups; ++g) stats[2 * g] /= static_cast<double>(count);
  for (int64_t i = 0; i < n; ++i) {
    const double d = E::load(px, static_cast<size_t>(i)) - stats[2 * group[i]];
    stats[2 * group[i] + 1] += d * d;
  }
  for (int64_t g = 0; g < groups; ++g) stats[2 * g + 1] = std::sqrt(stats[2 * g + 1] / static_cast<double>(count)) + 1e-9;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t g = group[i];
    E::store(py, static_cast<size_t>(i),
             static_cast<float>((E::load(px, static_cast<size_t>(i)) - stats[2 * g]) / stats[2 * g + 1]));
  }
}

void runMvn(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out,
            KernelScratch& scratch) {
  dispatchAnyFloat(node, in[0].dtype, [&](auto tag) { mvnTyped<typename decltype(tag)::type>(node, in[0], out[0], scratch); });
}

uint64_t mvnScratch(const Node&, const std::vector<ValueRef>& in, const std::vector<OutputDesc>&) {
  // An int64 group index per element plus two doubles per group (at most one per element).
  // Unknown dims (parse time) are sized again at each profile's min and max.
  for (int64_t d : *in[0].shape)
    if (d < 0) return 0;
  int64_t n;
  uint64_t bytes;
  return checkedVolume(*in[0].shape, &n) && checkedMul(static_cast<uint64_t>(n), uint64_t{24}, &bytes) ? bytes
                                                                                                      : UINT64_MAX;
}

// ---- LpNormalization ----
// X / ||X||_p along `axis` (default -1), p 1 or 2 (the only values ONNX and TensorRT allow).

void inferLpNorm(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  requireInputs(node, in, 1, 1);
  requireAnyFloat(node, in[0], "input");
  normalizeAxis(node, node.attrInt("axis", -1), in[0].shape->size());
  const int64_t p = node.attrInt("p", 2);
  if (p != 1 && p != 2) throwUnsupported(node, "attribute p must be 1 or 2 but is " + std::to_string(p));
  (*out)[0].dtype = in[0].dtype;
  (*out)[0].shape = *in[0].shape;
}

template <typename T>
void lpNormTyped(const Node& node, const ValueRef& xv, const OutputRef& out) {
  using E = Elem<T>;
  const Dims& x = *xv.shape;
  const auto axis = static_cast<size_t>(normalizeAxis(node, node.attrInt("axis", -1), x.size()));
  const bool l1 = node.attrInt("p", 2) == 1;
  const int64_t outer = rangeVolume(x, 0, axis), len = x[axis], inner = rangeVolume(x, axis + 1, x.size());
  const auto* px = static_cast<const typename E::Storage*>(xv.data);
  auto* py = static_cast<typename E::Storage*>(out.data);
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      const int64_t base = o * len * inner + i;
      double norm = 0.0;
      for (int64_t k = 0; k < len; ++k) {
        const double v = E::load(px, static_cast<size_t>(base + k * inner));
        norm += l1 ? std::fabs(v) : v * v;
      }
      const auto div = static_cast<float>(l1 ? norm : std::sqrt(norm));
      for (int64_t k = 0; k < len; ++k) {
        const auto at = static_cast<size_t>(base + k * inner);
        E::store(py, at, E::load(px, at) / div);
      }
    }
  }
}

void runLpNorm(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out, KernelScratch&) {
  dispatchAnyFloat(node, in[0].dtype, [&](auto tag) { lpNormTyped<typename decltype(tag)::type>(node, in[0], out[0]); });
}

}  // namespace

void registerNormalizationOps(OpRegistry& registry) {
  // BatchNormalization: opsets 1-6 carry is_test/consumed_inputs, 7-8 spatial, 9+ neither, 14
  // training_mode, 15 separate parameter types. Inference semantics are the same throughout;
  // up to 5 outputs are accepted so that training-mode nodes get a clear kUnsupported.
  registry.add({"BatchNormalization", 1, kMaxReviewedOpset, inferBatchNorm, runBatchNorm, false, 1, 5, {{1, 5, 5}}});
  registry.add({"InstanceNormalization", 1, kMaxReviewedOpset, inferInstanceNorm, runInstanceNorm, false, 1, 1, {{1, 3, 3}}});
  registry.add({"LayerNormalization", 17, kMaxReviewedOpset, inferLayerNorm, runLayerNorm, false, 1, 3, {{1, 2, 3}}});
  registry.add({"GroupNormalization", 18, kMaxReviewedOpset, inferGroupNorm, runGroupNorm, false, 1, 1, {{18, 3, 3}}});
  registry.add({"MeanVarianceNormalization", 9, kMaxReviewedOpset, inferMvn, runMvn, false, 1, 1, {{9, 1, 1}}, mvnScratch});
  registry.add({"LpNormalization", 1, kMaxReviewedOpset, inferLpNorm, runLpNorm, false, 1, 1, {{1, 1, 1}}});
}

}  // namespace sim
}  // namespace tnrt
