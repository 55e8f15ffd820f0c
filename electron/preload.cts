// Preload of the Timbre window: exposes only the typed engine bridge as `window.timbre` through
// contextBridge — never ipcRenderer itself. CommonJS because sandboxed preloads cannot be ES modules.

import type { ConvertRequest, ExportFile, ExportRequest, JobEventMessage, TimbreBridge } from '../src/engine/api.js';
import type { IpcCommands, IpcEvents } from './ipc.js';

interface PreloadElectron {
  contextBridge: { exposeInMainWorld(key: string, api: unknown): void };
  ipcRenderer: {
    invoke(channel: string, ...args: unknown[]): Promise<unknown>;
    on(channel: string, listener: (event: unknown, ...args: unknown[]) => void): void;
    removeListener(channel: string, listener: (event: unknown, ...args: unknown[]) => void): void;
  };
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { contextBridge, ipcRenderer } = require('electron') as PreloadElectron;

/** Typed invoke: the channel and its arguments must match the contract in ipc.ts. */
function invoke<C extends keyof IpcCommands>(channel: C, ...args: IpcCommands[C]['request']): Promise<IpcCommands[C]['response']> {
  return ipcRenderer.invoke(channel, ...args) as Promise<IpcCommands[C]['response']>;
}

const JOB_EVENT: keyof IpcEvents = 'timbre:jobEvent';
const EVENT_NAMES = new Set(['source', 'progress', 'lane', 'laneError', 'done', 'error']);

const bridge: TimbreBridge = {
  info: () => invoke('timbre:info'),
  listVoices: () => invoke('timbre:listVoices'),
  voicePreview: (voiceId: string) => invoke('timbre:voicePreview', voiceId),
  listModels: () => invoke('timbre:listModels'),
  startConversion: (request: ConvertRequest) => invoke('timbre:startConversion', request),
  onJobEvent(listener: (message: JobEventMessage) => void) {
    const wrapped = (_event: unknown, message: unknown): void => {
      const m = message as Partial<JobEventMessage> | null;
      // Validated where received: a job id, a known event name and an argument list.
      if (typeof m === 'object' && m !== null && typeof m.jobId === 'string' && EVENT_NAMES.has(String(m.name)) && Array.isArray(m.args)) listener(m as JobEventMessage);
    };
    ipcRenderer.on(JOB_EVENT, wrapped);
    return () => ipcRenderer.removeListener(JOB_EVENT, wrapped);
  },
  cancel: (jobId: string) => invoke('timbre:cancel', jobId),
  exportLanes: (request: ExportRequest) => invoke('timbre:exportLanes', request),
  saveFile: (file: ExportFile) => invoke('timbre:saveFile', file),
  openWavFile: () => invoke('timbre:openWavFile'),
};

contextBridge.exposeInMainWorld('timbre', Object.freeze(bridge));
