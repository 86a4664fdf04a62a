#include "network.h"

#include "convert.h"
#include "errors.h"
#include "type_tags.h"

namespace tnrt::binding {

void Network::Init(Napi::Env env, Napi::Object exports, AddonData* data) {
  Napi::Function ctor = DefineClass(
      env, "Network", {InstanceMethod("info", &Network::Info), InstanceMethod("dispose", &Network::Dispose)});
  data->networkConstructor = Napi::Persistent(ctor);
  exports.Set("Network", ctor);
}

Network::Network(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Network>(info) {
  info.This().As<Napi::Object>().TypeTag(&kNetworkTag);
}

Napi::Object Network::create(Napi::Env env, std::shared_ptr<BuilderQueue> queue, std::shared_ptr<const tnrt::Network> network) {
  Napi::Object object = addonData(env).networkConstructor.New({});
  Network* self = Unwrap(object);
  self->owner_ = queue.get();
  self->network_ = std::move(network);
  return object;
}

std::shared_ptr<const tnrt::Network> Network::fromJs(Napi::Env env, Napi::Value value, const BuilderQueue* owner) {
  Network* self = unwrapTagged<Network>(env, value, kNetworkTag, "Network");
  if (!self->network_) throwDisposed(env, "NetworkDefinition");
  if (self->owner_ != owner) throwInvalid(env, "this network was parsed by another Builder; build it with that one");
  return self->network_;
}

Napi::Value Network::Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!network_) throwDisposed(env, "NetworkDefinition");
  NetworkInfo ni = network_->info();
  Napi::Object out = Napi::Object::New(env);
  out.Set("inputs", tensorDescsToJs(env, ni.inputs));
  out.Set("outputs", tensorDescsToJs(env, ni.outputs));
  out.Set("numLayers", ni.numLayers);
  return out;
}

Napi::Value Network::Dispose(const Napi::CallbackInfo& info) {
  network_.reset();
  return info.Env().Undefined();
}

}  // namespace tnrt::binding
