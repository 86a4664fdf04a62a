// A stand-in CUDA runtime for the TensorRT double: one fake device whose "device memory" is
// host memory, and streams that really are asynchronous: work queued on a stream (copies from
// pinned memory, the double's inference) runs only when something waits for it
// (cudaStreamSynchronize, an event, an implicitly synchronizing call), so a caller that reads
// a result before synchronizing reads stale memory, as on a GPU. It implements what the
// adapter and the double call, checks what CUDA documents (copies stay inside allocations,
// handles are live, kinds match) and can fail on request.
//
// Faults (TNRT_DOUBLE_FAULTS, comma-separated): noDriver, noDevice, oldDriver, cudaMalloc,
// cudaMallocHost, cudaStreamCreate, cudaMemcpy, cudaStreamBeginCapture.
//
// Stream capture: between cudaStreamBeginCapture and cudaStreamEndCapture, work queued on the
// stream (copies, the double's inference, event records) is recorded into the graph, not run;
// each cudaGraphLaunch of the instantiated graph queues that work again. Synchronizing a
// capturing stream fails the capture, as on a GPU. Events record the double's clock when the
// stream reaches them. TNRT_DOUBLE_REPORT=1 also counts cudaMemcpyAsync calls, captures and
// graph launches, so tests can check what a call queued.
//
// Devices: one (0), or TNRT_DOUBLE_DEVICES of them (at most 8). Each thread has a current device
// (cudaSetDevice); allocations and streams belong to the device current when they were made,
// and the TensorRT objects check that each of their calls runs with their device current.
#include <cuda_runtime_api.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <string>

#include "double_contract.h"

#define DOUBLE_EXPORT extern "C" __attribute__((visibility("default")))

namespace tnrt_double {
namespace {

std::mutex gMutex;
std::map<const char*, size_t> gDevice;  // base -> size
std::map<const char*, int> gDeviceOf;   // base -> the device it was allocated on
std::map<const char*, size_t> gPinned;
struct Stream;
std::map<const void*, std::shared_ptr<Stream>> gStreams;
std::set<const void*> gEvents;
std::set<const void*> gGraphs;      // cudaGraph_t
std::set<const void*> gGraphExecs;  // cudaGraphExec_t
size_t gMemcpyAsyncCalls = 0, gCaptures = 0, gGraphLaunches = 0;
bool gFaultsOverridden = false;
std::string gFaults;
thread_local int tDevice = 0;
thread_local cudaError_t tLastError = cudaSuccess;

// Work queued on a stream runs in order, on whichever thread waits for it; `drain` keeps two
// waiters from running the same stream's work at once.
struct Stream {
  Stream(unsigned f, int d) : flags(f), device(d) {}
  unsigned flags;
  int device;  // current when the stream was created
  std::recursive_mutex drain;
  std::mutex queue;
  std::deque<std::function<bool()>> work;
  bool failed = false;  // a queued item failed; reported by the next synchronize
  // While capturing: the work recorded instead of queued, and whether the capture failed.
  std::shared_ptr<std::vector<std::function<bool()>>> capture;
  bool captureInvalid = false;
};
struct Event {
  unsigned flags = 0;
  std::weak_ptr<Stream> stream;  // where it was last recorded
  bool recorded = false;         // cudaEventRecord was called
  bool complete = false;         // the stream reached the last record
  std::chrono::steady_clock::time_point time;
};
// A captured graph and its instantiation: the recorded work, replayed in order.
struct Graph {
  std::vector<std::function<bool()>> work;
};

std::shared_ptr<Stream> findStream(const void* handle) {
  std::lock_guard<std::mutex> lock(gMutex);
  auto it = gStreams.find(handle);
  return it == gStreams.end() ? nullptr : it->second;
}

// Runs everything queued on `s`; returns false if any of it failed since the last report.
bool runQueued(Stream& s) {
  std::lock_guard<std::recursive_mutex> running(s.drain);
  for (;;) {
    std::function<bool()> item;
    {
      std::lock_guard<std::mutex> lock(s.queue);
      if (s.work.empty()) break;
      item = std::move(s.work.front());
      s.work.pop_front();
    }
    if (!item()) s.failed = true;
  }
  const bool ok = !s.failed;
  s.failed = false;
  return ok;
}

// The legacy default stream waits for every blocking stream; implicitly synchronizing calls
// (cudaFree, cudaFreeHost, cudaDeviceSynchronize) wait for all of them.
void runAll(bool blockingOnly) {
  std::vector<std::shared_ptr<Stream>> streams;
  {
    std::lock_guard<std::mutex> lock(gMutex);
    for (auto& [handle, stream] : gStreams)
      if (!blockingOnly || !(stream->flags & cudaStreamNonBlocking)) streams.push_back(stream);
  }
  for (auto& stream : streams) (void)runQueued(*stream);
}

// Finds the allocation of `map` containing [ptr, ptr + bytes); false when none does.
bool inside(const std::map<const char*, size_t>& map, const void* ptr, size_t bytes, const char** base, size_t* size) {
  const char* p = static_cast<const char*>(ptr);
  auto it = map.upper_bound(p);
  if (it == map.begin()) return false;
  --it;
  if (p < it->first || p + bytes > it->first + it->second) return false;
  if (base) *base = it->first;
  if (size) *size = it->second;
  return true;
}

// TNRT_DOUBLE_DEVICES: how many devices the machine has (default 1, at most 8).
int deviceCount() {
  const char* env = std::getenv("TNRT_DOUBLE_DEVICES");
  const int n = env ? std::atoi(env) : 1;
  return n < 1 ? 1 : n > 8 ? 8 : n;
}

cudaError_t fail(cudaError_t err) {
  tLastError = err;
  return err;
}

std::string hexPtr(const void* p) {
  std::ostringstream s;
  s << p;
  return s.str();
}

// TNRT_DOUBLE_REPORT=1: at exit, one line on stderr with what is still allocated, so a test
// in a child process can check that nothing leaked.
struct ExitReport {
  ~ExitReport() {
    const char* on = std::getenv("TNRT_DOUBLE_REPORT");
    if (!on || std::strcmp(on, "1") != 0) return;
    std::lock_guard<std::mutex> lock(gMutex);
    std::fprintf(stderr,
                 "TensorRT double at exit: %zu device allocations, %zu pinned allocations, %zu streams, %zu events live, "
                 "%zu graphs, %zu graph execs live\n",
                 gDevice.size(), gPinned.size(), gStreams.size(), gEvents.size(), gGraphs.size(), gGraphExecs.size());
    std::fprintf(stderr, "TensorRT double counted: %zu cudaMemcpyAsync, %zu stream captures, %zu graph launches\n",
                 gMemcpyAsyncCalls, gCaptures, gGraphLaunches);
  }
} gExitReport;

}  // namespace

void unimplemented(const char* member) noexcept {
  std::fprintf(stderr, "\nTensorRT double: %s is not implemented by the double (see test/tensorrt-double/README.md)\n",
               member);
  std::fflush(stderr);
  std::abort();
}

void violation(const std::string& rule, const std::string& detail) noexcept {
  std::fprintf(stderr, "\nTensorRT double: CONTRACT VIOLATION: %s\n  %s\n", rule.c_str(), detail.c_str());
  std::fflush(stderr);
  std::abort();
}

bool fault(const char* name) noexcept {
  std::string list;
  {
    std::lock_guard<std::mutex> lock(gMutex);
    if (gFaultsOverridden) {
      list = gFaults;
    } else {
      const char* env = std::getenv("TNRT_DOUBLE_FAULTS");
      list = env ? env : "";
    }
  }
  std::istringstream in(list);
  for (std::string item; std::getline(in, item, ',');) {
    if (item == name) return true;
  }
  return false;
}

bool deviceAllocation(const void* ptr, const void** base, size_t* size) noexcept {
  std::lock_guard<std::mutex> lock(gMutex);
  const char* b = nullptr;
  if (!inside(gDevice, ptr, 0, &b, size)) return false;
  if (base) *base = b;
  return true;
}

int currentDevice() noexcept { return tDevice; }

int allocationDevice(const void* ptr) noexcept {
  std::lock_guard<std::mutex> lock(gMutex);
  const char* base = nullptr;
  if (!inside(gDevice, ptr, 0, &base, nullptr)) return -1;
  return gDeviceOf[base];
}

int streamDevice(const void* stream) noexcept {
  if (stream == nullptr || stream == cudaStreamLegacy || stream == cudaStreamPerThread) return tDevice;
  std::lock_guard<std::mutex> lock(gMutex);
  auto it = gStreams.find(stream);
  return it == gStreams.end() ? -1 : it->second->device;
}

bool liveStream(const void* stream) noexcept {
  if (stream == nullptr || stream == cudaStreamLegacy || stream == cudaStreamPerThread) return true;
  std::lock_guard<std::mutex> lock(gMutex);
  return gStreams.count(stream) != 0;
}

void enqueue(const void* stream, std::function<bool()> work) {
  std::shared_ptr<Stream> s = findStream(stream);
  if (!s) {  // a default stream: synchronous, after the blocking streams
    runAll(true);
    (void)work();
    return;
  }
  std::lock_guard<std::mutex> lock(s->queue);
  if (s->capture) {
    s->capture->push_back(std::move(work));
    return;
  }
  s->work.push_back(std::move(work));
}

bool capturing(const void* stream) noexcept {
  std::shared_ptr<Stream> s = findStream(stream);
  if (!s) return false;
  std::lock_guard<std::mutex> lock(s->queue);
  return s->capture != nullptr;
}

bool synchronize(const void* stream) noexcept {
  std::shared_ptr<Stream> s = findStream(stream);
  if (!s) {
    runAll(true);
    return true;
  }
  {
    // Waiting for a capturing stream is not allowed: it fails, and so does the capture.
    std::lock_guard<std::mutex> lock(s->queue);
    if (s->capture) {
      s->captureInvalid = true;
      return false;
    }
  }
  return runQueued(*s);
}

}  // namespace tnrt_double

using namespace tnrt_double;

DOUBLE_EXPORT void tnrt_double_set_faults(const char* list) {
  std::lock_guard<std::mutex> lock(gMutex);
  gFaultsOverridden = true;
  gFaults = list ? list : "";
}

DOUBLE_EXPORT size_t tnrt_double_live_device_allocations() {
  std::lock_guard<std::mutex> lock(gMutex);
  return gDevice.size();
}

DOUBLE_EXPORT size_t tnrt_double_live_streams() {
  std::lock_guard<std::mutex> lock(gMutex);
  return gStreams.size();
}

// ---- version, devices -----------------------------------------------------------------------

DOUBLE_EXPORT cudaError_t cudaRuntimeGetVersion(int* version) {
  if (!version) return fail(cudaErrorInvalidValue);
  *version = CUDART_VERSION;
  return cudaSuccess;
}

DOUBLE_EXPORT cudaError_t cudaDriverGetVersion(int* version) {
  if (!version) return fail(cudaErrorInvalidValue);
  // Like the real runtime without libcuda.so.1: success, version 0.
  *version = fault("noDriver") ? 0 : fault("oldDriver") ? 11080 : CUDART_VERSION;
  return cudaSuccess;
}

DOUBLE_EXPORT cudaError_t cudaGetDeviceCount(int* count) {
  if (!count) return fail(cudaErrorInvalidValue);
  *count = 0;
  if (fault("noDriver")) return fail(cudaErrorNoDevice);
  if (fault("oldDriver")) return fail(cudaErrorInsufficientDriver);
  if (fault("noDevice")) return fail(cudaErrorNoDevice);
  *count = deviceCount();
  return cudaSuccess;
}

DOUBLE_EXPORT cudaError_t cudaGetDevice(int* device) {
  if (!device) return fail(cudaErrorInvalidValue);
  *device = tDevice;
  return cudaSuccess;
}

DOUBLE_EXPORT cudaError_t cudaSetDevice(int device) {
  if (device < 0 || device >= deviceCount()) return fail(cudaErrorInvalidDevice);
  tDevice = device;
  return cudaSuccess;
}

DOUBLE_EXPORT cudaError_t cudaDeviceSynchronize() {
  runAll(false);
  return cudaSuccess;
}

DOUBLE_EXPORT cudaError_t cudaGetLastError() {
  const cudaError_t e = tLastError;
  tLastError = cudaSuccess;
  return e;
}

DOUBLE_EXPORT cudaError_t cudaPeekAtLastError() { return tLastError; }

DOUBLE_EXPORT const char* cudaGetErrorName(cudaError_t err) {
  switch (err) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInsufficientDriver: return "cudaErrorInsufficientDriver";
    case cudaErrorNoDevice: return "cudaErrorNoDevice";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    case cudaErrorInvalidResourceHandle: return "cudaErrorInvalidResourceHandle";
    case cudaErrorLaunchFailure: return "cudaErrorLaunchFailure";
    case cudaErrorNotReady: return "cudaErrorNotReady";
    case cudaErrorIllegalState: return "cudaErrorIllegalState";
    case cudaErrorStreamCaptureUnsupported: return "cudaErrorStreamCaptureUnsupported";
    case cudaErrorStreamCaptureInvalidated: return "cudaErrorStreamCaptureInvalidated";
    default: return "cudaErrorUnknown";
  }
}

DOUBLE_EXPORT const char* cudaGetErrorString(cudaError_t err) {
  switch (err) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInsufficientDriver: return "CUDA driver version is insufficient for CUDA runtime version";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorInvalidResourceHandle: return "invalid resource handle";
    case cudaErrorLaunchFailure: return "unspecified launch failure";
    default: return "unknown error";
  }
}

// ---- memory ---------------------------------------------------------------------------------

DOUBLE_EXPORT cudaError_t cudaMalloc(void** ptr, size_t size) {
  if (!ptr) return fail(cudaErrorInvalidValue);
  *ptr = nullptr;
  if (fault("cudaMalloc")) return fail(cudaErrorMemoryAllocation);
  // cudaMalloc returns 256-byte aligned memory; so does the double (and never null for 0).
  void* p = std::aligned_alloc(256, (size + 255) / 256 * 256 + 256);
  if (!p) return fail(cudaErrorMemoryAllocation);
  std::memset(p, 0xCD, size);  // uninitialized device memory is not zero
  std::lock_guard<std::mutex> lock(gMutex);
  gDevice[static_cast<const char*>(p)] = size;
  gDeviceOf[static_cast<const char*>(p)] = tDevice;
  *ptr = p;
  return cudaSuccess;
}

DOUBLE_EXPORT cudaError_t cudaFree(void* ptr) {
  if (!ptr) return cudaSuccess;
  runAll(false);  // cudaFree synchronizes the device
  std::lock_guard<std::mutex> lock(gMutex);
  auto it = gDevice.find(static_cast<const char*>(ptr));
  if (it == gDevice.end()) {
    violation("cudaFree takes a pointer cudaMalloc returned, freed once",
              "cudaFree(" + hexPtr(ptr) + "): not a live device allocation (double free, or host/pinned memory)");
  }
  gDevice.erase(it);
  gDeviceOf.erase(static_cast<const char*>(ptr));
  std::free(ptr);
  return cudaSuccess;
}

DOUBLE_EXPORT cudaError_t cudaMallocHost(void** ptr, size_t size) {
  if (!ptr) return fail(cudaErrorInvalidValue);
  *ptr = nullptr;
  if (fault("cudaMallocHost")) return fail(cudaErrorMemoryAllocation);
  void* p = std::aligned_alloc(256, (size + 255) / 256 * 256 + 256);
  if (!p) return fail(cudaErrorMemoryAllocation);
  std::lock_guard<std::mutex> lock(gMutex);
  gPinned[static_cast<const char*>(p)] = size;
  *ptr = p;
  return cudaSuccess;
}

DOUBLE_EXPORT cudaError_t cudaFreeHost(void* ptr) {
  if (!ptr) return cudaSuccess;
  runAll(false);
  std::lock_guard<std::mutex> lock(gMutex);
  auto it = gPinned.find(static_cast<const char*>(ptr));
  if (it == gPinned.end()) {
    violation("cudaFreeHost takes a pointer cudaMallocHost returned, freed once",
              "cudaFreeHost(" + hexPtr(ptr) + "): not a live pinned allocation");
  }
  gPinned.erase(it);
  std::free(ptr);
  return cudaSuccess;
}

namespace {

// Checks one side of a copy: device memory must lie inside one allocation; host memory must
// not be device memory.
void checkSide(const char* what, const void* p, size_t bytes, bool device, cudaMemcpyKind kind) {
  std::lock_guard<std::mutex> lock(gMutex);
  const bool isDevice = inside(gDevice, p, 0, nullptr, nullptr);
  if (device) {
    if (!inside(gDevice, p, bytes, nullptr, nullptr)) {
      violation("cudaMemcpy: device pointers lie inside one cudaMalloc allocation",
                std::string(what) + " " + hexPtr(p) + " + " + std::to_string(bytes) + " bytes is " +
                    (isDevice ? "past the end of its allocation" : "not device memory") + " (kind " +
                    std::to_string(static_cast<int>(kind)) + ")");
    }
  } else if (isDevice) {
    violation("cudaMemcpy: the copy kind matches the memory",
              std::string(what) + " " + hexPtr(p) + " is device memory but the kind says host (kind " +
                  std::to_string(static_cast<int>(kind)) + ")");
  }
}

cudaError_t checkCopy(void* dst, const void* src, size_t count, cudaMemcpyKind kind) {
  if (count == 0) return cudaSuccess;
  if (!dst || !src) return fail(cudaErrorInvalidValue);
  if (fault("cudaMemcpy")) return fail(cudaErrorLaunchFailure);
  switch (kind) {
    case cudaMemcpyHostToDevice: checkSide("source", src, count, false, kind); checkSide("destination", dst, count, true, kind); break;
    case cudaMemcpyDeviceToHost: checkSide("source", src, count, true, kind); checkSide("destination", dst, count, false, kind); break;
    case cudaMemcpyDeviceToDevice: checkSide("source", src, count, true, kind); checkSide("destination", dst, count, true, kind); break;
    case cudaMemcpyHostToHost: checkSide("source", src, count, false, kind); checkSide("destination", dst, count, false, kind); break;
    default: break;  // cudaMemcpyDefault: any
  }
  return cudaSuccess;
}

bool isPinned(const void* p) {
  std::lock_guard<std::mutex> lock(gMutex);
  return inside(gPinned, p, 0, nullptr, nullptr);
}

}  // namespace

DOUBLE_EXPORT cudaError_t cudaMemcpy(void* dst, const void* src, size_t count, cudaMemcpyKind kind) {
  const cudaError_t err = checkCopy(dst, src, count, kind);
  if (err != cudaSuccess || count == 0) return err;
  runAll(true);  // on the legacy default stream
  std::memmove(dst, src, count);
  return cudaSuccess;
}

DOUBLE_EXPORT cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t count, cudaMemcpyKind kind,
                                          cudaStream_t stream) {
  if (!liveStream(stream)) {
    violation("CUDA calls take live streams", "cudaMemcpyAsync on stream " + hexPtr(stream) + ", which is not live");
  }
  {
    std::lock_guard<std::mutex> lock(gMutex);
    ++gMemcpyAsyncCalls;
  }
  const cudaError_t err = checkCopy(dst, src, count, kind);
  if (err != cudaSuccess || count == 0) return err;
  const bool hostSide = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyHostToHost;
  const void* host = kind == cudaMemcpyDeviceToHost ? dst : src;
  if (hostSide && !isPinned(host) && !capturing(stream)) {
    // Pageable memory: CUDA stages the copy before returning, so it is synchronous.
    if (!synchronize(stream)) return fail(cudaErrorLaunchFailure);
    std::memmove(dst, src, count);
    return cudaSuccess;
  }
  enqueue(stream, [dst, src, count] {
    std::memmove(dst, src, count);
    return true;
  });
  return cudaSuccess;
}

DOUBLE_EXPORT cudaError_t cudaMemsetAsync(void* dst, int value, size_t count, cudaStream_t stream) {
  if (!liveStream(stream)) violation("CUDA calls take live streams", "cudaMemsetAsync on a stream that is not live");
  checkSide("destination", dst, count, true, cudaMemcpyHostToDevice);
  enqueue(stream, [dst, value, count] {
    std::memset(dst, value, count);
    return true;
  });
  return cudaSuccess;
}

DOUBLE_EXPORT cudaError_t cudaMemGetInfo(size_t* free, size_t* total) {
  if (free) *free = size_t(8) << 30;
  if (total) *total = size_t(16) << 30;
  return cudaSuccess;
}

// ---- streams and events ---------------------------------------------------------------------

DOUBLE_EXPORT cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned int flags) {
  if (!stream) return fail(cudaErrorInvalidValue);
  if (fault("cudaStreamCreate")) return fail(cudaErrorMemoryAllocation);
  auto s = std::make_shared<Stream>(flags, tDevice);
  std::lock_guard<std::mutex> lock(gMutex);
  gStreams[s.get()] = s;
  *stream = reinterpret_cast<cudaStream_t>(s.get());
  return cudaSuccess;
}

DOUBLE_EXPORT cudaError_t cudaStreamCreate(cudaStream_t* stream) { return cudaStreamCreateWithFlags(stream, 0); }

DOUBLE_EXPORT cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  std::shared_ptr<Stream> s = findStream(stream);
  if (!s) violation("cudaStreamDestroy takes a live stream", "stream " + hexPtr(stream) + " is not live (destroyed twice?)");
  // Work still queued completes; the stream goes away afterwards.
  (void)runQueued(*s);
  std::lock_guard<std::mutex> lock(gMutex);
  gStreams.erase(stream);
  return cudaSuccess;
}

DOUBLE_EXPORT cudaError_t cudaStreamSynchronize(cudaStream_t stream) {
  if (!liveStream(stream)) {
    violation("CUDA calls take live streams", "cudaStreamSynchronize on stream " + hexPtr(stream) + ", which is not live");
  }
  return synchronize(stream) ? cudaSuccess : fail(cudaErrorLaunchFailure);
}

DOUBLE_EXPORT cudaError_t cudaStreamQuery(cudaStream_t stream) {
  if (!liveStream(stream)) violation("CUDA calls take live streams", "cudaStreamQuery on a stream that is not live");
  std::shared_ptr<Stream> s = findStream(stream);
  if (!s) return cudaSuccess;
  std::lock_guard<std::mutex> lock(s->queue);
  return s->work.empty() ? cudaSuccess : cudaErrorNotReady;
}

DOUBLE_EXPORT cudaError_t cudaLaunchHostFunc(cudaStream_t stream, cudaHostFn_t fn, void* userData) {
  if (!liveStream(stream)) violation("CUDA calls take live streams", "cudaLaunchHostFunc on a stream that is not live");
  if (!fn) return fail(cudaErrorInvalidValue);
  enqueue(stream, [fn, userData] {
    fn(userData);
    return true;
  });
  return cudaSuccess;
}

DOUBLE_EXPORT cudaError_t cudaEventCreateWithFlags(cudaEvent_t* event, unsigned int flags) {
  if (!event) return fail(cudaErrorInvalidValue);
  auto* e = new Event();
  e->flags = flags;
  std::lock_guard<std::mutex> lock(gMutex);
  gEvents.insert(e);
  *event = reinterpret_cast<cudaEvent_t>(e);
  return cudaSuccess;
}

DOUBLE_EXPORT cudaError_t cudaEventCreate(cudaEvent_t* event) { return cudaEventCreateWithFlags(event, 0); }

DOUBLE_EXPORT cudaError_t cudaEventDestroy(cudaEvent_t event) {
  std::lock_guard<std::mutex> lock(gMutex);
  if (!gEvents.erase(event)) violation("cudaEventDestroy takes a live event", "event " + hexPtr(event) + " is not live");
  delete reinterpret_cast<Event*>(event);
  return cudaSuccess;
}

DOUBLE_EXPORT cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream) {
  if (!liveStream(stream)) violation("CUDA calls take live streams", "cudaEventRecord on a stream that is not live");
  std::shared_ptr<Stream> s = findStream(stream);
  auto* e = reinterpret_cast<Event*>(event);
  {
    std::lock_guard<std::mutex> lock(gMutex);
    if (!gEvents.count(event)) violation("CUDA calls take live events", "cudaEventRecord on event " + hexPtr(event));
    e->stream = s;
    e->recorded = true;
    e->complete = false;
  }
  // The event takes the time when the stream gets to it (at once on a default stream).
  enqueue(stream, [e] {
    std::lock_guard<std::mutex> lock(gMutex);
    if (gEvents.count(e)) {
      e->time = std::chrono::steady_clock::now();
      e->complete = true;
    }
    return true;
  });
  return cudaSuccess;
}

DOUBLE_EXPORT cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end) {
  if (!ms) return fail(cudaErrorInvalidValue);
  std::lock_guard<std::mutex> lock(gMutex);
  for (cudaEvent_t event : {start, end})
    if (!gEvents.count(event)) violation("CUDA calls take live events", "cudaEventElapsedTime on event " + hexPtr(event));
  const auto* a = reinterpret_cast<const Event*>(start);
  const auto* b = reinterpret_cast<const Event*>(end);
  if (!a->recorded || !b->recorded) return fail(cudaErrorInvalidResourceHandle);
  if (!a->complete || !b->complete) return fail(cudaErrorNotReady);
  if ((a->flags | b->flags) & cudaEventDisableTiming) return fail(cudaErrorInvalidResourceHandle);
  *ms = std::chrono::duration<float, std::milli>(b->time - a->time).count();
  return cudaSuccess;
}

DOUBLE_EXPORT cudaError_t cudaEventSynchronize(cudaEvent_t event) {
  std::shared_ptr<Stream> s;
  {
    std::lock_guard<std::mutex> lock(gMutex);
    if (!gEvents.count(event)) violation("CUDA calls take live events", "cudaEventSynchronize on event " + hexPtr(event));
    s = reinterpret_cast<Event*>(event)->stream.lock();
  }
  // Completing more than the work before the event is allowed: a GPU may be that fast.
  if (s) (void)runQueued(*s);
  return cudaSuccess;
}

DOUBLE_EXPORT cudaError_t cudaEventQuery(cudaEvent_t event) { return cudaEventSynchronize(event); }

DOUBLE_EXPORT cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t event, unsigned int) {
  if (!liveStream(stream)) violation("CUDA calls take live streams", "cudaStreamWaitEvent on a stream that is not live");
  return cudaEventSynchronize(event);
}

// ---- stream capture and graphs --------------------------------------------------------------

DOUBLE_EXPORT cudaError_t cudaStreamBeginCapture(cudaStream_t stream, cudaStreamCaptureMode) {
  if (!liveStream(stream)) violation("CUDA calls take live streams", "cudaStreamBeginCapture on a stream that is not live");
  if (fault("cudaStreamBeginCapture")) return fail(cudaErrorStreamCaptureUnsupported);
  std::shared_ptr<Stream> s = findStream(stream);
  if (!s) return fail(cudaErrorStreamCaptureUnsupported);  // the default streams cannot be captured
  std::lock_guard<std::mutex> lock(s->queue);
  if (s->capture) return fail(cudaErrorIllegalState);
  s->capture = std::make_shared<std::vector<std::function<bool()>>>();
  s->captureInvalid = false;
  return cudaSuccess;
}

DOUBLE_EXPORT cudaError_t cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t* graph) {
  if (!liveStream(stream)) violation("CUDA calls take live streams", "cudaStreamEndCapture on a stream that is not live");
  if (!graph) return fail(cudaErrorInvalidValue);
  *graph = nullptr;
  std::shared_ptr<Stream> s = findStream(stream);
  if (!s) return fail(cudaErrorIllegalState);
  std::shared_ptr<std::vector<std::function<bool()>>> work;
  bool invalid = false;
  {
    std::lock_guard<std::mutex> lock(s->queue);
    if (!s->capture) return fail(cudaErrorIllegalState);
    work = std::move(s->capture);
    s->capture = nullptr;
    invalid = s->captureInvalid;
  }
  if (invalid) return fail(cudaErrorStreamCaptureInvalidated);
  auto* g = new Graph{std::move(*work)};
  std::lock_guard<std::mutex> lock(gMutex);
  gGraphs.insert(g);
  ++gCaptures;
  *graph = reinterpret_cast<cudaGraph_t>(g);
  return cudaSuccess;
}

DOUBLE_EXPORT cudaError_t cudaGraphInstantiate(cudaGraphExec_t* exec, cudaGraph_t graph, unsigned long long) {
  if (!exec) return fail(cudaErrorInvalidValue);
  std::lock_guard<std::mutex> lock(gMutex);
  if (!gGraphs.count(graph)) violation("CUDA calls take live graphs", "cudaGraphInstantiate on graph " + hexPtr(graph));
  auto* e = new Graph{reinterpret_cast<Graph*>(graph)->work};
  gGraphExecs.insert(e);
  *exec = reinterpret_cast<cudaGraphExec_t>(e);
  return cudaSuccess;
}

DOUBLE_EXPORT cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t stream) {
  if (!liveStream(stream)) violation("CUDA calls take live streams", "cudaGraphLaunch on a stream that is not live");
  std::vector<std::function<bool()>> work;
  {
    std::lock_guard<std::mutex> lock(gMutex);
    if (!gGraphExecs.count(exec)) violation("CUDA calls take live graph execs", "cudaGraphLaunch on " + hexPtr(exec));
    work = reinterpret_cast<Graph*>(exec)->work;
    ++gGraphLaunches;
  }
  for (auto& item : work) enqueue(stream, std::move(item));
  return cudaSuccess;
}

DOUBLE_EXPORT cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec) {
  std::lock_guard<std::mutex> lock(gMutex);
  if (!gGraphExecs.erase(exec)) violation("cudaGraphExecDestroy takes a live graph exec", hexPtr(exec) + " is not live");
  delete reinterpret_cast<Graph*>(exec);
  return cudaSuccess;
}

DOUBLE_EXPORT cudaError_t cudaGraphDestroy(cudaGraph_t graph) {
  std::lock_guard<std::mutex> lock(gMutex);
  if (!gGraphs.erase(graph)) violation("cudaGraphDestroy takes a live graph", hexPtr(graph) + " is not live");
  delete reinterpret_cast<Graph*>(graph);
  return cudaSuccess;
}
