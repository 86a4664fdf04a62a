// LSTM: forward, reverse and bidirectional, with ONNX's activation list, clip, per-batch
// sequence lengths, initial states and peepholes. Restrictions follow TensorRT's ONNX parser
// (onnx-tensorrt's operator table): layout must be 0, input_forget 0, and a bidirectional
// LSTM uses the same activations in both directions.
//
// Gate order is ONNX's i, o, f, c (W, R and B stack them in that order):
//   i = f(W_i x + R_i h + P_i * c + b_i)    f_t = f(W_f x + R_f h + P_f * c + b_f)
//   g = g(W_c x + R_c h + b_c)              c' = f_t * c + i * g
//   o = f(W_o x + R_o h + P_o * c' + b_o)   h' = o * h(c')
// float16 and bfloat16 compute in float32 and round at the outputs.
#include <cmath>
#include <string>
#include <vector>

#include "../checked_math.h"
#include "kernel_util.h"

namespace tnrt {
namespace sim {

namespace {

struct Activation {
  enum Kind { kSigmoid, kTanh, kRelu, kAffine, kLeakyRelu, kThresholdedRelu, kScaledTanh, kHardSigmoid, kElu, kSoftsign, kSoftplus };
  Kind kind = kSigmoid;
  float alpha = 0, beta = 0;
  float operator()(float x) const {
    switch (kind) {
      case kSigmoid: return x >= 0 ? 1.0f / (1.0f + std::exp(-x)) : std::exp(x) / (1.0f + std::exp(x));
      case kTanh: return std::tanh(x);
      case kRelu: return x > 0 ? x : 0.0f;
      case kAffine: return alpha * x + beta;
      case kLeakyRelu: return x >= 0 ? x : alpha * x;
      case kThresholdedRelu: return x > alpha ? x : 0.0f;
      case kScaledTanh: return alpha * std::tanh(beta * x);
      case kHardSigmoid: {
        const float v = alpha * x + beta;
        return v < 0 ? 0.0f : (v > 1 ? 1.0f : v);
      }
      case kElu: return x >= 0 ? x : alpha * std::expm1(x);
      case kSoftsign: return x / (1.0f + std::fabs(x));
      case kSoftplus: return std::fmax(x, 0.0f) + std::log1p(std::exp(-std::fabs(x)));
    }
    return x;
  }
};

// The activation named `name`; its alpha and beta come, in order, from the node's
// activation_alpha and activation_beta lists for the functions that take them, else ONNX's
// defaults for that function.
Activation makeActivation(const Node& node, const std::string& name, size_t* nextAlpha, size_t* nextBeta) {
  const Attribute* alphas = node.attr("activation_alpha");
  const Attribute* betas = node.attr("activation_beta");
  const auto take = [](const Attribute* list, size_t* next, float fallback) {
    if (list && *next < list->floats.size()) return list->floats[(*next)++];
    return fallback;
  };
  Activation a;
  if (name == "Sigmoid") a.kind = Activation::kSigmoid;
  else if (name == "Tanh") a.kind = Activation::kTanh;
  else if (name == "Relu") a.kind = Activation::kRelu;
  else if (name == "Softsign") a.kind = Activation::kSoftsign;
  else if (name == "Softplus") a.kind = Activation::kSoftplus;
  else if (name == "Affine") {
    a.kind = Activation::kAffine;
    a.alpha = take(alphas, nextAlpha, 1.0f);
    a.beta = take(betas, nextBeta, 0.0f);
  } else if (name == "LeakyRelu") {
    a.kind = Activation::kLeakyRelu;
    a.alpha = take(alphas, nextAlpha, 0.01f);
  } else if (name == "ThresholdedRelu") {
    a.kind = Activation::kThresholdedRelu;
    a.alpha = take(alphas, nextAlpha, 1.0f);
  } else if (name == "ScaledTanh") {
    a.kind = Activation::kScaledTanh;
    a.alpha = take(alphas, nextAlpha, 1.0f);
    a.beta = take(betas, nextBeta, 1.0f);
  } else if (name == "HardSigmoid") {
    a.kind = Activation::kHardSigmoid;
    a.alpha = take(alphas, nextAlpha, 0.2f);
    a.beta = take(betas, nextBeta, 0.5f);
  } else if (name == "Elu") {
    a.kind = Activation::kElu;
    a.alpha = take(alphas, nextAlpha, 1.0f);
  } else {
    throwUnsupported(node, "activation '" + name + "' is not one ONNX defines for recurrent operators");
  }
  return a;
}

int64_t numDirections(const Node& node) {
  const Attribute* a = node.attr("direction");
  const std::string d = a ? a->s : "forward";
  if (d == "forward" || d == "reverse") return 1;
  if (d == "bidirectional") return 2;
  throwShape(node, "direction '" + d + "' is not forward, reverse or bidirectional");
}

// f, g, h for each direction.
std::vector<Activation> lstmActivations(const Node& node, int64_t dirs) {
  const Attribute* a = node.attr("activations");
  std::vector<std::string> names;
  if (a && !a->strings.empty()) names = a->strings;
  else for (int64_t d = 0; d < dirs; ++d) names.insert(names.end(), {"Sigmoid", "Tanh", "Tanh"});
  if (static_cast<int64_t>(names.size()) != 3 * dirs)
    throwShape(node, "activations lists " + std::to_string(names.size()) + " functions; LSTM needs 3 per direction (" +
                         std::to_string(3 * dirs) + ")");
  if (dirs == 2 && (names[0] != names[3] || names[1] != names[4] || names[2] != names[5]))
    throwUnsupported(node, "a bidirectional LSTM with different activations per direction: TensorRT requires the same "
                           "activations for the forward and reverse pass");
  size_t nextAlpha = 0, nextBeta = 0;
  std::vector<Activation> out;
  for (const auto& n : names) out.push_back(makeActivation(node, n, &nextAlpha, &nextBeta));
  return out;
}

void requireShape(const Node& node, const ValueRef& v, const Dims& want, const char* what) {
  bool ok = v.shape->size() == want.size();
  for (size_t d = 0; ok && d < want.size(); ++d) ok = (*v.shape)[d] < 0 || want[d] < 0 || (*v.shape)[d] == want[d];
  if (!ok) throwShape(node, std::string(what) + " has shape " + dimsToString(*v.shape) + " but must be " + dimsToString(want));
}

// Inputs: X, W, R, B, sequence_lens, initial_h, initial_c, P.
void inferLstm(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  requireInputs(node, in, 3, 8);
  requireAnyFloat(node, in[0], "X");
  requireSameType(node, {in[0], in[1], in[2]});
  if (node.attrInt("layout", 0) != 0)
    throwUnsupported(node, "layout=1 (batch-major): TensorRT's ONNX parser requires layout=0");
  if (node.attrInt("input_forget", 0) != 0)
    throwUnsupported(node, "input_forget=1: TensorRT's ONNX parser requires input_forget=0");
  const int64_t dirs = numDirections(node);
  lstmActivations(node, dirs);
  const Dims& x = *in[0].shape;
  if (x.size() != 3) throwShape(node, "X must be 3-D [seq_length, batch_size, input_size] but is " + dimsToString(x));
  const Dims& w = *in[1].shape;
  if (w.size() != 3) throwShape(node, "W must be 3-D [num_directions, 4*hidden_size, input_size] but is " + dimsToString(w));
  int64_t hidden = node.attrInt("hidden_size", -1);
  if (hidden < 0 && w[1] >= 0) {
    if (w[1] % 4 != 0) throwShape(node, "W's second dim " + std::to_string(w[1]) + " is not 4 * hidden_size");
    hidden = w[1] / 4;
  }
  if (hidden == 0 || hidden > (int64_t{1} << 40)) throwShape(node, "hidden_size " + std::to_string(hidden) + " is out of range");
  int64_t h4 = -1, h8 = -1, h3 = -1;
  if (hidden > 0) {
    h4 = hidden * 4;
    h8 = hidden * 8;
    h3 = hidden * 3;
  }
  const int64_t seq = x[0], batch = x[1], input = x[2];
  requireShape(node, in[1], {dirs, h4, input}, "W");
  requireShape(node, in[2], {dirs, h4, hidden}, "R");
  if (in.size() > 3 && in[3].present()) {
    requireShape(node, in[3], {dirs, h8}, "B");
    if (in[3].dtype != in[0].dtype) throwDType(node, "B must have X's element type");
  }
  if (in.size() > 4 && in[4].present()) {
    if (in[4].dtype != DataType::kInt32) throwDType(node, std::string("sequence_lens must be int32 but is ") + dataTypeName(in[4].dtype));
    requireShape(node, in[4], {batch}, "sequence_lens");
  }
  for (size_t k : {size_t{5}, size_t{6}})
    if (in.size() > k && in[k].present()) {
      requireShape(node, in[k], {dirs, batch, hidden}, k == 5 ? "initial_h" : "initial_c");
      if (in[k].dtype != in[0].dtype) throwDType(node, "initial states must have X's element type");
    }
  if (in.size() > 7 && in[7].present()) {
    requireShape(node, in[7], {dirs, h3}, "P");
    if (in[7].dtype != in[0].dtype) throwDType(node, "P must have X's element type");
  }
  const DataType t = in[0].dtype;
  if (!out->empty()) (*out)[0] = {t, {seq, dirs, batch, hidden}};
  if (out->size() > 1) (*out)[1] = {t, {dirs, batch, hidden}};
  if (out->size() > 2) (*out)[2] = {t, {dirs, batch, hidden}};
}

// Loads every element of an optional input as float (empty when absent).
template <typename E>
void loadAll(const ValueRef& v, std::vector<float>* out) {
  out->clear();
  if (!v.present()) return;
  const int64_t n = volume(*v.shape);
  out->resize(static_cast<size_t>(n));
  const auto* p = static_cast<const typename E::Storage*>(v.data);
  for (int64_t i = 0; i < n; ++i) (*out)[static_cast<size_t>(i)] = E::load(p, static_cast<size_t>(i));
}

template <typename T>
void lstmTyped(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out) {
  using E = Elem<T>;
  const auto opt = [&](size_t k) { return k < in.size() ? in[k] : ValueRef{}; };
  const Dims& x = *in[0].shape;
  const int64_t seq = x[0], batch = x[1], input = x[2];
  const int64_t dirs = numDirections(node);
  const int64_t hidden = (*in[2].shape)[2];
  const std::vector<Activation> acts = lstmActivations(node, dirs);
  const Attribute* clipAttr = node.attr("clip");
  const float clip = clipAttr ? clipAttr->f : 0.0f;
  const Attribute* dirAttr = node.attr("direction");
  const bool reverseOnly = dirAttr && dirAttr->s == "reverse";

  std::vector<float> X, W, R, B, H0, C0, P;
  loadAll<E>(in[0], &X);
  loadAll<E>(in[1], &W);
  loadAll<E>(in[2], &R);
  loadAll<E>(opt(3), &B);
  loadAll<E>(opt(5), &H0);
  loadAll<E>(opt(6), &C0);
  loadAll<E>(opt(7), &P);
  std::vector<int64_t> lens(static_cast<size_t>(batch), seq);
  if (opt(4).present()) {
    const auto* p = static_cast<const int32_t*>(in[4].data);
    for (int64_t b = 0; b < batch; ++b) {
      if (p[b] < 0 || p[b] > seq)
        throwShape(node, "sequence_lens[" + std::to_string(b) + "] is " + std::to_string(p[b]) + ", outside [0, " +
                             std::to_string(seq) + "]");
      lens[static_cast<size_t>(b)] = p[b];
    }
  }

  const size_t H = static_cast<size_t>(hidden);
  std::vector<float> Y(static_cast<size_t>(seq * dirs * batch) * H, 0.0f);
  std::vector<float> Yh(static_cast<size_t>(dirs * batch) * H, 0.0f), Yc(Yh.size(), 0.0f);
  std::vector<float> h(H), c(H), gates(4 * H);
  for (int64_t d = 0; d < dirs; ++d) {
    const bool backward = reverseOnly || d == 1;
    const Activation& f = acts[static_cast<size_t>(3 * d)];
    const Activation& g = acts[static_cast<size_t>(3 * d + 1)];
    const Activation& hAct = acts[static_cast<size_t>(3 * d + 2)];
    const float* w = W.data() + static_cast<size_t>(d) * 4 * H * static_cast<size_t>(input);
    const float* r = R.data() + static_cast<size_t>(d) * 4 * H * H;
    const float* wb = B.empty() ? nullptr : B.data() + static_cast<size_t>(d) * 8 * H;
    const float* p = P.empty() ? nullptr : P.data() + static_cast<size_t>(d) * 3 * H;
    for (int64_t b = 0; b < batch; ++b) {
      const size_t state = (static_cast<size_t>(d) * static_cast<size_t>(batch) + static_cast<size_t>(b)) * H;
      for (size_t j = 0; j < H; ++j) {
        h[j] = H0.empty() ? 0.0f : H0[state + j];
        c[j] = C0.empty() ? 0.0f : C0[state + j];
      }
      const int64_t len = lens[static_cast<size_t>(b)];
      for (int64_t s = 0; s < len; ++s) {
        const int64_t t = backward ? len - 1 - s : s;
        const float* xt = X.data() + (static_cast<size_t>(t) * static_cast<size_t>(batch) + static_cast<size_t>(b)) * static_cast<size_t>(input);
        for (size_t q = 0; q < 4 * H; ++q) {
          double acc = wb ? static_cast<double>(wb[q]) + wb[4 * H + q] : 0.0;
          const float* wr = w + q * static_cast<size_t>(input);
          for (int64_t k = 0; k < input; ++k) acc += static_cast<double>(wr[k]) * xt[k];
          const float* rr = r + q * H;
          for (size_t k = 0; k < H; ++k) acc += static_cast<double>(rr[k]) * h[k];
          gates[q] = static_cast<float>(acc);
        }
        const auto clipped = [clip](float v) { return clip > 0 ? std::fmin(std::fmax(v, -clip), clip) : v; };
        for (size_t j = 0; j < H; ++j) {
          // ONNX's peepholes: P = [P_i, P_o, P_f]; input and forget gates see the old cell.
          const float gi = f(clipped(gates[j] + (p ? p[j] * c[j] : 0.0f)));
          const float gf = f(clipped(gates[2 * H + j] + (p ? p[2 * H + j] * c[j] : 0.0f)));
          const float gc = g(clipped(gates[3 * H + j]));
          c[j] = gf * c[j] + gi * gc;
          const float go = f(clipped(gates[H + j] + (p ? p[H + j] * c[j] : 0.0f)));
          h[j] = go * hAct(c[j]);
        }
        float* yt = Y.data() + ((static_cast<size_t>(t) * static_cast<size_t>(dirs) + static_cast<size_t>(d)) * static_cast<size_t>(batch) + static_cast<size_t>(b)) * H;
        for (size_t j = 0; j < H; ++j) yt[j] = h[j];
      }
      for (size_t j = 0; j < H; ++j) {
        Yh[state + j] = h[j];
        Yc[state + j] = c[j];
      }
    }
  }
  const auto store = [&](size_t k, const std::vector<float>& v) {
    if (k >= out.size() || !out[k].data) return;
    auto* po = static_cast<typename E::Storage*>(out[k].data);
    for (size_t i = 0; i < v.size(); ++i) E::store(po, i, v[i]);
  };
  store(0, Y);
  store(1, Yh);
  store(2, Yc);
}

void runLstm(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out, KernelScratch&) {
  dispatchAnyFloat(node, in[0].dtype, [&](auto tag) { lstmTyped<typename decltype(tag)::type>(node, in, out); });
}

}  // namespace

void registerRnnOps(OpRegistry& registry) {
  // 7 dropped the legacy output_sequence attribute, 14 added layout, 22 bfloat16. Every output
  // is optional.
  registry.add({"LSTM", 7, kMaxReviewedOpset, inferLstm, runLstm, false, 0, 3, {{7, 3, 8}}});
}

}  // namespace sim
}  // namespace tnrt
