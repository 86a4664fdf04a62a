// Conversions between JavaScript values and the backend's plain structs. The TypeScript layer
// has already validated and normalized everything; these keep only cheap guards so that a
// caller bypassing it gets an error, never a crash.
#pragma once

#include <napi.h>

#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"

namespace tnrt::binding {

Dims dimsFromJs(Napi::Env env, Napi::Value value, const char* what);
Napi::Array dimsToJs(Napi::Env env, const Dims& dims);
// A shape tensor's values (any sign) from an array of safe integers.
std::vector<int64_t> shapeValuesFromJs(Napi::Env env, Napi::Value value, const char* what);
DataType dataTypeFromJs(Napi::Env env, Napi::Value value, const char* what);
Napi::Object tensorDescToJs(Napi::Env env, const TensorDesc& desc);
Napi::Array tensorDescsToJs(Napi::Env env, const std::vector<TensorDesc>& descs);
Napi::Object backendInfoToJs(Napi::Env env, const BackendInfo& info);
// Copies bytes into a new JS Uint8Array. A copy, not an external buffer: Electron's V8 memory
// cage refuses external ArrayBuffers.
Napi::Uint8Array bytesToJs(Napi::Env env, const std::vector<uint8_t>& bytes);
// The byte range of a TypedArray, DataView or ArrayBuffer, views over a SharedArrayBuffer
// included. Valid on the JavaScript thread only, and only until JavaScript runs again: any
// JavaScript can transfer (detach) the buffer, and then the garbage collector frees the memory
// under the span. A reference to the view does not prevent that, and N-API has no way to pin
// a backing store. Work on another thread must read a copy (copyBytesFromJs) instead.
struct ByteSpan {
  const uint8_t* data = nullptr;
  size_t size = 0;
};
ByteSpan bytesFromJs(Napi::Env env, Napi::Value value, const char* what);
// Whether a TypedArray's, DataView's or ArrayBuffer's memory was detached (transferred away):
// its span is then empty, and an error can say why.
bool isDetachedView(Napi::Env env, Napi::Value value);
// A copy of those bytes that a worker thread may read for as long as it holds it.
std::shared_ptr<const std::vector<uint8_t>> copyBytesFromJs(Napi::Env env, Napi::Value value, const char* what);
std::string stringFromJs(Napi::Env env, Napi::Value value, const char* what);

}  // namespace tnrt::binding
