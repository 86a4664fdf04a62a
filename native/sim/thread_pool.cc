#include "thread_pool.h"

#include <exception>
#include <stdexcept>

#if defined(__x86_64__)
#include <immintrin.h>
#endif
#if defined(__linux__)
#include <pthread.h>
#endif

namespace tnrt {
namespace sim {

namespace {

// Set on the pool's own threads and while the caller runs tasks: a kernel that calls run()
// from inside a task (a GEMM inside a parallel loop) then computes inline instead of waiting
// on threads that are all busy with the outer loop.
thread_local bool insideTask = false;

inline void cpuRelax() {
#if defined(__x86_64__)
  _mm_pause();
#endif
}

// How long a worker polls for the next job before sleeping, outside a hot phase: about 50 us
// of pause instructions, so that an idle context's threads are asleep long before anything
// could measure them.
constexpr int kSpinIterations = 2000;
// In a hot phase, past that spin: pauses between yields (a few microseconds).
constexpr int kPausesPerYield = 64;

// next_'s layout: the job's generation in the high bits, the next task index in the low ones
// (a task count above 2^40 would take hours of tasks anyway; run() refuses it).
constexpr int kIndexBits = 40;
constexpr uint64_t kIndexMask = (uint64_t{1} << kIndexBits) - 1;
constexpr uint64_t kGenerationMask = (uint64_t{1} << (64 - kIndexBits)) - 1;
inline uint64_t tag(uint64_t generation) { return generation << kIndexBits; }

}  // namespace

ThreadPool::ThreadPool(int threads) : threads_(threads < 1 ? 1 : threads) {}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  for (std::thread& t : workers_) t.join();
}

ThreadPool::HotPhase::HotPhase(ThreadPool& pool) : pool_(pool), counted_(!pool.workers_.empty()) {
  if (!counted_) return;  // one thread, or nothing split yet: no one to keep awake
  std::lock_guard<std::mutex> lock(pool.mutex_);
  pool.hot_.fetch_add(1, std::memory_order_relaxed);
  if (pool.sleepers_ > 0) pool.wake_.notify_all();
}

ThreadPool::HotPhase::~HotPhase() {
  if (counted_) pool_.hot_.fetch_sub(1, std::memory_order_relaxed);
}

void ThreadPool::start() {
  workers_.reserve(static_cast<size_t>(threads_ - 1));
  for (int i = 1; i < threads_; ++i) {
    workers_.emplace_back([this] { workerLoop(); });
#if defined(__linux__)
    // A name of their own (/proc/<pid>/task/<tid>/comm, top -H, gdb), set here rather than by
    // the thread itself so that it holds as soon as start() returns, even for a thread the
    // scheduler has not run yet: the tests count these threads among the process's others,
    // which come and go on their own schedule.
    pthread_setname_np(workers_.back().native_handle(), "tnrt-sim");
#endif
  }
}

// Claims tasks of the job posted as `generation` until none are left or a newer job replaced
// it; shared by the caller and the workers.
int64_t ThreadPool::work(const Job& job, uint64_t generation) {
  const bool outer = insideTask;
  insideTask = true;
  const uint64_t mine = tag(generation);
  int64_t ran = 0;
  uint64_t seen = next_.load(std::memory_order_relaxed);
  for (;;) {
    if ((seen & ~kIndexMask) != mine || static_cast<int64_t>(seen & kIndexMask) >= job.tasks) break;
    if (!next_.compare_exchange_weak(seen, seen + 1, std::memory_order_relaxed)) continue;
    const int64_t t = static_cast<int64_t>(seen & kIndexMask);
    ++ran;
    try {
      job.fn(job.ctx, t);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!error_) error_ = std::current_exception();
    }
    if (finished_.fetch_add(1, std::memory_order_acq_rel) + 1 == job.tasks) {
      std::lock_guard<std::mutex> lock(mutex_);
      done_.notify_all();
    }
    seen = next_.load(std::memory_order_relaxed);
  }
  insideTask = outer;
  return ran;
}

void ThreadPool::workerLoop() {
  insideTask = true;  // a task's own run() calls compute inline
  uint64_t seen = 0;
  for (;;) {
    // Poll while a hot phase lasts, else for a short spin. Past the short spin a hot poll
    // yields now and then: on a quiet machine that returns at once, and on a busy one it hands
    // the core to a thread with work (this call's own caller among them) instead of burning
    // the time slice.
    for (int i = 0; generation_.load(std::memory_order_acquire) == seen;) {
      if (i < kSpinIterations) {
        ++i;
      } else if (hot_.load(std::memory_order_relaxed) == 0) {
        break;
      } else if (++i == kSpinIterations + kPausesPerYield) {
        i = kSpinIterations;
        std::this_thread::yield();
      }
      cpuRelax();
    }
    Job job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      if (!stop_ && generation_.load(std::memory_order_relaxed) == seen && hot_.load(std::memory_order_relaxed) == 0) {
        ++sleepers_;
        wake_.wait(lock, [&] {
          return stop_ || generation_.load(std::memory_order_relaxed) != seen || hot_.load(std::memory_order_relaxed) > 0;
        });
        --sleepers_;
      }
      if (stop_) return;
      if (generation_.load(std::memory_order_relaxed) == seen) continue;  // woken for a hot phase
      seen = generation_.load(std::memory_order_relaxed);
      job = job_;
    }
    const int64_t ran = work(job, seen);
    if (ran) tasksOnWorkers_.fetch_add(static_cast<uint64_t>(ran), std::memory_order_relaxed);
  }
}

void ThreadPool::run(int64_t tasks, TaskFn fn, const void* ctx) {
  if (tasks <= 0) return;
  if (threads_ == 1 || tasks == 1 || insideTask) {
    for (int64_t t = 0; t < tasks; ++t) fn(ctx, t);
    return;
  }
  if (static_cast<uint64_t>(tasks) > kIndexMask) throw std::length_error("ThreadPool::run: too many tasks");
  if (workers_.empty()) start();
  ++splitRuns_;
  splitTasks_ += static_cast<uint64_t>(tasks);
  const Job job{tasks, fn, ctx};
  uint64_t generation;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    // No worker waits to be done with the last job: one still holding it fails to claim from
    // this one (its generation tag differs) and touches nothing of it.
    job_ = job;
    error_ = nullptr;
    finished_.store(0, std::memory_order_relaxed);
    generation = (generation_.load(std::memory_order_relaxed) + 1) & kGenerationMask;
    next_.store(tag(generation), std::memory_order_relaxed);
    generation_.store(generation, std::memory_order_release);
    if (sleepers_ > 0) wake_.notify_all();
  }
  work(job, generation);
  // Every task is claimed; wait for the ones still running on workers, spinning first (they
  // are usually microseconds from done).
  for (int i = 0; i < kSpinIterations * 4 && finished_.load(std::memory_order_acquire) != tasks; ++i) cpuRelax();
  if (finished_.load(std::memory_order_acquire) != tasks) {
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [&] { return finished_.load(std::memory_order_acquire) == tasks; });
  }
  // Every task's error was stored before its finish was counted, and no task of this job is left.
  std::exception_ptr error = error_;
  error_ = nullptr;
  if (error) std::rethrow_exception(error);
}

}  // namespace sim
}  // namespace tnrt
