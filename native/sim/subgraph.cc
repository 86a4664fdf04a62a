#include "subgraph.h"

#include <map>

#include "kernels/kernel_util.h"
#include "onnx_reader.h"
#include "shape_inference.h"

namespace tnrt {
namespace sim {

ValueRef OwnedTensor::ref() const { return {dtype, &shape, data.empty() ? kEmptyTensorData : data.data()}; }

Subgraph::Subgraph(const Node& owner) : owner_(owner) {
  const Attribute* body = owner.attr(kBodyAttr);
  if (!body || body->type != AttrType::kString)
    throw BackendError(ErrorCode::kParse, owner.label() + ": has no body (the reader keeps it in the 'body' attribute)");
  std::vector<ParserError> errors;
  OnnxReader reader("");
  // Bodies use the opset the model imports for the default domain, which is the node's own.
  const std::map<std::string, int64_t> opsets{{"", owner.opset}};
  graph_ = reader.readBody(reinterpret_cast<const uint8_t*>(body->s.data()), body->s.size(), owner.name + "/body/",
                           opsets, &errors);
  if (!graph_) {
    std::string message = owner.label() + ": its body cannot be read";
    if (!errors.empty()) message += ": " + (errors[0].node.empty() ? "" : "node '" + errors[0].node + "': ") + errors[0].description;
    throw BackendError(ErrorCode::kParse, message);
  }
  const auto& registry = OpRegistry::instance();
  for (const Node& n : graph_->nodes) {
    const OpDef* op = registry.find(n.domain, n.opType, n.opset);
    if (!op) throw BackendError(ErrorCode::kUnsupported, registry.unsupportedMessage(n));
    // The arity checks checkGraph makes for the main graph, which the kernels rely on.
    std::vector<ParserError> problems;
    Graph one;
    one.nodes.push_back(n);
    if (!registry.checkGraph(one, &problems)) throw BackendError(ErrorCode::kParse, problems[0].description);
    ops_.push_back(op);
    guards_.push_back(n.guards());
  }
  refs_.resize(graph_->values.size());
  shapes_.resize(graph_->values.size());
  storage_.resize(graph_->values.size());
}

void Subgraph::checkInputs(const std::vector<ValueRef>& inputs) const {
  if (inputs.size() != graph_->inputs.size())
    throwShape(owner_, "feeds its body " + std::to_string(inputs.size()) + " values but the body takes " +
                           std::to_string(numDeclaredInputs()) + " inputs and reads " +
                           std::to_string(numOuterInputs()) + " outer-scope values");
  for (size_t i = 0; i < numDeclaredInputs(); ++i) {
    const Value& v = graph_->values[static_cast<size_t>(graph_->inputs[i])];
    if (v.hasType && inputs[i].present() && v.dtype != inputs[i].dtype)
      throwDType(owner_, "body input '" + v.name + "' is declared " + dataTypeName(v.dtype) + " but receives " +
                             dataTypeName(inputs[i].dtype));
  }
}

std::vector<OutputDesc> Subgraph::inferOutputs(const std::vector<ValueRef>& inputs) {
  checkInputs(inputs);
  std::vector<Dims> shapes(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].present()) throwShape(owner_, "cannot feed an omitted value to its body");
    graph_->values[static_cast<size_t>(graph_->inputs[i])].dtype = inputs[i].dtype;
    shapes[i] = *inputs[i].shape;
  }
  // Folding only what shape computations need; the body's contents vary per iteration.
  ShapeInference inference(*graph_, size_t{1} << 16, activeMaxTensorBytes());
  try {
    inference.run(shapes);
  } catch (const BackendError& e) {
    throw BackendError(e.code(), owner_.label() + ": in its body: " + e.what());
  }
  std::vector<OutputDesc> out(graph_->outputs.size());
  for (size_t k = 0; k < out.size(); ++k) {
    const ValueState& s = inference.value(graph_->outputs[k]);
    if (!s.defined) throwShape(owner_, "body output " + std::to_string(k) + " is never computed");
    out[k] = {s.dtype, s.shape};
  }
  return out;
}

const std::vector<ValueRef>& Subgraph::run(const std::vector<ValueRef>& inputs) {
  checkInputs(inputs);
  const Graph& g = *graph_;
  const uint64_t limit = activeMaxTensorBytes();
  for (size_t v = 0; v < g.values.size(); ++v) {
    refs_[v] = ValueRef{};
    const int32_t init = g.values[v].initializer;
    if (init >= 0) {
      const Tensor& t = g.initializers[static_cast<size_t>(init)];
      refs_[v] = {t.dtype, &t.shape, t.data.empty() ? kEmptyTensorData : t.data.data()};
    }
  }
  for (size_t i = 0; i < inputs.size(); ++i) {
    const auto id = static_cast<size_t>(g.inputs[i]);
    shapes_[id] = *inputs[i].shape;
    refs_[id] = {inputs[i].dtype, &shapes_[id], inputs[i].data};
  }
  std::vector<ValueRef>& ins = ins_;
  std::vector<OutputDesc>& descs = descs_;
  std::vector<OutputRef>& outs = outs_;
  std::vector<std::vector<uint8_t>>& omitted = omitted_;
  for (size_t n = 0; n < g.nodes.size(); ++n) {
    const Node& node = g.nodes[n];
    const OpDef* op = ops_[n];
    // Guards outermost first, as the main executor: a branch not taken does not run, and a
    // condition inside a skipped branch was never computed (so it is not present).
    bool skip = false;
    for (const Guard& gd : guards_[n]) {
      const ValueRef& c = refs_[static_cast<size_t>(gd.cond)];
      if (!c.present() || !readCondition(node, c.dtype, *c.shape, c.data, gd.whenTrue)) {
        skip = true;
        break;
      }
    }
    if (skip) {
      for (int32_t id : node.outputs)
        if (id >= 0) refs_[static_cast<size_t>(id)] = ValueRef{};
      continue;
    }
    ins.assign(node.inputs.size(), ValueRef{});
    for (size_t k = 0; k < node.inputs.size(); ++k) {
      if (node.inputs[k] < 0) continue;
      ins[k] = refs_[static_cast<size_t>(node.inputs[k])];
      // An If merge lists both branches' outputs and reads only the taken side's.
      if (!ins[k].present() && node.isIfMerge() && k > 0) {
        static const Dims kNotTaken;
        ins[k] = {DataType::kFloat32, &kNotTaken, nullptr};
        continue;
      }
      if (!ins[k].present())
        throwShape(node, "reads '" + g.values[static_cast<size_t>(node.inputs[k])].name +
                             "', which a branch not taken should have computed");
    }
    descs.assign(node.outputs.size(), OutputDesc{});
    op->infer(node, ins, &descs);
    outs.assign(node.outputs.size(), OutputRef{});
    omitted.resize(node.outputs.size());
    for (size_t k = 0; k < node.outputs.size(); ++k) {
      const int32_t id = node.outputs[k];
      const auto bytes = static_cast<size_t>(checkTensorBytesLazy(
          [&] { return node.label() + ": output " + std::to_string(k); }, descs[k].dtype, descs[k].shape, limit));
      if (id < 0) {
        omitted[k].resize(std::max<size_t>(bytes, 1));
        outs[k] = {descs[k].dtype, &descs[k].shape, omitted[k].data()};
        continue;
      }
      const auto v = static_cast<size_t>(id);
      shapes_[v] = descs[k].shape;
      void* data;
      if (k == 0 && op->aliasesInput0) {
        data = const_cast<void*>(ins[0].data);
      } else if (!bytes) {
        data = const_cast<void*>(kEmptyTensorData);
      } else {
        storage_[v].resize(bytes);
        data = storage_[v].data();
      }
      refs_[v] = {descs[k].dtype, &shapes_[v], data};
      outs[k] = {descs[k].dtype, &shapes_[v], bytes ? data : nullptr};
    }
    if (!(op->aliasesInput0 && node.outputs.size() == 1)) op->kernel(node, ins, outs, scratch_);
  }
  outputs_.assign(g.outputs.size(), ValueRef{});
  for (size_t k = 0; k < g.outputs.size(); ++k) {
    outputs_[k] = refs_[static_cast<size_t>(g.outputs[k])];
    if (!outputs_[k].present()) throwShape(owner_, "body output " + std::to_string(k) + " was not computed");
  }
  return outputs_;
}

uint64_t Subgraph::hostBytes() const {
  uint64_t bytes = scratch_.a.capacity() + scratch_.b.capacity() + scratch_.c.capacity();
  for (const auto& s : storage_) bytes += s.capacity();
  for (const auto& s : omitted_) bytes += s.capacity();
  return bytes;
}

Subgraph& SubgraphCache::get(const Node& owner) {
  std::unique_ptr<Subgraph>& body = bodies_[&owner];
  if (!body) {
    try {
      body = std::make_unique<Subgraph>(owner);
    } catch (...) {
      bodies_.erase(&owner);
      throw;
    }
  }
  return *body;
}

uint64_t SubgraphCache::hostBytes() const {
  uint64_t bytes = 0;
  for (const auto& entry : bodies_) bytes += entry.second->hostBytes();
  return bytes;
}

namespace {
thread_local SubgraphCache* tActiveCache = nullptr;
}  // namespace

ActiveSubgraphCache::ActiveSubgraphCache(SubgraphCache& cache) : saved_(tActiveCache) { tActiveCache = &cache; }
ActiveSubgraphCache::~ActiveSubgraphCache() { tActiveCache = saved_; }

Subgraph& preparedBody(const Node& owner, std::unique_ptr<Subgraph>* local) {
  if (tActiveCache) return tActiveCache->get(owner);
  *local = std::make_unique<Subgraph>(owner);
  return **local;
}

}  // namespace sim
}  // namespace tnrt
