// The declarations hide what is internal: native handles and library-only constructors are
// stripped (stripInternal), so they are neither in autocomplete nor callable from TypeScript.
import { Engine, ExecutionContext, Logger, type NetworkDefinition, Tensor } from 'tensorrt-node';

// @ts-expect-error a library-only shortcut, not part of the API
Tensor.trusted('float32', new Float32Array(1), [1]);
// @ts-expect-error the native logger is internal
new Logger().handle();
// @ts-expect-error contexts come from engine.createExecutionContext()
new ExecutionContext();
// @ts-expect-error engines come from runtime.deserializeCudaEngine()
new Engine();

export function network(n: NetworkDefinition): void {
  // @ts-expect-error the network's native handle is internal
  n.handle();
  // @ts-expect-error so is its builder's
  n.builderHandle();
}
