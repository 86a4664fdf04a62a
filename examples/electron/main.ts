// An Electron app's main process. Inference runs in a utility process: the addon is built on
// Node-API, so the same binary loads there without an Electron rebuild, and a long build or a
// busy engine never stalls the main process's event loop (which draws every window) or runs in
// the renderer, where native addons do not belong. The renderer asks through the preload
// script's `inference.run(values)`, which reaches the utility process over IPC.
// Build with tsc and start with `electron build/examples/electron/main.js`.
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

import { app, BrowserWindow, ipcMain, utilityProcess } from 'electron';

import type { InferenceReply, InferenceRequest } from './protocol.js';

const here = (file: string): string => fileURLToPath(new URL(file, import.meta.url));

await app.whenReady();

// The engine is built on the user's machine at first start (a TensorRT plan only runs on the
// GPU model and TensorRT version that built it) and kept in the app's data directory.
const inference = utilityProcess.fork(here('./inference-process.js'), [join(app.getPath('userData'), 'engines')], {
  serviceName: 'tensorrt-node inference',
  stdio: 'inherit',
});

let nextId = 0;
const pending = new Map<number, { resolve: (y: number[]) => void; reject: (e: Error) => void }>();
inference.on('message', (reply: InferenceReply) => {
  const call = pending.get(reply.id);
  pending.delete(reply.id);
  if (reply.error !== undefined) call?.reject(new Error(reply.error));
  else call?.resolve(reply.y);
});
inference.on('exit', (code) => {
  for (const call of pending.values()) call.reject(new Error(`the inference process exited with code ${code}`));
  pending.clear();
});

function run(x: number[]): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const id = nextId++;
    pending.set(id, { resolve, reject });
    inference.postMessage({ id, x } satisfies InferenceRequest);
  });
}

ipcMain.handle('inference:run', (_event, x: unknown) => {
  if (!Array.isArray(x) || !x.every((v) => typeof v === 'number')) throw new TypeError('inference.run takes an array of numbers');
  return run(x);
});

// A page that calls the model through the preload script once, and shows the answer.
const page = `<!doctype html><meta charset="utf-8"><title>tensorrt-node in Electron</title><p>y = <output id="y">...</output></p>
<script>window.inference.run([1, 2, 3, 4, 5, 6, 7, 8]).then((y) => (document.getElementById('y').textContent = y.map((v) => v.toFixed(4)).join(', ')),
  (e) => (document.getElementById('y').textContent = String(e)));</script>`;
const window = new BrowserWindow({ width: 640, height: 400, webPreferences: { preload: here('./preload.js'), contextIsolation: true, sandbox: false } });
await window.loadURL(`data:text/html;charset=utf-8,${encodeURIComponent(page)}`);

app.on('window-all-closed', () => {
  inference.kill();
  app.quit();
});
