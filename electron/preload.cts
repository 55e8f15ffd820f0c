// Preload of the Timbre window: exposes only the typed engine bridge as `window.timbre` through
// contextBridge — never ipcRenderer itself. CommonJS because sandboxed preloads cannot be ES modules.

import type { AddVoiceRequest, ConvertRequest, ExportFile, ExportRequest, JobEventMessage, MenuCommand, TimbreBridge, TrainingEventMessage, TrainRequest } from '../src/engine/api.js';
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
const TRAINING_EVENT: keyof IpcEvents = 'timbre:trainingEvent';
const TRAINING_EVENT_NAMES = new Set(['start', 'progress', 'validation', 'checkpoint', 'done', 'cancelled', 'error']);
const MENU_COMMAND: keyof IpcEvents = 'timbre:menuCommand';
const MENU_COMMANDS = new Set(['open', 'export']);

/** Subscribes to one main → renderer channel, passing on only messages `accept` validates; returns the unsubscribe. */
function subscribe<T>(channel: string, accept: (message: unknown) => message is T, listener: (message: T) => void): () => void {
  const wrapped = (_event: unknown, message: unknown): void => {
    if (accept(message)) listener(message);
  };
  ipcRenderer.on(channel, wrapped);
  return () => ipcRenderer.removeListener(channel, wrapped);
}

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
  listTrainers: () => invoke('timbre:listTrainers'),
  startTraining: (request: TrainRequest) => invoke('timbre:startTraining', request),
  onTrainingEvent: (listener: (message: TrainingEventMessage) => void) =>
    subscribe(
      TRAINING_EVENT,
      (m): m is TrainingEventMessage => {
        const t = m as Partial<TrainingEventMessage> | null;
        return typeof t === 'object' && t !== null && typeof t.jobId === 'string' && TRAINING_EVENT_NAMES.has(String(t.name)) && Array.isArray(t.args);
      },
      listener,
    ),
  addVoice: (request: AddVoiceRequest) => invoke('timbre:addVoice', request),
  removeVoice: (voiceId: string) => invoke('timbre:removeVoice', voiceId),
  voiceReach: (voiceId: string) => invoke('timbre:voiceReach', voiceId),
  onMenuCommand: (listener: (command: MenuCommand) => void) => subscribe(MENU_COMMAND, (m): m is MenuCommand => typeof m === 'string' && MENU_COMMANDS.has(m), listener),
};

contextBridge.exposeInMainWorld('timbre', Object.freeze(bridge));
