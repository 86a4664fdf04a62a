#include "graph_codec.h"

namespace tnrt {
namespace sim {

namespace {

constexpr int32_t kLastDataType = static_cast<int32_t>(DataType::kE8M0);

void encodeTensor(const Tensor& t, ByteWriter& out) {
  out.i32(static_cast<int32_t>(t.dtype));
  out.dims(t.shape);
  out.blob(t.data);
}

DataType decodeDataType(ByteReader& in) {
  int32_t v = in.i32();
  if (v < 0 || v > kLastDataType) throw ByteReadError("unknown element type " + std::to_string(v));
  return static_cast<DataType>(v);
}

void decodeTensor(ByteReader& in, Tensor* t) {
  t->dtype = decodeDataType(in);
  t->shape = in.dims();
  t->data = in.blob();
  int64_t v = 1;
  for (int64_t d : t->shape) {
    if (d < 0 || (d != 0 && v > (int64_t{1} << 56) / d)) throw ByteReadError("a constant has an invalid shape");
    v *= d;
  }
  if (t->data.size() != dataTypeBytes(t->dtype, v)) throw ByteReadError("a constant's bytes do not match its shape");
}

void encodeAttribute(const Attribute& a, ByteWriter& out) {
  out.str(a.name);
  out.u8(static_cast<uint8_t>(a.type));
  switch (a.type) {
    case AttrType::kFloat: out.f32(a.f); break;
    case AttrType::kInt: out.i64(a.i); break;
    case AttrType::kString: out.str(a.s); break;
    case AttrType::kTensor: encodeTensor(a.t, out); break;
    case AttrType::kFloats:
      out.u32(static_cast<uint32_t>(a.floats.size()));
      for (float f : a.floats) out.f32(f);
      break;
    case AttrType::kInts:
      out.u32(static_cast<uint32_t>(a.ints.size()));
      for (int64_t i : a.ints) out.i64(i);
      break;
    case AttrType::kStrings:
      out.u32(static_cast<uint32_t>(a.strings.size()));
      for (const auto& s : a.strings) out.str(s);
      break;
    default: break;  // kinds the sim never reads keep only their name and type
  }
}

void decodeAttribute(ByteReader& in, Attribute* a) {
  a->name = in.str();
  a->type = static_cast<AttrType>(in.u8());
  switch (a->type) {
    case AttrType::kFloat: a->f = in.f32(); break;
    case AttrType::kInt: a->i = in.i64(); break;
    case AttrType::kString: a->s = in.str(); break;
    case AttrType::kTensor: decodeTensor(in, &a->t); break;
    case AttrType::kFloats: {
      uint32_t n = in.count(4);
      a->floats.resize(n);
      for (auto& f : a->floats) f = in.f32();
      break;
    }
    case AttrType::kInts: {
      uint32_t n = in.count(8);
      a->ints.resize(n);
      for (auto& i : a->ints) i = in.i64();
      break;
    }
    case AttrType::kStrings: {
      uint32_t n = in.count(4);
      a->strings.resize(n);
      for (auto& s : a->strings) s = in.str();
      break;
    }
    case AttrType::kUndefined:
    case AttrType::kGraph:
    case AttrType::kOther: break;
    default: throw ByteReadError("unknown attribute type");
  }
}

void encodeIds(const std::vector<int32_t>& ids, ByteWriter& out) {
  out.u32(static_cast<uint32_t>(ids.size()));
  for (int32_t id : ids) out.i32(id);
}

std::vector<int32_t> decodeIds(ByteReader& in, size_t numValues, bool allowAbsent) {
  uint32_t n = in.count(4);
  std::vector<int32_t> ids(n);
  for (auto& id : ids) {
    id = in.i32();
    if (id < (allowAbsent ? -1 : 0) || id >= static_cast<int64_t>(numValues))
      throw ByteReadError("a tensor id is out of range");
  }
  return ids;
}

}  // namespace

void encodeGraph(const Graph& graph, ByteWriter& out) {
  out.i64(graph.opset);
  out.u32(static_cast<uint32_t>(graph.values.size()));
  for (const Value& v : graph.values) {
    out.str(v.name);
    out.i32(static_cast<int32_t>(v.dtype));
    out.u8(static_cast<uint8_t>((v.hasType ? 1 : 0) | (v.hasShape ? 2 : 0)));
    out.dims(v.shape);
    out.i32(v.initializer);
  }
  encodeIds(graph.inputs, out);
  encodeIds(graph.outputs, out);
  out.u32(static_cast<uint32_t>(graph.initializers.size()));
  for (const Tensor& t : graph.initializers) encodeTensor(t, out);
  out.u32(static_cast<uint32_t>(graph.nodes.size()));
  for (const Node& n : graph.nodes) {
    out.str(n.name);
    out.str(n.opType);
    out.str(n.domain);
    out.i64(n.opset);
    encodeIds(n.inputs, out);
    encodeIds(n.outputs, out);
    out.u32(static_cast<uint32_t>(n.attributes.size()));
    for (const Attribute& a : n.attributes) encodeAttribute(a, out);
  }
}

void decodeGraph(ByteReader& in, Graph* graph) {
  graph->opset = in.i64();
  uint32_t numValues = in.count(4 + 4 + 1 + 4 + 4);
  graph->values.resize(numValues);
  for (Value& v : graph->values) {
    v.name = in.str();
    v.dtype = decodeDataType(in);
    uint8_t flags = in.u8();
    v.hasType = (flags & 1) != 0;
    v.hasShape = (flags & 2) != 0;
    v.shape = in.dims();
    v.initializer = in.i32();
  }
  graph->reindex();
  graph->inputs = decodeIds(in, numValues, false);
  graph->outputs = decodeIds(in, numValues, false);
  uint32_t numInitializers = in.count(4 + 4 + 8);
  graph->initializers.resize(numInitializers);
  for (Tensor& t : graph->initializers) decodeTensor(in, &t);
  for (const Value& v : graph->values)
    if (v.initializer < -1 || v.initializer >= static_cast<int64_t>(numInitializers))
      throw ByteReadError("an initializer index is out of range");
  uint32_t numNodes = in.count(4 * 7 + 8);
  graph->nodes.resize(numNodes);
  for (Node& n : graph->nodes) {
    n.name = in.str();
    n.opType = in.str();
    n.domain = in.str();
    n.opset = in.i64();
    n.inputs = decodeIds(in, numValues, true);
    n.outputs = decodeIds(in, numValues, true);
    uint32_t numAttrs = in.count(5);
    n.attributes.resize(numAttrs);
    for (Attribute& a : n.attributes) decodeAttribute(in, &a);
  }
}

}  // namespace sim
}  // namespace tnrt
