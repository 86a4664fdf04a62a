// A thread-safe function that is safe to release at any time. N-API tears thread-safe functions
// down by itself when their environment ends (worker exit, process exit), and deleting one
// can run finalizers that release it again; calling Release() on a function already torn down
// aborts the process. This wrapper records the teardown (through the function's finalizer) and
// makes call() and release() no-ops after it.
#pragma once

#include <napi.h>

#include <memory>
#include <mutex>

namespace tnrt::binding {

class SafeTsfn {
 public:
  SafeTsfn() = default;
  SafeTsfn(const SafeTsfn&) = delete;
  SafeTsfn& operator=(const SafeTsfn&) = delete;
  ~SafeTsfn() { release(); }

  // Creates the function (unlimited queue, one owner). `keepsLoopAlive` false: it never keeps
  // the process running on its own.
  void open(Napi::Env env, Napi::Function callback, const char* name, bool keepsLoopAlive) {
    auto* finalizerState = new std::shared_ptr<State>(state_);
    tsfn_ = Napi::ThreadSafeFunction::New(env, callback, name, 0, 1, finalizerState,
                                          [](Napi::Env, std::shared_ptr<State>* s) {
                                            {
                                              std::lock_guard<std::mutex> lock((*s)->mutex);
                                              (*s)->open = false;
                                            }
                                            delete s;
                                          });
    if (!keepsLoopAlive) tsfn_.Unref(env);
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->open = true;
  }

  // Queues `data` for `callback(env, fn, data)` on the JS thread, never blocking. Returns false
  // (and does not take ownership of `data`) when the function is closed or the call failed.
  template <typename T, typename Callback>
  bool call(T* data, Callback callback) {
    std::lock_guard<std::mutex> lock(state_->mutex);
    if (!state_->open) return false;
    napi_status status = tsfn_.NonBlockingCall(data, callback);
    if (status == napi_closing) state_->open = false;
    return status == napi_ok;
  }

  // Whether the function keeps the event loop alive (JS thread only; no-op once closed).
  void setKeepsLoopAlive(Napi::Env env, bool keep) {
    std::lock_guard<std::mutex> lock(state_->mutex);
    if (!state_->open) return;
    if (keep) {
      tsfn_.Ref(env);
    } else {
      tsfn_.Unref(env);
    }
  }

  // Gives up this owner's share (idempotent, any thread).
  void release() {
    std::lock_guard<std::mutex> lock(state_->mutex);
    if (!state_->open) return;
    state_->open = false;
    tsfn_.Release();
  }

 private:
  struct State {
    std::mutex mutex;
    bool open = false;
  };
  std::shared_ptr<State> state_ = std::make_shared<State>();
  Napi::ThreadSafeFunction tsfn_;
};

}  // namespace tnrt::binding
