// The sim's intra-op threads: a small pool owned by one execution context that splits a
// kernel's work (GEMM column or row tiles, a Conv batch's images, depthwise channels, ranges
// of rows, planes or elements in the other layers) across `threads` threads, the calling thread included.
// execute() already runs on a libuv worker, so a pool of n threads adds n - 1 threads of its
// own. During an execute() (a "hot" phase, HotPhase below) they poll for the next kernel's
// tasks: between two split layers there are often serial ones, and a thread woken from a
// condition variable (a wake-up costs tens of microseconds) came too late for the short
// layers of the zoo's models, leaving the caller to do nearly all of their work. Outside a call they sleep
// on a condition variable after a short spin, so an idle context costs no CPU and never
// competes with the event loop.
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
  // Tasks of those runs in all, and how many of them the pool's other threads ran (the
  // profile's evidence that a split layer really ran on more than the calling thread).
  uint64_t splitTasks() const { return splitTasks_; }
  uint64_t tasksOnWorkers() const { return tasksOnWorkers_.load(std::memory_order_relaxed); }

  // [sync] While one lives, the pool's threads poll for tasks instead of sleeping between
  // runs (wakes them if asleep, so that their wake-up overlaps the caller's serial layers).
  // Scope it to one execute(): the threads sleep again a short spin after it ends.
  class HotPhase {
   public:
    explicit HotPhase(ThreadPool& pool);
    ~HotPhase();
    HotPhase(const HotPhase&) = delete;
    HotPhase& operator=(const HotPhase&) = delete;

   private:
    ThreadPool& pool_;
    const bool counted_;  // false when the pool had no threads to keep awake
  };

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
  // Runs the job's tasks that this thread claims; returns how many.
  int64_t work(const Job& job, uint64_t generation);

  const int threads_;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  // The current job (written under mutex_); `generation_` changes when a new one is posted.
  // `next_` holds the job's generation (high 24 bits) and its next unclaimed task (low 40):
  // a worker that copied an older job fails to claim from a newer one, so a new job never
  // waits for a worker that is late for the last one, and no task index goes to the wrong
  // function. The counters the threads write sit on cache lines of their own.
  Job job_;
  alignas(64) std::atomic<uint64_t> generation_{0};
  alignas(64) std::atomic<uint64_t> next_{0};
  alignas(64) std::atomic<int64_t> finished_{0};
  alignas(64) std::atomic<uint64_t> tasksOnWorkers_{0};
  alignas(64) std::atomic<int> hot_{0};
  int sleepers_ = 0;        // workers waiting on wake_ (under mutex_)
  uint64_t splitRuns_ = 0;  // only the calling thread (outside tasks) writes these two
  uint64_t splitTasks_ = 0;
  std::exception_ptr error_;
  bool stop_ = false;
};

// How many ranges to cut `units` like items into, at most `maxRanges`, so that `threads`
// threads taking ranges in turn finish together. The busiest thread has ceil(R / threads)
// ranges of up to ceil(units / R) items; the count chosen is the largest whose busiest thread
// does at most 1/16 more than the least any count allows (a larger count lets a thread slowed
// by another process hand more of its share to one that is done). A count that is not a
// multiple of the threads cost most on small layers: three ranges on two threads left one
// thread two thirds of the work (a 1x1 Conv of 192 columns ran at 0.68x its one-thread time).
inline int64_t balancedRanges(int64_t units, int64_t maxRanges, int threads) {
  if (maxRanges > units) maxRanges = units;
  if (threads <= 1 || maxRanges <= 1) return 1;
  const auto busiest = [&](int64_t r) { return (r + threads - 1) / threads * ((units + r - 1) / r); };
  int64_t least = units;
  for (int64_t r = 2; r <= maxRanges; ++r) least = busiest(r) < least ? busiest(r) : least;
  // least / 16 rather than least * 17 / 16: units can be up to 2^40 elements.
  int64_t best = 1;
  for (int64_t r = 2; r <= maxRanges; ++r)
    if (busiest(r) - least <= least / 16) best = r;
  return best;
}

// How many contiguous ranges a pass over `n` independent items splits into, when one item
// costs about `cost` units (one unit: an add or a copy of one element; an exp or a divide is
// ~8, a pooling window its tap count). One (inline) below about 16 Ki units per range, where
// handing the range to a thread costs a fair part of what it does; else up to a few ranges
// per thread, as balancedRanges picks them.
inline int64_t parallelChunks(const ThreadPool* pool, int64_t n, int64_t cost) {
  if (!pool || pool->threads() <= 1 || n < 2) return 1;
  constexpr int64_t kMinRangeWork = int64_t{1} << 14;
  // n * cost / kMinRangeWork, in two parts so that n * cost cannot overflow.
  const int64_t byWork = n / kMinRangeWork * cost + n % kMinRangeWork * cost / kMinRangeWork;
  const int64_t byThreads = 4 * static_cast<int64_t>(pool->threads());
  return balancedRanges(n, byWork < byThreads ? byWork : byThreads, pool->threads());
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
