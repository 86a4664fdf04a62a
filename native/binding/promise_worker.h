// One AsyncWorker for every [async] method: runs a function on the libuv thread pool and
// settles a promise. Build, deserialize and execute all go through it, so none of them can
// block the event loop and all of them report errors the same way.
#pragma once

#include <napi.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "errors.h"
#include "log_sink.h"

namespace tnrt::binding {

template <typename Result>
class PromiseWorker : public Napi::AsyncWorker {
 public:
  using Work = std::function<Result()>;
  using ToJs = std::function<Napi::Value(Napi::Env, Result&)>;

  // `keepAlive` are the JS objects whose native state `work` uses: they are referenced until
  // the worker is destroyed, so the GC cannot finalize them mid-call. `log` (may be null)
  // supplies the recent error messages attached to a rejection.
  static Napi::Promise Start(Napi::Env env, const char* name, Work work, ToJs toJs,
                             const std::vector<Napi::Object>& keepAlive, std::shared_ptr<JsLogSink> log) {
    auto* worker = new PromiseWorker(env, name, std::move(work), std::move(toJs), keepAlive, std::move(log));
    Napi::Promise promise = worker->deferred_.Promise();
    worker->Queue();
    return promise;
  }

 protected:
  void Execute() override {
    try {
      result_ = work_();
    } catch (const BackendError& e) {
      code_ = e.code();
      SetError(e.what());
    } catch (const std::bad_alloc&) {
      code_ = ErrorCode::kInternal;
      SetError("out of host memory");
    } catch (const std::exception& e) {
      code_ = ErrorCode::kInternal;
      SetError(e.what());
    } catch (...) {
      code_ = ErrorCode::kInternal;
      SetError("unknown native error");
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    settle([&] {
      try {
        deferred_.Resolve(toJs_(env, result_));
      } catch (const Napi::Error& e) {
        deferred_.Reject(e.Value());
      } catch (const std::exception& e) {
        deferred_.Reject(makeError(env, ErrorCode::kInternal, e.what()).Value());
      }
    });
  }

  void OnError(const Napi::Error& error) override {
    std::vector<std::string> recent;
    if (log_) recent = log_->errorsSince(logMark_);
    settle([&] { deferred_.Reject(makeError(Env(), code_, error.Message(), recent).Value()); });
  }

  // Settling fails only when the environment is shutting down (a worker being terminated
  // waits for in-flight pool work, then completes it with JavaScript disabled). Nothing can
  // observe the promise then; letting the Napi::Error escape would end the process, because
  // node-addon-api rethrows when it cannot hand an exception to JavaScript.
  template <typename Fn>
  static void settle(Fn&& fn) {
    try {
      fn();
    } catch (const Napi::Error&) {
    }
  }

 private:
  PromiseWorker(Napi::Env env, const char* name, Work work, ToJs toJs, const std::vector<Napi::Object>& keepAlive,
                std::shared_ptr<JsLogSink> log)
      : Napi::AsyncWorker(env, name),
        deferred_(Napi::Promise::Deferred::New(env)),
        work_(std::move(work)),
        toJs_(std::move(toJs)),
        log_(std::move(log)),
        logMark_(log_ ? log_->mark() : 0) {
    for (const auto& object : keepAlive) keepAlive_.push_back(Napi::Persistent(object));
  }

  Napi::Promise::Deferred deferred_;
  Work work_;
  ToJs toJs_;
  std::shared_ptr<JsLogSink> log_;
  uint64_t logMark_;  // where the log stood when the call began
  std::vector<Napi::ObjectReference> keepAlive_;
  Result result_{};
  ErrorCode code_ = ErrorCode::kInternal;
};

}  // namespace tnrt::binding
