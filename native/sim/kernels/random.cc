// RandomUniform, RandomUniformLike, RandomNormal, RandomNormalLike (TensorRT's fill layer in
// its random modes). With a `seed` attribute the values are a fixed function of the seed, the
// same on every run and every platform (the sim's own generator, not <random>'s
// implementation-defined distributions), and the node folds to a constant like any other;
// without one each run draws new values, seeded from std::random_device, and the node never
// folds (OpDef::drawsRandomNumbers).
//
// Generator: splitmix64. Uniform values take 24 random bits, u in [0, 1); normal values come
// from the Box-Muller transform of two uniforms. Output types float32, float16 and bfloat16
// (ONNX also allows double, which TensorRT has no tensors of).
#include <atomic>
#include <cmath>
#include <cstring>
#include <random>

#include "../checked_math.h"
#include "kernel_util.h"

namespace tnrt {
namespace sim {

namespace {

struct SplitMix64 {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // In [0, 1), a multiple of 2^-24 so that it is exact in float32.
  float uniform() { return static_cast<float>(next() >> 40) * (1.0f / 16777216.0f); }
};

// The seed's bits (so 1.0 and 1.5 differ), or fresh entropy per run without one. The counter
// keeps two runs started within one random_device reading apart.
uint64_t seedOf(const Node& node) {
  if (const Attribute* a = node.attr("seed")) {
    uint32_t bits;
    std::memcpy(&bits, &a->f, sizeof bits);
    return 0x5EED000000000000ull ^ bits;
  }
  static std::atomic<uint64_t> counter{0};
  std::random_device device;
  return (static_cast<uint64_t>(device()) << 32) ^ device() ^ (counter.fetch_add(1) * 0x9E3779B97F4A7C15ull);
}

// The output's type, from the ONNX "dtype" attribute: float, float16 or bfloat16.
DataType randomType(const Node& node, DataType fallback) {
  const Attribute* a = node.attr("dtype");
  if (!a) return fallback;
  DataType t;
  if (!dataTypeFromOnnx(a->i, &t) || (t != DataType::kFloat32 && t != DataType::kFloat16 && t != DataType::kBFloat16))
    throwUnsupported(node, "dtype=" + std::to_string(a->i) + " (" + onnxTypeName(a->i) +
                               ") is not supported: TensorRT's random fill writes float32, float16 or bfloat16");
  return t;
}

bool isNormal(const Node& node) { return node.opType == "RandomNormal" || node.opType == "RandomNormalLike"; }
bool isLike(const Node& node) { return node.opType == "RandomNormalLike" || node.opType == "RandomUniformLike"; }

void inferRandom(const Node& node, const std::vector<ValueRef>& in, std::vector<OutputDesc>* out) {
  if (isLike(node)) {
    requireInputs(node, in, 1, 1);
    const DataType t = randomType(node, in[0].dtype);
    if (t != DataType::kFloat32 && t != DataType::kFloat16 && t != DataType::kBFloat16)
      throwDType(node, std::string("the input is ") + dataTypeName(t) +
                           "; without a dtype attribute the output takes its type, which must be a float type");
    (*out)[0].dtype = t;
    (*out)[0].shape = *in[0].shape;
    return;
  }
  requireInputs(node, in, 0, 0);
  const Attribute* shape = node.attr("shape");
  if (!shape || shape->type != AttrType::kInts) throwShape(node, "attribute shape (a list of ints) is required");
  int64_t count;
  for (int64_t d : shape->ints)
    if (d < 0) throwShape(node, "attribute shape has a negative dim: " + dimsToString(shape->ints));
  if (!checkedVolume(shape->ints, &count)) throwShape(node, "attribute shape " + dimsToString(shape->ints) + " overflows");
  (*out)[0].dtype = randomType(node, DataType::kFloat32);
  (*out)[0].shape = shape->ints;
}

template <typename T>
void fillRandom(const Node& node, const OutputRef& out) {
  using E = Elem<T>;
  SplitMix64 rng{seedOf(node)};
  const int64_t n = volume(*out.shape);
  auto* p = static_cast<typename E::Storage*>(out.data);
  if (isNormal(node)) {
    const float mean = node.attrFloat("mean", 0.0f), scale = node.attrFloat("scale", 1.0f);
    for (int64_t i = 0; i < n; i += 2) {
      // 1 - u is in (0, 1], so the log is finite.
      const double r = std::sqrt(-2.0 * std::log(1.0 - static_cast<double>(rng.uniform())));
      const double theta = 6.283185307179586 * rng.uniform();
      E::store(p, static_cast<size_t>(i), static_cast<float>(mean + scale * r * std::cos(theta)));
      if (i + 1 < n) E::store(p, static_cast<size_t>(i + 1), static_cast<float>(mean + scale * r * std::sin(theta)));
    }
  } else {
    const float low = node.attrFloat("low", 0.0f), high = node.attrFloat("high", 1.0f);
    for (int64_t i = 0; i < n; ++i) E::store(p, static_cast<size_t>(i), low + (high - low) * rng.uniform());
  }
}

void runRandom(const Node& node, const std::vector<ValueRef>&, const std::vector<OutputRef>& out, KernelScratch&) {
  dispatchAnyFloat(node, out[0].dtype, [&](auto tag) { fillRandom<typename decltype(tag)::type>(node, out[0]); });
}

}  // namespace

void registerRandomOps(OpRegistry& registry) {
  for (const char* op : {"RandomNormal", "RandomUniform"}) {
    OpDef def{op, 1, kMaxReviewedOpset, inferRandom, runRandom, false, 1, 1, {{1, 0, 0}}};
    def.drawsRandomNumbers = true;
    registry.add(std::move(def));
  }
  for (const char* op : {"RandomNormalLike", "RandomUniformLike"}) {
    OpDef def{op, 1, kMaxReviewedOpset, inferRandom, runRandom, false, 1, 1, {{1, 1, 1}}};
    def.drawsRandomNumbers = true;
    def.readsShapesOnly = true;  // only the input's shape and type matter
    registry.add(std::move(def));
  }
}

}  // namespace sim
}  // namespace tnrt
