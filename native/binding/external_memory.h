// One JavaScript object's report of native memory to V8 (external memory): what makes the
// garbage collector see that a forgotten engine or session holds megabytes, or gigabytes, and
// collect it before memory runs out. JS thread only.
#pragma once

#include <napi.h>

#include <cstdint>

#include "backend/backend.h"

namespace tnrt::binding {

class ExternalMemoryReport {
 public:
  // Moves the report to `usage` (host and device together: V8 has one figure, and either kind
  // running out is what a collection should prevent). No-op once withdrawn.
  void set(Napi::Env env, const MemoryUsage& usage) {
    if (withdrawn_) return;
    const auto bytes = static_cast<int64_t>(usage.host + usage.device);
    if (bytes != reported_) Napi::MemoryManagement::AdjustExternalMemory(env, bytes - reported_);
    reported_ = bytes;
  }
  // Takes the whole report back, exactly once however often it is called (dispose(), then the
  // finalizer).
  void withdraw(Napi::Env env) {
    if (withdrawn_) return;
    withdrawn_ = true;
    if (reported_) Napi::MemoryManagement::AdjustExternalMemory(env, -reported_);
    reported_ = 0;
  }
  int64_t reported() const { return reported_; }

 private:
  int64_t reported_ = 0;
  bool withdrawn_ = false;
};

}  // namespace tnrt::binding
