// Build progress to JavaScript, and cancellation from it.
//
// Progress events are fire-and-forget (a thread-safe function's non-blocking call): the build
// thread never waits for the event loop. Cancellation travels the other way through an atomic
// flag that the JS side sets (AbortSignal -> Builder.cancel()) and stepComplete() reads.
#pragma once

#include <napi.h>

#include <atomic>
#include <memory>
#include <string>

#include "backend/backend.h"
#include "safe_tsfn.h"

namespace tnrt::binding {

class JsProgressSink : public ProgressSink {
 public:
  // `callback` may be empty: the sink then only carries cancellation.
  JsProgressSink(Napi::Env env, Napi::Function callback);
  ~JsProgressSink() override;

  void phaseStart(const std::string& phase, const std::string& parent, int32_t steps) override;
  bool stepComplete(const std::string& phase, int32_t step) override;
  void phaseFinish(const std::string& phase) override;

  void cancel() { cancelled_.store(true); }
  bool cancelled() const { return cancelled_.load(); }
  // Events queued for JavaScript so far. The build's result carries this count so that the JS
  // side can wait for the stragglers: queued calls and the promise's resolution travel
  // through different libuv handles, so their order is not guaranteed.
  int64_t posted() const { return posted_.load(); }

 private:
  struct Event;
  void post(Event* event);

  SafeTsfn tsfn_;
  std::atomic<bool> cancelled_{false};
  std::atomic<int64_t> posted_{0};
};

}  // namespace tnrt::binding
