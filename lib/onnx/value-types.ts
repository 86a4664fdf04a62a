/**
 * Element types of every value in a graph, without a full shape inference: graph inputs,
 * initializers and value_info say what they hold, and each operator's output type follows a
 * small rule (same as the first input, fixed int64/bool, the `to` attribute...). A precision
 * pass needs exactly this to know which values are float32 and where a Cast is legal.
 */
import { AttributeProto_AttributeType, TensorProto_DataType, type GraphProto, type NodeProto, type ValueInfoProto } from 'onnx-buf';

const T = TensorProto_DataType;

/** The element type a ValueInfoProto declares, or undefined when it is not a tensor or says nothing. */
export function valueInfoElemType(info: ValueInfoProto): number | undefined {
  const type = info.type?.value;
  if (type?.case === 'tensorType' && type.value.elemType) return type.value.elemType;
  return undefined;
}

function attributeInt(node: NodeProto, name: string): number | undefined {
  const a = node.attribute.find((x) => x.name === name);
  return a && a.type === AttributeProto_AttributeType.INT ? Number(a.i) : undefined;
}

/** Operators whose outputs have one fixed type regardless of their inputs. */
const FIXED: Record<string, number[]> = {
  Shape: [T.INT64],
  Size: [T.INT64],
  ArgMax: [T.INT64],
  ArgMin: [T.INT64],
  NonZero: [T.INT64],
  NonMaxSuppression: [T.INT64],
  Equal: [T.BOOL],
  Less: [T.BOOL],
  LessOrEqual: [T.BOOL],
  Greater: [T.BOOL],
  GreaterOrEqual: [T.BOOL],
  Not: [T.BOOL],
  And: [T.BOOL],
  Or: [T.BOOL],
  Xor: [T.BOOL],
  IsNaN: [T.BOOL],
  IsInf: [T.BOOL],
  MatMulInteger: [T.INT32],
  ConvInteger: [T.INT32],
  DynamicQuantizeLinear: [T.UINT8, T.FLOAT, T.UINT8],
  StringNormalizer: [T.STRING],
};

/** Operators with an int64 index output after a same-as-input output. */
const INDEX_SECOND: ReadonlySet<string> = new Set(['TopK', 'MaxPool']);

function outputTypes(node: NodeProto, typeOf: (name: string) => number | undefined): (number | undefined)[] {
  const input = (i: number) => (node.input[i] ? typeOf(node.input[i]!) : undefined);
  const first = node.input.map((n) => (n ? typeOf(n) : undefined)).find((t) => t !== undefined);
  const all = (t: number | undefined) => node.output.map(() => t);
  if (node.domain !== '' && node.domain !== 'ai.onnx') return all(undefined);
  const fixed = FIXED[node.opType];
  if (fixed) return node.output.map((_, i) => fixed[i] ?? fixed[0]);
  switch (node.opType) {
    case 'Cast': return all(attributeInt(node, 'to'));
    case 'CastLike': return all(input(1));
    case 'Constant': {
      const a = node.attribute[0];
      if (!a) return all(undefined);
      if (a.t) return all(a.t.dataType);
      if (a.name === 'value_float' || a.name === 'value_floats') return all(T.FLOAT);
      if (a.name === 'value_int' || a.name === 'value_ints') return all(T.INT64);
      if (a.name === 'value_string' || a.name === 'value_strings') return all(T.STRING);
      return all(undefined);
    }
    case 'ConstantOfShape': {
      const value = node.attribute.find((a) => a.name === 'value');
      return all(value?.t ? value.t.dataType : T.FLOAT);
    }
    case 'EyeLike':
    case 'RandomNormalLike':
    case 'RandomUniformLike': return all(attributeInt(node, 'dtype') ?? input(0));
    case 'RandomNormal':
    case 'RandomUniform':
    case 'Multinomial': return all(attributeInt(node, 'dtype') ?? (node.opType === 'Multinomial' ? T.INT32 : T.FLOAT));
    case 'Bernoulli': return all(attributeInt(node, 'dtype') ?? input(0));
    case 'Where': return all(input(1));
    case 'OneHot': return all(input(2));
    case 'QuantizeLinear': return all(node.input[2] ? input(2) : T.UINT8);
    case 'DequantizeLinear': return all(input(1));
    case 'QLinearConv':
    case 'QLinearMatMul': return all(input(7));
    case 'Dropout': return node.output.map((_, i) => (i === 0 ? input(0) : T.BOOL));
    case 'Unique': return node.output.map((_, i) => (i === 0 ? input(0) : T.INT64));
    case 'If':
    case 'Loop':
    case 'Scan':
      return all(undefined); // from the body's outputs: controlFlowOutputTypes
    default:
      if (INDEX_SECOND.has(node.opType)) return node.output.map((_, i) => (i === 0 ? first : T.INT64));
      return all(first);
  }
}

const CONTROL_FLOW: ReadonlySet<string> = new Set(['If', 'Loop', 'Scan']);

/**
 * If, Loop and Scan outputs have the types of their body's outputs: a branch's for If (then,
 * else where then does not tell), the body's after its condition for Loop, all of them for
 * Scan. Declared types are read first; the body is inferred (with `outer`'s values in scope)
 * only where they are missing.
 */
function controlFlowOutputTypes(node: NodeProto, outer: ReadonlyMap<string, number>): (number | undefined)[] {
  const bodies = (node.opType === 'If' ? ['then_branch', 'else_branch'] : ['body']).map((name) => node.attribute.find((a) => a.name === name)?.g);
  const skip = node.opType === 'Loop' ? 1 : 0;
  const inferred = new Map<number, Map<string, number>>();
  return node.output.map((_, k) => {
    for (const [b, body] of bodies.entries()) {
      const o = body?.output[k + skip];
      if (!body || !o) continue;
      const declared = valueInfoElemType(o);
      if (declared !== undefined) return declared;
      if (!inferred.has(b)) inferred.set(b, inferElemTypes(body, outer));
      const t = inferred.get(b)!.get(o.name);
      if (t !== undefined) return t;
    }
    return undefined;
  });
}

/**
 * Maps every value name of `graph` (inputs, initializers, node outputs) to its ONNX element
 * type where it can be told; values of unknown type (custom-domain ops without value_info)
 * are absent. Values inside subgraphs are not listed: infer a body with this map as `outer`,
 * which supplies the types of the outer-scope values it reads.
 */
export function inferElemTypes(graph: GraphProto, outer?: ReadonlyMap<string, number>): Map<string, number> {
  const types = new Map<string, number>(outer);
  for (const init of graph.initializer) types.set(init.name, init.dataType);
  for (const info of [...graph.input, ...graph.valueInfo, ...graph.output]) {
    const t = valueInfoElemType(info);
    if (t !== undefined && !types.has(info.name)) types.set(info.name, t);
  }
  for (const node of graph.node) {
    const out = CONTROL_FLOW.has(node.opType) && (node.domain === '' || node.domain === 'ai.onnx') ? controlFlowOutputTypes(node, types) : outputTypes(node, (n) => types.get(n));
    node.output.forEach((name, i) => {
      const t = out[i];
      if (name && t !== undefined && !types.has(name)) types.set(name, t);
    });
  }
  return types;
}
