// Turns backend failures into JavaScript errors that lib/errors.ts can type.
//
// Every error the addon throws or rejects with carries `code` (ERR_TENSORRT_*); the
// TypeScript layer maps the code to an error class and attaches the caller's stack.
#pragma once

#include <napi.h>

#include <string>
#include <vector>

#include "backend/backend.h"

namespace tnrt::binding {

const char* errorCodeName(ErrorCode code);

// A JS Error with `code` set and, when given, `logMessages` (the logger's recent errors).
Napi::Error makeError(Napi::Env env, ErrorCode code, const std::string& message,
                      const std::vector<std::string>& logMessages = {});

// Throws kInvalidArgument as a JS exception (for cheap guards in synchronous methods).
[[noreturn]] void throwInvalid(Napi::Env env, const std::string& message);

// Throws the "used after dispose" error, one fixed wording for every class.
[[noreturn]] void throwDisposed(Napi::Env env, const char* className);

}  // namespace tnrt::binding
