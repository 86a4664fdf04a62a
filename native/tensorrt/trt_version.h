// Compile-time TensorRT version tests for the few API differences between the releases the
// adapter supports (10.0 through 11.x). NvInferVersion.h defines the numbers; since 10.12 it
// defines them through TRT_*_ENTERPRISE macros, which the preprocessor expands just the same.
#pragma once

#include <NvInferVersion.h>

#define TNRT_TRT_AT_LEAST(major, minor) \
  (NV_TENSORRT_MAJOR > (major) || (NV_TENSORRT_MAJOR == (major) && NV_TENSORRT_MINOR >= (minor)))

// DataType::kFP4 appeared in 10.8, DataType::kE8M0 in 10.12.
#define TNRT_TRT_HAS_FP4 TNRT_TRT_AT_LEAST(10, 8)
#define TNRT_TRT_HAS_E8M0 TNRT_TRT_AT_LEAST(10, 12)
// ICudaEngine::getDeviceMemorySizeV2 (int64_t) appeared in 10.1; 10.0 has only the size_t
// getDeviceMemorySize, which 11.x removed.
#define TNRT_TRT_HAS_DEVICE_MEMORY_SIZE_V2 TNRT_TRT_AT_LEAST(10, 1)
// IOptimizationProfile::setShapeValuesV2 and ICudaEngine::getProfileTensorValuesV2 (int64_t
// values) appeared in 10.11; earlier 10.x has only the int32_t setShapeValues /
// getProfileTensorValues, which 11.x removed.
#define TNRT_TRT_HAS_SHAPE_VALUES_V2 TNRT_TRT_AT_LEAST(10, 11)
// HardwareCompatibilityLevel::kSAME_COMPUTE_CAPABILITY appeared in 10.9.
#define TNRT_TRT_HAS_SAME_COMPUTE_CAPABILITY TNRT_TRT_AT_LEAST(10, 9)
