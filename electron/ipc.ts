// The one IPC contract of the desktop app: renderer → main commands (each `{ request; response }`),
// main → renderer events, and main ↔ engine-process messages; with the validators used where received.

import type {
  AddVoiceRequest,
  ConvertRequest,
  EngineErrorInfo,
  EngineInfo,
  ExportFile,
  ExportRequest,
  JobEventMessage,
  MenuCommand,
  ModelInfo,
  OpenedFile,
  TrainerInfo,
  TrainingEventMessage,
  TrainRequest,
  VoiceInfo,
  VoiceReach,
} from '../src/engine/api.js';
import { EngineError } from '../src/engine/errors.js';
import { validateAddVoiceRequest, validateConvertRequest, validateExportRequest, validateId, validateTrainRequest } from '../src/engine/validate.js';

/** Renderer → main commands (ipcRenderer.invoke / ipcMain.handle). */
export interface IpcCommands {
  'timbre:info': { request: []; response: EngineInfo };
  'timbre:listVoices': { request: []; response: VoiceInfo[] };
  'timbre:voicePreview': { request: [voiceId: string]; response: ExportFile };
  'timbre:listModels': { request: []; response: ModelInfo[] };
  'timbre:startConversion': { request: [request: ConvertRequest]; response: { jobId: string } };
  'timbre:cancel': { request: [jobId: string]; response: void };
  'timbre:exportLanes': { request: [request: ExportRequest]; response: ExportFile };
  'timbre:saveFile': { request: [file: ExportFile]; response: string | undefined };
  'timbre:openWavFile': { request: []; response: OpenedFile | undefined };
  'timbre:listTrainers': { request: []; response: TrainerInfo[] };
  'timbre:startTraining': { request: [request: TrainRequest]; response: { jobId: string } };
  'timbre:addVoice': { request: [request: AddVoiceRequest]; response: VoiceInfo };
  'timbre:removeVoice': { request: [voiceId: string]; response: void };
  'timbre:voiceReach': { request: [voiceId: string]; response: VoiceReach };
}

/** Main → renderer events, each a named tuple. */
export interface IpcEvents {
  'timbre:jobEvent': [message: JobEventMessage];
  'timbre:trainingEvent': [message: TrainingEventMessage];
  'timbre:menuCommand': [command: MenuCommand];
}

export type CommandChannel = keyof IpcCommands;

/** Every command channel (main registers exactly these). */
export const COMMAND_CHANNELS: readonly CommandChannel[] = [
  'timbre:info',
  'timbre:listVoices',
  'timbre:voicePreview',
  'timbre:listModels',
  'timbre:startConversion',
  'timbre:cancel',
  'timbre:exportLanes',
  'timbre:saveFile',
  'timbre:openWavFile',
  'timbre:listTrainers',
  'timbre:startTraining',
  'timbre:addVoice',
  'timbre:removeVoice',
  'timbre:voiceReach',
];

/** The event channel. */
export const JOB_EVENT_CHANNEL: keyof IpcEvents = 'timbre:jobEvent';
/** Training events, and commands of the native menu (Open…, Export…). */
export const TRAINING_EVENT_CHANNEL: keyof IpcEvents = 'timbre:trainingEvent';
export const MENU_COMMAND_CHANNEL: keyof IpcEvents = 'timbre:menuCommand';
/** Names of training events (validated where received). */
export const TRAINING_EVENT_NAMES: readonly string[] = ['start', 'progress', 'validation', 'checkpoint', 'done', 'cancelled', 'error'];

/** Largest WAV accepted over IPC, bytes. */
export const MAX_IPC_WAV_BYTES = 100_000_000;

const noArgs = (channel: string, args: readonly unknown[]): [] => {
  if (args.length !== 0) throw new EngineError('INVALID_ARGUMENT', `${channel} takes no arguments, got ${args.length}`);
  return [];
};

/** Validates a command's arguments as received from the renderer; throws `EngineError` naming the problem. */
export function validateCommand<C extends CommandChannel>(channel: C, args: readonly unknown[]): IpcCommands[C]['request'] {
  const one = (): unknown => {
    if (args.length !== 1) throw new EngineError('INVALID_ARGUMENT', `${channel} takes one argument, got ${args.length}`);
    return args[0];
  };
  switch (channel) {
    case 'timbre:info':
    case 'timbre:listVoices':
    case 'timbre:listModels':
    case 'timbre:openWavFile':
    case 'timbre:listTrainers':
      return noArgs(channel, args) as IpcCommands[C]['request'];
    case 'timbre:voicePreview':
      return [validateId('voiceId', one())] as IpcCommands[C]['request'];
    case 'timbre:cancel':
      return [validateId('jobId', one())] as IpcCommands[C]['request'];
    case 'timbre:removeVoice':
    case 'timbre:voiceReach':
      return [validateId('voiceId', one())] as IpcCommands[C]['request'];
    case 'timbre:startTraining':
      return [validateTrainRequest(one())] as IpcCommands[C]['request'];
    case 'timbre:addVoice':
      return [validateAddVoiceRequest(one())] as IpcCommands[C]['request'];
    case 'timbre:startConversion':
      return [validateConvertRequest(one(), { maxBytes: MAX_IPC_WAV_BYTES, allowPaths: false })] as IpcCommands[C]['request'];
    case 'timbre:exportLanes':
      return [validateExportRequest(one())] as IpcCommands[C]['request'];
    case 'timbre:saveFile': {
      const file = one() as Partial<ExportFile> | null;
      if (typeof file !== 'object' || file === null || typeof file.fileName !== 'string' || !/^[A-Za-z0-9._-]{1,120}$/.test(file.fileName) || typeof file.mimeType !== 'string' || !(file.bytes instanceof Uint8Array)) {
        throw new EngineError('INVALID_ARGUMENT', 'saveFile needs { fileName (letters, digits, ._-), mimeType, bytes: Uint8Array }', 'file');
      }
      if (file.bytes.length > 2 * MAX_IPC_WAV_BYTES) throw new EngineError('INPUT_TOO_LARGE', `file of ${file.bytes.length} bytes is too large to save`, 'file.bytes');
      return [{ fileName: file.fileName, mimeType: file.mimeType, bytes: file.bytes }] as IpcCommands[C]['request'];
    }
    default:
      throw new EngineError('INVALID_ARGUMENT', `unknown IPC channel "${String(channel)}"`);
  }
}

/** Engine methods the engine process serves (a subset of `TimbreApi`, by name). */
export type EngineMethod = 'info' | 'listVoices' | 'voicePreview' | 'listModels' | 'convert' | 'cancel' | 'exportLanes' | 'listTrainers' | 'train' | 'addVoice' | 'removeVoice' | 'voiceReach';
export const ENGINE_METHODS: readonly EngineMethod[] = ['info', 'listVoices', 'voicePreview', 'listModels', 'convert', 'cancel', 'exportLanes', 'listTrainers', 'train', 'addVoice', 'removeVoice', 'voiceReach'];

/** main → engine process. */
export interface EngineCall {
  kind: 'call';
  id: number;
  method: EngineMethod;
  args: unknown[];
}

/** engine process → main. */
export type EngineReply =
  | { kind: 'result'; id: number; ok: true; value: unknown }
  | { kind: 'result'; id: number; ok: false; error: EngineErrorInfo }
  | { kind: 'event'; message: JobEventMessage }
  | { kind: 'trainingEvent'; message: TrainingEventMessage };

const JOB_EVENT_NAMES = new Set(['source', 'progress', 'lane', 'laneError', 'done', 'error']);

/** Checks a message from main in the engine process. */
export function parseEngineCall(data: unknown): EngineCall {
  const m = data as Partial<EngineCall> | null;
  if (typeof m !== 'object' || m === null || m.kind !== 'call' || !Number.isInteger(m.id) || !ENGINE_METHODS.includes(m.method as EngineMethod) || !Array.isArray(m.args)) {
    throw new EngineError('INVALID_ARGUMENT', 'malformed engine call');
  }
  return m as EngineCall;
}

/** Checks a message from the engine process in main; null when malformed (dropped). */
export function parseEngineReply(data: unknown): EngineReply | null {
  const m = data as Record<string, unknown> | null;
  if (typeof m !== 'object' || m === null) return null;
  if (m.kind === 'result' && Number.isInteger(m.id) && typeof m.ok === 'boolean') {
    if (!m.ok && (typeof m.error !== 'object' || m.error === null || typeof (m.error as EngineErrorInfo).code !== 'string')) return null;
    return m as unknown as EngineReply;
  }
  if (m.kind === 'trainingEvent') {
    const message = m.message as Partial<TrainingEventMessage> | null;
    if (typeof message === 'object' && message !== null && typeof message.jobId === 'string' && TRAINING_EVENT_NAMES.includes(String(message.name)) && Array.isArray(message.args)) {
      return m as unknown as EngineReply;
    }
    return null;
  }
  if (m.kind === 'event') {
    const message = m.message as Partial<JobEventMessage> | null;
    if (typeof message === 'object' && message !== null && typeof message.jobId === 'string' && JOB_EVENT_NAMES.has(String(message.name)) && Array.isArray(message.args)) {
      return m as unknown as EngineReply;
    }
  }
  return null;
}

/** How an engine error crosses `ipcMain.handle` (only the message survives): its JSON, which the UI parses back. */
export function errorForRenderer(info: EngineErrorInfo): Error {
  return new Error(JSON.stringify(info));
}
