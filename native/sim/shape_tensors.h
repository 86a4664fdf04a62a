// Which network inputs are shape tensors: inputs whose values, not just their shape, decide the
// shapes of other tensors. TensorRT keeps such an input in host memory (TensorLocation::kHOST,
// ICudaEngine::isShapeInferenceIO), needs min/opt/max values for it in every optimization
// profile (IOptimizationProfile::setShapeValuesV2), and builds kernels for that range of values;
// the sim mirrors the rule so that a model that works on the sim builds on TensorRT.
#pragma once

#include <string>
#include <vector>

#include "graph.h"

namespace tnrt {
namespace sim {

// Per graph input (parallel to graph.inputs): "" when the input is not a shape tensor, else the
// label of a node whose output shape its values decide ("node 'r' (Reshape)"), for messages.
// A shape tensor is int32 or int64, of rank 0 or 1 with a fixed length, and reaches a shape
// operand (Reshape's shape, Expand's shape, Tile's repeats, ConstantOfShape's input, Slice's
// starts/ends/axes/steps, Pad's pads, Resize's sizes) through any chain of operators but Shape,
// which reads only its input's shape. Inputs of other types or ranks that reach a shape
// operand stay ordinary device tensors whose values the sim reads at run time (the shapes they
// produce are then held to maxTensorBytes only).
std::vector<std::string> findShapeTensorInputs(const Graph& graph);

// Whether `input` (a declared graph input) can be a shape tensor at all.
bool canBeShapeTensor(DataType dtype, const Dims& shape);

}  // namespace sim
}  // namespace tnrt
