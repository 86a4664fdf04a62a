#include "graph.h"

#include <algorithm>

namespace tnrt {
namespace sim {

const Attribute* Node::attr(const char* attrName) const {
  for (const auto& a : attributes)
    if (a.name == attrName) return &a;
  return nullptr;
}

int64_t Node::attrInt(const char* attrName, int64_t fallback) const {
  const Attribute* a = attr(attrName);
  return a && a->type == AttrType::kInt ? a->i : fallback;
}

float Node::attrFloat(const char* attrName, float fallback) const {
  const Attribute* a = attr(attrName);
  return a && a->type == AttrType::kFloat ? a->f : fallback;
}

std::string Node::label() const { return "node '" + name + "' (" + opType + ")"; }

std::vector<Guard> Node::guards() const {
  std::vector<Guard> out;
  const Attribute* a = attr(kGuardAttr);
  if (!a || a->type != AttrType::kInts) return out;
  for (size_t k = 0; k + 1 < a->ints.size(); k += 2) {
    const int64_t id = a->ints[k];
    out.push_back({id >= 0 && id <= INT32_MAX ? static_cast<int32_t>(id) : -1, a->ints[k + 1] != 0});
  }
  return out;
}

namespace {

// True when `prefix` is a prefix of `list`: a value produced under guards `prefix` is live
// wherever guards `list` hold.
bool guardsPrefix(const std::vector<Guard>& prefix, const std::vector<Guard>& list) {
  if (prefix.size() > list.size()) return false;
  for (size_t k = 0; k < prefix.size(); ++k)
    if (prefix[k].cond != list[k].cond || prefix[k].whenTrue != list[k].whenTrue) return false;
  return true;
}

}  // namespace

int32_t Graph::valueId(const std::string& name) {
  auto it = index_.find(name);
  if (it != index_.end()) return it->second;
  int32_t id = static_cast<int32_t>(values.size());
  Value v;
  v.name = name;
  values.push_back(std::move(v));
  index_.emplace(name, id);
  return id;
}

int32_t Graph::findValue(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? -1 : it->second;
}

void Graph::reindex() {
  index_.clear();
  for (size_t i = 0; i < values.size(); ++i) index_.emplace(values[i].name, static_cast<int32_t>(i));
}

bool Graph::finalize(std::vector<ParserError>* errors) {
  size_t errorsBefore = errors->size();
  auto fail = [&](const Node* node, int32_t nodeIndex, const std::string& msg) {
    ParserError e;
    if (node) {
      e.node = node->name;
      e.op = node->opType;
    }
    e.nodeIndex = nodeIndex;
    e.description = msg;
    errors->push_back(std::move(e));
  };

  // producer[v]: -2 graph input or initializer, -1 undefined, else the node index.
  std::vector<int32_t> producer(values.size(), -1);
  for (int32_t v : inputs) producer[static_cast<size_t>(v)] = -2;
  for (size_t v = 0; v < values.size(); ++v)
    if (values[v].initializer >= 0) producer[v] = -2;
  for (size_t n = 0; n < nodes.size(); ++n) {
    for (int32_t v : nodes[n].outputs) {
      if (v < 0) continue;
      if (producer[static_cast<size_t>(v)] != -1) {
        fail(&nodes[n], static_cast<int32_t>(n),
             nodes[n].label() + " writes tensor '" + values[static_cast<size_t>(v)].name +
                 "', which is already defined elsewhere (ONNX graphs are single-assignment)");
        continue;
      }
      producer[static_cast<size_t>(v)] = static_cast<int32_t>(n);
    }
  }
  for (size_t n = 0; n < nodes.size(); ++n)
    for (int32_t v : nodes[n].inputs)
      if (v >= 0 && producer[static_cast<size_t>(v)] == -1)
        fail(&nodes[n], static_cast<int32_t>(n),
             nodes[n].label() + " reads tensor '" + values[static_cast<size_t>(v)].name +
                 "', which no node, input or initializer defines");
  if (errors->size() != errorsBefore) return false;

  // Guards (flattened If branches). A node runs only where its guards hold, so every value it
  // reads must be live there: produced under a prefix of its guards (the If that merges the
  // branches reads then-outputs under its guards plus its condition, else-outputs under its
  // guards plus the negation). The conditions themselves must be live likewise. Engines are
  // untrusted, so this is checked on every load, not only for models the reader flattened.
  std::vector<std::vector<Guard>> guards(nodes.size());
  for (size_t n = 0; n < nodes.size(); ++n) {
    guards[n] = nodes[n].guards();
    const Attribute* a = nodes[n].attr(kGuardAttr);
    if (a && (a->type != AttrType::kInts || a->ints.size() % 2 != 0))
      fail(&nodes[n], static_cast<int32_t>(n), nodes[n].label() + " has a malformed guard list");
  }
  const auto guardsOf = [&](int32_t v) -> const std::vector<Guard>* {
    const int32_t p = producer[static_cast<size_t>(v)];
    static const std::vector<Guard> kNone;
    return p >= 0 ? &guards[static_cast<size_t>(p)] : &kNone;
  };
  for (size_t n = 0; n < nodes.size() && errors->size() == errorsBefore; ++n) {
    const Node& node = nodes[n];
    for (size_t k = 0; k < guards[n].size(); ++k) {
      const int32_t c = guards[n][k].cond;
      if (c < 0 || static_cast<size_t>(c) >= values.size() || producer[static_cast<size_t>(c)] == -1) {
        fail(&node, static_cast<int32_t>(n), node.label() + " is guarded by a condition that does not exist");
        break;
      }
      const std::vector<Guard> outer(guards[n].begin(), guards[n].begin() + static_cast<ptrdiff_t>(k));
      if (!guardsPrefix(*guardsOf(c), outer))
        fail(&node, static_cast<int32_t>(n), node.label() + " is guarded by '" + values[static_cast<size_t>(c)].name +
                                                 "', which is not computed wherever the node runs");
    }
    const bool merge = node.isIfMerge() && !node.inputs.empty() && node.inputs.size() == 1 + 2 * node.outputs.size();
    for (size_t k = 0; k < node.inputs.size(); ++k) {
      const int32_t v = node.inputs[k];
      if (v < 0) continue;
      std::vector<Guard> where = guards[n];
      if (merge && k > 0) where.push_back({node.inputs[0], k <= node.outputs.size()});
      if (!guardsPrefix(*guardsOf(v), where))
        fail(&node, static_cast<int32_t>(n),
             node.label() + " reads tensor '" + values[static_cast<size_t>(v)].name +
                 "', which an If branch computes only where the node does not run (outside its scope)");
    }
  }
  for (int32_t v : outputs)
    if (!guardsOf(v)->empty())
      fail(nullptr, -1, "graph output '" + values[static_cast<size_t>(v)].name + "' is computed inside an If branch only");
  for (int32_t v : outputs)
    if (producer[static_cast<size_t>(v)] == -1)
      fail(nullptr, -1, "graph output '" + values[static_cast<size_t>(v)].name + "' is never computed");
  if (errors->size() != errorsBefore) return false;

  // Kahn's algorithm, taking ready nodes in their original order so that an already sorted
  // graph (the ONNX norm) keeps its order and numLayers/progress steps stay predictable.
  std::vector<int32_t> pending(nodes.size(), 0);
  std::vector<std::vector<int32_t>> consumers(values.size());
  for (size_t n = 0; n < nodes.size(); ++n) {
    // A guarded node also waits for its conditions, which the executor reads before it runs.
    std::vector<int32_t> deps = nodes[n].inputs;
    for (const Guard& g : guards[n]) deps.push_back(g.cond);
    for (int32_t v : deps) {
      if (v < 0 || producer[static_cast<size_t>(v)] < 0) continue;
      ++pending[n];
      consumers[static_cast<size_t>(v)].push_back(static_cast<int32_t>(n));
    }
  }
  std::vector<int32_t> order;
  order.reserve(nodes.size());
  std::vector<int32_t> ready;
  for (size_t n = 0; n < nodes.size(); ++n)
    if (pending[n] == 0) ready.push_back(static_cast<int32_t>(n));
  while (!ready.empty()) {
    auto it = std::min_element(ready.begin(), ready.end());
    int32_t n = *it;
    ready.erase(it);
    order.push_back(n);
    for (int32_t v : nodes[static_cast<size_t>(n)].outputs) {
      if (v < 0) continue;
      for (int32_t c : consumers[static_cast<size_t>(v)])
        if (--pending[static_cast<size_t>(c)] == 0) ready.push_back(c);
    }
  }
  if (order.size() != nodes.size()) {
    for (size_t n = 0; n < nodes.size(); ++n)
      if (pending[n] > 0) {
        fail(&nodes[n], static_cast<int32_t>(n), nodes[n].label() + " is part of a cycle");
        break;
      }
    return false;
  }
  std::vector<Node> sorted;
  sorted.reserve(nodes.size());
  for (int32_t n : order) sorted.push_back(std::move(nodes[static_cast<size_t>(n)]));
  nodes = std::move(sorted);
  return true;
}

}  // namespace sim
}  // namespace tnrt
