// What the native fuzz targets share: drive the sim backend through its Backend interface
// (native/backend/backend.h), the same calls the N-API binding makes, so a finding here is a
// finding in the addon. No N-API: these files link against the sim sources alone.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "backend/backend.h"

namespace tnrt::fuzz {

// The sim backend and a log sink that drops everything, made once per process: libFuzzer
// calls a target millions of times and the backend holds no per-call state worth resetting.
Backend& simBackend();
std::shared_ptr<LogSink> silentLog();

// Parses an ONNX model; when that succeeds, builds it with one profile that sets every
// dynamic dimension to 1, and hands the plan to runEngine(). Typed failures (BackendError,
// parser errors) are the expected outcome for most inputs and return quietly.
void runOnnxPipeline(const uint8_t* data, size_t size);

// Deserializes a sim engine; when that succeeds, runs it once per profile at the profile's
// min and max shapes with zero-filled inputs (skipping runs whose inputs would exceed a few
// MB, which would only slow the fuzzer down, not reach new code).
void runEngine(const uint8_t* data, size_t size);

}  // namespace tnrt::fuzz
