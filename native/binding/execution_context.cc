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
  self->memory_->set(env, self->context_->memoryUsage());
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
  if (!info[0].IsArray()) throwInvalid(env, "execute(inputs: array, benchmark?: object)");
  Napi::Array list = info[0].As<Napi::Array>();
  // Claimed before the inputs are staged: the staging buffers belong to the call in flight.
  bool expected = false;
  if (!busy_->compare_exchange_strong(expected, true)) {
    throwInvalid(env, "execute() is already running on this context; await it, or use one context per concurrent call");
  }
  struct Unclaim {  // until the worker is queued, a throw here must free the context again
    std::atomic<bool>* flag;
    ~Unclaim() {
      if (flag) flag->store(false);
    }
  } unclaim{busy_.get()};
  // Held locally: the getters read below are JavaScript, which could dispose() this context.
  auto context = context_;
  auto busy = busy_;
  auto staging = staging_;
  // With a second argument, a benchmark's call: run as it says, resolve { outputs, timing }.
  // Read once the context is held: the getters are JavaScript too.
  const bool benchmark = info[1].IsObject();
  TimedExecuteOptions options;
  if (benchmark) {
    Napi::Object o = info[1].As<Napi::Object>();
    options.transfers = o.Get("transfers").ToBoolean();
    options.cudaGraph = o.Get("cudaGraph").ToBoolean();
  }
  auto inputs = std::make_shared<std::vector<HostTensorView>>();
  const uint32_t count = list.Length();
  inputs->reserve(count);
  if (staging->size() < count) staging->resize(count);
  for (uint32_t i = 0; i < count; ++i) {
    if (!list.Get(i).IsObject()) throwInvalid(env, "execute: each input must be an object");
    Napi::Object entry = list.Get(i).As<Napi::Object>();
    HostTensorView view;
    view.name = stringFromJs(env, entry.Get("name"), "input name");
    view.dtype = dataTypeFromJs(env, entry.Get("dtype"), "input dtype");
    view.shape = dimsFromJs(env, entry.Get("shape"), "input shape");
    Napi::Value data = entry.Get("data");
    ByteSpan span = bytesFromJs(env, data, "input data");
    if (span.size == 0 && isDetachedView(env, data)) {
      throwInvalid(env, "the data of input '" + view.name +
                            "' was detached (its ArrayBuffer was transferred, e.g. by postMessage, structuredClone or "
                            "transfer()) before execute() could read it; keep the buffer until the call has started, "
                            "or pass a copy");
    }
    // The worker reads a copy taken here, never the caller's buffer: JavaScript may transfer
    // (detach) that buffer while the call runs, and the collector then frees its memory (see
    // convert.h). The sim computes straight from its inputs, so this is the only copy on its
    // path (the TensorRT adapter still stages into pinned memory for the upload); the buffers
    // are the context's own and reused, so a steady-state call allocates nothing here. No
    // JavaScript runs between bytesFromJs and the copy.
    std::vector<uint8_t>& buffer = (*staging)[i];
    if (buffer.size() < span.size) {
      const auto grown = static_cast<int64_t>(span.size - buffer.size());
      buffer.resize(span.size);
      stagingBytes_ += grown;
      Napi::MemoryManagement::AdjustExternalMemory(env, grown);
    }
    if (span.size) std::memcpy(buffer.data(), span.data, span.size);
    view.data = buffer.data();
    view.bytes = span.size;
    inputs->push_back(std::move(view));
  }
  unclaim.flag = nullptr;  // from here the worker releases it
  struct Result {
    std::vector<HostTensor> outputs;
    CallTiming timing;
    MemoryUsage memory;
  };
  return PromiseWorker<Result>::Start(
      env, "tensorrt-node execute",
      [context, inputs, busy, staging, benchmark, options]() {
        struct Release {
          std::atomic<bool>* flag;
          ~Release() { flag->store(false); }
        } release{busy.get()};
        Result result;
        result.outputs = benchmark ? context->executeTimed(*inputs, options, &result.timing) : context->execute(*inputs);
        // Measured here, while this call still holds `busy`: once it is released (when this
        // function returns) a next execute() may start on the pool and grow the context's
        // buffers and caches while they are walked.
        result.memory = context->memoryUsage();
        return result;
      },
      [memory = memory_, benchmark](Napi::Env env, Result& result) -> Napi::Value {
        const std::vector<HostTensor>& outputs = result.outputs;
        memory->set(env, result.memory);
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
        if (!benchmark) return list;
        Napi::Object answer = Napi::Object::New(env);
        answer.Set("outputs", list);
        if (result.timing.timed) {
          const CallTiming& t = result.timing;
          Napi::Object timing = Napi::Object::New(env);
          timing.Set("h2dStartMs", t.h2dStartMs);
          timing.Set("h2dEndMs", t.h2dEndMs);
          timing.Set("computeStartMs", t.computeStartMs);
          timing.Set("computeEndMs", t.computeEndMs);
          timing.Set("d2hStartMs", t.d2hStartMs);
          timing.Set("d2hEndMs", t.d2hEndMs);
          answer.Set("timing", timing);
        } else {
          answer.Set("timing", env.Null());
        }
        return answer;
      },
      {info.This().As<Napi::Object>()}, log_);
}

void ExecutionContext::Finalize(Napi::Env env) { release(env); }

void ExecutionContext::release(Napi::Env env) {
  context_.reset();
  // A call in flight keeps the buffers (its worker holds them) until it ends; only this
  // handle's report to V8 ends here.
  staging_ = std::make_shared<std::vector<std::vector<uint8_t>>>();
  if (stagingBytes_) Napi::MemoryManagement::AdjustExternalMemory(env, -stagingBytes_);
  stagingBytes_ = 0;
  memory_->withdraw(env);
}

Napi::Value ExecutionContext::Dispose(const Napi::CallbackInfo& info) {
  release(info.Env());
  return info.Env().Undefined();
}

}  // namespace tnrt::binding
