// Electron main process: one window on timbre://app (strict CSP, isolated, sandboxed, no remote content),
// menus, native open/save dialogs, and the engine in a utility process; IPC only from our own window.

import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EngineErrorInfo, ExportFile, JobEventMessage, MenuCommand, TrainingEventMessage } from '../src/engine/api.js';
import { toErrorInfo } from '../src/engine/errors.js';
import { writeFileAtomic } from '../src/io/atomicWrite.js';
import {
  COMMAND_CHANNELS,
  errorForRenderer,
  JOB_EVENT_CHANNEL,
  MAX_IPC_WAV_BYTES,
  MENU_COMMAND_CHANNEL,
  TRAINING_EVENT_CHANNEL,
  parseEngineReply,
  validateCommand,
  type CommandChannel,
  type EngineCall,
  type EngineMethod,
  type IpcCommands,
} from './ipc.js';
import { APP_ORIGIN, APP_SCHEME, appFilePath, CONTENT_SECURITY_POLICY, isAppUrl, isTrustedSender, permissionAllowed, WEB_PREFERENCES } from './security.js';

// The few Electron APIs used here, typed locally so the project builds where the electron package is absent.
interface WebContents {
  id: number;
  send(channel: string, ...args: unknown[]): void;
  on(event: 'will-navigate' | 'will-redirect', listener: (event: { preventDefault(): void }, url: string) => void): void;
  on(event: 'will-attach-webview', listener: (event: { preventDefault(): void }) => void): void;
  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'deny' }): void;
  session: Session;
}
interface Session {
  setPermissionRequestHandler(handler: (wc: WebContents, permission: string, callback: (granted: boolean) => void, details: { requestingUrl: string; mediaTypes?: string[] }) => void): void;
  setPermissionCheckHandler(handler: (wc: WebContents | null, permission: string, requestingOrigin: string) => boolean): void;
  webRequest: { onBeforeRequest(filter: { urls: string[] }, listener: (details: { url: string }, callback: (response: { cancel: boolean }) => void) => void): void };
}
interface BrowserWindowInstance {
  webContents: WebContents;
  loadURL(url: string): Promise<void>;
  once(event: 'ready-to-show', listener: () => void): void;
  on(event: 'closed', listener: () => void): void;
  show(): void;
}
interface IpcMainEvent {
  sender: WebContents;
  senderFrame: { url: string; parent: unknown } | null;
}
interface UtilityProcess {
  postMessage(message: unknown): void;
  on(event: 'message', listener: (message: unknown) => void): void;
  on(event: 'exit', listener: (code: number) => void): void;
  kill(): boolean;
}
interface ElectronMain {
  app: {
    whenReady(): Promise<void>;
    on(event: 'window-all-closed' | 'web-contents-created', listener: (...args: never[]) => void): void;
    quit(): void;
    isPackaged: boolean;
    setAboutPanelOptions?(options: Record<string, string>): void;
  };
  BrowserWindow: new (options: Record<string, unknown>) => BrowserWindowInstance;
  Menu: { buildFromTemplate(template: unknown[]): unknown; setApplicationMenu(menu: unknown): void };
  dialog: {
    showSaveDialog(window: BrowserWindowInstance, options: Record<string, unknown>): Promise<{ canceled: boolean; filePath?: string }>;
    showOpenDialog(window: BrowserWindowInstance, options: Record<string, unknown>): Promise<{ canceled: boolean; filePaths: string[] }>;
  };
  ipcMain: { handle(channel: string, listener: (event: IpcMainEvent, ...args: unknown[]) => Promise<unknown>): void };
  protocol: {
    registerSchemesAsPrivileged(schemes: { scheme: string; privileges: Record<string, boolean> }[]): void;
    handle(scheme: string, handler: (request: { url: string }) => Promise<Response> | Response): void;
  };
  session: { defaultSession: Session };
  utilityProcess: { fork(modulePath: string, args?: string[], options?: Record<string, unknown>): UtilityProcess };
}

const here = dirname(fileURLToPath(import.meta.url)); // dist/electron
const UI_DIR = join(here, '..', 'ui');
const PRELOAD = join(here, 'preload.cjs');
const ENGINE_HOST = join(here, 'engineHost.js');

const MIME: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.png': 'image/png', '.map': 'application/json' };

async function main(): Promise<void> {
  const electronModule: string = 'electron';
  const electron = (await import(electronModule)) as ElectronMain;
  const { app, BrowserWindow, Menu, dialog, ipcMain, protocol, session, utilityProcess } = electron;

  protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, stream: true } }]);

  // Nothing may navigate, open windows or attach webviews: every webContents, not only ours.
  app.on('web-contents-created', ((_event: unknown, contents: WebContents) => {
    contents.setWindowOpenHandler(() => ({ action: 'deny' }));
    contents.on('will-navigate', (event, url) => {
      if (!isAppUrl(url)) event.preventDefault();
    });
    contents.on('will-redirect', (event, url) => {
      if (!isAppUrl(url)) event.preventDefault();
    });
    contents.on('will-attach-webview', (event) => event.preventDefault());
  }) as never);
  app.on('window-all-closed', (() => app.quit()) as never);

  await app.whenReady();

  protocol.handle(APP_SCHEME, async (request) => {
    const path = appFilePath(UI_DIR, request.url, sep);
    if (path === null || !path.startsWith(UI_DIR + sep)) return new Response('not found', { status: 404 });
    try {
      if (!(await stat(path)).isFile()) throw new Error('not a file');
      const body = await readFile(path);
      return new Response(body, {
        headers: { 'Content-Type': MIME[extname(path)] ?? 'application/octet-stream', 'Content-Security-Policy': CONTENT_SECURITY_POLICY, 'X-Content-Type-Options': 'nosniff' },
      });
    } catch {
      return new Response(path.endsWith('index.html') ? 'The UI is not built: run "npm run build:ui".' : 'not found', { status: 404 });
    }
  });

  const defaultSession = session.defaultSession;
  defaultSession.setPermissionRequestHandler((_wc, permission, callback, details) => callback(permissionAllowed(permission, details.requestingUrl, details.mediaTypes ?? [])));
  defaultSession.setPermissionCheckHandler((_wc, permission, origin) => permission === 'media' && origin.startsWith(APP_ORIGIN));
  // No remote content: only our scheme, blob: and data: URLs load.
  defaultSession.webRequest.onBeforeRequest({ urls: ['http://*/*', 'https://*/*', 'ws://*/*', 'wss://*/*', 'file://*/*'] }, (_details, callback) => callback({ cancel: true }));

  // The engine process, under the V8 flag that lets its lanes use both cores (see src/cli/relaunch.ts).
  const engineProcess = utilityProcess.fork(ENGINE_HOST, [], { serviceName: 'Timbre engine', stdio: 'inherit', execArgv: ['--single-threaded-gc'] });
  let nextId = 1;
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: EngineErrorInfo) => void }>();
  let window: BrowserWindowInstance | undefined;
  engineProcess.on('message', (data) => {
    const reply = parseEngineReply(data);
    if (reply === null) return;
    if (reply.kind === 'event') {
      window?.webContents.send(JOB_EVENT_CHANNEL, reply.message satisfies JobEventMessage);
      return;
    }
    if (reply.kind === 'trainingEvent') {
      window?.webContents.send(TRAINING_EVENT_CHANNEL, reply.message satisfies TrainingEventMessage);
      return;
    }
    const waiter = pending.get(reply.id);
    pending.delete(reply.id);
    if (!waiter) return;
    if (reply.ok) waiter.resolve(reply.value);
    else waiter.reject(reply.error);
  });
  engineProcess.on('exit', (code) => {
    for (const waiter of pending.values()) waiter.reject({ code: 'INTERNAL', message: `the engine process stopped (exit code ${code}); restart Timbre` });
    pending.clear();
  });
  const callEngine = (method: EngineMethod, args: unknown[]): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      engineProcess.postMessage({ kind: 'call', id, method, args } satisfies EngineCall);
    });

  type Handler<C extends CommandChannel> = (...args: IpcCommands[C]['request']) => Promise<IpcCommands[C]['response']>;
  const handlers: { [C in CommandChannel]: Handler<C> } = {
    'timbre:info': () => callEngine('info', []) as never,
    'timbre:listVoices': () => callEngine('listVoices', []) as never,
    'timbre:voicePreview': (voiceId) => callEngine('voicePreview', [voiceId]) as never,
    'timbre:listModels': () => callEngine('listModels', []) as never,
    'timbre:startConversion': (request) => callEngine('convert', [request]) as never,
    'timbre:cancel': (jobId) => callEngine('cancel', [jobId]) as never,
    'timbre:exportLanes': (request) => callEngine('exportLanes', [request]) as never,
    'timbre:listTrainers': () => callEngine('listTrainers', []) as never,
    'timbre:startTraining': (request) => callEngine('train', [request]) as never,
    'timbre:addVoice': (request) => callEngine('addVoice', [request]) as never,
    'timbre:removeVoice': (voiceId) => callEngine('removeVoice', [voiceId]) as never,
    'timbre:voiceReach': (voiceId) => callEngine('voiceReach', [voiceId]) as never,
    'timbre:saveFile': async (file: ExportFile) => {
      const extension = extname(file.fileName).slice(1) || 'bin';
      const result = await dialog.showSaveDialog(window!, { defaultPath: file.fileName, filters: [{ name: extension.toUpperCase(), extensions: [extension] }] });
      if (result.canceled || !result.filePath) return undefined;
      await writeFileAtomic(result.filePath, file.bytes, { overwrite: true }); // the save dialog already asked
      return result.filePath;
    },
    'timbre:openWavFile': async () => {
      const result = await dialog.showOpenDialog(window!, { properties: ['openFile'], filters: [{ name: 'WAV audio', extensions: ['wav', 'wave'] }] });
      const path = result.filePaths[0];
      if (result.canceled || path === undefined) return undefined;
      const size = (await stat(path)).size;
      if (size > MAX_IPC_WAV_BYTES) throw { code: 'INPUT_TOO_LARGE', message: `${basename(path)} is ${(size / 1e6).toFixed(1)} MB; the limit is ${MAX_IPC_WAV_BYTES / 1e6} MB`, field: 'input' } satisfies EngineErrorInfo;
      return { name: basename(path), bytes: new Uint8Array(await readFile(path)) };
    },
  };
  for (const channel of COMMAND_CHANNELS) {
    ipcMain.handle(channel, async (event, ...args) => {
      const frame = event.senderFrame;
      const trusted = frame !== null && isTrustedSender({ webContentsId: event.sender.id, frameUrl: frame.url, isMainFrame: frame.parent === null }, window?.webContents.id);
      if (!trusted) throw errorForRenderer({ code: 'UNAUTHORIZED', message: 'IPC from an unknown sender was dropped' });
      try {
        const valid = validateCommand(channel, args);
        return await (handlers[channel] as (...a: unknown[]) => Promise<unknown>)(...valid);
      } catch (error) {
        const info = typeof error === 'object' && error !== null && 'code' in error && 'message' in error && !(error instanceof Error) ? (error as EngineErrorInfo) : toErrorInfo(error);
        throw errorForRenderer(info);
      }
    });
  }

  const isMac = process.platform === 'darwin';
  // Open… and Export… run in the page (it owns the input and the lanes); the page then uses the native dialogs above.
  const menuCommand = (command: MenuCommand) => () => window?.webContents.send(MENU_COMMAND_CHANNEL, command);
  Menu.setApplicationMenu(
    Menu.buildFromTemplate([
      ...(isMac ? [{ role: 'appMenu' }] : []),
      {
        label: 'File',
        submenu: [
          { label: 'Open…', accelerator: 'CmdOrCtrl+O', click: menuCommand('open') },
          { label: 'Export…', accelerator: 'CmdOrCtrl+E', click: menuCommand('export') },
          { type: 'separator' },
          isMac ? { role: 'close' } : { role: 'quit' },
        ],
      },
      { role: 'editMenu' },
      { label: 'View', submenu: [{ role: 'resetZoom' }, { role: 'zoomIn' }, { role: 'zoomOut' }, { type: 'separator' }, { role: 'togglefullscreen' }, ...(app.isPackaged ? [] : [{ role: 'toggleDevTools' }])] },
      { role: 'windowMenu' },
    ]),
  );

  window = new BrowserWindow({
    width: 1200,
    height: 900,
    minWidth: 800,
    minHeight: 600,
    title: 'Timbre',
    show: false,
    backgroundColor: '#f8fafc',
    webPreferences: { ...WEB_PREFERENCES, preload: PRELOAD },
  });
  window.once('ready-to-show', () => window?.show());
  window.on('closed', () => {
    window = undefined;
    engineProcess.kill();
  });
  await window.loadURL(`${APP_ORIGIN}/index.html`);
}

main().catch((error: unknown) => {
  console.error(`timbre: the desktop app failed to start: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
  process.exit(1);
});
