// CalibrationHistogram.addNow(): a batch of up to 1 MB binned before the call returns, by the
// JavaScript thread and, at the same time, the calibration threads (short_job_pool.h).
//
// Why synchronous. A batch read after add() returns has to be copied first: JavaScript may
// transfer (detach) the caller's buffer and the memory is then freed under the threads. On the
// machines this runs on, copying 1 MB from memory costs about as much as binning it (both are
// bound by memory bandwidth: measured 150 us to copy and 205 us to bin on a 2-vCPU VM), so the
// copy alone halved add()'s speed. While this call runs no JavaScript can run on the thread
// that owns the buffer, so the threads may read it in place, as long as none is still reading
// when the call returns. That is what this guarantees:
//
// Helpers (pool parts) bin 64 KB slices taken from a shared cursor, and so does the JavaScript
// thread. When no slice is left, the JavaScript thread closes a gate and waits for the helpers
// inside to finish their slice (microseconds); a helper that starts after the gate closed
// (a thread woken late, a loaded machine) reads nothing and returns. So the call costs at most
// the binning on one thread plus one slice, however slow the threads are to come, and with
// them it costs half of that on two cores. A batch beyond the histogram's range is binned
// again, the same way, after the range grows; one with NaN or ±Inf takes the serial path.
//
// The pause of the event loop is what 1 MB of binning costs, 0.1-0.2 ms: the size of a
// typical callback. lib/ resolves the add()'s promise on the next turn of the loop, so a
// calibration loop awaiting one add after another still lets the loop turn between batches.
#pragma once

#include <cstddef>
#include <memory>

#include "histogram_add.h"

namespace tnrt::binding {

class ShortJobPool;

// The largest batch addNow() takes: 1 MB of float32, 0.1-0.2 ms of binning.
constexpr size_t kAddNowMaxValues = size_t{1} << 18;

// [sync] JS thread: adds `count` (<= kAddNowMaxValues) values at `data` to `state`, which is
// idle, using `pool`'s threads unless handing work to them is slow. Returns once nothing reads
// `data` any more.
void addNow(HistogramState& state, const float* data, size_t count, ShortJobPool& pool);

}  // namespace tnrt::binding
