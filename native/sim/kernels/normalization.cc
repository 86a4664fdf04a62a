// Normalizations: BatchNormalization (inference only), InstanceNormalization,
// LayerNormalization. Statistics are accumulated in double and the normalization itself is done
// in float32 in the order ONNX's reference writes it, (x - mean) / sqrt(var + eps) * scale + bias,
// so float32 results agree with it to an ulp or two; float16 rounds once at the output.
#include <algorithm>
#include <cmath>

#include "kernel_util.h"

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
  float* stddev = KernelScratch::as<float>(scratch.b, cc);
  for (size_t k = 0; k < cc; ++k) stddev[k] = std::sqrt(var[k] + eps);
  const auto* px = static_cast<const typename E::Storage*>(in[0].data);
  auto* py = static_cast<typename E::Storage*>(out.data);
  size_t i = 0;
  for (int64_t b = 0; b < n; ++b)
    for (size_t k = 0; k < cc; ++k)
      for (int64_t j = 0; j < inner; ++j, ++i) E::store(py, i, (E::load(px, i) - mean[k]) / stddev[k] * scale[k] + bias[k]);
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

}  // namespace

void registerNormalizationOps(OpRegistry& registry) {
  // BatchNormalization: opsets 1-6 carry is_test/consumed_inputs, 7-8 spatial, 9+ neither, 14
  // training_mode, 15 separate parameter types. Inference semantics are the same throughout;
  // up to 5 outputs are accepted so that training-mode nodes get a clear kUnsupported.
  registry.add({"BatchNormalization", 1, kMaxReviewedOpset, inferBatchNorm, runBatchNorm, false, 1, 5, {{1, 5, 5}}});
  registry.add({"InstanceNormalization", 1, kMaxReviewedOpset, inferInstanceNorm, runInstanceNorm, false, 1, 1, {{1, 3, 3}}});
  registry.add({"LayerNormalization", 17, kMaxReviewedOpset, inferLayerNorm, runLayerNorm, false, 1, 3, {{1, 2, 3}}});
}

}  // namespace sim
}  // namespace tnrt
