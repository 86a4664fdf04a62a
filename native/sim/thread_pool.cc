#include "thread_pool.h"

#include <exception>

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

// How long a worker polls for the next job before sleeping: kernels of one execute() follow
// each other within microseconds, and a condition-variable wake-up costs tens of them. About
// 50 us of pause instructions; short enough that an idle context's threads are asleep long
// before anything could measure them.
constexpr int kSpinIterations = 2000;

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

// Claims tasks until none are left; shared by the caller and the workers.
void ThreadPool::work(const Job& job) {
  const bool outer = insideTask;
  insideTask = true;
  for (;;) {
    const int64_t t = next_.fetch_add(1, std::memory_order_relaxed);
    if (t >= job.tasks) break;
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
  }
  insideTask = outer;
}

void ThreadPool::workerLoop() {
  insideTask = true;  // a task's own run() calls compute inline
  uint64_t seen = 0;
  for (;;) {
    for (int i = 0; i < kSpinIterations && generation_.load(std::memory_order_acquire) == seen; ++i) cpuRelax();
    Job job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stop_ || generation_.load(std::memory_order_relaxed) != seen; });
      if (stop_) return;
      seen = generation_.load(std::memory_order_relaxed);
      job = job_;
      ++busy_;
    }
    work(job);
    std::lock_guard<std::mutex> lock(mutex_);
    if (--busy_ == 0) done_.notify_all();
  }
}

void ThreadPool::run(int64_t tasks, TaskFn fn, const void* ctx) {
  if (tasks <= 0) return;
  if (threads_ == 1 || tasks == 1 || insideTask) {
    for (int64_t t = 0; t < tasks; ++t) fn(ctx, t);
    return;
  }
  if (workers_.empty()) start();
  ++splitRuns_;
  const Job job{tasks, fn, ctx};
  {
    std::unique_lock<std::mutex> lock(mutex_);
    // A worker that woke late for the previous job may still hold it (it finds no task left).
    done_.wait(lock, [&] { return busy_ == 0; });
    job_ = job;
    error_ = nullptr;
    next_.store(0, std::memory_order_relaxed);
    finished_.store(0, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_acq_rel);
  }
  wake_.notify_all();
  work(job);
  // Every task is claimed; wait for the ones still running on workers, spinning first (they
  // are usually microseconds from done).
  for (int i = 0; i < kSpinIterations * 4 && finished_.load(std::memory_order_acquire) != tasks; ++i) cpuRelax();
  std::exception_ptr error;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [&] { return finished_.load(std::memory_order_acquire) == tasks; });
    error = error_;
    error_ = nullptr;
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace sim
}  // namespace tnrt
