// Builder: parses ONNX models into networks and builds serialized engines from them.
// JS: new Builder(logger, backendName, adapterPath, { device, plugins })
//
// Parses and builds run on the builder's own queue (builder_queue.h), one at a time, on a
// thread that is not the libuv pool's; nothing on the event loop waits for them.
#pragma once

#include <napi.h>

#include <memory>

#include "backend/backend.h"
#include "builder_queue.h"
#include "log_sink.h"

namespace tnrt::binding {

class Builder : public Napi::ObjectWrap<Builder> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  explicit Builder(const Napi::CallbackInfo& info);

 private:
  // [async] parseOnnx(bytes, modelDir, { stronglyTyped }?) -> Promise<Network>; rejects with ERR_TENSORRT_PARSE
  // and `parserErrors: {node, nodeIndex, op, description}[]`.
  Napi::Value ParseOnnx(const Napi::CallbackInfo& info);
  // [async] buildSerializedNetwork(network, options, onProgress?) -> Promise<{plan, timingCache}>
  // options.fp16/int8 and options.calibrator ({ algorithm, batchSize, request }, see JsCalibrator)
  // select implicit reduced precision.
  Napi::Value BuildSerializedNetwork(const Napi::CallbackInfo& info);
  // [sync] cancel(): asks every build in flight on this builder, running or queued, to stop.
  Napi::Value Cancel(const Napi::CallbackInfo& info);
  Napi::Value GetBackendInfo(const Napi::CallbackInfo& info);  // [sync]
  Napi::Value Dispose(const Napi::CallbackInfo& info);      // [sync]

  std::shared_ptr<Backend> backend_;
  std::shared_ptr<JsLogSink> log_;
  // Owns the backend builder. Networks and jobs in flight share it, so dispose() only drops
  // this handle's share, and the builder goes with the last of them, on whichever thread.
  std::shared_ptr<BuilderQueue> queue_;
  // cancel() still reaches the builds of a disposed builder, without keeping it alive.
  std::weak_ptr<BuilderQueue> cancelTarget_;
};

}  // namespace tnrt::binding
