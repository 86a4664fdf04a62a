// Where a Builder's work runs: parses, builds, and the teardown of the networks it made.
//
// Why not the libuv pool: a build with a JavaScript INT8 calibrator waits for JavaScript for as
// long as calibration lasts, and the answers may themselves need the pool (a calibrator that
// reads batches with fs.promises). Builds that held pool threads while they waited would starve
// that I/O, and with four of them (the default pool size) deadlock it. And why one queue per
// builder: TensorRT's IBuilder, and the networks it made, may be used by one thread at a time
// (the adapter and the sim hold a builder lock for each parse, build and network teardown).
// Queuing here, rather than waiting for that lock, means nothing ever waits for it: no pool
// thread, and above all not the event loop, which must never wait for a build.
//
// So each BuilderQueue runs its jobs one at a time, in order, on a thread of its own that
// starts with the first job and ends when the queue is empty. A network's teardown is a job
// like the others: dropping a network on the event loop (dispose(), a GC finalizer) only
// queues it, and it runs after the build in progress on that builder, if any.
//
// BuildThreads is the environment's registry of those threads. When the environment ends
// (process.exit(), the main thread's natural end, a worker's terminate()), stop() cancels every
// build (a build waiting for its JavaScript calibrator wakes at once), skips jobs that have not
// started, and waits for the jobs in progress to return. It never waits for JavaScript.
#pragma once

#include <napi.h>

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <vector>

#include "backend/backend.h"

namespace tnrt::binding {

class BuilderQueue;

class BuildThreads : public std::enable_shared_from_this<BuildThreads> {
 public:
  // The environment's registry, created on first use; its stop() runs when the environment ends.
  static std::shared_ptr<BuildThreads> of(Napi::Env env);
  // [JS thread] Cancels every build, skips queued jobs, and waits for the jobs in progress to
  // return (idempotent). Called from the environment's cleanup hook and from process 'exit'.
  void stop();
  bool stopped() const;

  // [any thread] Starts `body` on a new detached thread, counted until it returns. Throws
  // std::system_error when no thread can be started.
  void start(std::function<void()> body);
  void track(const std::shared_ptr<BuilderQueue>& queue);

 private:
  mutable std::mutex mutex_;
  std::condition_variable idle_;
  size_t running_ = 0;
  bool stopped_ = false;
  std::vector<std::weak_ptr<BuilderQueue>> queues_;
};

// What cancels one build: its progress sink (stops it at its next step) and, when it has one,
// its JavaScript calibrator (wakes it while it waits for a batch).
struct BuildCancel {
  std::function<void()> cancel;
};

class BuilderQueue : public std::enable_shared_from_this<BuilderQueue> {
 public:
  // A job runs its work, or, when `skip` is true (the environment ended before it started),
  // only settles what it must without doing the work.
  using Job = std::function<void(bool skip)>;

  static std::shared_ptr<BuilderQueue> create(std::shared_ptr<BuildThreads> threads, std::shared_ptr<tnrt::Builder> builder);
  BuilderQueue(std::shared_ptr<BuildThreads> threads, std::shared_ptr<tnrt::Builder> builder);

  // For jobs, on the queue's thread only.
  tnrt::Builder& builder() const { return *builder_; }

  // [any thread] Queues `job` after the ones before it; never waits for a job. Throws
  // std::system_error when the queue's thread cannot be started (the job is then dropped).
  // Once the environment's threads have stopped, runs `job(true)` at once instead.
  void post(Job job);
  // [any thread] Queues the teardown of a network this builder made. Never throws: when no
  // thread can run it, nothing else can be running on this builder either, and it runs here.
  void destroyLater(const tnrt::Network* network);
  // Wraps a freshly parsed network so that whoever drops the last reference, on whatever
  // thread, only queues its teardown here.
  std::shared_ptr<const tnrt::Network> adopt(std::unique_ptr<tnrt::Network> network);

  // [any thread] Builds register while queued or running, so that cancelBuilds() reaches them.
  void addBuild(const BuildCancel* build);
  void removeBuild(const BuildCancel* build);
  void cancelBuilds();

  // [JS thread] BuildThreads::stop(): cancel the builds, and skip the jobs not yet started.
  void stop();

 private:
  void drain();

  std::shared_ptr<BuildThreads> threads_;
  std::shared_ptr<tnrt::Builder> builder_;
  std::mutex mutex_;
  std::deque<Job> jobs_;
  bool draining_ = false;  // a thread is running (or about to run) the jobs
  bool stopped_ = false;
  std::set<const BuildCancel*> builds_;
};

}  // namespace tnrt::binding
