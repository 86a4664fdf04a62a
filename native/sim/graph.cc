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
  for (int32_t v : outputs)
    if (producer[static_cast<size_t>(v)] == -1)
      fail(nullptr, -1, "graph output '" + values[static_cast<size_t>(v)].name + "' is never computed");
  if (errors->size() != errorsBefore) return false;

  // Kahn's algorithm, taking ready nodes in their original order so that an already sorted
  // graph (the ONNX norm) keeps its order and numLayers/progress steps stay predictable.
  std::vector<int32_t> pending(nodes.size(), 0);
  std::vector<std::vector<int32_t>> consumers(values.size());
  for (size_t n = 0; n < nodes.size(); ++n) {
    for (int32_t v : nodes[n].inputs) {
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
