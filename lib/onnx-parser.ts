/**
 * OnnxParser: fills a NetworkDefinition from an ONNX model, as nvonnxparser::IParser.
 * Parsing runs on a worker thread.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

import { awaitNative, InvalidArgumentError } from './errors.js';
import type { Logger } from './logger.js';
import { NetworkDefinition } from './network-definition.js';
import { expectBytes, expectString } from './validate.js';

export class OnnxParser {
  readonly #network: NetworkDefinition;

  /**
   * A parser that fills `network` (from builder.createNetworkV2()). Messages go to the
   * builder's logger; `logger` is accepted for symmetry with TensorRT's OnnxParser(network,
   * logger) and must be that same logger if given.
   * @throws InvalidArgumentError if `network` is not a NetworkDefinition
   */
  constructor(network: NetworkDefinition, logger?: Logger) {
    if (!(network instanceof NetworkDefinition)) throw new InvalidArgumentError('OnnxParser needs a NetworkDefinition from builder.createNetworkV2()');
    void logger;
    this.#network = network;
  }

  /**
   * Parses an ONNX model held in memory. External data files, if the model has any, are looked
   * up relative to `modelDir` (default: the current directory).
   * @throws OnnxParseError listing every parser error (node, operator, description)
   */
  async parse(model: Uint8Array | ArrayBufferLike, modelDir = '.'): Promise<void> {
    const bytes = expectBytes(model, 'ONNX model');
    if (bytes.byteLength === 0) throw new InvalidArgumentError('the ONNX model is empty (0 bytes)');
    const network = await awaitNative(() => this.#network.builderHandle().parseOnnx(bytes, resolve(modelDir), { stronglyTyped: this.#network.stronglyTyped }));
    this.#network.attach(network);
  }

  /**
   * Reads and parses an ONNX file; external data is resolved next to it.
   * @throws OnnxParseError; InvalidArgumentError if the file cannot be read
   */
  async parseFromFile(path: string): Promise<void> {
    expectString(path, 'ONNX model path');
    let bytes: Uint8Array;
    try {
      bytes = await readFile(path);
    } catch (error) {
      throw new InvalidArgumentError(`cannot read the ONNX model ${path}: ${(error as Error).message}`);
    }
    await this.parse(bytes, dirname(resolve(path)));
  }
}
