// The sim's intra-op threads: a small pool owned by one execution context that splits a
// kernel's work (GEMM column or row tiles, depthwise channels, ranges of rows, planes or
// elements in the other layers) across `threads` threads, the calling thread included.
// execute() already runs on a libuv worker, so a pool of n threads adds n - 1 threads of its
// own; they sleep on a condition variable between calls (after a short spin that keeps
// back-to-back kernels of one call from paying a wake-up each), so an idle context costs no
// CPU and never competes with the event loop.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace tnrt {
namespace sim {

class ThreadPool {
 public:
  // `threads` >= 1 counts the calling thread; the others start on the first parallel call.
  explicit ThreadPool(int threads);
  // Stops and joins the threads (the context's destruction, on dispose or environment exit).
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int threads() const { return threads_; }
  // How many run() calls so far handed tasks to the pool's other threads (read by the
  // per-layer profile, TNRT_SIM_PROFILE, on the calling thread).
  uint64_t splitRuns() const { return splitRuns_; }

  // [sync] Calls fn(ctx, task) once for every task in [0, tasks), spread over the pool's
  // threads and the caller, and returns when all are done. Tasks must write disjoint memory.
  // Runs inline when the pool has one thread, there is one task, or it is called from inside
  // a task. The first exception a task throws is rethrown here once all tasks have finished.
  using TaskFn = void (*)(const void* ctx, int64_t task);
  void run(int64_t tasks, TaskFn fn, const void* ctx);

  // The same with any callable taking the task index.
  template <typename F>
  void forEach(int64_t tasks, const F& f) {
    run(tasks, [](const void* c, int64_t t) { (*static_cast<const F*>(c))(t); }, &f);
  }

 private:
  struct Job {
    int64_t tasks = 0;
    TaskFn fn = nullptr;
    const void* ctx = nullptr;
  };
  void start();
  void workerLoop();
  void work(const Job& job);

  const int threads_;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  // The current job (written under mutex_); `generation_` changes when a new one is posted.
  // A worker copies the job and counts itself in `busy_` under the mutex, and a job is only
  // replaced while busy_ is 0, so no worker ever claims a new job's task index for an old
  // job's function.
  Job job_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int64_t> next_{0};
  std::atomic<int64_t> finished_{0};
  int busy_ = 0;
  uint64_t splitRuns_ = 0;  // only the calling thread (outside tasks) writes it
  std::exception_ptr error_;
  bool stop_ = false;
};

// How many contiguous ranges a pass over `n` independent items splits into, when one item
// costs about `cost` units (one unit: an add or a copy of one element; an exp or a divide is
// ~8, a pooling window its tap count). One (inline) below about 16 Ki units per range, where
// handing the range to a thread costs a fair part of what it does; else up to a few ranges
// per thread, so that a thread slowed by another process hands its share to one that is done.
inline int64_t parallelChunks(const ThreadPool* pool, int64_t n, int64_t cost) {
  if (!pool || pool->threads() <= 1 || n < 2) return 1;
  constexpr int64_t kMinRangeWork = int64_t{1} << 14;
  // n * cost / kMinRangeWork, in two parts so that n * cost cannot overflow.
  const int64_t byWork = n / kMinRangeWork * cost + n % kMinRangeWork * cost / kMinRangeWork;
  const int64_t byThreads = 4 * static_cast<int64_t>(pool->threads());
  int64_t chunks = byWork < byThreads ? byWork : byThreads;
  if (chunks > n) chunks = n;
  return chunks < 1 ? 1 : chunks;
}

// [sync] Calls body(lo, hi) on contiguous ranges that cover [0, n) once, split as
// parallelChunks says (a null pool or a small pass: one call on this thread). Each item must
// write only its own outputs; then the result does not depend on the split.
template <typename F>
void parallelRanges(ThreadPool* pool, int64_t n, int64_t cost, const F& body) {
  const int64_t chunks = parallelChunks(pool, n, cost);
  if (chunks <= 1) {
    if (n > 0) body(int64_t{0}, n);
    return;
  }
  pool->forEach(chunks, [&](int64_t c) { body(n * c / chunks, n * (c + 1) / chunks); });
}

}  // namespace sim
}  // namespace tnrt
