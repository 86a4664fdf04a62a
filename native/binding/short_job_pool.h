// Threads for short jobs that JavaScript issues back to back: CalibrationHistogram.add(), one
// call per batch per tensor, each a fraction of a millisecond of work.
//
// Why not the libuv pool, like every other [async] method: a libuv worker sleeps on a condition
// variable until work is queued, and waking a sleeping thread is slow on the virtual machines
// these jobs usually run on (measured 20-37 us to start a queued 1 MB add() on a 2-vCPU VM,
// next to 85-95 us of binning). Here a thread that finished a job keeps polling for the next
// one for a short while (kSpin in the .cc), so a job issued within that window starts at once.
// One thread polls at a time, and it yields the CPU on every turn, so it never keeps a
// runnable thread (the event loop, inference on the libuv pool) from a core. A job may come in
// parts that run on several threads at once; its promise settles when the last part is done.
// (The other half of the round trip, the completion waking the event loop, is avoided by
// JavaScript itself: lib/calibration/histogram.ts keeps the loop polling while adds run.)
//
// On an oversubscribed machine none of this helps: a woken or polling thread waits for a core
// behind the other processes, for milliseconds (measured 2-5 ms per 1 MB add with two busy
// processes on a 2-vCPU VM, where the binning takes 0.1 ms), and every add pays it. So the pool
// measures how long a job waits for a free thread to start it, and handoffsSlow() tells callers
// to keep their work on their own thread while that is long (histogram_add.h, "On the loop").
// A job now and then still goes to the pool, so the measure follows the machine's load back
// down.
//
// Completions go back to JavaScript through one thread-safe function; jobs that finish together
// are settled in one event-loop turn. The pool belongs to one environment (main thread,
// worker_thread, Electron process): its threads start with the first job and are joined when
// the environment ends, after the jobs in progress, so no job outlives the buffers it reads.
#pragma once

#include <napi.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "safe_tsfn.h"

namespace tnrt::binding {

class ShortJobPool {
 public:
  // The environment's pool, created on first use with TENSORRT_NODE_CALIBRATION_THREADS threads
  // (default: one per core but the event loop's, 1 to 4; 0: none, and handoffsSlow() is
  // always true); throws ERR_TENSORRT_INVALID_ARGUMENT for a bad setting.
  static ShortJobPool& of(Napi::Env env);

  // The number of threads: parts beyond it only queue.
  size_t threadCount() const { return threadCount_; }

  // [sync] JS thread: whether jobs have lately waited long for a free thread to start them
  // (the average of the last few waits exceeds what binning a 2 MB batch takes), so work is
  // better done on the caller's thread. Returns false now and then all the same (at most
  // every kProbeEvery), for a job that measures again.
  bool handoffsSlow();

  // Runs the parts of one job on pool threads, at once where threads are free (a pool of
  // none is not to be given any: callers ask handoffsSlow() first). The promise
  // resolves to undefined when all have returned, or rejects with an ERR_TENSORRT_INTERNAL
  // error carrying the message of the first one that threw. `keepAlive` are referenced until
  // then (the objects whose memory the parts read).
  Napi::Promise run(Napi::Env env, std::vector<std::function<void()>> parts, const std::vector<Napi::Object>& keepAlive);

  // [sync] JS thread: runs parts on pool threads, at once where threads are free, with no
  // promise: the caller knows by its own means when they are done, and they must not throw
  // (histogram_add_now.h lends helpers that way and waits for them before it returns).
  void lend(std::vector<std::function<void()>> parts);

  ShortJobPool(const ShortJobPool&) = delete;
  ShortJobPool& operator=(const ShortJobPool&) = delete;
  ~ShortJobPool();

 private:
  ShortJobPool(Napi::Env env, size_t threads);
  // The id of lent parts: no promise waits for them.
  static constexpr uint64_t kLent = UINT64_MAX;
  struct Job {
    uint64_t id;
    std::function<void()> work;
    // When it was queued, if a thread was free to take it at once (so its wait measures the
    // handoff, not a queue); zero otherwise.
    int64_t queuedNs = 0;
  };
  struct Finished {
    uint64_t id;
    std::string error;  // empty: the job succeeded
  };
  struct Pending {
    Napi::Promise::Deferred deferred;
    std::vector<Napi::ObjectReference> keepAlive;
    size_t partsLeft;
    std::string error;  // the first part's failure
  };

  // Starts the threads (on the first job); throws a JS error if not even one could start.
  void startThreads(Napi::Env env);
  // Queues the parts of job `id` and wakes the threads they need.
  void enqueue(uint64_t id, std::vector<std::function<void()>>& parts);
  void threadMain();
  // Waits for a job; false when the pool is stopping.
  bool nextJob(Job& job);
  // Polls for up to kSpin for a queued job.
  void pollForJob();
  void finish(Finished finished);
  // Pool thread: folds the wait of a job it starts into handoffNs_.
  void recordHandoff(const Job& job);
  // JS thread: settles every finished job.
  void settleFinished(Napi::Env env);
  // Stops and joins the threads; the job in progress completes first. JS thread, idempotent.
  void stop();
  // The environment cleanup hook (the same function pointer to add and to remove it).
  static void stopAtCleanup(void* self);

  Napi::Env env_;
  const size_t threadCount_;

  // Shared by the threads and run().
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> queue_;
  std::atomic<size_t> queued_{0};   // queue_.size(), readable without the lock while polling
  std::atomic<int> polling_{0};     // threads polling now (0 or 1)
  std::atomic<int64_t> handoffNs_{0};  // moving average of the measured handoffs
  int64_t lastProbeNs_ = 0;            // JS thread: when handoffsSlow() last let a job through
  int sleeping_ = 0;                // threads waiting on wake_
  bool stopping_ = false;
  std::vector<std::thread> threads_;

  // Filled by the threads, drained on the JS thread.
  std::mutex finishedMutex_;
  std::vector<Finished> finished_;
  SafeTsfn notify_;

  // JS thread only; keyed by job, which all its parts share.
  std::unordered_map<uint64_t, Pending> pending_;
  uint64_t nextId_ = 0;
};

}  // namespace tnrt::binding
