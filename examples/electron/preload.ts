// The renderer's only way to inference: one function, over IPC to the main process, which
// forwards to the utility process. The renderer never loads the addon.
import { contextBridge, ipcRenderer } from 'electron';

contextBridge.exposeInMainWorld('inference', {
  run: (x: number[]): Promise<number[]> => ipcRenderer.invoke('inference:run', x),
});
