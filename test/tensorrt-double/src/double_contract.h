// The TensorRT double's contract checks and fault switches, shared by its three libraries.
// They live in the stand-in libcudart (the library every other one links), so there is one
// copy per process.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

#define TNRT_DOUBLE_API __attribute__((visibility("default")))

namespace tnrt_double {

// A TensorRT member the double does not model was called: prints its name and aborts.
[[noreturn]] TNRT_DOUBLE_API void unimplemented(const char* member) noexcept;

// The caller broke a documented TensorRT or CUDA rule: prints the rule and what happened,
// then aborts, so the test that drove the adapter fails where the mistake is.
[[noreturn]] TNRT_DOUBLE_API void violation(const std::string& rule, const std::string& detail) noexcept;

// Whether fault `name` is switched on (TNRT_DOUBLE_FAULTS or tnrt_double_set_faults).
TNRT_DOUBLE_API bool fault(const char* name) noexcept;

// Where "device" memory from cudaMalloc lives: true and the allocation's base and size when
// `ptr` points into one.
TNRT_DOUBLE_API bool deviceAllocation(const void* ptr, const void** base, size_t* size) noexcept;
// The calling thread's current device (cudaSetDevice), the device an allocation was made on
// (-1 if `ptr` is not device memory), and the device a stream was created on (-1 if not live).
TNRT_DOUBLE_API int currentDevice() noexcept;
TNRT_DOUBLE_API int allocationDevice(const void* ptr) noexcept;
TNRT_DOUBLE_API int streamDevice(const void* stream) noexcept;

// Whether `stream` is a stream created by cudaStreamCreate* and not yet destroyed (the
// default and per-thread streams count).
TNRT_DOUBLE_API bool liveStream(const void* stream) noexcept;

// Queues `work` on `stream` (the double's kernels): it runs when the stream is synchronized.
// Work that returns false makes the next synchronize of that stream fail with
// cudaErrorLaunchFailure, as a failed kernel does. Default streams run it at once.
TNRT_DOUBLE_API void enqueue(const void* stream, std::function<bool()> work);
// Runs everything queued on `stream`; false if some of it failed (as cudaStreamSynchronize),
// or if the stream is capturing (which fails the capture, as on a GPU).
TNRT_DOUBLE_API bool synchronize(const void* stream) noexcept;
// Whether `stream` is between cudaStreamBeginCapture and cudaStreamEndCapture: work enqueued
// on it is recorded into a graph, to run once per cudaGraphLaunch.
TNRT_DOUBLE_API bool capturing(const void* stream) noexcept;

}  // namespace tnrt_double

extern "C" {
// Replaces the fault list (comma-separated names; null or "" clears it). Overrides
// TNRT_DOUBLE_FAULTS from then on.
__attribute__((visibility("default"))) void tnrt_double_set_faults(const char* list);
// Live "device" allocations and streams: a test checks that nothing leaked.
__attribute__((visibility("default"))) size_t tnrt_double_live_device_allocations();
__attribute__((visibility("default"))) size_t tnrt_double_live_streams();
}
