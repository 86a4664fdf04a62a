// The seam between the N-API binding and the two backends (sim and tensorrt).
//
// Plain C++ only: no N-API types, no TensorRT types. The binding talks to a Backend through
// this header; each backend implements it. The interface is deliberately coarse (one call
// builds with a complete options struct, one call runs a context with all its tensors) so
// that the TensorRT adapter stays a mechanical mapping and policy lives above it.
//
// Threading: every method may be called from a thread other than the event loop's (the libuv
// pool, or a builder's own thread). The binding calls a Builder, and destroys the Networks it
// made, one job at a time, in order (native/binding/builder_queue.h), as TensorRT's IBuilder
// requires. A Runtime and an Engine may be used from several threads at once (their methods
// are const or internally locked); an ExecutionContext is used by one thread at a time (the
// binding queues calls).
//
// Errors: methods report failure by throwing tnrt::BackendError with a code the binding maps
// to a JavaScript error class. Nothing here may abort the process.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace tnrt {

// Element types, named as TensorRT names them. Values are this project's own; map to and from
// TensorRT's enum by name in the adapter, never by raw integer (10.x and 11.x differ).
enum class DataType : int32_t {
  kFloat32,
  kFloat16,
  kBFloat16,
  kInt8,
  kUInt8,
  kInt32,
  kInt64,
  kBool,
  kFP8,   // float8 e4m3
  kInt4,  // packed two per byte
  kFP4,   // float4 e2m1, packed two per byte
  kE8M0,  // 8-bit exponent-only scale (TensorRT 11)
};

// Bits per element (int4 and fp4 are packed).
int dataTypeBits(DataType t);
// Bytes needed for `count` elements, rounding packed types up to whole bytes.
size_t dataTypeBytes(DataType t, int64_t count);
// The TypeScript spelling: "float32", "float16", "bfloat16", "int8", ...
const char* dataTypeName(DataType t);
// Inverse of dataTypeName; returns false for an unknown name.
bool dataTypeFromName(const std::string& name, DataType* out);
// ONNX TensorProto.DataType number -> DataType; false for an ONNX type TensorRT has no
// tensors of (double, string, uint16, ...). Each operator still checks the types it accepts.
bool dataTypeFromOnnx(int64_t onnx, DataType* out);
// ONNX's own name for any ONNX element type number, for messages ("double", "float",
// "float8e4m3fn", ...; dataTypeName gives this library's spelling).
std::string onnxTypeName(int64_t onnx);

// A shape; -1 marks a dynamic dimension.
using Dims = std::vector<int64_t>;
int64_t volume(const Dims& d);  // -1 if any dimension is dynamic
std::string dimsToString(const Dims& d);  // "1x3x224x224", "-1x3" for dynamic

// The default cap on any one tensor's bytes (activation, output or constant): 4 GiB. Above
// what any tensor of a model that fits one GPU's memory with its weights needs, and low
// enough that a 249-byte model cannot make the process allocate tens of gigabytes. A
// backend refuses (kShape) a build, engine or execute that would need a larger tensor.
// BuildOptions / DeserializeOptions::maxTensorBytes change it (TypeScript: the
// maxTensorBytes option, or TENSORRT_NODE_MAX_TENSOR_BYTES).
constexpr uint64_t kDefaultMaxTensorBytes = uint64_t{4} << 30;

enum class Severity : int32_t { kInternalError = 0, kError = 1, kWarning = 2, kInfo = 3, kVerbose = 4 };

// Receives every message of a builder, runtime or engine. Must be thread-safe: TensorRT and
// the sim log from worker threads.
class LogSink {
 public:
  virtual ~LogSink() = default;
  virtual void log(Severity severity, const std::string& message) = 0;
};

// Build progress, mirroring TensorRT's IProgressMonitor. Called on the build thread.
class ProgressSink {
 public:
  virtual ~ProgressSink() = default;
  virtual void phaseStart(const std::string& phase, const std::string& parent, int32_t steps) = 0;
  // Return false to cancel the build (the build then throws BackendError kCancelled).
  virtual bool stepComplete(const std::string& phase, int32_t step) = 0;
  virtual void phaseFinish(const std::string& phase) = 0;
};

enum class ErrorCode : int32_t {
  kInvalidArgument,  // a caller mistake the TypeScript layer should have caught
  kParse,            // the ONNX model could not be read
  kUnsupported,      // an operator or feature this backend lacks
  kShape,            // a shape outside a profile, or inconsistent shapes
  kDType,            // a tensor of the wrong element type
  kEngineInvalid,    // an engine blob that is corrupt, truncated, or from another backend/version
  kUnavailable,      // the backend cannot run here (no library, no driver, no GPU)
  kCancelled,        // a progress callback asked to stop
  kInternal,         // anything else
};

class BackendError : public std::runtime_error {
 public:
  BackendError(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const { return code_; }

 private:
  ErrorCode code_;
};

// One error reported by the ONNX parser.
struct ParserError {
  std::string node;      // node name (or "" if the error is not tied to a node)
  int32_t nodeIndex = -1;
  std::string op;        // operator type, e.g. "Conv"
  std::string description;
};

struct TensorDesc {
  std::string name;
  DataType dtype = DataType::kFloat32;
  Dims shape;  // -1 for dynamic dimensions
  bool isInput = false;
  // An input whose values (not only its shape) decide other tensors' shapes: int32 or int64,
  // rank 0 or 1, feeding e.g. Reshape's shape, Expand, Tile's repeats, Slice's bounds.
  // TensorRT's ICudaEngine::isShapeInferenceIO; it lives in host memory (TensorLocation::kHOST)
  // and every optimization profile gives its values a min/opt/max (InputProfile::*Values).
  bool isShapeTensor = false;
};

// What the parser produced: the network's inputs and outputs, and its size.
struct NetworkInfo {
  std::vector<TensorDesc> inputs;
  std::vector<TensorDesc> outputs;
  int32_t numLayers = 0;
};

// A parsed network, ready to build. Owned by the Builder that made it.
class Network {
 public:
  virtual ~Network() = default;
  virtual NetworkInfo info() const = 0;
};

struct InputProfile {
  std::string input;
  Dims min, opt, max;
  // For a shape-tensor input only (TensorDesc::isShapeTensor): the range of its values, one
  // entry per element in row-major order (IOptimizationProfile::setShapeValuesV2); empty for
  // every other input. Values may be negative (Reshape's -1, Slice's negative bounds).
  std::vector<int64_t> minValues, optValues, maxValues;
};

// One optimization profile: a range for every dynamic input.
struct Profile {
  std::vector<InputProfile> inputs;
};

// Options fixed when a network is created, before parsing.
struct ParseOptions {
  // Every tensor keeps the type the model declares; precision then comes from the model
  // (float16 tensors, Q/DQ nodes), never from builder flags. TensorRT 10: the network is created
  // with NetworkDefinitionCreationFlag::kSTRONGLY_TYPED. TensorRT 11: networks are always
  // strongly typed, so false is the same as true there. The sim always computes in the declared
  // types; the flag only makes it refuse the fp16/int8 build flags, as TensorRT 10 does.
  bool stronglyTyped = false;
};

// One network input of a calibration batch: host memory the backend owns, sized for `shape`
// (profile 0's opt shape for dynamic inputs, as TensorRT's calibration profile defaults to),
// which the calibrator fills.
struct CalibrationInput {
  std::string name;
  DataType dtype = DataType::kFloat32;
  Dims shape;
  void* data = nullptr;
  size_t bytes = 0;
};

enum class CalibrationAlgorithm : int32_t {
  kEntropy2,  // IInt8EntropyCalibrator2: KL-divergence threshold over a 2048-bin |x| histogram
  kMinMax,    // IInt8MinMaxCalibrator: threshold = max |x|
};

// The INT8 calibrator of an implicit-precision build (TensorRT 10's IInt8Calibrator, reduced
// to host memory). Called on the build thread, one call at a time; each call may block while
// the application produces the answer. A call that throws BackendError aborts the build with
// that error (kCancelled when the build was cancelled while the calibrator waited).
class Calibrator {
 public:
  virtual ~Calibrator() = default;
  virtual CalibrationAlgorithm algorithm() const = 0;
  // TensorRT 10 still asks for it (deprecated with implicit batch); informational otherwise.
  virtual int32_t batchSize() const = 0;
  // Fills every input's buffer with the next batch; returns false once the data is exhausted
  // (the buffers are then left untouched).
  virtual bool getBatch(std::vector<CalibrationInput>& inputs) = 0;
  // A previous calibration's cache in TensorRT's text format, or empty to calibrate.
  virtual std::vector<uint8_t> readCache() = 0;
  virtual void writeCache(const std::vector<uint8_t>& cache) = 0;
};

// TensorRT's ProfilingVerbosity, by name.
enum class ProfilingVerbosity : int32_t { kLayerNamesOnly, kNone, kDetailed };

// Which GPUs other than the building one a plan must run on (TensorRT's
// HardwareCompatibilityLevel). kSameComputeCapability needs TensorRT 10.9 or later.
enum class HardwareCompatibility : int32_t { kNone, kAmperePlus, kSameComputeCapability };

struct BuildOptions {
  std::vector<Profile> profiles;
  // Memory pool limits in bytes, keyed by TensorRT's pool names without the k prefix:
  // "workspace", "dlaManagedSram", "dlaLocalDram", "dlaGlobalDram", "tacticSharedMemory".
  std::map<std::string, uint64_t> memoryPoolLimits;
  // A serialized timing cache to start from (may be empty).
  std::vector<uint8_t> timingCache;
  // Builder optimization level 0-5, or -1 for TensorRT's default.
  int32_t optimizationLevel = -1;
  ProgressSink* progress = nullptr;  // may be null; outlives the build call
  // Implicit reduced precision (TensorRT 10's BuilderFlag::kFP16 / kINT8): the builder may
  // choose float16 / int8 kernels for layers of a weakly typed network. A backend without
  // them (TensorRT 11; see BackendInfo::implicitPrecision) throws kUnsupported naming the
  // explicit path. Both are refused for a strongly typed network (kInvalidArgument).
  bool fp16 = false;
  bool int8 = false;
  // The calibrator for int8 (may be null: TensorRT then needs per-tensor dynamic ranges,
  // which this API does not set, so the binding requires one). Outlives the build call.
  Calibrator* calibrator = nullptr;
  // No tensor of the network (constant, input, activation, output) may exceed this many bytes
  // at any shape of any profile; the build fails with kShape naming the tensor otherwise.
  uint64_t maxTensorBytes = kDefaultMaxTensorBytes;
  // TF32 tensor-core math for float32 layers (BuilderFlag::kTF32): -1 leaves TensorRT's default
  // (on, from Ampere), 0 clears the flag, 1 sets it. TF32 keeps 10 mantissa bits, so float32
  // results move by about 1e-3 relative. The sim computes float32 exactly either way.
  int32_t tf32 = -1;
  // BuilderFlag::kVERSION_COMPATIBLE: the plan runs on later TensorRT versions of the same
  // major through a lean runtime it carries, host code that runs when it is loaded; a runtime
  // loads it only with CreateOptions::engineHostCodeAllowed. excludeLeanRuntime
  // (kEXCLUDE_LEAN_RUNTIME) leaves that runtime out (only with versionCompatible).
  bool versionCompatible = false;
  bool excludeLeanRuntime = false;
  // IBuilderConfig::setHardwareCompatibilityLevel.
  HardwareCompatibility hardwareCompatibility = HardwareCompatibility::kNone;
  // How much the plan records about its layers for Engine::engineInformation
  // (IBuilderConfig::setProfilingVerbosity), TensorRT's default unless the caller chooses
  // (the TypeScript side always does). kDetailed keeps each layer's type, tensors and formats,
  // and its parameters and constants, in a slightly larger plan; its contexts' NVTX markers
  // would slow enqueueV3(), so the adapter lowers them to names. The sim records every
  // detail either way.
  ProfilingVerbosity profilingVerbosity = ProfilingVerbosity::kLayerNamesOnly;
};

// Options of one deserializeEngine call.
struct DeserializeOptions {
  // The engine is refused (kShape) when a tensor exceeds this at its profiles' max shapes,
  // and execute() refuses (kShape) shapes that need a larger tensor, before allocating it.
  uint64_t maxTensorBytes = kDefaultMaxTensorBytes;
};

struct BuildResult {
  std::vector<uint8_t> plan;         // the serialized engine
  std::vector<uint8_t> timingCache;  // the timing cache after the build (may be empty)
};

class Builder {
 public:
  virtual ~Builder() = default;
  // [async] Parses an ONNX model. `modelDir` resolves external data files ("" if none).
  // On failure returns nullptr and fills `errors` with every parser error.
  virtual std::unique_ptr<Network> parseOnnx(const uint8_t* data, size_t size, const std::string& modelDir,
                                             const ParseOptions& options, std::vector<ParserError>* errors) = 0;
  // [async] Builds and serializes an engine.
  virtual BuildResult buildSerializedNetwork(const Network& network, const BuildOptions& options) = 0;
};

// Memory an engine or a context holds, in bytes, so that the binding can report it to the
// JavaScript garbage collector as external memory: an object dropped without dispose() then
// costs the collector what it costs the process, and is collected before memory runs out.
// Estimates are fine (the largest buffers, not every small allocation); what matters is
// that they grow with what the object holds.
struct MemoryUsage {
  uint64_t host = 0;    // host memory: weights, plans, buffers, pinned staging
  uint64_t device = 0;  // GPU memory: weights, activations, device-side I/O buffers
};

// A tensor as seen by a context: host memory in, host memory out.
struct HostTensorView {
  std::string name;
  DataType dtype = DataType::kFloat32;
  Dims shape;
  const void* data = nullptr;  // caller-owned, valid for the duration of execute()
  size_t bytes = 0;
};

struct HostTensor {
  std::string name;
  DataType dtype = DataType::kFloat32;
  Dims shape;
  std::vector<uint8_t> data;
};

// How executeTimed() runs a call.
struct TimedExecuteOptions {
  // false: compute only. Inputs are uploaded only when the device does not hold them yet (the
  // first call, or after a shape change); outputs are not read back.
  bool transfers = true;
  // Replay the compute from a CUDA graph, captured once per set of input shapes (on the call
  // after the first with those shapes); where capture fails, warn once and enqueue as usual.
  bool cudaGraph = false;
};

// What executeTimed() measured with events on the context's stream: ms from the call's first
// event, so that start <= end for each part, parts in order, none overlapping.
struct CallTiming {
  bool timed = false;  // false: the backend does not time the parts apart
  double h2dStartMs = 0, h2dEndMs = 0;
  double computeStartMs = 0, computeEndMs = 0;
  double d2hStartMs = 0, d2hEndMs = 0;
};

class ExecutionContext {
 public:
  virtual ~ExecutionContext() = default;
  // [sync] Selects the optimization profile for later calls.
  virtual void setOptimizationProfile(int32_t profile) = 0;
  virtual int32_t optimizationProfile() const = 0;
  // [async] Runs the engine. `inputs` names every input once with its actual shape; the
  // backend checks dtypes and shapes against the engine and the active profile, and returns
  // every output with its resolved shape.
  virtual std::vector<HostTensor> execute(const std::vector<HostTensorView>& inputs) = 0;
  // [async] execute() as a benchmark runs it (trtexec's --noDataTransfers, --useCudaGraph),
  // timing its parts. Backends without host-device transfers or CUDA graphs (the sim) keep
  // this default: a plain execute(), `timing->timed` false. Without `options.transfers`, the
  // outputs returned may be those of an earlier call.
  virtual std::vector<HostTensor> executeTimed(const std::vector<HostTensorView>& inputs,
                                               const TimedExecuteOptions& options, CallTiming* timing) {
    (void)options;
    if (timing) *timing = CallTiming();
    return execute(inputs);
  }
  // [sync] What the context holds now (buffers grow with the shapes it ran). Never called
  // while execute() runs.
  virtual MemoryUsage memoryUsage() const = 0;
};

class Engine {
 public:
  virtual ~Engine() = default;
  // Inputs first, then outputs, in the network's order.
  virtual std::vector<TensorDesc> ioTensors() const = 0;
  virtual int32_t numOptimizationProfiles() const = 0;
  // min/opt/max of one input in one profile; throws kInvalidArgument if out of range.
  virtual InputProfile profileShapes(int32_t profile, const std::string& input) const = 0;
  virtual uint64_t deviceMemorySize() const = 0;
  virtual int32_t numLayers() const = 0;
  // [async] The engine's layers as a JSON document in the form of TensorRT's
  // IEngineInspector::getEngineInformation(LayerInformationFormat::kJSON): {"Layers": [...],
  // "Bindings": [...]}, each layer an object with "Name", "LayerType", "Inputs" and "Outputs"
  // (each {"Name", "Dimensions", "Format/Datatype"}) when the plan was built with
  // ProfilingVerbosity::kDetailed, only its name (a string) with kLayerNamesOnly, and no
  // layers with kNone. lib/engine.ts reads it; the sim writes the same form.
  virtual std::string engineInformation() const = 0;
  // What the plan records about its layers (ICudaEngine::getProfilingVerbosity), which says
  // what engineInformation() can hold; the sim records everything (kDetailed).
  virtual ProfilingVerbosity profilingVerbosity() const = 0;
  // [async] The plan, byte for byte what deserializeEngine accepts.
  virtual std::vector<uint8_t> serialize() const = 0;
  // [sync] What the engine holds (its weights and plan), not counting its contexts.
  virtual MemoryUsage memoryUsage() const = 0;
  // The context keeps this engine alive: implementations derive from
  // std::enable_shared_from_this and hand the context a shared_ptr to themselves.
  virtual std::unique_ptr<ExecutionContext> createExecutionContext() = 0;
};

class Runtime {
 public:
  virtual ~Runtime() = default;
  // [async] The engine keeps this runtime alive.
  virtual std::shared_ptr<Engine> deserializeEngine(const uint8_t* data, size_t size,
                                                   const DeserializeOptions& options) = 0;
};

struct BackendInfo {
  std::string name;     // "sim" or "tensorrt"
  std::string version;  // e.g. "1.0.0" for the sim, "10.16.0" for TensorRT
  bool available = false;
  std::string reason;   // why not, when unavailable, with the fix
  // Whether BuildOptions::fp16 / int8 with a Calibrator are supported (TensorRT 10 and the
  // sim: yes; TensorRT 11: no, precision comes from the model there).
  bool implicitPrecision = false;
};

// Options fixed when a Builder or a Runtime is created (TypeScript: the device, plugins and
// engineHostCodeAllowed options).
struct CreateOptions {
  // The CUDA device every call of the object, and of what it makes (networks, engines,
  // contexts), runs on. Out of range: kInvalidArgument naming how many devices there are.
  int32_t device = 0;
  // Plugin libraries to load before parsing or deserializing, as absolute paths (lib/ checked
  // that they exist), like trtexec's --dynamicPlugins. They stay loaded for the life of the
  // process. One that cannot be loaded: kInvalidArgument naming it.
  std::vector<std::string> plugins;
  // Runtime only: whether plans that carry host code (version-compatible plans with their
  // lean runtime) may be loaded. Off, such a plan is refused (kEngineInvalid) naming this.
  bool engineHostCodeAllowed = false;
  // Runtime only, sim only: intra-op CPU threads per execution context (>= 1; lib/ resolves
  // the default). TensorRT runs on the GPU and ignores it.
  int32_t threads = 1;
};

// The message of the kEngineInvalid refusal of a version-compatible engine by a runtime
// without CreateOptions::engineHostCodeAllowed; the same on every backend.
std::string hostCodeRefusalMessage();

class Backend {
 public:
  virtual ~Backend() = default;
  virtual BackendInfo info() const = 0;
  // The log sink outlives every object made from it (the objects hold the shared_ptr).
  virtual std::shared_ptr<Builder> createBuilder(std::shared_ptr<LogSink> log, const CreateOptions& options) = 0;
  virtual std::shared_ptr<Runtime> createRuntime(std::shared_ptr<LogSink> log, const CreateOptions& options) = 0;
};

// The symbol a backend shared library exports (the tensorrt adapter is loaded with dlopen).
// Returns nullptr and fills `error` when the backend cannot run here.
using CreateBackendFn = Backend* (*)(std::string* error);
#define TNRT_CREATE_BACKEND_SYMBOL "tnrt_create_backend"
// 2: ParseOptions, BuildOptions::fp16/int8/calibrator, BackendInfo::implicitPrecision.
// 3: BuildOptions::maxTensorBytes, DeserializeOptions.
// 4: Engine::memoryUsage, ExecutionContext::memoryUsage.
// 5: CreateOptions (device, plugins, engineHostCodeAllowed, threads); BuildOptions::tf32,
//    versionCompatible, excludeLeanRuntime, hardwareCompatibility; shape-tensor inputs
//    (TensorDesc::isShapeTensor, InputProfile value ranges).
// 6: Engine::engineInformation; BuildOptions::profilingVerbosity.
// 7: Engine::profilingVerbosity.
// 8: ExecutionContext::executeTimed (TimedExecuteOptions, CallTiming).
#define TNRT_BACKEND_ABI_VERSION 8
using BackendAbiVersionFn = int32_t (*)();
#define TNRT_BACKEND_ABI_SYMBOL "tnrt_backend_abi_version"

}  // namespace tnrt
