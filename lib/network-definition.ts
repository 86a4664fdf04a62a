/**
 * NetworkDefinition: the network an OnnxParser fills, as TensorRT's INetworkDefinition
 * (read-only here: networks come from ONNX).
 */
import type { DataType } from './dtype.js';
import { InvalidArgumentError } from './errors.js';
import type { NativeBuilder, NativeNetwork, NativeTensorDesc } from './native.js';
import { NativeResource } from './resource.js';

/** Name, element type and shape of a network or engine tensor; -1 marks a dynamic dimension. */
export interface TensorInfo {
  name: string;
  dtype: DataType;
  shape: readonly number[];
  /**
   * True for a shape-tensor input: an int32/int64 input of rank 0 or 1 whose values decide the
   * shapes of other tensors (it feeds Reshape's shape, Expand, Tile's repeats, ConstantOfShape,
   * Slice's bounds, Pad's pads or Resize's sizes). TensorRT reads it on the host
   * (isShapeInferenceIO, TensorLocation kHOST), and every optimization profile must give the
   * range of its values with OptimizationProfile.setShapeValues.
   */
  isShapeTensor: boolean;
}

export function toTensorInfo(d: NativeTensorDesc): TensorInfo {
  return { name: d.name, dtype: d.dtype, shape: Object.freeze([...d.shape]), isShapeTensor: d.isShapeTensor === true };
}

export class NetworkDefinition extends NativeResource {
  #native: NativeNetwork | undefined;
  #inputs: TensorInfo[] = [];
  #outputs: TensorInfo[] = [];
  #numLayers = 0;
  /** @internal the native builder that parses into and builds this network */
  readonly builderHandle: () => NativeBuilder;

  /**
   * Whether every tensor keeps the type the model declares (TensorRT's
   * NetworkDefinitionCreationFlag.kSTRONGLY_TYPED). Precision then comes from the model, and the
   * fp16/int8 builder flags are refused. Always the effective behaviour on TensorRT 11.
   */
  readonly stronglyTyped: boolean;

  /** @internal made by Builder.createNetworkV2 */
  constructor(parent: NativeResource, builderHandle: () => NativeBuilder, stronglyTyped = false) {
    super('NetworkDefinition', parent);
    this.builderHandle = builderHandle;
    this.stronglyTyped = stronglyTyped;
  }

  /** @internal called by OnnxParser with the parsed network */
  attach(network: NativeNetwork): void {
    this.assertLive();
    if (this.#native) {
      network.dispose();
      throw new InvalidArgumentError('this NetworkDefinition already holds a parsed model; create a new one with builder.createNetworkV2()');
    }
    this.#native = network;
    const info = network.info();
    this.#inputs = info.inputs.map(toTensorInfo);
    this.#outputs = info.outputs.map(toTensorInfo);
    this.#numLayers = info.numLayers;
  }

  /** True once a parser has filled this network. */
  get parsed(): boolean {
    return this.#native !== undefined;
  }

  get inputs(): readonly TensorInfo[] {
    this.assertLive();
    return this.#inputs;
  }

  get outputs(): readonly TensorInfo[] {
    this.assertLive();
    return this.#outputs;
  }

  get numInputs(): number {
    return this.inputs.length;
  }

  get numOutputs(): number {
    return this.outputs.length;
  }

  get numLayers(): number {
    this.assertLive();
    return this.#numLayers;
  }

  /** @internal the native network, for the builder */
  handle(): NativeNetwork {
    this.assertLive();
    if (!this.#native) throw new InvalidArgumentError('the network is empty: parse an ONNX model into it with an OnnxParser first');
    return this.#native;
  }

  protected releaseNative(): void {
    this.#native?.dispose();
    this.#native = undefined;
  }
}
