// Security settings of the desktop window, as plain constants and pure checks, so a unit test can
// verify them without Electron: isolation, sandbox, CSP, navigation and sender rules.

/** Scheme and origin the app's own pages load from (`timbre://app/index.html`). */
export const APP_SCHEME = 'timbre';
export const APP_ORIGIN = `${APP_SCHEME}://app`;

/** `webPreferences` of the one BrowserWindow (the preload path is added at creation). */
export const WEB_PREFERENCES = Object.freeze({
  contextIsolation: true,
  nodeIntegration: false,
  nodeIntegrationInWorker: false,
  nodeIntegrationInSubFrames: false,
  sandbox: true,
  webSecurity: true,
  allowRunningInsecureContent: false,
  webviewTag: false,
  experimentalFeatures: false,
  navigateOnDragDrop: false,
  safeDialogs: true,
  spellcheck: false,
});

/** Content-Security-Policy sent with every app page: own scripts only, no remote content. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'", // wavesurfer.js styles its shadow DOM with <style>
  "img-src 'self' data: blob:",
  "media-src 'self' blob:",
  "worker-src 'self' blob:", // wavesurfer.js's spectrogram FFT worker
  "connect-src 'self' blob:",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join('; ');

/** Permissions the page may get (the microphone); everything else is refused. */
export const ALLOWED_PERMISSIONS: readonly string[] = Object.freeze(['media']);

/** True for URLs of the app's own pages. */
export function isAppUrl(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.protocol === `${APP_SCHEME}:` && parsed.host === 'app';
  } catch {
    return false;
  }
}

/** A permission request is granted only for the microphone, only to the app's own page. */
export function permissionAllowed(permission: string, requestingUrl: string, mediaTypes: readonly string[] = []): boolean {
  return ALLOWED_PERMISSIONS.includes(permission) && isAppUrl(requestingUrl) && mediaTypes.every((t) => t === 'audio');
}

/** The sender of an IPC message: which webContents and frame, and the frame's URL. */
export interface IpcSender {
  webContentsId: number;
  frameUrl: string;
  isMainFrame: boolean;
}

/** IPC is accepted only from the main frame of our own window showing our own page. */
export function isTrustedSender(sender: IpcSender, windowWebContentsId: number | undefined): boolean {
  return windowWebContentsId !== undefined && sender.webContentsId === windowWebContentsId && sender.isMainFrame && isAppUrl(sender.frameUrl);
}

/** Path of the UI file a `timbre://app/…` request asks for, inside `uiDir`; null for anything else (traversal, other hosts). */
export function appFilePath(uiDir: string, requestUrl: string, separator = '/'): string | null {
  let parsed: URL;
  try {
    parsed = new URL(requestUrl);
  } catch {
    return null;
  }
  if (parsed.protocol !== `${APP_SCHEME}:` || parsed.host !== 'app') return null;
  let path: string;
  try {
    path = decodeURIComponent(parsed.pathname);
  } catch {
    return null;
  }
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.some((p) => p === '..' || p.includes('\\') || p.includes('\0'))) return null;
  if (parts.length === 0) parts.push('index.html');
  return [uiDir.replace(/[\\/]+$/, ''), ...parts].join(separator);
}
