#include "convert.h"

#include <cstring>

#include "errors.h"

namespace tnrt::binding {

Dims dimsFromJs(Napi::Env env, Napi::Value value, const char* what) {
  if (!value.IsArray()) throwInvalid(env, std::string(what) + " must be an array of integers");
  Napi::Array array = value.As<Napi::Array>();
  Dims dims(array.Length());
  for (uint32_t i = 0; i < array.Length(); ++i) {
    Napi::Value v = array.Get(i);
    if (!v.IsNumber()) throwInvalid(env, std::string(what) + " must be an array of integers");
    double d = v.As<Napi::Number>().DoubleValue();
    if (d < -1 || d > 9.0e15 || d != static_cast<double>(static_cast<int64_t>(d))) {
      throwInvalid(env, std::string(what) + " has an invalid dimension");
    }
    dims[i] = static_cast<int64_t>(d);
  }
  return dims;
}

std::vector<int64_t> shapeValuesFromJs(Napi::Env env, Napi::Value value, const char* what) {
  if (!value.IsArray()) throwInvalid(env, std::string(what) + " must be an array of integers");
  Napi::Array array = value.As<Napi::Array>();
  std::vector<int64_t> values(array.Length());
  for (uint32_t i = 0; i < array.Length(); ++i) {
    Napi::Value v = array.Get(i);
    if (!v.IsNumber()) throwInvalid(env, std::string(what) + " must be an array of integers");
    const double d = v.As<Napi::Number>().DoubleValue();
    // Safe integers only: beyond 2^53 a double no longer names one integer.
    if (!(d >= -9007199254740991.0 && d <= 9007199254740991.0) || d != static_cast<double>(static_cast<int64_t>(d))) {
      throwInvalid(env, std::string(what) + " must hold safe integers");
    }
    values[i] = static_cast<int64_t>(d);
  }
  return values;
}

Napi::Array dimsToJs(Napi::Env env, const Dims& dims) {
  Napi::Array array = Napi::Array::New(env, dims.size());
  for (size_t i = 0; i < dims.size(); ++i) array.Set(static_cast<uint32_t>(i), static_cast<double>(dims[i]));
  return array;
}

DataType dataTypeFromJs(Napi::Env env, Napi::Value value, const char* what) {
  DataType type;
  if (!value.IsString() || !dataTypeFromName(value.As<Napi::String>().Utf8Value(), &type)) {
    throwInvalid(env, std::string(what) + " is not a known data type");
  }
  return type;
}

Napi::Object tensorDescToJs(Napi::Env env, const TensorDesc& desc) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("name", desc.name);
  o.Set("dtype", dataTypeName(desc.dtype));
  o.Set("shape", dimsToJs(env, desc.shape));
  o.Set("mode", desc.isInput ? "input" : "output");
  o.Set("isShapeTensor", desc.isShapeTensor);
  return o;
}

Napi::Array tensorDescsToJs(Napi::Env env, const std::vector<TensorDesc>& descs) {
  Napi::Array array = Napi::Array::New(env, descs.size());
  for (size_t i = 0; i < descs.size(); ++i) array.Set(static_cast<uint32_t>(i), tensorDescToJs(env, descs[i]));
  return array;
}

Napi::Object backendInfoToJs(Napi::Env env, const BackendInfo& info) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("name", info.name);
  o.Set("version", info.version);
  o.Set("available", info.available);
  if (!info.reason.empty()) o.Set("reason", info.reason);
  o.Set("implicitPrecision", info.implicitPrecision);
  return o;
}

Napi::Uint8Array bytesToJs(Napi::Env env, const std::vector<uint8_t>& bytes) {
  Napi::Uint8Array array = Napi::Uint8Array::New(env, bytes.size());
  if (!bytes.empty()) std::memcpy(array.Data(), bytes.data(), bytes.size());
  return array;
}

ByteSpan bytesFromJs(Napi::Env env, Napi::Value value, const char* what) {
  // The data pointers come from napi_get_typedarray_info / napi_get_dataview_info, not from
  // the view's ArrayBuffer: for a view over a SharedArrayBuffer that buffer is not an
  // ArrayBuffer to N-API, and napi_get_arraybuffer_info refuses it ("Invalid argument").
  if (value.IsTypedArray()) {
    Napi::TypedArray t = value.As<Napi::TypedArray>();
    void* data = nullptr;
    NAPI_THROW_IF_FAILED(env, napi_get_typedarray_info(env, t, nullptr, nullptr, &data, nullptr, nullptr), ByteSpan{});
    return {static_cast<const uint8_t*>(data), t.ByteLength()};
  }
  if (value.IsDataView()) {
    size_t size = 0;
    void* data = nullptr;
    NAPI_THROW_IF_FAILED(env, napi_get_dataview_info(env, value, &size, &data, nullptr, nullptr), ByteSpan{});
    return {static_cast<const uint8_t*>(data), size};
  }
  if (value.IsArrayBuffer()) {
    Napi::ArrayBuffer b = value.As<Napi::ArrayBuffer>();
    return {static_cast<const uint8_t*>(b.Data()), b.ByteLength()};
  }
  throwInvalid(env, std::string(what) + " must be a TypedArray, DataView or ArrayBuffer (wrap a SharedArrayBuffer in a Uint8Array)");
}

bool isDetachedView(Napi::Env env, Napi::Value value) {
  napi_value buffer = nullptr;
  if (value.IsTypedArray()) {
    if (napi_get_typedarray_info(env, value, nullptr, nullptr, nullptr, &buffer, nullptr) != napi_ok) return false;
  } else if (value.IsDataView()) {
    if (napi_get_dataview_info(env, value, nullptr, nullptr, &buffer, nullptr) != napi_ok) return false;
  } else {
    buffer = value;
  }
  bool detached = false;
  // A SharedArrayBuffer cannot be detached; N-API answers "not an ArrayBuffer" for it.
  return napi_is_detached_arraybuffer(env, buffer, &detached) == napi_ok && detached;
}

std::shared_ptr<const std::vector<uint8_t>> copyBytesFromJs(Napi::Env env, Napi::Value value, const char* what) {
  ByteSpan span = bytesFromJs(env, value, what);
  // No JavaScript runs between reading the span and copying it, so the buffer cannot be
  // detached in between.
  return std::make_shared<const std::vector<uint8_t>>(span.data, span.data + span.size);
}

std::string stringFromJs(Napi::Env env, Napi::Value value, const char* what) {
  if (!value.IsString()) throwInvalid(env, std::string(what) + " must be a string");
  return value.As<Napi::String>().Utf8Value();
}

}  // namespace tnrt::binding
