// Builder: parses ONNX models into networks and builds serialized engines from them.
// JS: new Builder(logger, backendName, adapterPath)
#pragma once

#include <napi.h>

#include <memory>
#include <mutex>
#include <set>

#include "backend/backend.h"
#include "js_calibrator.h"
#include "log_sink.h"
#include "progress_sink.h"

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
  // [sync] cancel(): asks every build in flight on this builder to stop.
  Napi::Value Cancel(const Napi::CallbackInfo& info);
  Napi::Value GetBackendInfo(const Napi::CallbackInfo& info);  // [sync]
  Napi::Value Dispose(const Napi::CallbackInfo& info);      // [sync]

  std::shared_ptr<Backend> backend_;
  std::shared_ptr<JsLogSink> log_;
  std::shared_ptr<tnrt::Builder> builder_;
  // Builds in flight, for cancel(). Entries are removed by the build's completion.
  std::shared_ptr<std::mutex> activeMutex_ = std::make_shared<std::mutex>();
  std::shared_ptr<std::set<JsProgressSink*>> active_ = std::make_shared<std::set<JsProgressSink*>>();
  std::shared_ptr<std::set<JsCalibrator*>> activeCalibrators_ = std::make_shared<std::set<JsCalibrator*>>();
};

}  // namespace tnrt::binding
