// Einsum: sums of products over labelled axes ("bij,bjk->bik"). As TensorRT's einsum layer
// (onnx-tensorrt docs/operators.md): float32 and float16 only (bfloat16 too, computed in
// float32 like float16), no ellipsis, no label repeated within one term (diagonals), and no
// broadcasting (every axis with a label has the same extent wherever the label appears).
// Without "->" the output is the labels that appear once, in ASCII order (numpy's).
//
// The kernel walks every combination of label values once: output labels outermost, summed
// labels inside, the product of the inputs' elements accumulated in double.
#include <string>

#include "kernel_util.h"

namespace tnrt {
namespace sim {

namespace {

constexpr size_t kMaxLabels = 52;  // a-z, A-Z

struct Equation {
  std::vector<std::vector<int>> terms;  // label ids per input, per axis
  std::vector<int> output;              // label ids of the output axes
  std::vector<int> summed;              // label ids summed over (in no output axis)
  int labels = 0;                       // distinct labels
};

int labelId(char c) {
  if (c >= 'a' && c <= 'z') return c - 'a';
  if (c >= 'A' && c <= 'Z') return 26 + (c - 'A');
  return -1;
}

Equation parseEquation(const Node& node, size_t inputs) {
  const Attribute* a = node.attr("equation");
  if (!a || a->type != AttrType::kString) throwShape(node, "attribute equation (a string) is required");
  std::string eq;
  for (char c : a->s)
    if (c != ' ') eq += c;
  if (eq.find("...") != std::string::npos)
    throwUnsupported(node, "equation '" + a->s + "' uses an ellipsis, which TensorRT's Einsum does not support");
  const size_t arrow = eq.find("->");
  const std::string lhs = eq.substr(0, arrow);
  std::vector<std::string> terms(1);
  for (char c : lhs) {
    if (c == ',') terms.emplace_back();
    else terms.back() += c;
  }
  if (terms.size() != inputs)
    throwShape(node, "equation '" + a->s + "' has " + std::to_string(terms.size()) + " input terms but the node has " +
                         std::to_string(inputs) + " inputs");
  Equation e;
  int ids[kMaxLabels];
  std::fill(ids, ids + kMaxLabels, -1);
  int counts[kMaxLabels] = {};
  auto idOf = [&](char c) {
    const int l = labelId(c);
    if (l < 0) throwShape(node, "equation '" + a->s + "' has '" + std::string(1, c) + "', which is not a letter");
    return l;
  };
  for (const std::string& t : terms) {
    e.terms.emplace_back();
    bool seen[kMaxLabels] = {};
    for (char c : t) {
      const int l = idOf(c);
      if (seen[l])
        throwUnsupported(node, "equation '" + a->s + "' repeats '" + std::string(1, c) +
                                   "' within a term (a diagonal), which TensorRT's Einsum does not support");
      seen[l] = true;
      ++counts[l];
      if (ids[l] < 0) ids[l] = e.labels++;
      e.terms.back().push_back(ids[l]);
    }
  }
  bool inOutput[kMaxLabels] = {};
  if (arrow != std::string::npos) {
    for (char c : eq.substr(arrow + 2)) {
      const int l = idOf(c);
      if (ids[l] < 0) throwShape(node, "equation '" + a->s + "' outputs '" + std::string(1, c) + "', which no input has");
      if (inOutput[ids[l]]) throwShape(node, "equation '" + a->s + "' outputs '" + std::string(1, c) + "' twice");
      inOutput[ids[l]] = true;
      e.output.push_back(ids[l]);
    }
  } else {
    // numpy's order: ASCII, so the upper-case labels (ids 26-51) come first.
    for (int k = 0; k < static_cast<int>(kMaxLabels); ++k) {
      const int l = (k + 26) % static_cast<int>(kMaxLabels);
      if (counts[l] == 1) {
        inOutput[ids[l]] = true;
        e.output.push_back(ids[l]);
      }
    }
  }
  for (int id = 0; id < e.labels; ++id)
    if (!inOutput[id]) e.summed.push_back(id);
  return e;
}

// The extent of every label, checked for agreement across inputs (-1 where unknown).
std::vector<int64_t> labelExtents(const Node& node, const Equation& e, const std::vector<ValueRef>& in) {
  std::vector<int64_t> extent(static_cast<size_t>(e.labels), -1);
  for (size_t i = 0; i < in.size(); ++i) {
    const Dims& d = *in[i].shape;
    if (d.size() != e.terms[i].size())
      throwShape(node, "input " + std::to_string(i) + " has shape " + dimsToString(d) + " but its equation term has " +
                           std::to_string(e.terms[i].size()) + " labels");
    for (size_t k = 0; k < d.size(); ++k) {
      int64_t& x = extent[static_cast<size_t>(e.terms[i][k])];
      if (d[k] < 0) continue;
      if (x >= 0 && x != d[k])
        throwShape(node, "a label has extent " + std::to_string(x) + " in one input and " + std::to_string(d[k]) +
                             " in another; TensorRT's Einsum does not broadcast");
      x = d[k];
    }
  }
  return extent;
}

void inferEinsum(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  requireInputs(node, in, 1, kMaxLabels);
  for (const ValueRef& v : in) requireAnyFloat(node, v, "an input");
  requireSameType(node, in);
  const Equation e = parseEquation(node, in.size());
  const std::vector<int64_t> extent = labelExtents(node, e, in);
  (*out)[0].dtype = in[0].dtype;
  (*out)[0].shape.clear();
  for (int id : e.output) (*out)[0].shape.push_back(extent[static_cast<size_t>(id)]);
}

template <typename T>
void einsumTyped(const Node& node, const std::vector<ValueRef>& in, const OutputRef& out) {
  using E = Elem<T>;
  const Equation e = parseEquation(node, in.size());
  const std::vector<int64_t> extent = labelExtents(node, e, in);
  // Element stride of each label in each input (0 where the input lacks the label).
  std::vector<std::vector<int64_t>> stride(in.size(), std::vector<int64_t>(static_cast<size_t>(e.labels), 0));
  for (size_t i = 0; i < in.size(); ++i) {
    int64_t s = 1;
    for (size_t k = e.terms[i].size(); k-- > 0;) {
      stride[i][static_cast<size_t>(e.terms[i][k])] = s;
      s *= (*in[i].shape)[k];
    }
  }
  int64_t summedCount = 1;
  for (int id : e.summed) summedCount *= extent[static_cast<size_t>(id)];
  const int64_t outCount = volume(*out.shape);
  std::vector<int64_t> value(static_cast<size_t>(e.labels), 0), offset(in.size(), 0);
  auto* py = static_cast<typename E::Storage*>(out.data);
  // Odometer over `labels` (innermost last), keeping every input's offset in step.
  auto advance = [&](const std::vector<int>& labels) {
    for (size_t k = labels.size(); k-- > 0;) {
      const auto l = static_cast<size_t>(labels[k]);
      for (size_t i = 0; i < in.size(); ++i) offset[i] += stride[i][l];
      if (++value[l] < extent[l]) return;
      for (size_t i = 0; i < in.size(); ++i) offset[i] -= stride[i][l] * extent[l];
      value[l] = 0;
    }
  };
  for (int64_t o = 0; o < outCount; ++o) {
    double sum = 0.0;
    for (int64_t r = 0; r < summedCount; ++r) {
      double product = 1.0;
      for (size_t i = 0; i < in.size(); ++i)
        product *= E::load(static_cast<const typename E::Storage*>(in[i].data), static_cast<size_t>(offset[i]));
      sum += product;
      advance(e.summed);
    }
    E::store(py, static_cast<size_t>(o), static_cast<float>(sum));
    advance(e.output);
  }
}

void runEinsum(const Node& node, const std::vector<ValueRef>& in, const std::vector<OutputRef>& out, KernelScratch&) {
  dispatchAnyFloat(node, in[0].dtype, [&](auto tag) { einsumTyped<typename decltype(tag)::type>(node, in, out[0]); });
}

}  // namespace

void registerEinsumOps(OpRegistry& registry) {
  registry.add({"Einsum", 12, kMaxReviewedOpset, inferEinsum, runEinsum, false, 1, 1, {{12, 1, kVariadicInputs}}});
}

}  // namespace sim
}  // namespace tnrt
