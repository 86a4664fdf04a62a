// Structure-aware mutation of ONNX models: decode the ModelProto (onnx-buf), change one to
// four fields the sim's reader and shape inference depend on, encode it again. Byte-level
// mutation rarely survives protobuf decoding with a meaningful model; field-level mutation
// keeps the model well-formed enough to reach the checks behind the decoder: dims, element
// types, attribute values and kinds, initializer sizes and storage, node wiring, opsets.
// One case in ten gets a few raw byte flips as well, for the wire reader itself.
import { clone, create, fromBinary, toBinary } from '@bufbuild/protobuf';
import {
  AttributeProtoSchema,
  ModelProtoSchema,
  NodeProtoSchema,
  StringStringEntryProtoSchema,
  TensorProto_DataType,
  TensorShapeProto_DimensionSchema,
} from 'onnx-buf';

import { INTERESTING_FLOATS, INTERESTING_INTS } from './random.mjs';

// Operators the sim implements (README), so a changed op type often still parses.
const OPS = ['Relu', 'Conv', 'Gemm', 'MatMul', 'MaxPool', 'AveragePool', 'Reshape', 'Transpose', 'Concat', 'Split',
  'Slice', 'Pad', 'Gather', 'Expand', 'Tile', 'Resize', 'Softmax', 'ReduceMean', 'Cast', 'QuantizeLinear',
  'DequantizeLinear', 'Constant', 'ConstantOfShape', 'Flatten', 'Squeeze', 'Unsqueeze', 'Shape', 'Add', 'Mul',
  'BatchNormalization', 'LayerNormalization', 'DepthToSpace', 'ConvTranspose', 'Upsample', 'Identity', 'Sum'];
const ATTRIBUTE_NAMES = ['axis', 'axes', 'perm', 'pads', 'strides', 'kernel_shape', 'dilations', 'group', 'to',
  'value', 'mode', 'keepdims', 'transA', 'transB', 'blocksize', 'split', 'auto_pad', 'ceil_mode', 'epsilon'];
const DATA_TYPES = Object.values(TensorProto_DataType).filter((v) => typeof v === 'number');

function tensorsOf(model) {
  const out = [...model.graph.initializer];
  for (const node of model.graph.node) {
    for (const a of node.attribute) if (a.t) out.push(a.t);
  }
  return out;
}

function valueNames(model) {
  const g = model.graph;
  return [...g.input.map((v) => v.name), ...g.initializer.map((t) => t.name), ...g.node.flatMap((n) => n.output), '', 'missing'];
}

const mutations = [
  // A dim of a graph input or output: a boundary value, symbolic, or one more or fewer dim.
  function mutateIoDim(model, rnd) {
    const values = [...model.graph.input, ...model.graph.output];
    const v = rnd.pick(values);
    const shape = v?.type?.value.case === 'tensorType' ? v.type.value.value.shape : undefined;
    if (!shape) return false;
    const dims = shape.dim;
    const choice = rnd.int(4);
    if (choice === 0 && dims.length > 0) dims.splice(rnd.int(dims.length), 1);
    else if (choice === 1) {
      dims.splice(rnd.int(dims.length + 1), 0, create(TensorShapeProto_DimensionSchema, { value: { case: 'dimValue', value: rnd.pick(INTERESTING_INTS) } }));
    }
    else if (dims.length > 0) {
      const d = dims[rnd.int(dims.length)];
      d.value = choice === 2 ? { case: 'dimParam', value: rnd.pick(['N', 'M', '']) } : { case: 'dimValue', value: rnd.pick(INTERESTING_INTS) };
    }
    return true;
  },
  function mutateIoType(model, rnd) {
    const v = rnd.pick([...model.graph.input, ...model.graph.output]);
    if (v?.type?.value.case !== 'tensorType') return false;
    v.type.value.value.elemType = rnd.pick(DATA_TYPES);
    return true;
  },
  // An attribute's value, kind, or presence.
  function mutateAttribute(model, rnd) {
    const node = rnd.pick(model.graph.node);
    if (!node) return false;
    const choice = rnd.int(6);
    if (choice === 0 || node.attribute.length === 0) {
      node.attribute.push(create(AttributeProtoSchema, { name: rnd.pick(ATTRIBUTE_NAMES), type: 7, ints: [rnd.pick(INTERESTING_INTS)] }));
      return true;
    }
    const a = rnd.pick(node.attribute);
    if (choice === 1) node.attribute.splice(node.attribute.indexOf(a), 1);
    else if (choice === 2) a.type = rnd.int(15);  // a kind that disagrees with the fields set
    else if (choice === 3) {
      if (a.ints.length > 0) a.ints[rnd.int(a.ints.length)] = rnd.pick(INTERESTING_INTS);
      else a.i = rnd.pick(INTERESTING_INTS);
    } else if (choice === 4) {
      if (a.ints.length > 0 && rnd.chance(0.5)) a.ints.splice(rnd.int(a.ints.length), 1);
      else a.ints.push(rnd.pick(INTERESTING_INTS));
    } else {
      a.f = rnd.pick(INTERESTING_FLOATS);
      if (a.floats.length > 0) a.floats[rnd.int(a.floats.length)] = rnd.pick(INTERESTING_FLOATS);
      if (a.t && rnd.chance(0.5)) a.t = undefined;  // a TENSOR attribute without its tensor
    }
    return true;
  },
  // An initializer or Constant tensor: dims, type, data length, storage field.
  // The commonest way into size arithmetic: one integer of an INT/INTS attribute (pads,
  // strides, kernel_shape, axes, perm...) set to an edge value. Its own entry so it is
  // picked more often than the other attribute changes.
  function mutateAttributeInt(model, rnd) {
    const a = rnd.pick(model.graph.node.flatMap((n) => n.attribute).filter((x) => x.ints.length > 0 || x.type === 2));
    if (!a) return false;
    if (a.ints.length > 0) a.ints[rnd.int(a.ints.length)] = rnd.pick(INTERESTING_INTS);
    else a.i = rnd.pick(INTERESTING_INTS);
    return true;
  },
  function mutateTensor(model, rnd) {
    const t = rnd.pick(tensorsOf(model));
    if (!t) return false;
    const choice = rnd.int(6);
    if (choice === 0 && t.dims.length > 0) t.dims[rnd.int(t.dims.length)] = rnd.pick(INTERESTING_INTS);
    else if (choice === 1) t.dims.length > 0 && rnd.chance(0.5) ? t.dims.pop() : t.dims.push(rnd.pick([0n, 1n, 2n, 3n]));
    else if (choice === 2) t.dataType = rnd.pick(DATA_TYPES);
    else if (choice === 3) t.rawData = t.rawData.slice(0, rnd.int(t.rawData.length + 1));
    else if (choice === 4) {
      // The same values in a typed field instead of raw_data, with a wrong count now and then.
      const n = Math.max(0, Math.floor(t.rawData.length / 4) + rnd.int(3) - 1);
      t.rawData = new Uint8Array(0);
      t.floatData = Array.from({ length: n }, () => rnd.pick(INTERESTING_FLOATS));
      if (rnd.chance(0.3)) t.int64Data = Array.from({ length: n }, () => rnd.pick(INTERESTING_INTS));
    } else {
      t.dataLocation = 1;  // EXTERNAL, with no model directory to find it in
      t.externalData = [create(StringStringEntryProtoSchema, { key: 'location', value: rnd.pick(['w.bin', '../../etc/passwd', '']) })];
    }
    return true;
  },
  // Node wiring: an input renamed to another value, to '' (optional) or to nothing.
  function mutateNodeInputs(model, rnd) {
    const node = rnd.pick(model.graph.node);
    if (!node) return false;
    const names = valueNames(model);
    const choice = rnd.int(4);
    if (choice === 0 && node.input.length > 0) node.input[rnd.int(node.input.length)] = rnd.pick(names);
    else if (choice === 1) node.input.push(rnd.pick(names));
    else if (choice === 2 && node.input.length > 0) node.input.pop();
    else node.output[rnd.int(node.output.length)] = rnd.pick(names);
    return true;
  },
  function mutateNodeList(model, rnd) {
    const nodes = model.graph.node;
    if (nodes.length === 0) return false;
    const i = rnd.int(nodes.length);
    const choice = rnd.int(4);
    if (choice === 0) nodes.splice(i, 1);
    else if (choice === 1) nodes.splice(rnd.int(nodes.length), 0, clone(NodeProtoSchema, nodes[i]));
    else if (choice === 2) [nodes[i], nodes[nodes.length - 1]] = [nodes[nodes.length - 1], nodes[i]];
    else nodes[i].opType = rnd.pick(OPS);
    return true;
  },
  function mutateOpset(model, rnd) {
    const opset = model.opsetImport[0];
    if (!opset) return false;
    opset.version = rnd.pick([1n, 6n, 7n, 9n, 11n, 13n, 17n, 19n, 21n, 99n, -1n]);
    return true;
  },
];

function flipBytes(bytes, rnd) {
  const out = Uint8Array.from(bytes);
  const flips = 1 + rnd.int(4);
  for (let i = 0; i < flips && out.length > 0; i++) out[rnd.int(out.length)] = rnd.int(256);
  return out;
}

/** Returns a mutated copy of an ONNX model; the input is not changed. */
export function mutateOnnx(bytes, rnd) {
  let model;
  try {
    model = fromBinary(ModelProtoSchema, bytes);
  } catch {
    return flipBytes(bytes, rnd);  // a previous byte flip broke the encoding: keep flipping
  }
  if (!model.graph) return flipBytes(bytes, rnd);
  const count = 1 + rnd.int(4);
  for (let i = 0; i < count; i++) {
    try {
      rnd.pick(mutations)(model, rnd);
    } catch {
      // A mutation that met a shape it did not expect (a field another one removed): skip it.
    }
  }
  let out;
  try {
    out = toBinary(ModelProtoSchema, model);
  } catch {
    return flipBytes(bytes, rnd);
  }
  return rnd.chance(0.1) ? flipBytes(out, rnd) : out;
}

