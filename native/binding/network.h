// Network: a parsed network definition, made by Builder.parseOnnx and consumed by
// Builder.buildSerializedNetwork. Not constructible from JavaScript.
#pragma once

#include <napi.h>

#include <memory>

#include "addon_data.h"
#include "backend/backend.h"
#include "builder_queue.h"

namespace tnrt::binding {

class Network : public Napi::ObjectWrap<Network> {
 public:
  static void Init(Napi::Env env, Napi::Object exports, AddonData* data);
  explicit Network(const Napi::CallbackInfo& info);

  // Creates the JS object for a freshly parsed network, adopted by `queue` (its builder's).
  static Napi::Object create(Napi::Env env, std::shared_ptr<BuilderQueue> queue, std::shared_ptr<const tnrt::Network> network);
  // The live network behind a JS Network, or a thrown JS error. Shared so that a build in
  // flight keeps it alive through a dispose().
  // `owner` is the queue of the builder about to use it: a network only goes back to the
  // builder (and so the backend) that parsed it.
  static std::shared_ptr<const tnrt::Network> fromJs(Napi::Env env, Napi::Value value, const BuilderQueue* owner);

 private:
  Napi::Value Info(const Napi::CallbackInfo& info);     // [sync] { inputs, outputs, numLayers }
  // [sync] Never waits: dropping the network (here, or in the GC's finalizer) only queues its
  // teardown on its builder's queue, after the build in progress there, if any.
  Napi::Value Dispose(const Napi::CallbackInfo& info);

  // Only compared, to tell the builder that parsed this network. network_'s deleter holds the
  // queue itself, so the builder outlives the network as TensorRT requires.
  const BuilderQueue* owner_ = nullptr;
  std::shared_ptr<const tnrt::Network> network_;
};

}  // namespace tnrt::binding
