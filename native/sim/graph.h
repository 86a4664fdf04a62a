// The sim's in-memory network: what the ONNX reader produces, what the engine format stores,
// and what the execution context runs. Values are referred to by dense integer ids so that the
// run-time loop indexes arrays instead of hashing names.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "../backend/backend.h"

namespace tnrt {
namespace sim {

// A constant tensor (initializer or attribute value): densely packed little-endian bytes.
struct Tensor {
  DataType dtype = DataType::kFloat32;
  Dims shape;
  std::vector<uint8_t> data;
};

// Values match ONNX's AttributeProto.AttributeType so the reader needs no table.
enum class AttrType : uint8_t {
  kUndefined = 0,
  kFloat = 1,
  kInt = 2,
  kString = 3,
  kTensor = 4,
  kGraph = 5,
  kFloats = 6,
  kInts = 7,
  kStrings = 8,
  kOther = 100,  // a kind the sim keeps the name of but not the content (subgraphs, type protos)
};

struct Attribute {
  std::string name;
  AttrType type = AttrType::kUndefined;
  float f = 0.0f;
  int64_t i = 0;
  std::string s;
  std::vector<float> floats;
  std::vector<int64_t> ints;
  std::vector<std::string> strings;
  Tensor t;
};

// If subgraphs are flattened into the one graph (onnx_reader.cc): every node read from a
// branch carries a guard list, the conditions of the Ifs around it from the outermost in, and
// runs only when each holds. The list is stored as this INTS attribute (cond value id, 1 for
// then_branch or 0 for else_branch, per If), so that the engine format carries it unchanged;
// the reader refuses models that use the name themselves.
constexpr const char* kGuardAttr = "tnrt.guard";

// The graph attribute whose GraphProto bytes the reader keeps (as a STRING) for a Loop or
// Scan node, "body" for both; subgraph.h reads the body back from it at run time.
constexpr const char* kBodyAttr = "body";

struct Guard {
  int32_t cond = -1;     // the If's condition (a bool scalar)
  bool whenTrue = true;  // then_branch (true) or else_branch (false)
};

struct Node {
  std::string name;
  std::string opType;
  std::string domain;  // "" for the default ONNX domain
  int64_t opset = 0;   // the opset the model imports for this node's domain
  std::vector<int32_t> inputs;   // value ids; -1 marks an omitted optional input
  std::vector<int32_t> outputs;  // value ids; -1 marks an omitted optional output
  std::vector<Attribute> attributes;

  const Attribute* attr(const char* attrName) const;
  int64_t attrInt(const char* attrName, int64_t fallback) const;
  float attrFloat(const char* attrName, float fallback) const;
  // "node 'gemm_1' (Gemm)": the prefix of every error message about this node.
  std::string label() const;
  // The node's guards (empty for nodes outside If branches). finalize() has checked them.
  std::vector<Guard> guards() const;
  // An If whose inputs are [cond, then outputs..., else outputs...] (the reader's flattened form).
  bool isIfMerge() const { return opType == "If" && domain.empty(); }
};

struct Value {
  std::string name;
  DataType dtype = DataType::kFloat32;
  Dims shape;                // declared shape, -1 for dynamic dims (graph inputs/outputs)
  bool hasType = false;      // a tensor type was declared
  bool hasShape = false;     // the declared type carried a shape
  int32_t initializer = -1;  // index into Graph::initializers, or -1
};

class Graph {
 public:
  int64_t opset = 0;
  std::vector<Value> values;
  std::vector<Node> nodes;  // topologically sorted once finalize() succeeds
  std::vector<int32_t> inputs;
  std::vector<int32_t> outputs;
  std::vector<Tensor> initializers;
  // The nodes inside Loop and Scan bodies (and other operators' subgraphs), named by their
  // path (Loop_3/body/Foo_1): kept only so that the parse error names the unsupported ones
  // among them too. Never serialized; a body runs from the bytes its node keeps (subgraph.h).
  std::vector<Node> nestedNodes;
  // A Loop or Scan body (OnnxReader::readBody): how many of `inputs`, at the end, are the
  // outer-scope values it reads rather than its declared inputs. Never serialized.
  size_t numOuterInputs = 0;

  // The id of the value called `name`, creating it if new.
  int32_t valueId(const std::string& name);
  // -1 if there is no such value.
  int32_t findValue(const std::string& name) const;
  // Rebuilds the name index after `values` was filled directly (the engine decoder does).
  void reindex();
  // Checks that every value is defined exactly once and sorts the nodes topologically.
  // Appends a ParserError per problem; returns true if there were none.
  bool finalize(std::vector<ParserError>* errors);

 private:
  std::unordered_map<std::string, int32_t> index_;
};

}  // namespace sim
}  // namespace tnrt
