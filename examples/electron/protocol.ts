// The messages between the Electron main process and the inference utility process.

/** One batch for the model: x, flattened, a multiple of 8 values (rows of the MLP's input). */
export interface InferenceRequest {
  id: number;
  x: number[];
}

/** The model's output for a request, flattened, or why it failed. */
export type InferenceReply = { id: number; y: number[]; error?: undefined } | { id: number; error: string };
