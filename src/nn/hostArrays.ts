// Moving float32 values between JS arrays and tensors for data-parallel training. On the wasm backend a tensor's
// values live in the module's heap, so reading them is one `set` from a heap view (no 6 MB temporary per step, and
// none of the garbage it would make); writing into a variable goes through new memory (see assignFromArray).

import * as tf from '@tensorflow/tfjs';

interface WasmInternals {
  readonly wasm?: { readonly HEAPU8: Uint8Array };
  readonly dataIdMap?: { get(dataId: object): { memoryOffset: number } | undefined };
}

/** The wasm heap's float32 view of `tensor`'s values, or null off wasm (read the heap after any allocation: it may grow). */
function wasmValues(tensor: tf.Tensor): Float32Array | null {
  if (tf.getBackend() !== 'wasm' || tensor.dtype !== 'float32') return null;
  const backend = tf.backend() as unknown as WasmInternals;
  const info = backend.dataIdMap?.get(tensor.dataId);
  const heap = backend.wasm?.HEAPU8;
  return info && heap ? new Float32Array(heap.buffer, info.memoryOffset, tensor.size) : null;
}

/** Copies a float32 tensor's values into `target`. */
export function copyTensorInto(tensor: tf.Tensor, target: Float32Array): void {
  const values = wasmValues(tensor);
  target.set(values ?? (tensor.dataSync() as Float32Array));
}

/**
 * Sets `variable` to `values` through new memory. Writing over the variable's own heap memory would be faster but
 * wrong on wasm: its matMul keeps XNNPACK operators with weights packed once per tensor id, so they would go stale.
 */
export function assignFromArray(variable: tf.Variable, values: Float32Array): void {
  const data = tf.getBackend() === 'wasm' ? values : values.slice(); // wasm copies into its heap; others may keep the array
  tf.tidy(() => variable.assign(tf.tensor(data, variable.shape, 'float32')));
}
