#include "double_common.h"

#include <NvInferVersion.h>

#include <cstring>

#include "sim/sim_backend.h"

namespace tnrt_double {

void SimLogSink::log(tnrt::Severity severity, const std::string& message) {
  using S = nvinfer1::ILogger::Severity;
  S s = S::kVERBOSE;
  switch (severity) {
    case tnrt::Severity::kInternalError: s = S::kINTERNAL_ERROR; break;
    case tnrt::Severity::kError: s = S::kERROR; break;
    case tnrt::Severity::kWarning: s = S::kWARNING; break;
    case tnrt::Severity::kInfo: s = S::kINFO; break;
    case tnrt::Severity::kVerbose: s = S::kVERBOSE; break;
  }
  logger_.log(s, message);
}

bool toTrt(tnrt::DataType in, nvinfer1::DataType* out) {
  using T = tnrt::DataType;
  using N = nvinfer1::DataType;
  switch (in) {
    case T::kFloat32: *out = N::kFLOAT; return true;
    case T::kFloat16: *out = N::kHALF; return true;
    case T::kBFloat16: *out = N::kBF16; return true;
    case T::kInt8: *out = N::kINT8; return true;
    case T::kUInt8: *out = N::kUINT8; return true;
    case T::kInt32: *out = N::kINT32; return true;
    case T::kInt64: *out = N::kINT64; return true;
    case T::kBool: *out = N::kBOOL; return true;
    case T::kFP8: *out = N::kFP8; return true;
    case T::kInt4: *out = N::kINT4; return true;
    default: return false;
  }
}

bool fromTrt(nvinfer1::DataType in, tnrt::DataType* out) {
  using T = tnrt::DataType;
  using N = nvinfer1::DataType;
  switch (in) {
    case N::kFLOAT: *out = T::kFloat32; return true;
    case N::kHALF: *out = T::kFloat16; return true;
    case N::kBF16: *out = T::kBFloat16; return true;
    case N::kINT8: *out = T::kInt8; return true;
    case N::kUINT8: *out = T::kUInt8; return true;
    case N::kINT32: *out = T::kInt32; return true;
    case N::kINT64: *out = T::kInt64; return true;
    case N::kBOOL: *out = T::kBool; return true;
    case N::kFP8: *out = T::kFP8; return true;
    case N::kINT4: *out = T::kInt4; return true;
    default: return false;
  }
}

nvinfer1::Dims toTrtDims(const tnrt::Dims& d) {
  nvinfer1::Dims out{};
  if (d.size() > static_cast<size_t>(nvinfer1::Dims::MAX_DIMS)) {
    out.nbDims = -1;
    return out;
  }
  out.nbDims = static_cast<int32_t>(d.size());
  for (size_t i = 0; i < d.size(); ++i) out.d[i] = d[i];
  return out;
}

tnrt::Dims fromTrtDims(const nvinfer1::Dims& d) {
  tnrt::Dims out;
  for (int32_t i = 0; i < d.nbDims && i < nvinfer1::Dims::MAX_DIMS; ++i) out.push_back(d.d[i]);
  return out;
}

std::string dimsText(const nvinfer1::Dims& d) {
  if (d.nbDims < 0) return "(invalid: nbDims " + std::to_string(d.nbDims) + ")";
  std::string s = "(";
  for (int32_t i = 0; i < d.nbDims && i < nvinfer1::Dims::MAX_DIMS; ++i) s += (i ? ", " : "") + std::to_string(d.d[i]);
  return s + ")";
}

namespace {
constexpr char kPlanMagic[8] = {'T', 'N', 'R', 'T', 'D', 'B', 'L', '\0'};
constexpr size_t kPlanHeader = 12;  // magic, major
constexpr uint32_t kFlagVersionCompatible = 1, kFlagExcludeLeanRuntime = 2, kFlagTf32 = 4, kFlagVerbosityNone = 8,
                   kFlagVerbosityDetailed = 16;

void putU32(std::vector<uint8_t>& out, uint32_t v) {
  const size_t at = out.size();
  out.resize(at + 4);
  std::memcpy(out.data() + at, &v, 4);
}

bool getU32(const uint8_t*& p, const uint8_t* end, uint32_t* v) {
  if (end - p < 4) return false;
  std::memcpy(v, p, 4);
  p += 4;
  return true;
}
}  // namespace

std::vector<uint8_t> wrapPlan(const std::vector<uint8_t>& simEngine, const PlanInfo& info) {
  std::vector<uint8_t> out(kPlanHeader);
  std::memcpy(out.data(), kPlanMagic, 8);
  const uint32_t major = NV_TENSORRT_MAJOR;
  std::memcpy(out.data() + 8, &major, 4);
  putU32(out, (info.versionCompatible ? kFlagVersionCompatible : 0) |
                  (info.excludeLeanRuntime ? kFlagExcludeLeanRuntime : 0) | (info.tf32 ? kFlagTf32 : 0) |
                  (info.profilingVerbosity == nvinfer1::ProfilingVerbosity::kNONE ? kFlagVerbosityNone : 0) |
                  (info.profilingVerbosity == nvinfer1::ProfilingVerbosity::kDETAILED ? kFlagVerbosityDetailed : 0));
  putU32(out, static_cast<uint32_t>(info.plugins.size()));
  for (const std::string& name : info.plugins) {
    putU32(out, static_cast<uint32_t>(name.size()));
    out.insert(out.end(), name.begin(), name.end());
  }
  out.insert(out.end(), simEngine.begin(), simEngine.end());
  return out;
}

bool unwrapPlan(const uint8_t* data, size_t size, const uint8_t** simEngine, size_t* simSize, PlanInfo* info,
                std::string* why) {
  if (!data || size < kPlanHeader || std::memcmp(data, kPlanMagic, 8) != 0) {
    *why = "the serialized engine is not a TensorRT plan (magic tag mismatch)";
    return false;
  }
  uint32_t major = 0;
  std::memcpy(&major, data + 8, 4);
  if (major != NV_TENSORRT_MAJOR) {
    *why = "the plan was serialized by TensorRT " + std::to_string(major) + ".x, this is " +
           std::to_string(NV_TENSORRT_MAJOR) + ".x (version tag mismatch)";
    return false;
  }
  const uint8_t* p = data + kPlanHeader;
  const uint8_t* end = data + size;
  uint32_t flags = 0, count = 0;
  *why = "the plan is truncated (its header)";
  if (!getU32(p, end, &flags) || !getU32(p, end, &count) || count > 1024) return false;
  info->versionCompatible = (flags & kFlagVersionCompatible) != 0;
  info->excludeLeanRuntime = (flags & kFlagExcludeLeanRuntime) != 0;
  info->tf32 = (flags & kFlagTf32) != 0;
  info->profilingVerbosity = (flags & kFlagVerbosityDetailed) != 0 ? nvinfer1::ProfilingVerbosity::kDETAILED
                             : (flags & kFlagVerbosityNone) != 0   ? nvinfer1::ProfilingVerbosity::kNONE
                                                                   : nvinfer1::ProfilingVerbosity::kLAYER_NAMES_ONLY;
  info->plugins.clear();
  for (uint32_t i = 0; i < count; ++i) {
    uint32_t length = 0;
    if (!getU32(p, end, &length) || static_cast<size_t>(end - p) < length) return false;
    info->plugins.emplace_back(reinterpret_cast<const char*>(p), length);
    p += length;
  }
  why->clear();
  *simEngine = p;
  *simSize = static_cast<size_t>(end - p);
  return true;
}

std::shared_ptr<tnrt::Backend> simBackend() {
  static std::shared_ptr<tnrt::Backend> backend = tnrt::sim::createSimBackend();
  return backend;
}

}  // namespace tnrt_double
