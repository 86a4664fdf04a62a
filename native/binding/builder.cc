#include "builder.h"

#include <string>
#include <system_error>
#include <utility>

#include "addon_data.h"
#include "convert.h"
#include "errors.h"
#include "js_calibrator.h"
#include "network.h"
#include "progress_sink.h"
#include "thread_promise.h"

namespace tnrt::binding {

namespace {

struct ParseResult {
  std::shared_ptr<const tnrt::Network> network;  // adopted by the builder's queue (BuilderQueue::adopt)
  std::vector<ParserError> errors;
};

Napi::Array parserErrorsToJs(Napi::Env env, const std::vector<ParserError>& errors) {
  Napi::Array list = Napi::Array::New(env, errors.size());
  for (size_t i = 0; i < errors.size(); ++i) {
    Napi::Object e = Napi::Object::New(env);
    e.Set("node", errors[i].node);
    e.Set("nodeIndex", errors[i].nodeIndex);
    e.Set("op", errors[i].op);
    e.Set("description", errors[i].description);
    list.Set(static_cast<uint32_t>(i), e);
  }
  return list;
}

// options: { profiles: [{ inputs: [{ name, min, opt, max, minValues?, optValues?, maxValues? }] }],
//            memoryPoolLimits: { pool: bytes },
//            timingCache?: Uint8Array, optimizationLevel?: number }
BuildOptions buildOptionsFromJs(Napi::Env env, Napi::Value value) {
  BuildOptions options;
  if (!value.IsObject()) throwInvalid(env, "build options must be an object");
  Napi::Object o = value.As<Napi::Object>();
  Napi::Value profiles = o.Get("profiles");
  if (profiles.IsArray()) {
    Napi::Array list = profiles.As<Napi::Array>();
    for (uint32_t p = 0; p < list.Length(); ++p) {
      Napi::Value inputs = list.Get(p).As<Napi::Object>().Get("inputs");
      if (!inputs.IsArray()) throwInvalid(env, "profile.inputs must be an array");
      Profile profile;
      Napi::Array in = inputs.As<Napi::Array>();
      for (uint32_t i = 0; i < in.Length(); ++i) {
        if (!in.Get(i).IsObject()) throwInvalid(env, "profile input must be an object");
        Napi::Object entry = in.Get(i).As<Napi::Object>();
        InputProfile ip;
        ip.input = stringFromJs(env, entry.Get("name"), "profile input name");
        ip.min = dimsFromJs(env, entry.Get("min"), "profile min");
        ip.opt = dimsFromJs(env, entry.Get("opt"), "profile opt");
        ip.max = dimsFromJs(env, entry.Get("max"), "profile max");
        // Shape tensors: the range of their values (TensorRT's setShapeValuesV2).
        if (entry.Has("minValues")) {
          ip.minValues = shapeValuesFromJs(env, entry.Get("minValues"), "profile minValues");
          ip.optValues = shapeValuesFromJs(env, entry.Get("optValues"), "profile optValues");
          ip.maxValues = shapeValuesFromJs(env, entry.Get("maxValues"), "profile maxValues");
        }
        profile.inputs.push_back(std::move(ip));
      }
      options.profiles.push_back(std::move(profile));
    }
  }
  Napi::Value pools = o.Get("memoryPoolLimits");
  if (pools.IsObject()) {
    Napi::Object limits = pools.As<Napi::Object>();
    Napi::Array names = limits.GetPropertyNames();
    for (uint32_t i = 0; i < names.Length(); ++i) {
      std::string name = names.Get(i).ToString().Utf8Value();
      Napi::Value v = limits.Get(name);
      if (!v.IsNumber() || v.As<Napi::Number>().DoubleValue() < 0) throwInvalid(env, "memory pool limit must be >= 0");
      options.memoryPoolLimits[name] = static_cast<uint64_t>(v.As<Napi::Number>().DoubleValue());
    }
  }
  Napi::Value cache = o.Get("timingCache");
  if (!cache.IsUndefined() && !cache.IsNull()) {
    ByteSpan span = bytesFromJs(env, cache, "timingCache");
    options.timingCache.assign(span.data, span.data + span.size);
  }
  Napi::Value optimizationLevel = o.Get("optimizationLevel");
  if (optimizationLevel.IsNumber()) options.optimizationLevel = optimizationLevel.As<Napi::Number>().Int32Value();
  Napi::Value maxTensorBytes = o.Get("maxTensorBytes");
  if (maxTensorBytes.IsNumber()) {
    const double v = maxTensorBytes.As<Napi::Number>().DoubleValue();
    if (!(v >= 1) || v > 9007199254740991.0) throwInvalid(env, "maxTensorBytes must be a positive safe integer");
    options.maxTensorBytes = static_cast<uint64_t>(v);
  }
  options.fp16 = o.Get("fp16").ToBoolean().Value();
  options.int8 = o.Get("int8").ToBoolean().Value();
  Napi::Value tf32 = o.Get("tf32");
  if (tf32.IsBoolean()) options.tf32 = tf32.As<Napi::Boolean>().Value() ? 1 : 0;
  options.versionCompatible = o.Get("versionCompatible").ToBoolean().Value();
  options.excludeLeanRuntime = o.Get("excludeLeanRuntime").ToBoolean().Value();
  Napi::Value level = o.Get("hardwareCompatibilityLevel");
  if (level.IsString()) {
    const std::string name = level.As<Napi::String>().Utf8Value();
    if (name == "none") options.hardwareCompatibility = HardwareCompatibility::kNone;
    else if (name == "ampereplus") options.hardwareCompatibility = HardwareCompatibility::kAmperePlus;
    else if (name == "sameComputeCapability") options.hardwareCompatibility = HardwareCompatibility::kSameComputeCapability;
    else throwInvalid(env, "hardwareCompatibilityLevel must be 'none', 'ampereplus' or 'sameComputeCapability'");
  }
  Napi::Value verbosity = o.Get("profilingVerbosity");
  if (verbosity.IsString()) {
    const std::string name = verbosity.As<Napi::String>().Utf8Value();
    if (name == "layerNamesOnly") options.profilingVerbosity = ProfilingVerbosity::kLayerNamesOnly;
    else if (name == "none") options.profilingVerbosity = ProfilingVerbosity::kNone;
    else if (name == "detailed") options.profilingVerbosity = ProfilingVerbosity::kDetailed;
    else throwInvalid(env, "profilingVerbosity must be 'layerNamesOnly', 'none' or 'detailed'");
  }
  return options;
}

// options.calibrator: { algorithm: 'entropy2' | 'minmax', batchSize: number, request: fn }, or
// absent. lib/builder.ts validated it; these are the cheap guards.
std::shared_ptr<JsCalibrator> calibratorFromJs(Napi::Env env, Napi::Value options) {
  Napi::Value value = options.As<Napi::Object>().Get("calibrator");
  if (value.IsUndefined() || value.IsNull()) return nullptr;
  if (!value.IsObject()) throwInvalid(env, "calibrator must be an object");
  Napi::Object o = value.As<Napi::Object>();
  std::string algorithm = stringFromJs(env, o.Get("algorithm"), "calibrator algorithm");
  if (algorithm != "entropy2" && algorithm != "minmax") throwInvalid(env, "calibrator algorithm must be entropy2 or minmax");
  Napi::Value request = o.Get("request");
  if (!request.IsFunction()) throwInvalid(env, "calibrator.request must be a function");
  Napi::Value batchSize = o.Get("batchSize");
  return std::make_shared<JsCalibrator>(
      env, request.As<Napi::Function>(),
      algorithm == "minmax" ? CalibrationAlgorithm::kMinMax : CalibrationAlgorithm::kEntropy2,
      batchSize.IsNumber() ? batchSize.As<Napi::Number>().Int32Value() : 1);
}

}  // namespace

void Builder::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor =
      DefineClass(env, "Builder",
                  {InstanceMethod("parseOnnx", &Builder::ParseOnnx),
                   InstanceMethod("buildSerializedNetwork", &Builder::BuildSerializedNetwork),
                   InstanceMethod("cancel", &Builder::Cancel), InstanceMethod("backendInfo", &Builder::GetBackendInfo),
                   InstanceMethod("dispose", &Builder::Dispose)});
  exports.Set("Builder", ctor);
}

Builder::Builder(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Builder>(info) {
  Napi::Env env = info.Env();
  BackendArgs args = backendArgsFromJs(info);
  std::shared_ptr<tnrt::Builder> builder = createFromBackend(env, args, [&] { return args.backend->createBuilder(args.log, args.options); });
  queue_ = BuilderQueue::create(BuildThreads::of(env), std::move(builder));
  cancelTarget_ = queue_;
  log_ = std::move(args.log);
  backend_ = std::move(args.backend);
}

namespace {

// Why a job could not be queued: no thread could be started for it. The promise, already
// made, rejects with this (rather than the call throwing), so that its thread-safe function is
// released and does not keep the event loop alive.
std::string noThreadMessage(const std::system_error& e) {
  return std::string("could not start a build thread (") + e.what() +
         "); the process may be at its thread limit: finish or cancel other builds, or raise the limit";
}

}  // namespace

Napi::Value Builder::ParseOnnx(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!queue_) throwDisposed(env, "Builder");
  // A copy, read by the parse thread: JavaScript may transfer the caller's buffer during the
  // parse (see convert.h).
  std::shared_ptr<const std::vector<uint8_t>> bytes = copyBytesFromJs(env, info[0], "ONNX model");
  std::string modelDir = info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "";
  ParseOptions parseOptions;
  if (info[2].IsObject()) parseOptions.stronglyTyped = info[2].As<Napi::Object>().Get("stronglyTyped").ToBoolean().Value();
  auto queue = queue_;
  auto promise = ThreadPromise<ParseResult>::create(
      env, "tensorrt-node parse",
      [queue](Napi::Env env, ParseResult& result) -> Napi::Value {
        if (!result.network) {
          std::string message = "failed to parse the ONNX model:";
          for (const auto& e : result.errors) {
            message += "\n  ";
            // Most sim descriptions already start with the node's label; say it once.
            const std::string label = "node '" + e.node + "' (" + e.op + "): ";
            if ((!e.node.empty() || !e.op.empty()) && e.description.compare(0, label.size(), label) != 0) message += label;
            message += e.description;
          }
          if (result.errors.empty()) message += " the parser reported no details";
          Napi::Error error = makeError(env, ErrorCode::kParse, message);
          error.Set("parserErrors", parserErrorsToJs(env, result.errors));
          throw error;
        }
        return Network::create(env, queue, std::move(result.network));
      },
      {info.This().As<Napi::Object>()}, log_);
  try {
    queue->post([queue, promise, bytes, modelDir, parseOptions](bool skip) {
      if (skip) return promise->reject(ErrorCode::kCancelled, "the parse was cancelled: the JavaScript environment is ending");
      promise->run([&] {
        ParseResult result;
        std::unique_ptr<tnrt::Network> network =
            queue->builder().parseOnnx(bytes->data(), bytes->size(), modelDir, parseOptions, &result.errors);
        // Adopted here, on the queue's thread: from now on, dropping it anywhere only queues
        // its teardown.
        if (network) result.network = queue->adopt(std::move(network));
        return result;
      });
    });
  } catch (const std::system_error& e) {
    promise->reject(ErrorCode::kInternal, noThreadMessage(e));
  }
  return promise->promise();
}

Napi::Value Builder::BuildSerializedNetwork(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!queue_) throwDisposed(env, "Builder");
  std::shared_ptr<const tnrt::Network> network = Network::fromJs(env, info[0], queue_.get());
  auto options = std::make_shared<BuildOptions>(buildOptionsFromJs(env, info[1]));
  Napi::Function onProgress = info[2].IsFunction() ? info[2].As<Napi::Function>() : Napi::Function();
  std::shared_ptr<JsCalibrator> calibrator = calibratorFromJs(env, info[1]);
  auto progress = std::make_shared<JsProgressSink>(env, onProgress);
  options->progress = progress.get();
  options->calibrator = calibrator.get();
  // Registered from now until the job ends, queued or running, so that cancel() and the
  // environment's end reach it.
  auto cancel = std::make_shared<BuildCancel>();
  cancel->cancel = [sink = progress.get(), calibrator = calibrator.get()] {
    sink->cancel();
    // A build waiting for a calibration batch is not at a progress step: wake it too.
    if (calibrator) calibrator->cancel();
  };
  auto queue = queue_;
  auto promise = ThreadPromise<BuildResult>::create(
      env, "tensorrt-node build",
      [progress](Napi::Env env, BuildResult& result) -> Napi::Value {
        Napi::Object out = Napi::Object::New(env);
        out.Set("plan", bytesToJs(env, result.plan));
        out.Set("timingCache", bytesToJs(env, result.timingCache));
        out.Set("progressEvents", static_cast<double>(progress->posted()));
        return out;
      },
      {info[0].As<Napi::Object>(), info.This().As<Napi::Object>()}, log_);
  queue->addBuild(cancel.get());
  try {
    queue->post([queue, promise, network, options, progress, calibrator, cancel](bool skip) {
      struct Unregister {  // runs on success and on throw
        BuilderQueue* queue;
        const BuildCancel* cancel;
        ~Unregister() { queue->removeBuild(cancel); }
      } unregister{queue.get(), cancel.get()};
      if (skip) return promise->reject(ErrorCode::kCancelled, "the build was cancelled: the JavaScript environment is ending");
      // Cancelled while it waited in the queue: do not start at all.
      if (progress->cancelled()) return promise->reject(ErrorCode::kCancelled, "the build was cancelled before it started");
      promise->run([&] { return queue->builder().buildSerializedNetwork(*network, *options); });
    });
  } catch (const std::system_error& e) {
    queue->removeBuild(cancel.get());
    promise->reject(ErrorCode::kInternal, noThreadMessage(e));
  }
  return promise->promise();
}

Napi::Value Builder::Cancel(const Napi::CallbackInfo& info) {
  if (auto queue = cancelTarget_.lock()) queue->cancelBuilds();
  return info.Env().Undefined();
}

Napi::Value Builder::GetBackendInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!backend_) throwDisposed(env, "Builder");
  return backendInfoToJs(env, backend_->info());
}

Napi::Value Builder::Dispose(const Napi::CallbackInfo& info) {
  // Jobs in flight and networks hold the queue (and with it the backend builder) and finish
  // normally; the last of them tears the builder down, on its thread, never waiting here.
  queue_.reset();
  backend_.reset();
  return info.Env().Undefined();
}

}  // namespace tnrt::binding
