// Network: a parsed network definition, made by Builder.parseOnnx and consumed by
// Builder.buildSerializedNetwork. Not constructible from JavaScript.
#pragma once

#include <napi.h>

#include <memory>

#include "addon_data.h"
#include "backend/backend.h"

namespace tnrt::binding {

class Network : public Napi::ObjectWrap<Network> {
 public:
  static void Init(Napi::Env env, Napi::Object exports, AddonData* data);
  explicit Network(const Napi::CallbackInfo& info);

  // Creates the JS object for a freshly parsed network.
  static Napi::Object create(Napi::Env env, std::shared_ptr<tnrt::Builder> builder, std::unique_ptr<tnrt::Network> network);
  // The live network behind a JS Network, or a thrown JS error. Shared so that a build in
  // flight keeps it alive through a dispose().
  // `owner` is the builder about to use it: a network only goes back to the builder (and so the
  // backend) that parsed it.
  static std::shared_ptr<const tnrt::Network> fromJs(Napi::Env env, Napi::Value value, const tnrt::Builder* owner);

 private:
  Napi::Value Info(const Napi::CallbackInfo& info);     // [sync] { inputs, outputs, numLayers }
  Napi::Value Dispose(const Napi::CallbackInfo& info);  // [sync]

  // Declared before network_ so that it is destroyed after it: a TensorRT network must not
  // outlive the builder that created it.
  std::shared_ptr<tnrt::Builder> builder_;
  std::shared_ptr<const tnrt::Network> network_;
};

}  // namespace tnrt::binding
