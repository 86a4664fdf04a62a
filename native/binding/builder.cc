#include "builder.h"

#include <string>
#include <utility>

#include "addon_data.h"
#include "convert.h"
#include "errors.h"
#include "network.h"
#include "promise_worker.h"

namespace tnrt::binding {

namespace {

struct ParseResult {
  std::unique_ptr<tnrt::Network> network;
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

// options: { profiles: [{ inputs: [{ name, min, opt, max }] }], memoryPoolLimits: { pool: bytes },
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
  Napi::Value level = o.Get("optimizationLevel");
  if (level.IsNumber()) options.optimizationLevel = level.As<Napi::Number>().Int32Value();
  Napi::Value maxTensorBytes = o.Get("maxTensorBytes");
  if (maxTensorBytes.IsNumber()) {
    const double v = maxTensorBytes.As<Napi::Number>().DoubleValue();
    if (!(v >= 1) || v > 9007199254740991.0) throwInvalid(env, "maxTensorBytes must be a positive safe integer");
    options.maxTensorBytes = static_cast<uint64_t>(v);
  }
  options.fp16 = o.Get("fp16").ToBoolean().Value();
  options.int8 = o.Get("int8").ToBoolean().Value();
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
  BackendArgs args = backendArgsFromJs(info);
  builder_ = createFromBackend(info.Env(), args, [&] { return args.backend->createBuilder(args.log); });
  log_ = std::move(args.log);
  backend_ = std::move(args.backend);
}

Napi::Value Builder::ParseOnnx(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!builder_) throwDisposed(env, "Builder");
  // A copy, read by the worker: JavaScript may transfer the caller's buffer during the parse
  // (see convert.h).
  std::shared_ptr<const std::vector<uint8_t>> bytes = copyBytesFromJs(env, info[0], "ONNX model");
  std::string modelDir = info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "";
  ParseOptions parseOptions;
  if (info[2].IsObject()) parseOptions.stronglyTyped = info[2].As<Napi::Object>().Get("stronglyTyped").ToBoolean().Value();
  auto builder = builder_;
  return PromiseWorker<ParseResult>::Start(
      env, "tensorrt-node parse",
      [builder, bytes, modelDir, parseOptions]() {
        ParseResult result;
        result.network = builder->parseOnnx(bytes->data(), bytes->size(), modelDir, parseOptions, &result.errors);
        return result;
      },
      [builder](Napi::Env env, ParseResult& result) -> Napi::Value {
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
        return Network::create(env, builder, std::move(result.network));
      },
      {info.This().As<Napi::Object>()}, log_);
}

Napi::Value Builder::BuildSerializedNetwork(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!builder_) throwDisposed(env, "Builder");
  std::shared_ptr<const tnrt::Network> network = Network::fromJs(env, info[0], builder_.get());
  auto options = std::make_shared<BuildOptions>(buildOptionsFromJs(env, info[1]));
  Napi::Function onProgress = info[2].IsFunction() ? info[2].As<Napi::Function>() : Napi::Function();
  std::shared_ptr<JsCalibrator> calibrator = calibratorFromJs(env, info[1]);
  auto progress = std::make_shared<JsProgressSink>(env, onProgress);
  options->progress = progress.get();
  options->calibrator = calibrator.get();
  {
    std::lock_guard<std::mutex> lock(*activeMutex_);
    active_->insert(progress.get());
    if (calibrator) activeCalibrators_->insert(calibrator.get());
  }
  auto builder = builder_;
  auto activeMutex = activeMutex_;
  auto active = active_;
  auto activeCalibrators = activeCalibrators_;
  return PromiseWorker<BuildResult>::Start(
      env, "tensorrt-node build",
      [builder, network, options, progress, calibrator, activeMutex, active, activeCalibrators]() {
        struct Unregister {  // runs on success and on throw
          std::shared_ptr<std::mutex> m;
          std::shared_ptr<std::set<JsProgressSink*>> s;
          JsProgressSink* p;
          std::shared_ptr<std::set<JsCalibrator*>> cs;
          JsCalibrator* c;
          ~Unregister() {
            std::lock_guard<std::mutex> lock(*m);
            s->erase(p);
            cs->erase(c);
          }
        } unregister{activeMutex, active, progress.get(), activeCalibrators, calibrator.get()};
        return builder->buildSerializedNetwork(*network, *options);
      },
      [progress](Napi::Env env, BuildResult& result) -> Napi::Value {
        Napi::Object out = Napi::Object::New(env);
        out.Set("plan", bytesToJs(env, result.plan));
        out.Set("timingCache", bytesToJs(env, result.timingCache));
        out.Set("progressEvents", static_cast<double>(progress->posted()));
        return out;
      },
      {info[0].As<Napi::Object>(), info.This().As<Napi::Object>()}, log_);
}

Napi::Value Builder::Cancel(const Napi::CallbackInfo& info) {
  std::lock_guard<std::mutex> lock(*activeMutex_);
  for (JsProgressSink* sink : *active_) sink->cancel();
  // A build waiting for a calibration batch is not at a progress step: wake it too.
  for (JsCalibrator* calibrator : *activeCalibrators_) calibrator->cancel();
  return info.Env().Undefined();
}

Napi::Value Builder::GetBackendInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!backend_) throwDisposed(env, "Builder");
  return backendInfoToJs(env, backend_->info());
}

Napi::Value Builder::Dispose(const Napi::CallbackInfo& info) {
  // Builds in flight hold their own references and finish normally.
  builder_.reset();
  backend_.reset();
  return info.Env().Undefined();
}

}  // namespace tnrt::binding
