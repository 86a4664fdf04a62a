#include "short_job_pool.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <exception>
#include <new>
#include <system_error>

#include "addon_data.h"
#include "errors.h"

namespace tnrt::binding {

namespace {

// How long a thread that finished a job polls for the next. It has to cover the trip of the
// completion to JavaScript and of the next call back (a few microseconds while the event loop
// polls, 15-45 us measured on a 2-vCPU VM when it slept) with room for a busy event loop; past
// it the thread sleeps and the next job pays one wake-up.
constexpr auto kSpin = std::chrono::microseconds(200);

// A handoff slower than this makes handoffsSlow() true: about what binning 2 MB takes on one
// core. An idle 2-vCPU VM wakes a sleeping thread in 20-40 us and a polling one in a few; an
// oversubscribed one takes milliseconds.
constexpr int64_t kSlowHandoffNs = 200'000;
// While handoffs are slow, one job in this long still goes to the pool to measure again: a
// few milliseconds lost per 100 ms under load, and the pool is back within 100 ms of the load
// going.
constexpr int64_t kProbeEveryNs = 100'000'000;

int64_t nowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// One thread per core but the event loop's, from one up to four: the event loop polls while
// adds are in flight (lib/calibration/histogram.ts), so its core is taken; beyond four, binning
// a batch is bound by memory bandwidth rather than cores, and more threads would only compete
// with inference for it. TENSORRT_NODE_CALIBRATION_THREADS overrides the choice; 0 there
// means none: every add() runs on the event loop (histogram_add.h, "On the loop"), for
// machines whose cores are all spoken for. Returns -1 for an unusable setting.
long chooseThreadCount(std::string& setting) {
  const char* value = std::getenv("TENSORRT_NODE_CALIBRATION_THREADS");
  if (value == nullptr || *value == '\0') {
    const unsigned cores = std::thread::hardware_concurrency();
    return std::clamp<long>(cores > 1 ? cores - 1 : 1, 1, 4);
  }
  setting = value;
  char* end = nullptr;
  const long n = std::strtol(value, &end, 10);
  return (*end == '\0' && n >= 0 && n <= 64) ? n : -1;
}

}  // namespace

void ShortJobPool::stopAtCleanup(void* self) { static_cast<ShortJobPool*>(self)->stop(); }

ShortJobPool& ShortJobPool::of(Napi::Env env) {
  AddonData& data = addonData(env);
  if (!data.shortJobs) {
    std::string setting;
    const long threads = chooseThreadCount(setting);
    if (threads < 0) {
      throwInvalid(env, "TENSORRT_NODE_CALIBRATION_THREADS must be a whole number from 0 to 64, but it is '" + setting +
                            "'; set it to the number of threads for calibration statistics (0: none, the event loop "
                            "bins), or unset it for one per core but the event loop's, up to 4");
    }
    data.shortJobs.reset(new ShortJobPool(env, static_cast<size_t>(threads)));
  }
  return *data.shortJobs;
}

ShortJobPool::ShortJobPool(Napi::Env env, size_t threads) : env_(env), threadCount_(threads) {
  notify_.open(env, Napi::Function::New(env, [](const Napi::CallbackInfo&) {}), "tensorrt-node short jobs", false);
  // Node runs cleanup hooks in reverse order of registration, so this one runs before N-API
  // tears down the instance data that owns the pool: the threads stop while the buffers they
  // read still exist.
  napi_add_env_cleanup_hook(env, stopAtCleanup, this);
}

ShortJobPool::~ShortJobPool() {
  stop();
  napi_remove_env_cleanup_hook(env_, stopAtCleanup, this);
}

Napi::Promise ShortJobPool::run(Napi::Env env, std::vector<std::function<void()>> parts,
                                const std::vector<Napi::Object>& keepAlive) {
  if (threads_.empty()) startThreads(env);
  const uint64_t id = nextId_++;
  Pending pending{Napi::Promise::Deferred::New(env), {}, parts.size(), {}};
  for (const auto& object : keepAlive) pending.keepAlive.push_back(Napi::Persistent(object));
  Napi::Promise promise = pending.deferred.Promise();
  if (parts.empty()) {
    pending.deferred.Resolve(env.Undefined());
    return promise;
  }
  // A pending job keeps the process alive, as a libuv request would.
  if (pending_.empty()) notify_.setKeepsLoopAlive(env, true);
  pending_.emplace(id, std::move(pending));
  enqueue(id, parts);
  return promise;
}

void ShortJobPool::lend(std::vector<std::function<void()>> parts) {
  if (threads_.empty()) startThreads(env_);
  enqueue(kLent, parts);
}

void ShortJobPool::enqueue(uint64_t id, std::vector<std::function<void()>>& parts) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    // Measured only where a thread is free to start the first part at once.
    const bool measured = queue_.empty() && (polling_.load() > 0 || sleeping_ > 0);
    const int64_t queuedNs = measured ? nowNs() : 0;
    for (size_t i = 0; i < parts.size(); ++i) queue_.push_back(Job{id, std::move(parts[i]), i == 0 ? queuedNs : 0});
    queued_.store(queue_.size(), std::memory_order_release);
    // Polling threads take queued parts by themselves; wake sleepers for the rest.
    const size_t polling = static_cast<size_t>(polling_.load());
    const size_t unclaimed = queue_.size() > polling ? queue_.size() - polling : 0;
    for (size_t i = 0; i < std::min(unclaimed, static_cast<size_t>(sleeping_)); ++i) wake_.notify_one();
  }
}

void ShortJobPool::startThreads(Napi::Env env) {
  try {
    for (size_t i = 0; i < threadCount_; ++i) threads_.emplace_back([this] { threadMain(); });
  } catch (const std::system_error& e) {
    // Fewer threads only make the jobs queue longer; none at all cannot run them.
    if (threads_.empty()) {
      throw makeError(env, ErrorCode::kInternal,
                      std::string("could not start a calibration thread (") + e.what() +
                          "); the process may be at its thread limit: lower it with TENSORRT_NODE_CALIBRATION_THREADS or free threads");
    }
  }
}

bool ShortJobPool::handoffsSlow() {
  if (threadCount_ == 0) return true;  // no thread to hand anything to
  if (handoffNs_.load(std::memory_order_relaxed) < kSlowHandoffNs) return false;
  const int64_t now = nowNs();
  if (now - lastProbeNs_ < kProbeEveryNs) return true;
  lastProbeNs_ = now;
  return false;
}

void ShortJobPool::recordHandoff(const Job& job) {
  if (job.queuedNs == 0) return;
  // An average over the last few (weight 1/4 each): one slow wake-up, a page fault or a
  // preemption on an idle machine does not switch callers away from the pool, a loaded
  // machine does within a few jobs.
  const int64_t waited = nowNs() - job.queuedNs;
  const int64_t average = handoffNs_.load(std::memory_order_relaxed);
  handoffNs_.store(average + (waited - average) / 4, std::memory_order_relaxed);
}

void ShortJobPool::threadMain() {
  Job job;
  while (nextJob(job)) {
    recordHandoff(job);
    Finished finished{job.id, {}};
    try {
      job.work();
    } catch (const std::bad_alloc&) {
      finished.error = "out of host memory";
    } catch (const std::exception& e) {
      finished.error = e.what();
    } catch (...) {
      finished.error = "unknown native error";
    }
    job.work = nullptr;  // drop what the work captured before the next wait
    if (job.id != kLent) finish(std::move(finished));
  }
}

void ShortJobPool::pollForJob() {
  // One poller at a time (see short_job_pool.h).
  if (polling_.fetch_add(1) != 0) {
    polling_.fetch_sub(1);
    return;
  }
  const auto deadline = std::chrono::steady_clock::now() + kSpin;
  while (queued_.load(std::memory_order_acquire) == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  polling_.fetch_sub(1);
}

bool ShortJobPool::nextJob(Job& job) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (queue_.empty() && !stopping_) {
    lock.unlock();
    pollForJob();
    lock.lock();
    // Decided under the lock, which run() holds while it looks at sleeping_: a job queued
    // after this check finds this thread counted as sleeping and wakes it.
    while (queue_.empty() && !stopping_) {
      ++sleeping_;
      wake_.wait(lock);
      --sleeping_;
    }
  }
  if (stopping_) return false;
  job = std::move(queue_.front());
  queue_.pop_front();
  queued_.store(queue_.size(), std::memory_order_release);
  return true;
}

void ShortJobPool::finish(Finished finished) {
  bool first;
  {
    std::lock_guard<std::mutex> lock(finishedMutex_);
    first = finished_.empty();
    finished_.push_back(std::move(finished));
  }
  // One notification per group of jobs finished before JavaScript got to them.
  if (first && !notify_.call(this, [](Napi::Env env, Napi::Function, ShortJobPool* pool) { pool->settleFinished(env); })) {
    // The function is closed: the environment is ending and nothing will settle these. Drop
    // them, so that finished_ is empty again and a later job would still notify.
    std::lock_guard<std::mutex> lock(finishedMutex_);
    finished_.clear();
  }
}

void ShortJobPool::settleFinished(Napi::Env env) {
  std::vector<Finished> finished;
  {
    std::lock_guard<std::mutex> lock(finishedMutex_);
    finished.swap(finished_);
  }
  for (Finished& f : finished) {
    auto it = pending_.find(f.id);
    if (it == pending_.end()) continue;
    Pending& job = it->second;
    if (job.error.empty()) job.error = std::move(f.error);
    if (--job.partsLeft > 0) continue;
    Pending done = std::move(job);
    pending_.erase(it);
    // Settling throws only while the environment shuts down (a completion delivered after
    // JavaScript was stopped); nothing can observe the promise then, and a Napi::Error that
    // escaped this callback would end the process.
    try {
      if (done.error.empty()) {
        done.deferred.Resolve(env.Undefined());
      } else {
        done.deferred.Reject(makeError(env, ErrorCode::kInternal, done.error).Value());
      }
    } catch (const Napi::Error&) {
    }
  }
  try {
    if (pending_.empty()) notify_.setKeepsLoopAlive(env, false);
  } catch (const Napi::Error&) {
  }
}

void ShortJobPool::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  for (std::thread& thread : threads_) thread.join();
  notify_.release();
}

}  // namespace tnrt::binding
