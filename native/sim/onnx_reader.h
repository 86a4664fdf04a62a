// Decodes an ONNX ModelProto into a sim Graph with the hand-written wire reader.
//
// Only what the sim needs is kept: the default-domain opset, nodes with their attributes,
// initializers (inline or external data), and the declared types of graph inputs and outputs.
// Malformed bytes never crash: each problem becomes a ParserError and read() returns nullptr.
#pragma once

#include <map>
#include <set>
#include <memory>
#include <string>
#include <vector>

#include "graph.h"

namespace tnrt {
namespace sim {

class WireReader;

class OnnxReader {
 public:
  // `modelDir` resolves external data; "" means the model has none (or refuses it).
  explicit OnnxReader(std::string modelDir) : modelDir_(std::move(modelDir)) {}

  // Returns the decoded graph (not yet finalized), or nullptr with `errors` filled.
  std::unique_ptr<Graph> read(const uint8_t* data, size_t size, std::vector<ParserError>* errors);

  // Reads a Loop or Scan body (a GraphProto's bytes) as a graph of its own, finalized, whose
  // inputs are the body's declared inputs followed by the outer-scope names it reads (in the
  // order it first reads them). Node names get `prefix` (Loop_3/body/). nullptr with `errors`
  // filled when the body is malformed. The reader keeps the bytes of every body it reads in
  // the node's graph attribute so that the kernel (subgraph.h) reads them again at run time.
  std::unique_ptr<Graph> readBody(const uint8_t* data, size_t size, const std::string& prefix,
                                  const std::map<std::string, int64_t>& opsets, std::vector<ParserError>* errors);

 private:
  void readGraph(WireReader r, Graph* graph, const std::map<std::string, int64_t>& opsets);
  void readNode(WireReader r, Graph* graph, int32_t index, const std::map<std::string, int64_t>& opsets);
  // Reads an If branch into `graph` (flattened: its values and node names prefixed with
  // `prefix`, its nodes guarded by `guards`); returns the graph's value ids of its outputs.
  std::vector<int32_t> readSubgraph(WireReader r, Graph* graph, const std::string& prefix, std::vector<int64_t> guards,
                                    const std::map<std::string, int64_t>& opsets);
  // Reads the nodes of a subgraph the sim does not run (any operator's but If's, Loop's and
  // Scan's) into graph->nestedNodes, named under `prefix`, for the parse error only.
  void readBodyForReport(WireReader r, Graph* graph, const std::string& prefix,
                         const std::map<std::string, int64_t>& opsets);
  // `graph` receives the bytes of a GRAPH attribute's subgraph (`hasGraph` set), when given.
  void readAttribute(WireReader r, Attribute* out, WireReader* graph = nullptr, bool* hasGraph = nullptr);
  // The name a node inside the current subgraphs means by `name`: the innermost subgraph that
  // defines it gives it its prefix; a name none defines is the main graph's (outer scope).
  std::string resolve(const std::string& name) const;
  void readTensor(WireReader r, Tensor* out, std::string* name);
  void readValueInfo(WireReader r, Value* out, std::string* name, std::string* kind);
  std::vector<uint8_t> readExternalData(const std::string& tensorName, const std::string& location,
                                        uint64_t offset, bool hasLength, uint64_t length, size_t expectedBytes);
  void error(const std::string& message, const Node* node = nullptr, int32_t nodeIndex = -1);

  std::string modelDir_;
  std::vector<ParserError>* errors_ = nullptr;
  // The If branches being read, outermost first.
  struct Scope {
    std::string prefix;
    std::set<std::string> locals;  // names the branch defines (initializers, node outputs)
    std::vector<int64_t> guards;   // kGuardAttr of its nodes
  };
  std::vector<Scope> scopes_;
  // Loop/Scan bodies being read, outermost first: their node-name prefix, and how deep they
  // nest (with the If scopes, bounded so a hostile model cannot recurse the reader off its stack).
  std::string bodyPrefix_;
  size_t bodyDepth_ = 0;
  bool readingBody_ = false;  // body inputs may omit their shapes (ranks come from the values fed)
  std::unique_ptr<Graph> readBodyGraph(WireReader r, const std::string& prefix, const std::map<std::string, int64_t>& opsets);
};

}  // namespace sim
}  // namespace tnrt
