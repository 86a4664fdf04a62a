// The sim's compact serialization of a Graph inside an engine: values, inputs, outputs,
// initializers with their raw bytes, and nodes with attributes. Self-contained (no reference
// to the ONNX file) so that an engine loads anywhere.
#pragma once

#include "byte_io.h"
#include "graph.h"

namespace tnrt {
namespace sim {

void encodeGraph(const Graph& graph, ByteWriter& out);
// Throws ByteReadError on malformed input, including ids out of range and tensors whose
// bytes do not match their shape.
void decodeGraph(ByteReader& in, Graph* graph);

}  // namespace sim
}  // namespace tnrt
