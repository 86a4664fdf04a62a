// Type tags for the wrapped classes. A method that receives another wrapped object (a Builder
// given a Network, say) checks the tag before unwrapping: unwrapping an object of the wrong
// class would read the wrong C++ type.
#pragma once

#include <napi.h>

#include <string>

#include "errors.h"

namespace tnrt::binding {

// Arbitrary but fixed 128-bit values, one per class.
inline constexpr napi_type_tag kLoggerTag = {0x7a1c5e0b3d2f4e61ULL, 0x9b8a1c2d3e4f5061ULL};
inline constexpr napi_type_tag kNetworkTag = {0x7a1c5e0b3d2f4e62ULL, 0x9b8a1c2d3e4f5062ULL};
inline constexpr napi_type_tag kEngineTag = {0x7a1c5e0b3d2f4e63ULL, 0x9b8a1c2d3e4f5063ULL};

template <typename T>
T* unwrapTagged(Napi::Env env, Napi::Value value, const napi_type_tag& tag, const char* className) {
  if (!value.IsObject() || !value.As<Napi::Object>().CheckTypeTag(&tag)) {
    throwInvalid(env, std::string("expected a native ") + className);
  }
  return Napi::ObjectWrap<T>::Unwrap(value.As<Napi::Object>());
}

}  // namespace tnrt::binding
