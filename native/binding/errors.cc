#include "errors.h"

namespace tnrt::binding {

const char* errorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return "ERR_TENSORRT_INVALID_ARGUMENT";
    case ErrorCode::kParse: return "ERR_TENSORRT_PARSE";
    case ErrorCode::kUnsupported: return "ERR_TENSORRT_UNSUPPORTED";
    case ErrorCode::kShape: return "ERR_TENSORRT_SHAPE";
    case ErrorCode::kDType: return "ERR_TENSORRT_DTYPE";
    case ErrorCode::kEngineInvalid: return "ERR_TENSORRT_ENGINE_INVALID";
    case ErrorCode::kUnavailable: return "ERR_TENSORRT_BACKEND_UNAVAILABLE";
    case ErrorCode::kCancelled: return "ERR_TENSORRT_CANCELLED";
    case ErrorCode::kInternal: return "ERR_TENSORRT_INTERNAL";
  }
  return "ERR_TENSORRT_INTERNAL";
}

Napi::Error makeError(Napi::Env env, ErrorCode code, const std::string& message,
                      const std::vector<std::string>& logMessages) {
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, errorCodeName(code)));
  if (!logMessages.empty()) {
    Napi::Array list = Napi::Array::New(env, logMessages.size());
    for (size_t i = 0; i < logMessages.size(); ++i) list.Set(static_cast<uint32_t>(i), logMessages[i]);
    error.Set("logMessages", list);
  }
  return error;
}

void throwInvalid(Napi::Env env, const std::string& message) {
  throw makeError(env, ErrorCode::kInvalidArgument, message);
}

void throwDisposed(Napi::Env env, const char* className) {
  Napi::Error error = Napi::Error::New(
      env, std::string(className) + " has been disposed; create a new one instead of reusing it");
  error.Set("code", Napi::String::New(env, "ERR_TENSORRT_DISPOSED"));
  throw error;
}

}  // namespace tnrt::binding
