#include "tensorrt/execution_context.h"

#include <cstdint>
#include <cstring>
#include <utility>

#include "tensorrt/type_mapping.h"

namespace tnrt {
namespace trt {

namespace {

bool isDynamic(const Dims& d) {
  for (int64_t x : d)
    if (x < 0) return true;
  return false;
}

}  // namespace

TrtExecutionContext::TrtExecutionContext(std::shared_ptr<TrtEngine> engine)
    : engine_(std::move(engine)), device_(engine_->device()), stream_(device_) {
  DeviceScope device(device_);
  const nvinfer1::ICudaEngine& trtEngine = engine_->engine();
  for (const TensorDesc& desc : engine_->ioTensors()) {
    IoSlot slot;
    slot.desc = desc;
    slot.onHost = trtEngine.getTensorLocation(desc.name.c_str()) == nvinfer1::TensorLocation::kHOST;
    slotIndex_.emplace(desc.name, slots_.size());
    slots_.push_back(std::move(slot));
  }
  const uint64_t mark = engine_->logger().mark();
  context_ = engine_->newTrtContext();
  if (!context_) {
    throw BackendError(ErrorCode::kInternal,
                       engine_->logger().describeFailure(
                           "TensorRT could not create an execution context (often: not enough free GPU memory for "
                           "the engine's " + std::to_string(engine_->deviceMemorySize()) + " bytes of activations)",
                           mark));
  }
  // A context's NVTX markers default to the plan's profiling verbosity, and kDETAILED ones
  // (this library's default, for inspect()) cost enqueueV3() time; names are all a profiler
  // timeline needs. Only lowered: raising above the plan's (kNONE) fails and logs an error.
  // The engine inspector is not affected.
  if (trtEngine.getProfilingVerbosity() == nvinfer1::ProfilingVerbosity::kDETAILED) {
    (void)context_->setNvtxVerbosity(nvinfer1::ProfilingVerbosity::kLAYER_NAMES_ONLY);
  }
}

MemoryUsage TrtExecutionContext::memoryUsage() const {
  MemoryUsage usage;
  usage.device = engine_->deviceMemorySize();
  for (const IoSlot& slot : slots_) {
    usage.device += slot.device.capacity();
    if (slot.allocator) usage.device += slot.allocator->capacity();
    usage.host += slot.host.capacity();
  }
  return usage;
}

TrtExecutionContext::~TrtExecutionContext() {
  DeviceScope device(device_, std::nothrow);
  // Nothing is in flight after execute() returns, but make sure before the context and the
  // buffers it points at are freed; then free them here, on the device (the stream frees
  // itself on it, and the engine is the engine's business).
  (void)cudaStreamSynchronize(stream_.get());
  graph_.reset();
  events_.reset();
  context_.reset();
  slots_.clear();
}

void TrtExecutionContext::setOptimizationProfile(int32_t profile) {
  const int32_t count = engine_->numOptimizationProfiles();
  if (profile < 0 || profile >= count) {
    throw BackendError(ErrorCode::kInvalidArgument, "optimization profile " + std::to_string(profile) +
                                                        " does not exist (the engine has " + std::to_string(count) + ")");
  }
  DeviceScope device(device_);
  const uint64_t mark = engine_->logger().mark();
  if (!context_->setOptimizationProfileAsync(profile, stream_.get())) {
    throw BackendError(ErrorCode::kInvalidArgument,
                       engine_->logger().describeFailure(
                           "TensorRT refused to switch to optimization profile " + std::to_string(profile), mark));
  }
  stream_.synchronize("setOptimizationProfile");
  profile_ = profile;
}

std::vector<HostTensor> TrtExecutionContext::execute(const std::vector<HostTensorView>& inputs) {
  return run(inputs, TimedExecuteOptions(), nullptr);
}

std::vector<HostTensor> TrtExecutionContext::executeTimed(const std::vector<HostTensorView>& inputs,
                                                          const TimedExecuteOptions& options, CallTiming* timing) {
  return run(inputs, options, timing);
}

std::vector<HostTensor> TrtExecutionContext::run(const std::vector<HostTensorView>& inputs,
                                                 const TimedExecuteOptions& options, CallTiming* timing) {
  DeviceScope device(device_);
  ActiveLoggerScope active(engine_->logger());
  const uint64_t mark = engine_->logger().mark();

  // Check everything before touching the GPU, so a caller mistake costs nothing.
  std::vector<const HostTensorView*> given(slots_.size(), nullptr);
  for (const HostTensorView& view : inputs) {
    IoSlot& slot = slotFor(view.name);
    const size_t index = static_cast<size_t>(&slot - slots_.data());
    if (!slot.desc.isInput) {
      throw BackendError(ErrorCode::kInvalidArgument, "'" + view.name + "' is an output of the engine, not an input");
    }
    if (given[index]) throw BackendError(ErrorCode::kInvalidArgument, "input '" + view.name + "' is given twice");
    validateInput(slot, view);
    given[index] = &view;
  }
  for (size_t i = 0; i < slots_.size(); ++i) {
    if (slots_[i].desc.isInput && !given[i]) {
      throw BackendError(ErrorCode::kInvalidArgument, "missing input '" + slots_[i].desc.name + "'");
    }
  }

  try {
    // Inputs first: output shapes, and whether they depend on data, are known only once
    // every input shape (and every host shape-tensor value) is set.
    if (timing && !events_) events_ = std::make_unique<CallEvents>();
    if (timing) events_->start.record(stream_.get());
    for (size_t i = 0; i < slots_.size(); ++i)
      if (slots_[i].desc.isInput) bindInput(slots_[i], *given[i], options.transfers, mark);
    for (IoSlot& slot : slots_)
      if (!slot.desc.isInput) bindOutput(slot, mark);
    if (timing) events_->uploaded.record(stream_.get());

    if (!enqueueCompute(options.cudaGraph)) {
      std::string what = "TensorRT could not run the engine (enqueueV3 failed)";
      for (const IoSlot& slot : slots_) {
        if (slot.usesAllocator && !slot.allocator->error().empty())
          what += "; output '" + slot.desc.name + "': " + slot.allocator->error();
      }
      throw BackendError(ErrorCode::kInternal, engine_->logger().describeFailure(what, mark));
    }
    if (timing) events_->computed.record(stream_.get());
    for (IoSlot& slot : slots_)
      if (!slot.desc.isInput) copyOutputBack(slot, options.transfers);
    if (timing) events_->downloaded.record(stream_.get());
    stream_.synchronize("inference (cudaStreamSynchronize)");
  } catch (...) {
    // Copies queued before the failure still read and write the staging buffers; let them
    // finish so the next call can reuse the buffers safely. Their own error, if any, is
    // secondary to the one being thrown.
    (void)cudaStreamSynchronize(stream_.get());
    throw;
  }

  if (timing) {
    timing->timed = true;
    timing->h2dStartMs = 0;
    timing->h2dEndMs = timing->computeStartMs = events_->uploaded.msSince(events_->start);
    timing->computeEndMs = timing->d2hStartMs = events_->computed.msSince(events_->start);
    timing->d2hEndMs = events_->downloaded.msSince(events_->start);
  }

  std::vector<HostTensor> outputs;
  for (const IoSlot& slot : slots_) {
    if (slot.desc.isInput) continue;
    HostTensor out;
    out.name = slot.desc.name;
    out.dtype = slot.desc.dtype;
    out.shape = slot.shape;
    const size_t bytes = dataTypeBytes(slot.desc.dtype, volume(slot.shape));
    const auto* begin = static_cast<const uint8_t*>(slot.host.data());
    out.data.assign(begin, begin + bytes);
    outputs.push_back(std::move(out));
  }
  return outputs;
}

TrtExecutionContext::IoSlot& TrtExecutionContext::slotFor(const std::string& name) {
  auto found = slotIndex_.find(name);
  if (found == slotIndex_.end()) {
    std::string known;
    for (const IoSlot& slot : slots_)
      if (slot.desc.isInput) known += (known.empty() ? "'" : ", '") + slot.desc.name + "'";
    throw BackendError(ErrorCode::kInvalidArgument,
                       "the engine has no input named '" + name + "' (its inputs are " + known + ")");
  }
  return slots_[found->second];
}

void TrtExecutionContext::validateInput(const IoSlot& slot, const HostTensorView& view) const {
  const std::string& name = slot.desc.name;
  const Dims& expected = slot.desc.shape;
  if (view.dtype != slot.desc.dtype) {
    throw BackendError(ErrorCode::kDType, "input '" + name + "' must be " + dataTypeName(slot.desc.dtype) +
                                              " but received " + dataTypeName(view.dtype));
  }
  bool matches = view.shape.size() == expected.size();
  for (size_t k = 0; matches && k < expected.size(); ++k) {
    if (view.shape[k] < 0 || (expected[k] >= 0 && view.shape[k] != expected[k])) matches = false;
  }
  if (!matches) {
    throw BackendError(ErrorCode::kShape, "input '" + name + "' must have shape " + dimsToString(expected) +
                                              " (-1: any size) but received " + dimsToString(view.shape));
  }
  if (isDynamic(expected)) {
    const nvinfer1::ICudaEngine& engine = engine_->engine();
    const Dims min = fromTrtDims(engine.getProfileShape(name.c_str(), profile_, nvinfer1::OptProfileSelector::kMIN));
    const Dims max = fromTrtDims(engine.getProfileShape(name.c_str(), profile_, nvinfer1::OptProfileSelector::kMAX));
    bool inside = min.size() == view.shape.size() && max.size() == view.shape.size();
    for (size_t k = 0; inside && k < view.shape.size(); ++k) {
      if (view.shape[k] < min[k] || view.shape[k] > max[k]) inside = false;
    }
    if (!inside) {
      throw BackendError(ErrorCode::kShape, "input '" + name + "' has shape " + dimsToString(view.shape) +
                                                ", outside optimization profile " + std::to_string(profile_) +
                                                " (min " + dimsToString(min) + ", max " + dimsToString(max) + ")");
    }
  }
  const size_t bytes = dataTypeBytes(view.dtype, volume(view.shape));
  if (view.bytes == bytes && view.data && slot.desc.isShapeTensor) checkShapeValues(slot, view);
  if (view.bytes != bytes) {
    throw BackendError(ErrorCode::kInvalidArgument, "input '" + name + "' holds " + std::to_string(view.bytes) +
                                                        " bytes but a " + dataTypeName(view.dtype) + " tensor of shape " +
                                                        dimsToString(view.shape) + " needs " + std::to_string(bytes));
  }
  if (bytes > 0 && !view.data) throw BackendError(ErrorCode::kInvalidArgument, "input '" + name + "' has no data");
}

void TrtExecutionContext::checkShapeValues(const IoSlot& slot, const HostTensorView& view) const {
  // TensorRT built for this range of values only; outside it, its own refusal comes later and
  // less clearly (a failed enqueueV3), so check here, before touching the GPU.
  const InputProfile range = engine_->profileShapes(profile_, slot.desc.name);
  const auto* bytes = static_cast<const uint8_t*>(view.data);
  for (size_t k = 0; k < range.minValues.size(); ++k) {
    int64_t v;
    if (view.dtype == DataType::kInt64) {
      std::memcpy(&v, bytes + k * sizeof v, sizeof v);
    } else {
      int32_t narrow;
      std::memcpy(&narrow, bytes + k * sizeof narrow, sizeof narrow);
      v = narrow;
    }
    if (v < range.minValues[k] || v > range.maxValues[k]) {
      throw BackendError(ErrorCode::kShape, "shape tensor '" + slot.desc.name + "' value " + std::to_string(k) + " is " +
                                                std::to_string(v) + ", outside optimization profile " +
                                                std::to_string(profile_) + "'s range [" +
                                                std::to_string(range.minValues[k]) + ", " +
                                                std::to_string(range.maxValues[k]) + "]");
    }
  }
}

bool TrtExecutionContext::enqueueCompute(bool cudaGraph) {
  cudaStream_t stream = stream_.get();
  if (!cudaGraph) return context_->enqueueV3(stream);
  const std::string key = graphKey();
  if (graph_.holds(key)) {
    graph_.launch(stream);
    return true;
  }
  // The first call with these shapes runs as usual (TensorRT may set up for new shapes then,
  // which a graph must not capture); the next captures, as trtexec does after its warm-up call.
  const bool capture = key == previousGraphKey_ && key != failedGraphKey_;
  previousGraphKey_ = key;
  if (!capture) return context_->enqueueV3(stream);
  std::string why;
  bool usesAllocator = false;
  for (const IoSlot& slot : slots_) usesAllocator = usesAllocator || slot.usesAllocator;
  if (usesAllocator) {
    why = "an output has a data-dependent shape, so TensorRT synchronizes inside enqueueV3";
  } else if (graph_.capture(stream, key, [&] { return context_->enqueueV3(stream); }, &why)) {
    graph_.launch(stream);
    return true;
  }
  failedGraphKey_ = key;
  engine_->logger().log(nvinfer1::ILogger::Severity::kWARNING,
                        ("CUDA graph capture failed, running without a CUDA graph for these input shapes: " + why).c_str());
  return context_->enqueueV3(stream);
}

std::string TrtExecutionContext::graphKey() const {
  // What a captured enqueueV3 bakes in: the profile, every I/O address and input shape, and
  // the values of shape tensors TensorRT read on the host.
  std::string key = std::to_string(profile_);
  for (const IoSlot& slot : slots_) {
    key += "|" + slot.desc.name + "@" + std::to_string(reinterpret_cast<uintptr_t>(slot.device.data())) + ":" +
           dimsToString(slot.shape);
    if (slot.desc.isInput && slot.onHost) {
      const auto* bytes = static_cast<const char*>(slot.host.data());
      key.append(bytes, dataTypeBytes(slot.desc.dtype, volume(slot.shape)));
    }
  }
  return key;
}

void TrtExecutionContext::bindInput(IoSlot& slot, const HostTensorView& view, bool upload, uint64_t mark) {
  const char* name = slot.desc.name.c_str();
  if (!context_->setInputShape(name, toTrtDims(view.shape, "input '" + slot.desc.name + "'"))) {
    throw BackendError(ErrorCode::kShape,
                       engine_->logger().describeFailure("TensorRT rejected shape " + dimsToString(view.shape) +
                                                             " for input '" + slot.desc.name + "'",
                                                         mark));
  }
  // Copy into pinned memory first: the caller's buffer is pageable (and only borrowed), and
  // from pinned memory the upload is a true asynchronous DMA.
  // Without transfers (a benchmark's compute-only calls), the device keeps the input uploaded
  // by an earlier call of the same shape.
  const size_t bytes = view.bytes;
  upload = upload || slot.onHost || !slot.uploaded || slot.shape != view.shape;
  slot.host.reserve(bytes);
  if (bytes > 0 && upload) std::memcpy(slot.host.data(), view.data, bytes);
  void* address = slot.host.data();
  if (!slot.onHost) {
    slot.device.reserve(bytes);  // reallocates only for more bytes, a new shape: uploaded then
    if (bytes > 0 && upload) {
      checkCuda(cudaMemcpyAsync(slot.device.data(), slot.host.data(), bytes, cudaMemcpyHostToDevice, stream_.get()),
                "cudaMemcpyAsync (input upload)");
    }
    slot.uploaded = true;
    address = slot.device.data();
  }
  if (!context_->setTensorAddress(name, address)) {
    throw BackendError(ErrorCode::kInternal, engine_->logger().describeFailure(
                                                 "TensorRT refused the address of input '" + slot.desc.name + "'", mark));
  }
  slot.shape = view.shape;
}

void TrtExecutionContext::bindOutput(IoSlot& slot, uint64_t mark) {
  const char* name = slot.desc.name.c_str();
  const nvinfer1::Dims dims = context_->getTensorShape(name);
  if (dims.nbDims < 0) {
    throw BackendError(ErrorCode::kShape, engine_->logger().describeFailure(
                                              "TensorRT could not infer the shape of output '" + slot.desc.name +
                                                  "' from the input shapes",
                                              mark));
  }
  slot.shape = fromTrtDims(dims);
  slot.usesAllocator = isDynamic(slot.shape);

  void* address = nullptr;
  if (slot.usesAllocator) {
    // Data-dependent shape: TensorRT learns the size while running and asks the allocator.
    if (slot.onHost) {
      throw BackendError(ErrorCode::kUnsupported,
                         "output '" + slot.desc.name + "' is a host shape tensor with a data-dependent shape");
    }
    if (!slot.allocator) slot.allocator = std::make_unique<OutputAllocator>();
    slot.allocator->reset();
    if (!context_->setOutputAllocator(name, slot.allocator.get())) {
      throw BackendError(ErrorCode::kInternal, engine_->logger().describeFailure(
                                                   "TensorRT refused an output allocator for '" + slot.desc.name + "'",
                                                   mark));
    }
    address = slot.allocator->data();  // null before the first call; TensorRT then asks
  } else {
    if (slot.allocator) (void)context_->setOutputAllocator(name, nullptr);
    const size_t bytes = dataTypeBytes(slot.desc.dtype, volume(slot.shape));
    slot.host.reserve(bytes);
    if (slot.onHost) {
      address = slot.host.data();
    } else {
      slot.device.reserve(bytes);
      address = slot.device.data();
    }
  }
  // A null address is left unset on purpose: the allocator will provide one.
  if (address && !context_->setTensorAddress(name, address)) {
    throw BackendError(ErrorCode::kInternal, engine_->logger().describeFailure(
                                                 "TensorRT refused the address of output '" + slot.desc.name + "'", mark));
  }
}

void TrtExecutionContext::copyOutputBack(IoSlot& slot, bool download) {
  const void* source = slot.device.data();
  if (slot.usesAllocator) {
    if (!slot.allocator->shapeKnown() || isDynamic(slot.allocator->shape())) {
      throw BackendError(ErrorCode::kInternal, "TensorRT did not report the shape of output '" + slot.desc.name + "'");
    }
    slot.shape = slot.allocator->shape();
    source = slot.allocator->data();
  }
  if (slot.onHost) return;  // TensorRT wrote it straight into slot.host
  const size_t bytes = dataTypeBytes(slot.desc.dtype, volume(slot.shape));
  slot.host.reserve(bytes);
  if (bytes > 0 && download) {
    checkCuda(cudaMemcpyAsync(slot.host.data(), source, bytes, cudaMemcpyDeviceToHost, stream_.get()),
              "cudaMemcpyAsync (output download)");
  }
}

}  // namespace trt
}  // namespace tnrt
