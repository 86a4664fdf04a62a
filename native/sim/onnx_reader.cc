#include "onnx_reader.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "wire_reader.h"

namespace tnrt {
namespace sim {

namespace {

// Tensor-level problems (bad dtype, size mismatch, unreadable external file). Caught per
// initializer/input so that one bad tensor does not hide the others.
class ModelError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// If branches nest at most this deep (real models nest two or three).
constexpr size_t kMaxIfNesting = 32;

// Far above any real tensor, low enough that volume * 8 bytes cannot overflow 64 bits.
constexpr int64_t kMaxElements = int64_t{1} << 56;

int64_t checkedVolume(const Dims& dims, const std::string& what) {
  int64_t v = 1;
  for (int64_t d : dims) {
    if (d < 0) throw ModelError(what + " has a negative dimension");
    if (d != 0 && v > kMaxElements / d) throw ModelError(what + " is impossibly large");
    v *= d;
  }
  return v;
}

// Repeated scalar fields may arrive packed (one length-delimited run) or one per key.
template <typename Fn>
void readRepeatedVarint(WireReader& r, uint32_t wireType, Fn&& push) {
  if (wireType == kLengthDelimited) {
    WireReader packed = r.bytes();
    while (!packed.atEnd()) push(packed.varint());
  } else if (wireType == kVarint) {
    push(r.varint());
  } else {
    throw WireError("repeated integer field has wire type " + std::to_string(wireType));
  }
}

template <typename Fn>
void readRepeatedFixed32(WireReader& r, uint32_t wireType, Fn&& push) {
  if (wireType == kLengthDelimited) {
    WireReader packed = r.bytes();
    if (packed.remaining() % 4 != 0) throw WireError("packed float field length is not a multiple of 4");
    while (!packed.atEnd()) push(packed.fixed32());
  } else if (wireType == kFixed32) {
    push(r.fixed32());
  } else {
    throw WireError("repeated float field has wire type " + std::to_string(wireType));
  }
}

float bitsToFloat(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

void expectWireType(uint32_t actual, uint32_t expected, const char* field) {
  if (actual != expected) throw WireError(std::string("field '") + field + "' has the wrong wire type");
}

}  // namespace

void OnnxReader::error(const std::string& message, const Node* node, int32_t nodeIndex) {
  ParserError e;
  if (node) {
    e.node = node->name;
    e.op = node->opType;
  }
  e.nodeIndex = nodeIndex;
  e.description = message;
  errors_->push_back(std::move(e));
}

std::unique_ptr<Graph> OnnxReader::read(const uint8_t* data, size_t size, std::vector<ParserError>* errors) {
  errors_ = errors;
  size_t errorsBefore = errors->size();
  if (data == nullptr || size == 0) {
    error("the model is empty");
    return nullptr;
  }
  auto graph = std::make_unique<Graph>();
  try {
    // The graph may precede opset_import on the wire, so keep its bytes and decode it last.
    WireReader r(data, size);
    std::map<std::string, int64_t> opsets;
    bool hasGraph = false;
    WireReader graphBytes(data, 0);
    uint32_t field, wt;
    while (r.next(&field, &wt)) {
      if (field == 7) {
        expectWireType(wt, kLengthDelimited, "ModelProto.graph");
        graphBytes = r.bytes();
        hasGraph = true;
      } else if (field == 8) {
        expectWireType(wt, kLengthDelimited, "ModelProto.opset_import");
        WireReader o = r.bytes();
        std::string domain;
        int64_t version = 0;
        uint32_t f2, w2;
        while (o.next(&f2, &w2)) {
          if (f2 == 1 && w2 == kLengthDelimited) domain = o.string();
          else if (f2 == 2 && w2 == kVarint) version = static_cast<int64_t>(o.varint());
          else o.skip(w2);
        }
        if (domain == "ai.onnx") domain.clear();
        opsets[domain] = version;
      } else {
        r.skip(wt);
      }
    }
    if (!hasGraph) {
      error("the bytes are not an ONNX model: no graph found");
      return nullptr;
    }
    auto it = opsets.find("");
    if (it == opsets.end() || it->second <= 0) {
      error("the model does not import the default ONNX operator set (opset_import for domain '')");
      return nullptr;
    }
    graph->opset = it->second;
    readGraph(graphBytes, graph.get(), opsets);
  } catch (const WireError& e) {
    error(std::string("the bytes are not a valid ONNX model (") + e.what() + ")");
    return nullptr;
  }
  if (errors->size() != errorsBefore) return nullptr;
  return graph;
}

void OnnxReader::readGraph(WireReader r, Graph* graph, const std::map<std::string, int64_t>& opsets) {
  std::vector<WireReader> nodes, initializers, inputs, outputs;
  uint32_t field, wt;
  while (r.next(&field, &wt)) {
    switch (field) {
      case 1: expectWireType(wt, kLengthDelimited, "GraphProto.node"); nodes.push_back(r.bytes()); break;
      case 5: expectWireType(wt, kLengthDelimited, "GraphProto.initializer"); initializers.push_back(r.bytes()); break;
      case 11: expectWireType(wt, kLengthDelimited, "GraphProto.input"); inputs.push_back(r.bytes()); break;
      case 12: expectWireType(wt, kLengthDelimited, "GraphProto.output"); outputs.push_back(r.bytes()); break;
      case 15:
        r.skip(wt);
        error("sparse initializers are not supported by the sim backend");
        break;
      default: r.skip(wt); break;
    }
  }

  for (auto& bytes : initializers) {
    Tensor t;
    std::string name;
    try {
      readTensor(bytes, &t, &name);
    } catch (const ModelError& e) {
      error(std::string("initializer '") + name + "': " + e.what());
      continue;
    }
    int32_t id = graph->valueId(name);
    Value& v = graph->values[static_cast<size_t>(id)];
    if (v.initializer >= 0) {
      error("initializer '" + name + "' is defined twice");
      continue;
    }
    v.dtype = t.dtype;
    v.shape = t.shape;
    v.hasType = v.hasShape = true;
    v.initializer = static_cast<int32_t>(graph->initializers.size());
    graph->initializers.push_back(std::move(t));
  }

  for (auto& bytes : inputs) {
    Value decl;
    std::string name, kind;
    readValueInfo(bytes, &decl, &name, &kind);
    int32_t id = graph->valueId(name);
    // Older exporters list initializers as inputs too; those are constants, not engine inputs.
    if (graph->values[static_cast<size_t>(id)].initializer >= 0) continue;
    if (!kind.empty()) {
      error("input '" + name + "' is " + kind + "; the sim backend supports tensor inputs only");
    } else if (!decl.hasShape && !readingBody_) {
      error("input '" + name + "' has no shape; the sim backend needs the rank of every input");
    }
    Value& v = graph->values[static_cast<size_t>(id)];
    v.dtype = decl.dtype;
    v.shape = decl.shape;
    v.hasType = decl.hasType;
    v.hasShape = decl.hasShape;
    graph->inputs.push_back(id);
  }

  for (auto& bytes : outputs) {
    Value decl;
    std::string name, kind;
    readValueInfo(bytes, &decl, &name, &kind);
    if (!kind.empty()) error("output '" + name + "' is " + kind + "; the sim backend supports tensor outputs only");
    int32_t id = graph->valueId(name);
    Value& v = graph->values[static_cast<size_t>(id)];
    if (!v.hasType && decl.hasType) {
      v.dtype = decl.dtype;
      v.shape = decl.shape;
      v.hasType = true;
      v.hasShape = decl.hasShape;
    }
    graph->outputs.push_back(id);
  }

  for (size_t i = 0; i < nodes.size(); ++i) readNode(nodes[i], graph, static_cast<int32_t>(i), opsets);
}

std::string OnnxReader::resolve(const std::string& name) const {
  for (size_t k = scopes_.size(); k-- > 0;)
    if (scopes_[k].locals.count(name)) return scopes_[k].prefix + name;
  return name;
}

void OnnxReader::readNode(WireReader r, Graph* graph, int32_t index, const std::map<std::string, int64_t>& opsets) {
  Node node;
  std::vector<std::string> inputs, outputs;
  // Reported once the node's name is known (it may follow its attributes on the wire).
  std::vector<std::string> attributeProblems;
  // If branches, by attribute name.
  std::map<std::string, WireReader> subgraphs;
  uint32_t field, wt;
  while (r.next(&field, &wt)) {
    if (wt != kLengthDelimited) {
      r.skip(wt);
      continue;
    }
    switch (field) {
      case 1: inputs.push_back(r.string()); break;
      case 2: outputs.push_back(r.string()); break;
      case 3: node.name = r.string(); break;
      case 4: node.opType = r.string(); break;
      case 5: {
        node.attributes.emplace_back();
        WireReader sub(nullptr, 0);
        bool hasSub = false;
        try {
          readAttribute(r.bytes(), &node.attributes.back(), &sub, &hasSub);
          if (node.attributes.back().name == kGuardAttr)
            throw WireError(std::string("attribute '") + kGuardAttr + "' is reserved by the sim backend; rename it");
          if (hasSub) subgraphs.emplace(node.attributes.back().name, sub);
        } catch (const WireError& e) {
          // The attribute's bytes were already bounded by r.bytes(), so reading on is safe.
          attributeProblems.push_back(e.what());
          node.attributes.pop_back();
        }
        break;
      }
      case 7: node.domain = r.string(); break;
      default: r.skip(wt); break;
    }
  }
  if (node.domain == "ai.onnx") node.domain.clear();
  auto it = opsets.find(node.domain);
  node.opset = it == opsets.end() ? 0 : it->second;
  // Exporters often leave nodes unnamed; give each a stable name so errors can point at it.
  // Inside If branches the name gets the branch's path: If_25/then_branch/LSTM_3.
  if (node.name.empty()) node.name = node.opType + "_" + std::to_string(index);
  node.name = (scopes_.empty() ? bodyPrefix_ : scopes_.back().prefix) + node.name;
  const auto errorIndex = static_cast<int32_t>(scopes_.empty() ? index : static_cast<int32_t>(graph->nodes.size()));
  // The ParserError carries the node and operator; the message then names the attribute.
  for (const auto& problem : attributeProblems) error(problem, &node, errorIndex);
  for (const auto& name : inputs) node.inputs.push_back(name.empty() ? -1 : graph->valueId(resolve(name)));
  for (const auto& name : outputs) node.outputs.push_back(name.empty() ? -1 : graph->valueId(resolve(name)));
  const std::vector<int64_t> guards = scopes_.empty() ? std::vector<int64_t>{} : scopes_.back().guards;
  if (!guards.empty()) {
    Attribute g;
    g.name = kGuardAttr;
    g.type = AttrType::kInts;
    g.ints = guards;
    node.attributes.push_back(std::move(g));
  }

  // A Loop or Scan without a body is left to checkGraph and the kernel, which name it.
  const bool loopOrScan = (node.opType == "Loop" || node.opType == "Scan") && node.domain.empty() && !subgraphs.empty();
  if (loopOrScan) {
    auto bodyIt = subgraphs.find(kBodyAttr);
    if (bodyIt == subgraphs.end() || subgraphs.size() != 1) {
      error(node.label() + " needs exactly one graph attribute, 'body'", &node, errorIndex);
      return;
    }
    if (scopes_.size() + bodyDepth_ >= kMaxIfNesting) {
      error(node.label() + " nests subgraphs more than " + std::to_string(kMaxIfNesting) + " deep, which the sim does not read",
            &node, errorIndex);
      return;
    }
    const WireReader bytes = bodyIt->second;
    std::unique_ptr<Graph> body = readBodyGraph(bytes, node.name + "/body/", opsets);
    if (!body) return;
    // The body reads outer-scope values by name; as extra inputs of the node they get the
    // liveness, guards and engine-load checks of any input. Their names resolve here, in the
    // scope around the node (an enclosing If branch, or the main graph).
    Attribute& attr = *std::find_if(node.attributes.begin(), node.attributes.end(),
                                    [](const Attribute& a) { return a.name == kBodyAttr; });
    attr.type = AttrType::kString;
    attr.s.assign(reinterpret_cast<const char*>(bytes.data()), bytes.remaining());
    for (size_t i = body->inputs.size() - body->numOuterInputs; i < body->inputs.size(); ++i)
      node.inputs.push_back(graph->valueId(resolve(body->values[static_cast<size_t>(body->inputs[i])].name)));
    for (Node& n : body->nodes) graph->nestedNodes.push_back(std::move(n));
    for (Node& n : body->nestedNodes) graph->nestedNodes.push_back(std::move(n));
    graph->nodes.push_back(std::move(node));
    return;
  }
  if (!(node.opType == "If" && node.domain.empty()) && !subgraphs.empty()) {
    if (scopes_.size() >= kMaxIfNesting) {
      error(node.label() + " nests subgraphs more than " + std::to_string(kMaxIfNesting) + " deep, which the sim does not read",
            &node, errorIndex);
      return;
    }
    for (const auto& [attrName, bytes] : subgraphs) readBodyForReport(bytes, graph, node.name + "/" + attrName + "/", opsets);
  }
  if (node.opType == "If" && node.domain.empty()) {
    // Checked here, in checkGraph's words, because the flattened node has more inputs.
    const std::string spec = "If (opset " + std::to_string(node.opset) + ") takes 1 input";
    if (node.inputs.size() != 1) {
      error(node.label() + " has " + std::to_string(node.inputs.size()) + " input" + (node.inputs.size() == 1 ? "" : "s") +
                "; " + spec + " in the ONNX spec; fix the model's node or the opset it imports",
            &node, errorIndex);
      return;
    }
    if (node.inputs[0] < 0) {
      error(node.label() + " leaves input 0 empty, but it is required: " + spec + ", of which the first 1 must be given",
            &node, errorIndex);
      return;
    }
    auto thenIt = subgraphs.find("then_branch"), elseIt = subgraphs.find("else_branch");
    if (thenIt == subgraphs.end() || elseIt == subgraphs.end()) {
      error(node.label() + " needs then_branch and else_branch graph attributes", &node, errorIndex);
      return;
    }
    // Bounded nesting keeps a hostile model from recursing the reader off its stack.
    if (scopes_.size() >= kMaxIfNesting) {
      error(node.label() + " nests If branches more than " + std::to_string(kMaxIfNesting) +
                " deep, which the sim does not read",
            &node, errorIndex);
      return;
    }
    const int32_t cond = node.inputs[0];
    std::vector<int64_t> thenGuards = guards, elseGuards = guards;
    thenGuards.insert(thenGuards.end(), {cond, 1});
    elseGuards.insert(elseGuards.end(), {cond, 0});
    const std::vector<int32_t> thenOuts = readSubgraph(thenIt->second, graph, node.name + "/then_branch/", thenGuards, opsets);
    const std::vector<int32_t> elseOuts = readSubgraph(elseIt->second, graph, node.name + "/else_branch/", elseGuards, opsets);
    if (thenOuts.size() != node.outputs.size() || elseOuts.size() != node.outputs.size()) {
      error(node.label() + " has " + std::to_string(node.outputs.size()) + " outputs but its then_branch has " +
                std::to_string(thenOuts.size()) + " and its else_branch " + std::to_string(elseOuts.size()) +
                "; ONNX requires one per If output",
            &node, errorIndex);
      return;
    }
    node.inputs.insert(node.inputs.end(), thenOuts.begin(), thenOuts.end());
    node.inputs.insert(node.inputs.end(), elseOuts.begin(), elseOuts.end());
    // The branches now live in the graph; the attributes kept only their names.
    node.attributes.erase(std::remove_if(node.attributes.begin(), node.attributes.end(),
                                         [](const Attribute& a) { return a.name == "then_branch" || a.name == "else_branch"; }),
                          node.attributes.end());
  }
  graph->nodes.push_back(std::move(node));
}

std::unique_ptr<Graph> OnnxReader::readBody(const uint8_t* data, size_t size, const std::string& prefix,
                                            const std::map<std::string, int64_t>& opsets,
                                            std::vector<ParserError>* errors) {
  errors_ = errors;
  const size_t before = errors->size();
  std::unique_ptr<Graph> body;
  try {
    body = readBodyGraph(WireReader(data, size), prefix, opsets);
  } catch (const WireError& e) {
    error(prefix + ": the body is not a valid ONNX graph (" + e.what() + ")");
  }
  if (errors->size() != before) return nullptr;
  return body;
}

std::unique_ptr<Graph> OnnxReader::readBodyGraph(WireReader r, const std::string& prefix,
                                                 const std::map<std::string, int64_t>& opsets) {
  // The body is a graph of its own: the If scopes around its node do not apply inside (names
  // it does not define are outer-scope reads, resolved by the caller), so they are set aside.
  std::vector<Scope> savedScopes;
  savedScopes.swap(scopes_);
  const std::string savedPrefix = bodyPrefix_;
  const bool savedReading = readingBody_;
  bodyPrefix_ = prefix;
  readingBody_ = true;
  ++bodyDepth_;
  auto body = std::make_unique<Graph>();
  auto it = opsets.find("");
  body->opset = it == opsets.end() ? 0 : it->second;
  const size_t before = errors_->size();
  try {
    readGraph(r, body.get(), opsets);
  } catch (...) {
    scopes_.swap(savedScopes);
    bodyPrefix_ = savedPrefix;
    readingBody_ = savedReading;
    --bodyDepth_;
    throw;
  }
  scopes_.swap(savedScopes);
  bodyPrefix_ = savedPrefix;
  readingBody_ = savedReading;
  --bodyDepth_;
  if (errors_->size() != before) return nullptr;
  // Outer-scope reads: names the body uses (as node inputs, guard conditions or outputs) but
  // defines nowhere. They become trailing inputs of the body graph, in first-use order.
  std::vector<char> defined(body->values.size(), 0), used(body->values.size(), 0);
  for (int32_t id : body->inputs) defined[static_cast<size_t>(id)] = 1;
  for (size_t v = 0; v < body->values.size(); ++v)
    if (body->values[v].initializer >= 0) defined[v] = 1;
  for (const Node& n : body->nodes)
    for (int32_t id : n.outputs)
      if (id >= 0) defined[static_cast<size_t>(id)] = 1;
  const size_t declared = body->inputs.size();
  auto use = [&](int32_t id) {
    if (id < 0 || defined[static_cast<size_t>(id)] || used[static_cast<size_t>(id)]) return;
    used[static_cast<size_t>(id)] = 1;
    body->inputs.push_back(id);
  };
  for (const Node& n : body->nodes) {
    for (int32_t id : n.inputs) use(id);
    for (const Guard& g : n.guards()) use(g.cond);
  }
  for (int32_t id : body->outputs) use(id);
  body->numOuterInputs = body->inputs.size() - declared;
  std::vector<ParserError> problems;
  if (!body->finalize(&problems))
    for (auto& p : problems) {
      p.description = prefix + ": " + p.description;
      errors_->push_back(std::move(p));
    }
  if (errors_->size() != before) return nullptr;
  return body;
}

void OnnxReader::readBodyForReport(WireReader r, Graph* graph, const std::string& prefix,
                                   const std::map<std::string, int64_t>& opsets) {
  // A scratch graph takes the body's values and nodes (an If inside is flattened there as
  // usual); only the nodes, renamed under `prefix`, are kept.
  Graph scratch;
  Scope scope;
  scope.prefix = prefix;
  scopes_.push_back(std::move(scope));
  uint32_t field, wt;
  int32_t index = 0;
  while (r.next(&field, &wt)) {
    if (field == 1 && wt == kLengthDelimited) readNode(r.bytes(), &scratch, index++, opsets);
    else r.skip(wt);
  }
  scopes_.pop_back();
  for (Node& n : scratch.nodes) graph->nestedNodes.push_back(std::move(n));
  for (Node& n : scratch.nestedNodes) graph->nestedNodes.push_back(std::move(n));
}

std::vector<int32_t> OnnxReader::readSubgraph(WireReader r, Graph* graph, const std::string& prefix,
                                              std::vector<int64_t> guards,
                                              const std::map<std::string, int64_t>& opsets) {
  std::vector<WireReader> nodes, initializers, outputs;
  uint32_t field, wt;
  bool hasInputs = false;
  while (r.next(&field, &wt)) {
    switch (field) {
      case 1: expectWireType(wt, kLengthDelimited, "GraphProto.node"); nodes.push_back(r.bytes()); break;
      case 5: expectWireType(wt, kLengthDelimited, "GraphProto.initializer"); initializers.push_back(r.bytes()); break;
      case 11: r.skip(wt); hasInputs = true; break;
      case 12: expectWireType(wt, kLengthDelimited, "GraphProto.output"); outputs.push_back(r.bytes()); break;
      case 15:
        r.skip(wt);
        error(prefix + ": sparse initializers are not supported by the sim backend");
        break;
      default: r.skip(wt); break;
    }
  }
  if (hasInputs) error(prefix + ": an If branch takes no inputs (it reads outer-scope values by name)");

  // The names the branch defines shadow the enclosing graphs' while its nodes are read.
  Scope scope;
  scope.prefix = prefix;
  scope.guards = std::move(guards);
  std::vector<std::pair<std::string, Tensor>> constants;
  for (auto& bytes : initializers) {
    Tensor t;
    std::string name;
    try {
      readTensor(bytes, &t, &name);
    } catch (const ModelError& e) {
      error(prefix + ": initializer '" + name + "': " + e.what());
      continue;
    }
    scope.locals.insert(name);
    constants.emplace_back(name, std::move(t));
  }
  for (const WireReader& bytes : nodes) {
    WireReader n = bytes;
    uint32_t f2, w2;
    while (n.next(&f2, &w2)) {
      if (f2 == 2 && w2 == kLengthDelimited) {
        const std::string out = n.string();
        if (!out.empty()) scope.locals.insert(out);
      } else {
        n.skip(w2);
      }
    }
  }
  scopes_.push_back(std::move(scope));
  for (auto& [name, t] : constants) {
    const int32_t id = graph->valueId(prefix + name);
    Value& v = graph->values[static_cast<size_t>(id)];
    if (v.initializer >= 0) {
      error("initializer '" + prefix + name + "' is defined twice");
      continue;
    }
    v.dtype = t.dtype;
    v.shape = t.shape;
    v.hasType = v.hasShape = true;
    v.initializer = static_cast<int32_t>(graph->initializers.size());
    graph->initializers.push_back(std::move(t));
  }
  for (size_t i = 0; i < nodes.size(); ++i) readNode(nodes[i], graph, static_cast<int32_t>(i), opsets);
  std::vector<int32_t> ids;
  for (auto& bytes : outputs) {
    Value decl;
    std::string name, kind;
    readValueInfo(bytes, &decl, &name, &kind);
    if (!kind.empty()) error(prefix + ": output '" + name + "' is " + kind + "; the sim backend supports tensor outputs only");
    ids.push_back(graph->valueId(resolve(name)));
  }
  scopes_.pop_back();
  return ids;
}

void OnnxReader::readAttribute(WireReader r, Attribute* out, WireReader* graph, bool* hasGraph) {
  int64_t declaredType = 0;
  bool sawOther = false;
  // What the attribute actually carries, to check against the type it declares: a kernel
  // reads the field its declared type names, and an absent tensor is a null data pointer.
  bool sawF = false, sawI = false, sawS = false, sawT = false;
  uint32_t field, wt;
  while (r.next(&field, &wt)) {
    switch (field) {
      case 1: expectWireType(wt, kLengthDelimited, "AttributeProto.name"); out->name = r.string(); break;
      case 2: expectWireType(wt, kFixed32, "AttributeProto.f"); out->f = bitsToFloat(r.fixed32()); sawF = true; break;
      case 3: expectWireType(wt, kVarint, "AttributeProto.i"); out->i = static_cast<int64_t>(r.varint()); sawI = true; break;
      case 4: expectWireType(wt, kLengthDelimited, "AttributeProto.s"); out->s = r.string(); sawS = true; break;
      case 5: {
        expectWireType(wt, kLengthDelimited, "AttributeProto.t");
        std::string ignored;
        sawT = true;
        try {
          readTensor(r.bytes(), &out->t, &ignored);
        } catch (const ModelError& e) {
          throw WireError(std::string("attribute tensor: ") + e.what());
        }
        break;
      }
      case 7:
        readRepeatedFixed32(r, wt, [&](uint32_t bits) { out->floats.push_back(bitsToFloat(bits)); });
        break;
      case 8:
        readRepeatedVarint(r, wt, [&](uint64_t v) { out->ints.push_back(static_cast<int64_t>(v)); });
        break;
      case 9: expectWireType(wt, kLengthDelimited, "AttributeProto.strings"); out->strings.push_back(r.string()); break;
      case 20: expectWireType(wt, kVarint, "AttributeProto.type"); declaredType = static_cast<int64_t>(r.varint()); break;
      case 6:
        // GraphProto g: an If's branch. Its bytes are bounded by this attribute's and are
        // decoded by readSubgraph with the same checks as the main graph.
        if (graph && wt == kLengthDelimited) {
          *graph = r.bytes();
          *hasGraph = true;
          sawOther = true;
          break;
        }
        sawOther = true;
        r.skip(wt);
        break;
      case 10: case 11: case 14: case 15: case 22: case 23:
        sawOther = true;
        r.skip(wt);
        break;
      default: r.skip(wt); break;
    }
  }
  const std::string label = "attribute '" + out->name + "'";
  if (declaredType >= 1 && declaredType <= 8) {
    out->type = static_cast<AttrType>(declaredType);
    // Scalars may legitimately rely on the proto default (0, 0.0, "") when a writer omits the
    // field; a tensor has no default, so TENSOR without one is malformed. A scalar field of
    // another kind, instead of the declared one, means the writer and the type disagree.
    const char* names[] = {"", "FLOAT", "INT", "STRING", "TENSOR", "GRAPH", "FLOATS", "INTS", "STRINGS"};
    const std::string declared = names[declaredType];
    if (out->type == AttrType::kTensor && !sawT)
      throw WireError(label + " is declared TENSOR but carries no tensor; re-export the model (the Constant or "
                      "attribute has lost its value)");
    if ((out->type == AttrType::kFloat && !sawF && (sawI || sawS || sawT)) ||
        (out->type == AttrType::kInt && !sawI && (sawF || sawS || sawT)) ||
        (out->type == AttrType::kString && !sawS && (sawF || sawI || sawT)) ||
        (out->type != AttrType::kTensor && out->type != AttrType::kGraph && sawT))
      throw WireError(label + " is declared " + declared + " but carries a value of another type; fix the model");
    if ((out->type == AttrType::kFloats && !out->ints.empty()) || (out->type == AttrType::kInts && !out->floats.empty()))
      throw WireError(label + " is declared " + declared + " but carries a list of another type; fix the model");
  } else if (declaredType != 0 || sawOther) {
    out->type = AttrType::kOther;
  } else {
    // IR version 1 models omit the type; the sim never needs to tell an empty list apart.
    out->type = sawT ? AttrType::kTensor
                : !out->floats.empty() ? AttrType::kFloats
                : !out->ints.empty() ? AttrType::kInts
                : !out->strings.empty() ? AttrType::kStrings
                : !out->s.empty() ? AttrType::kString
                : out->f != 0.0f ? AttrType::kFloat : AttrType::kInt;
  }
}

void OnnxReader::readValueInfo(WireReader r, Value* out, std::string* name, std::string* kind) {
  uint32_t field, wt;
  while (r.next(&field, &wt)) {
    if (field == 1 && wt == kLengthDelimited) {
      *name = r.string();
    } else if (field == 2 && wt == kLengthDelimited) {
      WireReader type = r.bytes();
      uint32_t f2, w2;
      while (type.next(&f2, &w2)) {
        if (f2 == 1 && w2 == kLengthDelimited) {
          WireReader tensor = type.bytes();
          uint32_t f3, w3;
          while (tensor.next(&f3, &w3)) {
            if (f3 == 1 && w3 == kVarint) {
              int64_t elem = static_cast<int64_t>(tensor.varint());
              if (dataTypeFromOnnx(elem, &out->dtype)) out->hasType = true;
              else *kind = "of element type " + onnxTypeName(elem);
            } else if (f3 == 2 && w3 == kLengthDelimited) {
              WireReader shape = tensor.bytes();
              out->hasShape = true;
              uint32_t f4, w4;
              while (shape.next(&f4, &w4)) {
                if (f4 != 1 || w4 != kLengthDelimited) {
                  shape.skip(w4);
                  continue;
                }
                WireReader dim = shape.bytes();
                int64_t value = -1;  // dim_param or nothing: dynamic
                uint32_t f5, w5;
                while (dim.next(&f5, &w5)) {
                  if (f5 == 1 && w5 == kVarint) {
                    int64_t v = static_cast<int64_t>(dim.varint());
                    value = v >= 0 ? v : -1;
                  } else {
                    dim.skip(w5);
                  }
                }
                out->shape.push_back(value);
              }
            } else {
              tensor.skip(w3);
            }
          }
        } else {
          if (f2 == 4) *kind = "a sequence";
          else if (f2 == 5) *kind = "a map";
          else if (f2 == 8) *kind = "a sparse tensor";
          else if (f2 == 9) *kind = "an optional";
          type.skip(w2);
        }
      }
    } else {
      r.skip(wt);
    }
  }
}

void OnnxReader::readTensor(WireReader r, Tensor* out, std::string* name) {
  int64_t onnxType = 0;
  std::vector<float> floats;
  std::vector<int64_t> ints;  // int32_data and int64_data both land here
  bool hasRaw = false, external = false, hasLength = false;
  WireReader raw(nullptr, 0);
  std::string location;
  uint64_t offset = 0, length = 0;
  uint32_t field, wt;
  while (r.next(&field, &wt)) {
    switch (field) {
      case 1:
        readRepeatedVarint(r, wt, [&](uint64_t v) { out->shape.push_back(static_cast<int64_t>(v)); });
        break;
      case 2: expectWireType(wt, kVarint, "TensorProto.data_type"); onnxType = static_cast<int64_t>(r.varint()); break;
      case 3: r.skip(wt); throw ModelError("segmented tensors are not supported");
      case 4: readRepeatedFixed32(r, wt, [&](uint32_t bits) { floats.push_back(bitsToFloat(bits)); }); break;
      case 5:
      case 7:
        readRepeatedVarint(r, wt, [&](uint64_t v) { ints.push_back(static_cast<int64_t>(v)); });
        break;
      case 8: expectWireType(wt, kLengthDelimited, "TensorProto.name"); *name = r.string(); break;
      case 9: expectWireType(wt, kLengthDelimited, "TensorProto.raw_data"); raw = r.bytes(); hasRaw = true; break;
      case 13: {
        expectWireType(wt, kLengthDelimited, "TensorProto.external_data");
        WireReader entry = r.bytes();
        std::string key, value;
        uint32_t f2, w2;
        while (entry.next(&f2, &w2)) {
          if (f2 == 1 && w2 == kLengthDelimited) key = entry.string();
          else if (f2 == 2 && w2 == kLengthDelimited) value = entry.string();
          else entry.skip(w2);
        }
        try {
          if (key == "location") {
            location = value;
          } else if (key == "offset") {
            offset = std::stoull(value);
          } else if (key == "length") {
            length = std::stoull(value);
            hasLength = true;
          }
        } catch (const std::exception&) {
          throw ModelError("external data " + key + " '" + value + "' is not a number");
        }
        break;
      }
      case 14: expectWireType(wt, kVarint, "TensorProto.data_location"); external = r.varint() == 1; break;
      default: r.skip(wt); break;
    }
  }
  if (!dataTypeFromOnnx(onnxType, &out->dtype))
    throw ModelError("element type " + onnxTypeName(onnxType) + " is not supported by the sim backend");
  int64_t count = checkedVolume(out->shape, "the tensor");
  size_t bytes = dataTypeBytes(out->dtype, count);

  if (external) {
    out->data = readExternalData(*name, location, offset, hasLength, length, bytes);
    return;
  }
  if (hasRaw) {
    if (raw.remaining() != bytes)
      throw ModelError("raw_data holds " + std::to_string(raw.remaining()) + " bytes but shape " +
                       dimsToString(out->shape) + " of " + dataTypeName(out->dtype) + " needs " + std::to_string(bytes));
    out->data.assign(raw.data(), raw.data() + raw.remaining());
    return;
  }
  // Typed fields: the element count is bounded by the message size, so this cannot explode.
  size_t have = out->dtype == DataType::kFloat32 ? floats.size() : ints.size();
  if (out->dtype == DataType::kInt4 || out->dtype == DataType::kFP4) {
    if (count != 0) throw ModelError("packed 4-bit tensors must use raw_data");
    return;
  }
  if (have != static_cast<size_t>(count))
    throw ModelError("holds " + std::to_string(have) + " values but shape " + dimsToString(out->shape) + " needs " +
                     std::to_string(count));
  out->data.resize(bytes);
  uint8_t* dst = out->data.data();
  size_t elem = bytes / (count ? static_cast<size_t>(count) : 1);
  for (size_t i = 0; i < have; ++i) {
    if (out->dtype == DataType::kFloat32) {
      std::memcpy(dst + i * 4, &floats[i], 4);
    } else {
      // int32_data carries every narrow type as its integer or bit pattern (float16 bits too).
      uint64_t v = static_cast<uint64_t>(ints[i]);
      for (size_t b = 0; b < elem; ++b) dst[i * elem + b] = static_cast<uint8_t>(v >> (8 * b));
    }
  }
}

std::vector<uint8_t> OnnxReader::readExternalData(const std::string& tensorName, const std::string& location,
                                                  uint64_t offset, bool hasLength, uint64_t length,
                                                  size_t expectedBytes) {
  namespace fs = std::filesystem;
  if (location.empty()) throw ModelError("external data has no location");
  if (modelDir_.empty())
    throw ModelError("its data lives in external file '" + location +
                     "', but no model directory was given to resolve it (pass the model by path)");
  fs::path rel(location);
  if (rel.is_absolute() || rel.has_root_name() || rel.has_root_directory())
    throw ModelError("external data location '" + location + "' must be relative to the model's directory");
  for (const auto& part : rel)
    if (part == "..") throw ModelError("external data location '" + location + "' escapes the model's directory");
  std::error_code ec;
  fs::path dir = fs::weakly_canonical(fs::path(modelDir_), ec);
  fs::path full = ec ? fs::path() : fs::weakly_canonical(dir / rel, ec);
  if (ec) throw ModelError("cannot resolve external data file '" + location + "': " + ec.message());
  // Symlinks inside the directory could still point outside it; compare canonical paths.
  auto mismatch = std::mismatch(dir.begin(), dir.end(), full.begin(), full.end());
  if (mismatch.first != dir.end())
    throw ModelError("external data location '" + location + "' resolves outside the model's directory");
  std::ifstream file(full, std::ios::binary);
  if (!file) throw ModelError("cannot open external data file '" + full.string() + "'");
  uint64_t fileSize = static_cast<uint64_t>(fs::file_size(full, ec));
  if (ec) throw ModelError("cannot read the size of external data file '" + full.string() + "'");
  uint64_t want = hasLength ? length : expectedBytes;
  if (want != expectedBytes)
    throw ModelError("external data length " + std::to_string(length) + " does not match the " +
                     std::to_string(expectedBytes) + " bytes its shape needs");
  if (offset > fileSize || want > fileSize - offset)
    throw ModelError("external data file '" + location + "' is too short for offset " + std::to_string(offset) +
                     " + length " + std::to_string(want));
  std::vector<uint8_t> data(static_cast<size_t>(want));
  file.seekg(static_cast<std::streamoff>(offset));
  if (want > 0 && !file.read(reinterpret_cast<char*>(data.data()), static_cast<std::streamsize>(want)))
    throw ModelError("reading external data for tensor '" + tensorName + "' from '" + location + "' failed");
  return data;
}

}  // namespace sim
}  // namespace tnrt
