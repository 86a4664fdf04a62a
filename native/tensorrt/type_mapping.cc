#include "tensorrt/type_mapping.h"

#include "tensorrt/trt_version.h"

namespace tnrt {
namespace trt {

bool fromTrtDataType(nvinfer1::DataType t, DataType* out) {
  switch (t) {
    case nvinfer1::DataType::kFLOAT: *out = DataType::kFloat32; return true;
    case nvinfer1::DataType::kHALF: *out = DataType::kFloat16; return true;
    case nvinfer1::DataType::kBF16: *out = DataType::kBFloat16; return true;
    case nvinfer1::DataType::kINT8: *out = DataType::kInt8; return true;
    case nvinfer1::DataType::kUINT8: *out = DataType::kUInt8; return true;
    case nvinfer1::DataType::kINT32: *out = DataType::kInt32; return true;
    case nvinfer1::DataType::kINT64: *out = DataType::kInt64; return true;
    case nvinfer1::DataType::kBOOL: *out = DataType::kBool; return true;
    case nvinfer1::DataType::kFP8: *out = DataType::kFP8; return true;
    case nvinfer1::DataType::kINT4: *out = DataType::kInt4; return true;
#if TNRT_TRT_HAS_FP4
    case nvinfer1::DataType::kFP4: *out = DataType::kFP4; return true;
#endif
#if TNRT_TRT_HAS_E8M0
    case nvinfer1::DataType::kE8M0: *out = DataType::kE8M0; return true;
#endif
  }
  return false;  // a value outside the enumerators (a newer library than our headers)
}

nvinfer1::DataType toTrtDataType(DataType t) {
  switch (t) {
    case DataType::kFloat32: return nvinfer1::DataType::kFLOAT;
    case DataType::kFloat16: return nvinfer1::DataType::kHALF;
    case DataType::kBFloat16: return nvinfer1::DataType::kBF16;
    case DataType::kInt8: return nvinfer1::DataType::kINT8;
    case DataType::kUInt8: return nvinfer1::DataType::kUINT8;
    case DataType::kInt32: return nvinfer1::DataType::kINT32;
    case DataType::kInt64: return nvinfer1::DataType::kINT64;
    case DataType::kBool: return nvinfer1::DataType::kBOOL;
    case DataType::kFP8: return nvinfer1::DataType::kFP8;
    case DataType::kInt4: return nvinfer1::DataType::kINT4;
    case DataType::kFP4:
#if TNRT_TRT_HAS_FP4
      return nvinfer1::DataType::kFP4;
#else
      break;
#endif
    case DataType::kE8M0:
#if TNRT_TRT_HAS_E8M0
      return nvinfer1::DataType::kE8M0;
#else
      break;
#endif
  }
  throw BackendError(ErrorCode::kUnsupported, std::string("element type ") + dataTypeName(t) +
                                                  " needs a newer TensorRT than the adapter was built with");
}

std::string trtDataTypeName(nvinfer1::DataType t) {
  switch (t) {
    case nvinfer1::DataType::kFLOAT: return "kFLOAT";
    case nvinfer1::DataType::kHALF: return "kHALF";
    case nvinfer1::DataType::kBF16: return "kBF16";
    case nvinfer1::DataType::kINT8: return "kINT8";
    case nvinfer1::DataType::kUINT8: return "kUINT8";
    case nvinfer1::DataType::kINT32: return "kINT32";
    case nvinfer1::DataType::kINT64: return "kINT64";
    case nvinfer1::DataType::kBOOL: return "kBOOL";
    case nvinfer1::DataType::kFP8: return "kFP8";
    case nvinfer1::DataType::kINT4: return "kINT4";
#if TNRT_TRT_HAS_FP4
    case nvinfer1::DataType::kFP4: return "kFP4";
#endif
#if TNRT_TRT_HAS_E8M0
    case nvinfer1::DataType::kE8M0: return "kE8M0";
#endif
  }
  return "DataType(" + std::to_string(static_cast<int32_t>(t)) + ")";
}

Severity fromTrtSeverity(nvinfer1::ILogger::Severity s) {
  switch (s) {
    case nvinfer1::ILogger::Severity::kINTERNAL_ERROR: return Severity::kInternalError;
    case nvinfer1::ILogger::Severity::kERROR: return Severity::kError;
    case nvinfer1::ILogger::Severity::kWARNING: return Severity::kWarning;
    case nvinfer1::ILogger::Severity::kINFO: return Severity::kInfo;
    case nvinfer1::ILogger::Severity::kVERBOSE: return Severity::kVerbose;
  }
  return Severity::kInfo;
}

Dims fromTrtDims(const nvinfer1::Dims& d) {
  Dims out;
  if (d.nbDims <= 0) return out;
  out.reserve(static_cast<size_t>(d.nbDims));
  for (int32_t i = 0; i < d.nbDims && i < nvinfer1::Dims::MAX_DIMS; ++i) out.push_back(d.d[i]);
  return out;
}

nvinfer1::Dims toTrtDims(const Dims& d, const std::string& what) {
  if (d.size() > static_cast<size_t>(nvinfer1::Dims::MAX_DIMS)) {
    throw BackendError(ErrorCode::kShape, what + " has rank " + std::to_string(d.size()) + " but TensorRT allows at most " +
                                              std::to_string(nvinfer1::Dims::MAX_DIMS) + " dimensions");
  }
  nvinfer1::Dims out{};
  out.nbDims = static_cast<int32_t>(d.size());
  for (size_t i = 0; i < d.size(); ++i) out.d[i] = d[i];
  return out;
}

namespace {
struct PoolRow {
  const char* name;
  nvinfer1::MemoryPoolType pool;
};
constexpr PoolRow kPools[] = {
    {"workspace", nvinfer1::MemoryPoolType::kWORKSPACE},
    {"dlaManagedSram", nvinfer1::MemoryPoolType::kDLA_MANAGED_SRAM},
    {"dlaLocalDram", nvinfer1::MemoryPoolType::kDLA_LOCAL_DRAM},
    {"dlaGlobalDram", nvinfer1::MemoryPoolType::kDLA_GLOBAL_DRAM},
    {"tacticDram", nvinfer1::MemoryPoolType::kTACTIC_DRAM},
    {"tacticSharedMemory", nvinfer1::MemoryPoolType::kTACTIC_SHARED_MEMORY},
};
}  // namespace

bool memoryPoolFromName(const std::string& name, nvinfer1::MemoryPoolType* out) {
  for (const auto& row : kPools) {
    if (name == row.name) {
      *out = row.pool;
      return true;
    }
  }
  return false;
}

const char* memoryPoolNames() {
  return "workspace, dlaManagedSram, dlaLocalDram, dlaGlobalDram, tacticDram, tacticSharedMemory";
}

}  // namespace trt
}  // namespace tnrt
