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
  if (value.IsTypedArray()) {
    Napi::TypedArray t = value.As<Napi::TypedArray>();
    Napi::ArrayBuffer buffer = t.ArrayBuffer();
    return {static_cast<const uint8_t*>(buffer.Data()) + t.ByteOffset(), t.ByteLength()};
  }
  if (value.IsDataView()) {
    Napi::DataView v = value.As<Napi::DataView>();
    return {static_cast<const uint8_t*>(v.ArrayBuffer().Data()) + v.ByteOffset(), v.ByteLength()};
  }
  if (value.IsArrayBuffer()) {
    Napi::ArrayBuffer b = value.As<Napi::ArrayBuffer>();
    return {static_cast<const uint8_t*>(b.Data()), b.ByteLength()};
  }
  throwInvalid(env, std::string(what) + " must be a TypedArray, DataView or ArrayBuffer");
}

std::string stringFromJs(Napi::Env env, Napi::Value value, const char* what) {
  if (!value.IsString()) throwInvalid(env, std::string(what) + " must be a string");
  return value.As<Napi::String>().Utf8Value();
}

}  // namespace tnrt::binding
