#include "js_calibrator.h"

#include <cstring>
#include <utility>

#include "convert.h"

namespace tnrt::binding {

// What the build thread and the event loop share for the calibrator's lifetime (and, through
// the finalizer and late promise callbacks, possibly a little longer).
struct JsCalibrator::Shared {
  std::mutex mutex;
  std::condition_variable wake;
  bool cancelled = false;
  bool closing = false;  // the thread-safe function was finalized: no answer can come any more
};

struct JsCalibrator::Request {
  std::string kind;  // "getBatch" | "readCache" | "writeCache"
  std::vector<CalibrationInput> inputs;  // getBatch: names, types, shapes, sizes (data unused)
  std::vector<uint8_t> cache;            // writeCache: in; readCache: out
  std::vector<std::vector<uint8_t>> batch;  // getBatch: out, one per input
  bool exhausted = false;
  bool done = false;  // guarded by Shared::mutex
  std::string error;  // non-empty when JavaScript failed
};

namespace {

std::string describeJsError(const Napi::Value& value) {
  if (value.IsObject()) {
    Napi::Value message = value.As<Napi::Object>().Get("message");
    if (message.IsString()) return message.As<Napi::String>().Utf8Value();
  }
  Napi::String text = value.ToString();
  return text.Utf8Value();
}

// [event loop] Stores JavaScript's answer in `request`; returns an error text, or "".
std::string takeAnswer(JsCalibrator::Request& request, const Napi::Value& value) {
  if (request.kind == "writeCache") return "";
  if (request.kind == "readCache") {
    if (value.IsUndefined() || value.IsNull()) return "";
    if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
      return "readCache must give a Uint8Array or nothing";
    Napi::Uint8Array bytes = value.As<Napi::Uint8Array>();
    request.cache.assign(bytes.Data(), bytes.Data() + bytes.ByteLength());
    return "";
  }
  if (value.IsUndefined() || value.IsNull()) {
    request.exhausted = true;
    return "";
  }
  if (!value.IsArray()) return "getBatch must give an array of input buffers or null";
  Napi::Array list = value.As<Napi::Array>();
  if (list.Length() != request.inputs.size()) return "getBatch gave the wrong number of input buffers";
  request.batch.resize(request.inputs.size());
  for (uint32_t i = 0; i < list.Length(); ++i) {
    Napi::Value item = list.Get(i);
    if (!item.IsTypedArray() || item.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
      return "getBatch must give Uint8Array buffers";
    Napi::Uint8Array bytes = item.As<Napi::Uint8Array>();
    if (bytes.ByteLength() != request.inputs[i].bytes)
      return "getBatch gave " + std::to_string(bytes.ByteLength()) + " bytes for input '" + request.inputs[i].name +
             "', which needs " + std::to_string(request.inputs[i].bytes);
    request.batch[i].assign(bytes.Data(), bytes.Data() + bytes.ByteLength());
  }
  return "";
}

void settle(const std::shared_ptr<JsCalibrator::Shared>& shared, const std::shared_ptr<JsCalibrator::Request>& request,
            std::string error) {
  std::lock_guard<std::mutex> lock(shared->mutex);
  request->error = std::move(error);
  request->done = true;
  shared->wake.notify_all();
}

Napi::Object requestToJs(Napi::Env env, const JsCalibrator::Request& request) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("kind", request.kind);
  if (request.kind == "getBatch") {
    Napi::Array inputs = Napi::Array::New(env, request.inputs.size());
    for (size_t i = 0; i < request.inputs.size(); ++i) {
      const CalibrationInput& in = request.inputs[i];
      Napi::Object d = Napi::Object::New(env);
      d.Set("name", in.name);
      d.Set("dtype", dataTypeName(in.dtype));
      d.Set("shape", dimsToJs(env, in.shape));
      d.Set("bytes", static_cast<double>(in.bytes));
      inputs.Set(static_cast<uint32_t>(i), d);
    }
    o.Set("inputs", inputs);
  } else if (request.kind == "writeCache") {
    o.Set("cache", bytesToJs(env, request.cache));
  }
  return o;
}

}  // namespace

JsCalibrator::JsCalibrator(Napi::Env env, Napi::Function request, CalibrationAlgorithm algorithm, int32_t batchSize)
    : algorithm_(algorithm), batchSize_(batchSize), shared_(std::make_shared<Shared>()) {
  std::shared_ptr<Shared> shared = shared_;
  // The finalizer runs when the last reference is released, and also when the environment
  // tears down with a build still waiting: then it is what wakes that build.
  tsfn_ = Napi::ThreadSafeFunction::New(env, request, "tensorrt-node INT8 calibrator", 0, 1, [shared](Napi::Env) {
    std::lock_guard<std::mutex> lock(shared->mutex);
    shared->closing = true;
    shared->wake.notify_all();
  });
}

JsCalibrator::~JsCalibrator() {
  // After the environment's teardown finalized the function, releasing it again would abort.
  std::lock_guard<std::mutex> lock(shared_->mutex);
  if (!shared_->closing) tsfn_.Release();
}

void JsCalibrator::cancel() {
  std::lock_guard<std::mutex> lock(shared_->mutex);
  shared_->cancelled = true;
  shared_->wake.notify_all();
}

void JsCalibrator::call(const std::shared_ptr<Request>& request) {
  {
    std::lock_guard<std::mutex> lock(shared_->mutex);
    if (shared_->cancelled) throw BackendError(ErrorCode::kCancelled, "the build was cancelled during INT8 calibration");
  }
  std::shared_ptr<Shared> shared = shared_;
  auto* payload = new std::shared_ptr<Request>(request);
  napi_status status = tsfn_.BlockingCall(payload, [shared](Napi::Env env, Napi::Function fn, std::shared_ptr<Request>* data) {
    std::shared_ptr<Request> req = std::move(*data);
    delete data;
    if (env == nullptr || fn.IsEmpty()) {
      settle(shared, req, "the JavaScript environment is shutting down");
      return;
    }
    try {
      Napi::Value result = fn.Call({requestToJs(env, *req)});
      if (result.IsPromise()) {
        Napi::Object promise = result.As<Napi::Object>();
        Napi::Function onFulfilled = Napi::Function::New(env, [shared, req](const Napi::CallbackInfo& info) {
          settle(shared, req, takeAnswer(*req, info[0]));
        });
        Napi::Function onRejected = Napi::Function::New(env, [shared, req](const Napi::CallbackInfo& info) {
          std::string error = describeJsError(info[0]);
          settle(shared, req, error.empty() ? "rejected without a message" : error);
        });
        promise.Get("then").As<Napi::Function>().Call(promise, {onFulfilled, onRejected});
      } else {
        settle(shared, req, takeAnswer(*req, result));
      }
    } catch (const Napi::Error& e) {
      // While a worker terminates, calls into JavaScript fail with an empty message; an empty
      // error would read as success, with no batch.
      settle(shared, req, e.Message().empty() ? "the JavaScript environment is shutting down" : e.Message());
    }
  });
  if (status != napi_ok) {
    delete payload;
    throw BackendError(ErrorCode::kCancelled,
                       "INT8 calibration stopped: the JavaScript environment is shutting down");
  }
  // No timeout and no probe: the build runs on a thread of its own (builder_queue.h), so when
  // the environment ends, its cleanup (BuildThreads::stop) cancels this wait, or N-API
  // finalizes the function (closing); process.exit() stops the builds before that.
  std::unique_lock<std::mutex> lock(shared_->mutex);
  shared_->wake.wait(lock, [&] { return request->done || shared_->cancelled || shared_->closing; });
  if (!request->done) {
    throw BackendError(ErrorCode::kCancelled, shared_->cancelled
                                                  ? "the build was cancelled during INT8 calibration"
                                                  : "INT8 calibration stopped: the JavaScript environment is shutting down");
  }
  if (!request->error.empty())
    throw BackendError(ErrorCode::kInternal, "the INT8 calibrator's " + request->kind + " failed: " + request->error);
}

bool JsCalibrator::getBatch(std::vector<CalibrationInput>& inputs) {
  auto request = std::make_shared<Request>();
  request->kind = "getBatch";
  request->inputs = inputs;
  call(request);
  if (request->exhausted) return false;
  if (request->batch.size() != inputs.size())
    throw BackendError(ErrorCode::kInternal, "the INT8 calibrator's getBatch gave no batch and no error");
  for (size_t i = 0; i < inputs.size(); ++i)
    if (inputs[i].bytes) std::memcpy(inputs[i].data, request->batch[i].data(), inputs[i].bytes);
  return true;
}

std::vector<uint8_t> JsCalibrator::readCache() {
  auto request = std::make_shared<Request>();
  request->kind = "readCache";
  call(request);
  return std::move(request->cache);
}

void JsCalibrator::writeCache(const std::vector<uint8_t>& cache) {
  auto request = std::make_shared<Request>();
  request->kind = "writeCache";
  request->cache = cache;
  call(request);
}

}  // namespace tnrt::binding
