#include "builder_queue.h"

#include <system_error>
#include <thread>
#include <utility>

#include "addon_data.h"

namespace tnrt::binding {

namespace {

void stopAtCleanup(void* data) { static_cast<BuildThreads*>(data)->stop(); }

}  // namespace

std::shared_ptr<BuildThreads> BuildThreads::of(Napi::Env env) {
  AddonData& data = addonData(env);
  if (!data.buildThreads) {
    data.buildThreads = std::make_shared<BuildThreads>();
    // Registered after N-API's own hooks, so it runs before them (Node runs cleanup hooks in
    // reverse order): the jobs stop while the instance data that owns this registry is intact.
    // It is never removed: the instance data, deleted after every hook has run, holds it.
    napi_add_env_cleanup_hook(env, stopAtCleanup, data.buildThreads.get());
  }
  return data.buildThreads;
}

bool BuildThreads::stopped() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stopped_;
}

void BuildThreads::track(const std::shared_ptr<BuilderQueue>& queue) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::weak_ptr<BuilderQueue>> live;
  for (auto& q : queues_)
    if (!q.expired()) live.push_back(std::move(q));
  live.push_back(queue);
  queues_.swap(live);
}

void BuildThreads::start(std::function<void()> body) {
  std::shared_ptr<BuildThreads> self = shared_from_this();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++running_;
  }
  try {
    std::thread([self, body = std::move(body)]() mutable {
      body();
      body = nullptr;  // what the body captured goes before the count says this thread is done
      std::lock_guard<std::mutex> lock(self->mutex_);
      if (--self->running_ == 0) self->idle_.notify_all();
    }).detach();
  } catch (const std::system_error&) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (--running_ == 0) idle_.notify_all();
    throw;
  }
}

void BuildThreads::stop() {
  std::vector<std::shared_ptr<BuilderQueue>> queues;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopped_) return;
    stopped_ = true;
    for (auto& q : queues_)
      if (auto live = q.lock()) queues.push_back(std::move(live));
  }
  for (auto& queue : queues) queue->stop();
  queues.clear();
  // Only cancelled native work remains: a build returns at its next progress step or
  // calibrator call, a parse when it is done. Nothing here waits for JavaScript.
  std::unique_lock<std::mutex> lock(mutex_);
  idle_.wait(lock, [&] { return running_ == 0; });
}

std::shared_ptr<BuilderQueue> BuilderQueue::create(std::shared_ptr<BuildThreads> threads,
                                                   std::shared_ptr<tnrt::Builder> builder) {
  auto queue = std::make_shared<BuilderQueue>(threads, std::move(builder));
  threads->track(queue);
  return queue;
}

BuilderQueue::BuilderQueue(std::shared_ptr<BuildThreads> threads, std::shared_ptr<tnrt::Builder> builder)
    : threads_(std::move(threads)), builder_(std::move(builder)) {}

void BuilderQueue::post(Job job) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (!draining_ && threads_->stopped()) {
    // The environment is ending and stop() has waited for this queue's jobs: nothing runs on
    // the builder, and nothing may start any more. Settle (or tear down) right here.
    lock.unlock();
    job(true);
    return;
  }
  jobs_.push_back(std::move(job));
  if (draining_) return;
  draining_ = true;
  lock.unlock();
  try {
    threads_->start([self = shared_from_this()] { self->drain(); });
  } catch (const std::system_error&) {
    lock.lock();
    draining_ = false;
    jobs_.pop_back();
    throw;
  }
}

void BuilderQueue::drain() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!jobs_.empty()) {
    Job job = std::move(jobs_.front());
    jobs_.pop_front();
    const bool skip = stopped_;
    lock.unlock();
    job(skip);
    job = nullptr;  // what it captured (networks among them) goes now, not with the next job
    lock.lock();
  }
  draining_ = false;
}

void BuilderQueue::destroyLater(const tnrt::Network* network) {
  try {
    post([network](bool) { delete network; });
  } catch (const std::system_error&) {
    // No thread could start, so none runs this queue's jobs: the builder is idle.
    delete network;
  }
}

std::shared_ptr<const tnrt::Network> BuilderQueue::adopt(std::unique_ptr<tnrt::Network> network) {
  std::shared_ptr<BuilderQueue> self = shared_from_this();
  // The deleter holds the queue, and with it the builder: a network never outlives its builder.
  return std::shared_ptr<const tnrt::Network>(network.release(),
                                              [self](const tnrt::Network* n) { self->destroyLater(n); });
}

void BuilderQueue::addBuild(const BuildCancel* build) {
  std::lock_guard<std::mutex> lock(mutex_);
  builds_.insert(build);
  if (stopped_) build->cancel();
}

void BuilderQueue::removeBuild(const BuildCancel* build) {
  std::lock_guard<std::mutex> lock(mutex_);
  builds_.erase(build);
}

void BuilderQueue::cancelBuilds() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const BuildCancel* build : builds_) build->cancel();
}

void BuilderQueue::stop() {
  std::lock_guard<std::mutex> lock(mutex_);
  stopped_ = true;
  for (const BuildCancel* build : builds_) build->cancel();
}

}  // namespace tnrt::binding
