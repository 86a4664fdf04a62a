#include "progress_sink.h"

namespace tnrt::binding {

struct JsProgressSink::Event {
  std::string kind;  // "phaseStart" | "step" | "phaseFinish"
  std::string phase;
  std::string parent;
  int32_t value = 0;  // steps for phaseStart, the step index for step
};

JsProgressSink::JsProgressSink(Napi::Env env, Napi::Function callback) {
  // Never keeps the loop alive by itself: the build's promise does while the build runs, and
  // lib/builder.ts holds the loop after it settles until the events still queued here land.
  if (!callback.IsEmpty()) tsfn_.open(env, callback, "tensorrt-node build progress", false);
}

JsProgressSink::~JsProgressSink() = default;

void JsProgressSink::post(Event* event) {
  bool queued = tsfn_.call(event, [](Napi::Env env, Napi::Function fn, Event* e) {
    if (env != nullptr && !fn.IsEmpty()) {
      Napi::Object info = Napi::Object::New(env);
      info.Set("kind", e->kind);
      info.Set("phase", e->phase);
      if (e->kind == "phaseStart") {
        info.Set("parent", e->parent);
        info.Set("steps", e->value);
      } else if (e->kind == "step") {
        info.Set("step", e->value);
      }
      fn.Call({info});
    }
    delete e;
  });
  if (queued) {
    posted_.fetch_add(1);
  } else {
    delete event;
  }
}

void JsProgressSink::phaseStart(const std::string& phase, const std::string& parent, int32_t steps) {
  post(new Event{"phaseStart", phase, parent, steps});
}

bool JsProgressSink::stepComplete(const std::string& phase, int32_t step) {
  post(new Event{"step", phase, "", step});
  return !cancelled_.load();
}

void JsProgressSink::phaseFinish(const std::string& phase) { post(new Event{"phaseFinish", phase, "", 0}); }

}  // namespace tnrt::binding
