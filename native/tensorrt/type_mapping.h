// Conversions between this project's plain types (backend.h) and TensorRT's. Enums are mapped
// by name in exhaustive switches, never by raw integer: TensorRT's numbering is not ours and
// may differ between majors, and a switch without `default` makes the compiler list any
// enumerator a new TensorRT adds.
#pragma once

#include <NvInfer.h>

#include <string>

#include "backend/backend.h"

namespace tnrt {
namespace trt {

// False for a TensorRT type this project has no name for.
bool fromTrtDataType(nvinfer1::DataType t, DataType* out);
// Throws BackendError kUnsupported for a type the TensorRT we were compiled against lacks.
nvinfer1::DataType toTrtDataType(DataType t);
// TensorRT's spelling of a type ("kHALF"), for messages about types we cannot name.
std::string trtDataTypeName(nvinfer1::DataType t);

Severity fromTrtSeverity(nvinfer1::ILogger::Severity s);

// An empty vector for a rank-0 tensor; callers check nbDims >= 0 first (-1 means "unknown").
Dims fromTrtDims(const nvinfer1::Dims& d);
// Throws BackendError kShape when the rank exceeds nvinfer1::Dims::MAX_DIMS; `what` names the
// tensor in that message.
nvinfer1::Dims toTrtDims(const Dims& d, const std::string& what);

// Pool names as BuildOptions::memoryPoolLimits spells them ("workspace", "tacticSharedMemory").
bool memoryPoolFromName(const std::string& name, nvinfer1::MemoryPoolType* out);
// The accepted names, comma-separated, for error messages.
const char* memoryPoolNames();

}  // namespace trt
}  // namespace tnrt
