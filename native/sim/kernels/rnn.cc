// LSTM, GRU and RNN: forward, reverse and bidirectional, with ONNX's activation lists, clip,
// per-batch sequence lengths and initial states (LSTM's peepholes, GRU's linear_before_reset). Restrictions follow TensorRT's ONNX parser
// (onnx-tensorrt's operator table): layout must be 0, input_forget 0, and a bidirectional
// operator uses the same activations in both directions. The three share their checks and
// the walk over directions, batch entries and sequence steps (walkSequences); each keeps its
// own cell arithmetic.
//
// Gate order is ONNX's i, o, f, c (W, R and B stack them in that order):
//   i = f(W_i x + R_i h + P_i * c + b_i)    f_t = f(W_f x + R_f h + P_f * c + b_f)
//   g = g(W_c x + R_c h + b_c)              c' = f_t * c + i * g
//   o = f(W_o x + R_o h + P_o * c' + b_o)   h' = o * h(c')
// GRU's order is z, r, h:
//   z = f(W_z x + R_z h + b_z)   r = f(W_r x + R_r h + b_r)
//   h~ = g(W_h x + R_h (r * h) + b_h), or with linear_before_reset g(W_h x + r * (R_h h + Rb_h) + Wb_h)
//   h' = (1 - z) * h~ + z * h
// RNN: h' = f(W x + R h + b). Steps past a sequence's length leave Y at 0.
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

// What tells the three operators apart outside their cells' arithmetic.
struct CellKind {
  int64_t gates;                        // stacked in W, R and B: LSTM 4, GRU 3, RNN 1
  size_t states;                        // h, and LSTM's c
  std::vector<const char*> activations;  // one direction's defaults
};

CellKind cellKind(const Node& node) {
  if (node.opType == "LSTM") return {4, 2, {"Sigmoid", "Tanh", "Tanh"}};
  if (node.opType == "GRU") return {3, 1, {"Sigmoid", "Tanh"}};
  return {1, 1, {"Tanh"}};
}

// The activations of every direction (LSTM f, g, h; GRU f, g; RNN f), the same in both
// directions of a bidirectional operator as TensorRT requires.
std::vector<Activation> cellActivations(const Node& node, int64_t dirs) {
  const CellKind kind = cellKind(node);
  const size_t per = kind.activations.size();
  const Attribute* a = node.attr("activations");
  std::vector<std::string> names;
  if (a && !a->strings.empty()) names = a->strings;
  else
    for (int64_t d = 0; d < dirs; ++d) names.insert(names.end(), kind.activations.begin(), kind.activations.end());
  if (names.size() != per * static_cast<size_t>(dirs))
    throwShape(node, "activations lists " + std::to_string(names.size()) + " functions; " + node.opType + " needs " +
                         std::to_string(per) + " per direction (" + std::to_string(per * static_cast<size_t>(dirs)) + ")");
  if (dirs == 2)
    for (size_t k = 0; k < per; ++k)
      if (names[k] != names[per + k])
        throwUnsupported(node, "a bidirectional " + node.opType + " with different activations per direction: TensorRT "
                               "requires the same activations for the forward and reverse pass");
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

// Inputs: X, W, R, B, sequence_lens, initial_h, then LSTM's initial_c and P. Outputs: Y, Y_h,
// and LSTM's Y_c.
void inferRecurrent(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  const CellKind kind = cellKind(node);
  const bool lstm = kind.states == 2;
  const int64_t gates = kind.gates;
  requireInputs(node, in, 3, lstm ? 8 : 6);
  requireAnyFloat(node, in[0], "X");
  requireSameType(node, {in[0], in[1], in[2]});
  if (node.attrInt("layout", 0) != 0)
    throwUnsupported(node, "layout=1 (batch-major): TensorRT's ONNX parser requires layout=0");
  if (lstm && node.attrInt("input_forget", 0) != 0)
    throwUnsupported(node, "input_forget=1: TensorRT's ONNX parser requires input_forget=0");
  const int64_t dirs = numDirections(node);
  cellActivations(node, dirs);
  const Dims& x = *in[0].shape;
  if (x.size() != 3) throwShape(node, "X must be 3-D [seq_length, batch_size, input_size] but is " + dimsToString(x));
  const Dims& w = *in[1].shape;
  if (w.size() != 3)
    throwShape(node, "W must be 3-D [num_directions, " + std::to_string(gates) + "*hidden_size, input_size] but is " +
                         dimsToString(w));
  int64_t hidden = node.attrInt("hidden_size", -1);
  if (hidden < 0 && w[1] >= 0) {
    if (w[1] % gates != 0) throwShape(node, "W's second dim " + std::to_string(w[1]) + " is not a multiple of " + std::to_string(gates));
    hidden = w[1] / gates;
  }
  if (hidden == 0 || hidden > (int64_t{1} << 40)) throwShape(node, "hidden_size " + std::to_string(hidden) + " is out of range");
  const int64_t hg = hidden > 0 ? hidden * gates : -1, hb = hidden > 0 ? 2 * hidden * gates : -1;
  const int64_t seq = x[0], batch = x[1], input = x[2];
  requireShape(node, in[1], {dirs, hg, input}, "W");
  requireShape(node, in[2], {dirs, hg, hidden}, "R");
  if (in.size() > 3 && in[3].present()) {
    requireShape(node, in[3], {dirs, hb}, "B");
    if (in[3].dtype != in[0].dtype) throwDType(node, "B must have X's element type");
  }
  if (in.size() > 4 && in[4].present()) {
    if (in[4].dtype != DataType::kInt32) throwDType(node, std::string("sequence_lens must be int32 but is ") + dataTypeName(in[4].dtype));
    requireShape(node, in[4], {batch}, "sequence_lens");
  }
  for (size_t k = 0; k < kind.states; ++k) {
    const size_t i = 5 + k;
    const char* name = k == 0 ? "initial_h" : "initial_c";
    if (in.size() > i && in[i].present()) {
      requireShape(node, in[i], {dirs, batch, hidden}, name);
      if (in[i].dtype != in[0].dtype) throwDType(node, std::string(name) + " must have X's element type");
    }
  }
  if (lstm && in.size() > 7 && in[7].present()) {
    requireShape(node, in[7], {dirs, hidden > 0 ? 3 * hidden : -1}, "P");
    if (in[7].dtype != in[0].dtype) throwDType(node, "P must have X's element type");
  }
  const DataType t = in[0].dtype;
  if (!out->empty()) (*out)[0] = {t, {seq, dirs, batch, hidden}};
  for (size_t k = 0; k < kind.states; ++k)
    if (out->size() > 1 + k) (*out)[1 + k] = {t, {dirs, batch, hidden}};
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

ValueRef optionalInput(const std::vector<ValueRef>& in, size_t k) { return k < in.size() ? in[k] : ValueRef{}; }

// The walk every recurrent operator makes: each direction (a reverse one from each sequence's
// last step back), each batch entry, each step up to that entry's sequence length, from the
// initial states (inputs 5 and up, zeros when absent). `step(d, xt, state)` advances
// state[0] (h) and the cell's other states by one input row xt of direction d. Writes Y
// (zero past each sequence's length) to output 0 and the final states to outputs 1 and up.
template <typename E, typename Step>
void walkSequences(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out, size_t states,
                   Step&& step) {
  const Dims& x = *in[0].shape;
  const int64_t seq = x[0];
  const size_t NB = static_cast<size_t>(x[1]), I = static_cast<size_t>(x[2]);
  const size_t dirs = static_cast<size_t>(numDirections(node));
  const size_t H = static_cast<size_t>((*in[2].shape)[2]);
  const Attribute* dirAttr = node.attr("direction");
  const bool reverseOnly = dirAttr && dirAttr->s == "reverse";

  std::vector<int64_t> lens(NB, seq);
  if (optionalInput(in, 4).present()) {
    const auto* p = static_cast<const int32_t*>(in[4].data);
    for (size_t b = 0; b < NB; ++b) {
      if (p[b] < 0 || p[b] > seq)
        throwShape(node, "sequence_lens[" + std::to_string(b) + "] is " + std::to_string(p[b]) + ", outside [0, " +
                             std::to_string(seq) + "]");
      lens[b] = p[b];
    }
  }
  std::vector<float> X;
  loadAll<E>(in[0], &X);
  std::vector<std::vector<float>> initial(states), finals(states, std::vector<float>(dirs * NB * H, 0.0f));
  for (size_t k = 0; k < states; ++k) loadAll<E>(optionalInput(in, 5 + k), &initial[k]);

  std::vector<float> Y(static_cast<size_t>(seq) * dirs * NB * H, 0.0f);
  std::vector<std::vector<float>> state(states, std::vector<float>(H));
  for (size_t d = 0; d < dirs; ++d) {
    const bool backward = reverseOnly || d == 1;
    for (size_t b = 0; b < NB; ++b) {
      const size_t offset = (d * NB + b) * H;
      for (size_t k = 0; k < states; ++k)
        for (size_t j = 0; j < H; ++j) state[k][j] = initial[k].empty() ? 0.0f : initial[k][offset + j];
      const int64_t len = lens[b];
      for (int64_t s = 0; s < len; ++s) {
        const size_t t = static_cast<size_t>(backward ? len - 1 - s : s);
        step(d, X.data() + (t * NB + b) * I, state);
        float* yt = Y.data() + ((t * dirs + d) * NB + b) * H;
        for (size_t j = 0; j < H; ++j) yt[j] = state[0][j];
      }
      for (size_t k = 0; k < states; ++k)
        for (size_t j = 0; j < H; ++j) finals[k][offset + j] = state[k][j];
    }
  }
  const auto store = [&](size_t k, const std::vector<float>& v) {
    if (k >= out.size() || !out[k].data) return;
    auto* po = static_cast<typename E::Storage*>(out[k].data);
    for (size_t i = 0; i < v.size(); ++i) E::store(po, i, v[i]);
  };
  store(0, Y);
  for (size_t k = 0; k < states; ++k) store(1 + k, finals[k]);
}

float clipTo(float clip, float v) { return clip > 0 ? std::fmin(std::fmax(v, -clip), clip) : v; }

// ---- LSTM ----

template <typename T>
void lstmTyped(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out) {
  using E = Elem<T>;
  const size_t I = static_cast<size_t>((*in[0].shape)[2]);
  const size_t H = static_cast<size_t>((*in[2].shape)[2]);
  const std::vector<Activation> acts = cellActivations(node, numDirections(node));
  const Attribute* clipAttr = node.attr("clip");
  const float clip = clipAttr ? clipAttr->f : 0.0f;
  std::vector<float> W, R, B, P;
  loadAll<E>(in[1], &W);
  loadAll<E>(in[2], &R);
  loadAll<E>(optionalInput(in, 3), &B);
  loadAll<E>(optionalInput(in, 7), &P);

  std::vector<float> gates(4 * H);
  walkSequences<E>(node, in, out, 2, [&](size_t d, const float* xt, std::vector<std::vector<float>>& state) {
    std::vector<float>& h = state[0];
    std::vector<float>& c = state[1];
    const Activation& f = acts[3 * d];
    const Activation& g = acts[3 * d + 1];
    const Activation& hAct = acts[3 * d + 2];
    const float* w = W.data() + d * 4 * H * I;
    const float* r = R.data() + d * 4 * H * H;
    const float* wb = B.empty() ? nullptr : B.data() + d * 8 * H;
    const float* p = P.empty() ? nullptr : P.data() + d * 3 * H;
    for (size_t q = 0; q < 4 * H; ++q) {
      double acc = wb ? static_cast<double>(wb[q]) + wb[4 * H + q] : 0.0;
      const float* wr = w + q * I;
      for (size_t k = 0; k < I; ++k) acc += static_cast<double>(wr[k]) * xt[k];
      const float* rr = r + q * H;
      for (size_t k = 0; k < H; ++k) acc += static_cast<double>(rr[k]) * h[k];
      gates[q] = static_cast<float>(acc);
    }
    for (size_t j = 0; j < H; ++j) {
      // ONNX's peepholes: P = [P_i, P_o, P_f]; input and forget gates see the old cell.
      const float gi = f(clipTo(clip, gates[j] + (p ? p[j] * c[j] : 0.0f)));
      const float gf = f(clipTo(clip, gates[2 * H + j] + (p ? p[2 * H + j] * c[j] : 0.0f)));
      const float gc = g(clipTo(clip, gates[3 * H + j]));
      c[j] = gf * c[j] + gi * gc;
      const float go = f(clipTo(clip, gates[H + j] + (p ? p[H + j] * c[j] : 0.0f)));
      h[j] = go * hAct(c[j]);
    }
  });
}

void runLstm(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out, KernelScratch&) {
  dispatchAnyFloat(node, in[0].dtype, [&](auto tag) { lstmTyped<typename decltype(tag)::type>(node, in, out); });
}

// ---- GRU and RNN ----

template <typename T>
void cellTyped(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out) {
  using E = Elem<T>;
  const bool gru = node.opType == "GRU";
  const size_t G = gru ? 3 : 1;
  const size_t I = static_cast<size_t>((*in[0].shape)[2]);
  const size_t H = static_cast<size_t>((*in[2].shape)[2]);
  const std::vector<Activation> acts = cellActivations(node, numDirections(node));
  const Attribute* clipAttr = node.attr("clip");
  const float clip = clipAttr ? clipAttr->f : 0.0f;
  const bool linearBeforeReset = gru && node.attrInt("linear_before_reset", 0) != 0;
  std::vector<float> W, R, B;
  loadAll<E>(in[1], &W);
  loadAll<E>(in[2], &R);
  loadAll<E>(optionalInput(in, 3), &B);

  // wx: W x + Wb per gate; rh: R h + Rb per gate (kept apart for GRU's reset gate).
  std::vector<float> wx(G * H), rh(G * H), rg(H), candidate(H);
  walkSequences<E>(node, in, out, 1, [&](size_t d, const float* xt, std::vector<std::vector<float>>& state) {
    std::vector<float>& h = state[0];
    const Activation& f = acts[d * (gru ? 2 : 1)];
    const Activation& g = gru ? acts[d * 2 + 1] : f;
    const float* w = W.data() + d * G * H * I;
    const float* r = R.data() + d * G * H * H;
    const float* wb = B.empty() ? nullptr : B.data() + d * 2 * G * H;
    const float* rb = wb ? wb + G * H : nullptr;
    for (size_t q = 0; q < G * H; ++q) {
      double ax = wb ? wb[q] : 0.0, ah = rb ? rb[q] : 0.0;
      const float* wr = w + q * I;
      for (size_t k = 0; k < I; ++k) ax += static_cast<double>(wr[k]) * xt[k];
      const float* rr = r + q * H;
      for (size_t k = 0; k < H; ++k) ah += static_cast<double>(rr[k]) * h[k];
      wx[q] = static_cast<float>(ax);
      rh[q] = static_cast<float>(ah);
    }
    if (!gru) {
      for (size_t j = 0; j < H; ++j) h[j] = f(clipTo(clip, wx[j] + rh[j]));
      return;
    }
    // The candidate's recurrent term without linear_before_reset is R_h (r * h) + Rb_h,
    // which needs the reset gate before the product: computed here from r.
    for (size_t j = 0; j < H; ++j) rg[j] = f(clipTo(clip, wx[H + j] + rh[H + j]));
    for (size_t j = 0; j < H; ++j) {
      double rec;
      if (linearBeforeReset) {
        rec = static_cast<double>(rg[j]) * rh[2 * H + j];
      } else {
        rec = rb ? rb[2 * H + j] : 0.0;
        const float* rr = r + (2 * H + j) * H;
        for (size_t k = 0; k < H; ++k) rec += static_cast<double>(rr[k]) * (rg[k] * h[k]);
      }
      candidate[j] = g(clipTo(clip, static_cast<float>(wx[2 * H + j] + rec)));
    }
    for (size_t j = 0; j < H; ++j) {
      const float z = f(clipTo(clip, wx[j] + rh[j]));
      h[j] = (1.0f - z) * candidate[j] + z * h[j];
    }
  });
}

void runCell(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out, KernelScratch&) {
  dispatchAnyFloat(node, in[0].dtype, [&](auto tag) { cellTyped<typename decltype(tag)::type>(node, in, out); });
}

}  // namespace

void registerRnnOps(OpRegistry& registry) {
  // 7 dropped the legacy output_sequence attribute, 14 added layout, 22 bfloat16. Every output
  // is optional.
  registry.add({"LSTM", 7, kMaxReviewedOpset, inferRecurrent, runLstm, false, 0, 3, {{7, 3, 8}}});
  // GRU and RNN: the same revisions (GRU 7 also fixed linear_before_reset's meaning).
  registry.add({"GRU", 7, kMaxReviewedOpset, inferRecurrent, runCell, false, 0, 2, {{7, 3, 6}}});
  registry.add({"RNN", 7, kMaxReviewedOpset, inferRecurrent, runCell, false, 0, 2, {{7, 3, 6}}});
}

}  // namespace sim
}  // namespace tnrt
