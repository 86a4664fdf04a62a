#include "execution_context.h"

#include <cstring>

#include "convert.h"
#include "errors.h"
#include "promise_worker.h"

namespace tnrt::binding {

void ExecutionContext::Init(Napi::Env env, Napi::Object exports, AddonData* data) {
  Napi::Function ctor =
      DefineClass(env, "ExecutionContext",
                  {InstanceMethod("setOptimizationProfile", &ExecutionContext::SetOptimizationProfile),
                   InstanceMethod("getOptimizationProfile", &ExecutionContext::GetOptimizationProfile),
                   InstanceMethod("execute", &ExecutionContext::Execute),
                   InstanceMethod("dispose", &ExecutionContext::Dispose)});
  data->executionContextConstructor = Napi::Persistent(ctor);
  exports.Set("ExecutionContext", ctor);
}

ExecutionContext::ExecutionContext(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ExecutionContext>(info) {}

Napi::Object ExecutionContext::create(Napi::Env env, std::unique_ptr<tnrt::ExecutionContext> context,
                                      std::shared_ptr<JsLogSink> log) {
  Napi::Object object = addonData(env).executionContextConstructor.New({});
  ExecutionContext* self = Unwrap(object);
  self->context_ = std::move(context);
  self->log_ = std::move(log);
  return object;
}

Napi::Value ExecutionContext::SetOptimizationProfile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!context_) throwDisposed(env, "ExecutionContext");
  if (!info[0].IsNumber()) throwInvalid(env, "setOptimizationProfile(profile: number)");
  if (busy_->load()) throwInvalid(env, "cannot change the optimization profile while execute() is running");
  try {
    context_->setOptimizationProfile(info[0].As<Napi::Number>().Int32Value());
  } catch (const BackendError& e) {
    throw makeError(env, e.code(), e.what());
  }
  return env.Undefined();
}

Napi::Value ExecutionContext::GetOptimizationProfile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!context_) throwDisposed(env, "ExecutionContext");
  return Napi::Number::New(env, context_->optimizationProfile());
}

Napi::Value ExecutionContext::Execute(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!context_) throwDisposed(env, "ExecutionContext");
  if (!info[0].IsArray()) throwInvalid(env, "execute(inputs: array)");
  Napi::Array list = info[0].As<Napi::Array>();
  auto inputs = std::make_shared<std::vector<HostTensorView>>();
  std::vector<Napi::Object> keepAlive{info.This().As<Napi::Object>()};
  inputs->reserve(list.Length());
  for (uint32_t i = 0; i < list.Length(); ++i) {
    if (!list.Get(i).IsObject()) throwInvalid(env, "execute: each input must be an object");
    Napi::Object entry = list.Get(i).As<Napi::Object>();
    HostTensorView view;
    view.name = stringFromJs(env, entry.Get("name"), "input name");
    view.dtype = dataTypeFromJs(env, entry.Get("dtype"), "input dtype");
    view.shape = dimsFromJs(env, entry.Get("shape"), "input shape");
    Napi::Value data = entry.Get("data");
    ByteSpan span = bytesFromJs(env, data, "input data");
    view.data = span.data;
    view.bytes = span.size;
    // The worker reads this memory on another thread: keep the views' owners alive.
    keepAlive.push_back(data.As<Napi::Object>());
    inputs->push_back(std::move(view));
  }
  bool expected = false;
  if (!busy_->compare_exchange_strong(expected, true)) {
    throwInvalid(env, "execute() is already running on this context; await it, or use one context per concurrent call");
  }
  auto context = context_;
  auto busy = busy_;
  return PromiseWorker<std::vector<HostTensor>>::Start(
      env, "tensorrt-node execute",
      [context, inputs, busy]() {
        struct Release {
          std::atomic<bool>* flag;
          ~Release() { flag->store(false); }
        } release{busy.get()};
        return context->execute(*inputs);
      },
      [](Napi::Env env, std::vector<HostTensor>& outputs) -> Napi::Value {
        Napi::Array list = Napi::Array::New(env, outputs.size());
        for (size_t i = 0; i < outputs.size(); ++i) {
          const HostTensor& t = outputs[i];
          Napi::Object o = Napi::Object::New(env);
          o.Set("name", t.name);
          o.Set("dtype", dataTypeName(t.dtype));
          o.Set("shape", dimsToJs(env, t.shape));
          Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(env, t.data.size());
          if (!t.data.empty()) std::memcpy(buffer.Data(), t.data.data(), t.data.size());
          o.Set("data", buffer);
          list.Set(static_cast<uint32_t>(i), o);
        }
        return list;
      },
      keepAlive, log_);
}

Napi::Value ExecutionContext::Dispose(const Napi::CallbackInfo& info) {
  context_.reset();
  return info.Env().Undefined();
}

}  // namespace tnrt::binding
