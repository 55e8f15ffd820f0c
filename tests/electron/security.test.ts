import { readFileSync } from 'node:fs';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { COMMAND_CHANNELS, parseEngineCall, parseEngineReply, validateCommand } from '../../electron/ipc.js';
import { appFilePath, CONTENT_SECURITY_POLICY, isAppUrl, isTrustedSender, permissionAllowed, WEB_PREFERENCES } from '../../electron/security.js';
import { harmonicToneWav } from '../engine/fixtures.js';

const source = (path: string): string => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

describe('desktop window security', () => {
  it('isolates and sandboxes the renderer', () => {
    expect(WEB_PREFERENCES).toMatchObject({ contextIsolation: true, nodeIntegration: false, nodeIntegrationInWorker: false, nodeIntegrationInSubFrames: false, sandbox: true, webSecurity: true, allowRunningInsecureContent: false, webviewTag: false });
    expect(Object.isFrozen(WEB_PREFERENCES)).toBe(true);
    expect(source('electron/main.ts')).toContain('webPreferences: { ...WEB_PREFERENCES, preload: PRELOAD }');
  });

  it('has a strict CSP: own scripts only, no eval, no remote hosts', () => {
    const directives = new Map(CONTENT_SECURITY_POLICY.split(';').map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name!, values]));
    expect(directives.get('default-src')).toEqual(["'none'"]);
    expect(directives.get('script-src')).toEqual(["'self'"]);
    expect(directives.get('object-src')).toEqual(["'none'"]);
    expect(directives.get('frame-ancestors')).toEqual(["'none'"]);
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe-eval|https?:|\*/);
  });

  it('recognises only its own pages, grants only the microphone to them, and trusts only its own main frame', () => {
    expect(isAppUrl('timbre://app/index.html')).toBe(true);
    expect(isAppUrl('timbre://other/index.html')).toBe(false);
    expect(isAppUrl('https://example.com/')).toBe(false);
    expect(isAppUrl('file:///etc/passwd')).toBe(false);
    expect(permissionAllowed('media', 'timbre://app/index.html', ['audio'])).toBe(true);
    expect(permissionAllowed('media', 'timbre://app/index.html', ['video'])).toBe(false);
    expect(permissionAllowed('geolocation', 'timbre://app/index.html')).toBe(false);
    expect(permissionAllowed('media', 'https://evil.example/', ['audio'])).toBe(false);
    const own = { webContentsId: 7, frameUrl: 'timbre://app/index.html', isMainFrame: true };
    expect(isTrustedSender(own, 7)).toBe(true);
    expect(isTrustedSender({ ...own, webContentsId: 8 }, 7)).toBe(false);
    expect(isTrustedSender({ ...own, isMainFrame: false }, 7)).toBe(false);
    expect(isTrustedSender({ ...own, frameUrl: 'https://evil.example/' }, 7)).toBe(false);
    expect(isTrustedSender(own, undefined)).toBe(false);
  });

  it('serves only files inside the UI folder', () => {
    expect(appFilePath('/ui', 'timbre://app/')).toBe('/ui/index.html');
    expect(appFilePath('/ui', 'timbre://app/assets/index.js')).toBe('/ui/assets/index.js');
    for (const attack of ['timbre://app/../secret', 'timbre://app/%2e%2e/secret', 'timbre://app/assets/%2e%2e%2f%2e%2e%2fetc', 'timbre://app/a%5c..%5cb', 'timbre://app/%00x']) {
      const path = appFilePath('/ui', attack);
      expect(path === null || (path.startsWith('/ui/') && !path.slice(4).split('/').includes('..')), attack).toBe(true);
    }
    expect(appFilePath('/ui', 'timbre://app/assets/%2e%2e%2f%2e%2e%2fetc')).toBeNull();
    expect(appFilePath('/ui', 'timbre://elsewhere/index.html')).toBeNull();
    expect(appFilePath('/ui', 'https://app/index.html')).toBeNull();
  });
});

describe('IPC contract', () => {
  it('validates every command where it is received', () => {
    const wav = harmonicToneWav({ seconds: 0.1 });
    expect(validateCommand('timbre:info', [])).toEqual([]);
    expect(() => validateCommand('timbre:info', ['x'])).toThrow(/takes no arguments/);
    expect(() => validateCommand('timbre:voicePreview', ['../x'])).toThrow(/voiceId/);
    expect(validateCommand('timbre:startConversion', [{ input: { kind: 'wav-bytes', bytes: wav }, targetVoiceId: 'v' }])[0].targetVoiceId).toBe('v');
    expect(() => validateCommand('timbre:startConversion', [{ input: { kind: 'path', path: '/etc/passwd' }, targetVoiceId: 'v' }])).toThrow(/not accepted/);
    expect(() => validateCommand('timbre:saveFile', [{ fileName: '../../x.wav', mimeType: 'audio/wav', bytes: wav }])).toThrow(/fileName/);
    expect(() => validateCommand('timbre:exportLanes', [{ jobId: 'j', format: 'exe' }])).toThrow(/format/);
    expect(() => validateCommand('timbre:nope' as never, [])).toThrow(/unknown IPC channel/);
  });

  it('drops malformed messages between main and the engine process', () => {
    expect(() => parseEngineCall({ kind: 'call', id: 1, method: 'rm -rf', args: [] })).toThrow();
    expect(parseEngineCall({ kind: 'call', id: 1, method: 'info', args: [] }).method).toBe('info');
    expect(parseEngineReply({ kind: 'event', message: { jobId: 'j', name: 'hack', args: [] } })).toBeNull();
    expect(parseEngineReply({ kind: 'result', id: 1, ok: false, error: 'x' })).toBeNull();
    expect(parseEngineReply({ kind: 'event', message: { jobId: 'j', name: 'progress', args: [{}] } })).not.toBeNull();
  });

  it('the preload exposes only `timbre`, calls only contract channels, never ipcRenderer, and filters events', async () => {
    const code = ts.transpileModule(source('electron/preload.cts'), { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } }).outputText;
    const exposed = new Map<string, unknown>();
    const invoked: string[] = [];
    const listeners: ((event: unknown, message: unknown) => void)[] = [];
    const fakeElectron = {
      contextBridge: { exposeInMainWorld: (key: string, api: unknown) => exposed.set(key, api) },
      ipcRenderer: {
        invoke: async (channel: string) => invoked.push(channel),
        on: (_channel: string, listener: (event: unknown, message: unknown) => void) => listeners.push(listener),
        removeListener: () => undefined,
      },
    };
    const exports = {};
    new Function('require', 'exports', 'module', code)((name: string) => (name === 'electron' ? fakeElectron : undefined), exports, { exports });
    expect([...exposed.keys()]).toEqual(['timbre']);
    const bridge = exposed.get('timbre') as Record<string, (...args: unknown[]) => unknown>;
    expect(Object.values(bridge).every((v) => typeof v === 'function')).toBe(true);
    expect(Object.values(bridge)).not.toContain(fakeElectron.ipcRenderer);
    for (const [name, fn] of Object.entries(bridge)) if (!/^on[A-Z]/.test(name)) await fn({});
    expect(new Set(invoked)).toEqual(new Set(COMMAND_CHANNELS));
    const received: unknown[] = [];
    bridge.onJobEvent!((m: unknown) => received.push(m));
    listeners[0]!(null, { jobId: 'j', name: 'progress', args: [{}] });
    listeners[0]!(null, { jobId: 'j', name: 'evil', args: [] });
    listeners[0]!(null, 'garbage');
    expect(received).toHaveLength(1);
    const training: unknown[] = [];
    const menu: unknown[] = [];
    bridge.onTrainingEvent!((m: unknown) => training.push(m));
    bridge.onMenuCommand!((c: unknown) => menu.push(c));
    listeners[1]!(null, { jobId: 't', name: 'progress', args: [{}] });
    listeners[1]!(null, { jobId: 't', name: 'lane', args: [{}] });
    listeners[2]!(null, 'open');
    listeners[2]!(null, 'rm -rf');
    expect(training).toHaveLength(1);
    expect(menu).toEqual(['open']);
  });

  it('validates training and voice commands, and engine training events', () => {
    expect(validateCommand('timbre:startTraining', [{ target: { kind: 'model', model: 'vae' }, steps: 3 }])[0].steps).toBe(3);
    expect(() => validateCommand('timbre:startTraining', [{ target: { kind: 'model', model: 'vae' }, steps: 0 }])).toThrow(/steps/);
    expect(() => validateCommand('timbre:addVoice', [{ name: 'me', recordings: [{ bytes: 'not bytes' }] }])).toThrow(/recordings\[0\]\.bytes/);
    expect(() => validateCommand('timbre:removeVoice', ['../x'])).toThrow(/voiceId/);
    expect(() => validateCommand('timbre:voiceReach', ['../x'])).toThrow(/voiceId/);
    expect(validateCommand('timbre:voiceReach', ['anna'])).toEqual(['anna']);
    expect(parseEngineReply({ kind: 'trainingEvent', message: { jobId: 't', name: 'done', args: [{}] } })).not.toBeNull();
    expect(parseEngineReply({ kind: 'trainingEvent', message: { jobId: 't', name: 'lane', args: [{}] } })).toBeNull();
  });
});
