// A promise that work on one of the addon's own threads (builder_queue.h) settles, as
// PromiseWorker's does for work on the libuv pool: the same error mapping, the same recent log
// errors on a rejection.
//
// The JavaScript side (the deferred, the references that keep objects alive, the conversion
// of the result) belongs to a thread-safe function and is deleted by its finalizer, on the
// event loop, whether the outcome arrived or the environment ended first. The thread side only
// holds the function, behind a lock and an "open" flag that the finalizer clears: once the
// environment has torn the function down, settling is a no-op instead of a use after free.
// Until settled, the function keeps the event loop alive, as a pending libuv request would.
#pragma once

#include <napi.h>

#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "errors.h"
#include "log_sink.h"

namespace tnrt::binding {

template <typename Result>
class ThreadPromise {
 public:
  using ToJs = std::function<Napi::Value(Napi::Env, Result&)>;

  // [JS thread] `keepAlive` stay referenced until the promise settles; `log` (may be null)
  // supplies the recent errors attached to a rejection.
  static std::shared_ptr<ThreadPromise> create(Napi::Env env, const char* name, ToJs toJs,
                                               const std::vector<Napi::Object>& keepAlive, std::shared_ptr<JsLogSink> log) {
    auto self = std::shared_ptr<ThreadPromise>(new ThreadPromise());
    const uint64_t logMark = log ? log->mark() : 0;
    auto* js = new JsSide{Napi::Promise::Deferred::New(env), {}, std::move(toJs), std::move(log), logMark, self->open_};
    for (const auto& object : keepAlive) js->keepAlive.push_back(Napi::Persistent(object));
    self->promise_ = js->deferred.Promise();
    self->js_ = js;
    self->tsfn_ = Napi::ThreadSafeFunction::New(env, Napi::Function(), name, 0, 1, js, [](Napi::Env, JsSide* side) {
      {
        std::lock_guard<std::mutex> lock(side->open->mutex);
        side->open->open = false;
      }
      delete side;
    });
    return self;
  }

  // [JS thread, right after create] The promise to hand to JavaScript.
  Napi::Promise promise() const { return promise_; }

  // [any thread, once] Runs `work`, catching as PromiseWorker::Execute does, and settles.
  template <typename Work>
  void run(Work&& work) {
    auto* outcome = new Outcome();
    try {
      outcome->result = work();
      outcome->ok = true;
    } catch (const BackendError& e) {
      outcome->code = e.code();
      outcome->message = e.what();
    } catch (const std::bad_alloc&) {
      outcome->message = "out of host memory";
    } catch (const std::exception& e) {
      outcome->message = e.what();
    } catch (...) {
      outcome->message = "unknown native error";
    }
    deliver(outcome);
  }

  // [any thread, once] Settles without running anything: a rejection with `code`.
  void reject(ErrorCode code, std::string message) {
    auto* outcome = new Outcome();
    outcome->code = code;
    outcome->message = std::move(message);
    deliver(outcome);
  }

 private:
  struct Open {
    std::mutex mutex;
    bool open = true;
  };
  struct JsSide {
    Napi::Promise::Deferred deferred;
    std::vector<Napi::ObjectReference> keepAlive;
    ToJs toJs;
    std::shared_ptr<JsLogSink> log;
    uint64_t logMark;  // where the log stood when the call began
    std::shared_ptr<Open> open;
  };
  struct Outcome {
    bool ok = false;
    Result result{};
    ErrorCode code = ErrorCode::kInternal;
    std::string message;
  };

  static void settle(Napi::Env env, Napi::Function, JsSide* js, Outcome* outcome) {
    std::unique_ptr<Outcome> owned(outcome);
    // No env: the function is being torn down with this call still queued.
    if (env == nullptr || js == nullptr) return;
    // Settling throws only while the environment shuts down; nothing can observe the promise
    // then, and an escaping Napi::Error would end the process.
    try {
      if (owned->ok) {
        try {
          js->deferred.Resolve(js->toJs(env, owned->result));
        } catch (const Napi::Error& e) {
          js->deferred.Reject(e.Value());
        } catch (const std::exception& e) {
          js->deferred.Reject(makeError(env, ErrorCode::kInternal, e.what()).Value());
        }
      } else {
        std::vector<std::string> recent;
        if (js->log) recent = js->log->errorsSince(js->logMark);
        js->deferred.Reject(makeError(env, owned->code, owned->message, recent).Value());
      }
    } catch (const Napi::Error&) {
    }
    // The references go now rather than with the function, which N-API deletes a turn later.
    js->keepAlive.clear();
  }
  // A plain ThreadSafeFunction whose call carries its callback, not a TypedThreadSafeFunction
  // with settle() as a template argument: gcc's -fsanitize=undefined (test:sanitize) cannot
  // compile node-addon-api's constant-expression test of that argument against nullptr.

  ThreadPromise() = default;

  void deliver(Outcome* outcome) {
    std::lock_guard<std::mutex> lock(open_->mutex);
    if (!open_->open || delivered_) {
      delete outcome;
      return;
    }
    delivered_ = true;
    // js_ is only dereferenced on the JS thread, by this call, before the finalizer deletes it
    // (N-API runs or drops every queued call before it finalizes the function).
    JsSide* js = js_;
    if (tsfn_.NonBlockingCall(outcome, [js](Napi::Env env, Napi::Function fn, Outcome* o) { settle(env, fn, js, o); }) !=
        napi_ok)
      delete outcome;
    // Released with the call still queued: N-API delivers it, then finalizes the function.
    tsfn_.Release();
  }

  std::shared_ptr<Open> open_ = std::make_shared<Open>();
  Napi::Promise promise_;
  Napi::ThreadSafeFunction tsfn_;
  JsSide* js_ = nullptr;  // owned by tsfn_ (its finalizer deletes it)
  bool delivered_ = false;  // guarded by open_->mutex
};

}  // namespace tnrt::binding
