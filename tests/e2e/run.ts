// End-to-end test of web mode in Debian's Chromium (playwright-core): record 3 s from a fake microphone
// fed with espeak-ng speech, convert with every available model, compare, play, export, bad drops.
// Uses trained models when present and the test-only stand-ins otherwise, and says which.

import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { chromium, type Page } from 'playwright-core';
import { decodeWav } from '../../src/audio/wav.js';

const ARTIFACTS = join(import.meta.dirname, 'artifacts');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const failures: string[] = [];
let passedChecks = 0;
const log = (line: string): void => console.log(`e2e: ${line}`);

function check(condition: boolean, what: string): void {
  log(`${condition ? 'ok  ' : 'FAIL'} ${what}`);
  if (condition) passedChecks++;
  else failures.push(what);
}

/** Entries of a stored (uncompressed) zip, as written by the engine. */
function readStoredZip(bytes: Uint8Array): Map<string, Uint8Array> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Map<string, Uint8Array>();
  let at = 0;
  while (at + 30 <= bytes.length && view.getUint32(at, true) === 0x04034b50) {
    const size = view.getUint32(at + 18, true);
    const nameLength = view.getUint16(at + 26, true);
    const extra = view.getUint16(at + 28, true);
    const name = new TextDecoder().decode(bytes.subarray(at + 30, at + 30 + nameLength));
    const start = at + 30 + nameLength + extra;
    out.set(name, bytes.subarray(start, start + size));
    at = start + size;
  }
  return out;
}

function meanAbsDifference(a: Float32Array, b: Float32Array): number {
  const n = Math.min(a.length, b.length);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / Math.max(1, n);
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, name), fullPage: true });
  log(`screenshot ${join('tests/e2e/artifacts', name)}`);
}

async function startServer(): Promise<{ child: ChildProcess; url: string; mode: string; models: string[] }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'server.ts')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  const first = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`the e2e server exited with code ${code}`)));
  });
  return { child, ...(JSON.parse(first) as { url: string; mode: string; models: string[] }) };
}

async function main(): Promise<void> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing; install it with "apt-get install -y chromium"`);
  rmSync(ARTIFACTS, { recursive: true, force: true });
  mkdirSync(join(ARTIFACTS, 'exports'), { recursive: true });
  const work = mkdtempSync(join(tmpdir(), 'timbre-e2e-'));
  const speech = join(work, 'speech.wav');
  execFileSync('espeak-ng', ['-s', '150', '-w', speech, 'Hello, this is a test of the Timbre voice conversion app. One, two, three, four.']);
  log(`fake microphone: ${speech} (espeak-ng, ${decodeWav(new Uint8Array(readFileSync(speech))).durationSeconds.toFixed(1)} s)`);

  const server = await startServer();
  log(server.mode === 'real' ? `using REAL models: ${server.models.join(', ')}` : `using the test-only STAND-IN converters (no trained model found): ${server.models.join(', ')}`);
  // A fresh profile per run (playwright takes --user-data-dir as this argument).
  const context = await chromium.launchPersistentContext(join(work, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    acceptDownloads: true,
    viewport: { width: 1200, height: 900 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--use-fake-ui-for-media-stream',
      '--use-fake-device-for-media-stream',
      `--use-file-for-fake-audio-capture=${speech}`,
    ],
  });
  const pageErrors: string[] = [];
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => message.type() === 'error' && pageErrors.push(message.text()));
    await page.addInitScript(() => {
      const w = window as unknown as { __longTasks: number[] };
      w.__longTasks = [];
      new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) w.__longTasks.push(entry.duration);
      }).observe({ type: 'longtask', buffered: true });
    });
    await page.goto(server.url);
    await page.waitForSelector('body[data-state="idle"]', { timeout: 20_000 });
    check(!page.url().includes('token='), 'the token is removed from the address bar');
    const disabledModels = await page.locator('.model.unavailable .reason').allTextContents();
    log(`models shown disabled: ${disabledModels.length} (${disabledModels.map((t) => t.slice(0, 50)).join(' | ')})`);
    await shot(page, '01-start.png');
    await page.click('#convert');
    check(/Record something or open a WAV/.test((await page.textContent('#input-error')) ?? ''), 'Convert without input says what is missing');

    // Record 3 s from the fake microphone.
    await page.fill('#record-limit', '3');
    await page.click('#record');
    await page.waitForSelector('#record[aria-pressed="true"]', { timeout: 10_000 });
    let loudest = -60;
    for (let i = 0; i < 10; i++) {
      await page.waitForTimeout(200);
      loudest = Math.max(loudest, Number(await page.getAttribute('#level', 'aria-valuenow')));
    }
    await shot(page, '02-recording.png');
    await page.waitForSelector('body[data-input="ready"]', { timeout: 15_000 });
    check(loudest > -50, `the level meter moved while recording (loudest ${loudest} dBFS)`);
    const summary = await page.textContent('#input-summary');
    const seconds = Number(/([\d.]+) s/.exec(summary ?? '')?.[1]);
    check(seconds >= 2.5 && seconds <= 3.6, `the recording stopped at the 3 s limit (${summary})`);

    // Voice: the stand-in voice, or the first one with audio.
    if (server.mode === 'stand-in') await page.selectOption('#voice', 'test-voice');
    if (await page.isEnabled('#preview-voice')) {
      await page.click('#preview-voice');
      await page.waitForTimeout(300);
      check(((await page.textContent('#voice-error')) ?? '') === '', 'the voice preview plays without an error');
    }
    const pitch = page.locator('.model:not(.unavailable) [data-setting="pitchShiftSemitones"]').first();
    await pitch.fill('40');
    await page.click('#convert');
    check(/Pitch shift \(semitones\) must be a number from -12 to 12, got "40"/.test((await page.textContent('#models-error')) ?? ''), `a bad setting is refused inline ("${await page.textContent('#models-error')}")`);
    await pitch.fill('0');
    const ticked = await page.locator('input[data-model]:checked').count();
    check(ticked === server.models.length, `every available model is ticked (${ticked} of ${server.models.length})`);

    // Convert, measuring long tasks on the page while it runs.
    await page.evaluate(() => ((window as unknown as { __longTasks: number[] }).__longTasks = []));
    await page.click('#convert');
    await page.waitForSelector('body[data-state="converting"]', { timeout: 10_000 });
    await shot(page, '03-converting.png');
    await page.waitForSelector('body[data-state="done"]', { timeout: 120_000 });
    await page.waitForFunction((n) => document.querySelectorAll('.lane').length === n, server.models.length + 1, { timeout: 20_000 });
    await page.waitForTimeout(1500); // spectrograms finish in their worker
    const longTasks = await page.evaluate(() => (window as unknown as { __longTasks: number[] }).__longTasks);
    const worst = Math.max(0, ...longTasks);
    check(worst <= 100, `no long task over 100 ms during conversion (${longTasks.length} long tasks, worst ${worst.toFixed(0)} ms)`);
    const laneTitles = await page.locator('.lane h3').allTextContents();
    check(laneTitles.length === server.models.length + 1, `one lane per model plus the source: ${laneTitles.join(' | ')}`);
    check((await page.locator('#progress-list li.failed').count()) === 0, 'no model failed');
    await shot(page, '04-lanes.png');

    // Play with the keyboard (Space), then pause.
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    await page.keyboard.press('Space');
    await page.waitForSelector('body[data-playing="true"]', { timeout: 5_000 }).catch(() => undefined);
    check((await page.getAttribute('body', 'data-playing')) === 'true', 'Space starts playback');
    await page.waitForTimeout(700);
    await shot(page, '05-playing.png');
    await page.keyboard.press('KeyB');
    check((await page.getAttribute('#ab', 'aria-pressed')) === 'true', 'B switches from the first model lane to the source (A/B)');
    await page.keyboard.press('KeyB');
    check((await page.getAttribute('#ab', 'aria-pressed')) === 'false', 'B again switches back to the model lane');
    await page.keyboard.press('Space');
    await page.waitForSelector('body[data-playing="false"]', { timeout: 5_000 }).catch(() => undefined);
    check((await page.getAttribute('body', 'data-playing')) === 'false', 'Space pauses');

    // Export one lane and all lanes.
    const [laneDownload] = await Promise.all([page.waitForEvent('download'), page.locator('.lane-model button.export').first().click()]);
    const lanePath = join(ARTIFACTS, 'exports', laneDownload.suggestedFilename());
    await laneDownload.saveAs(lanePath);
    const [zipDownload] = await Promise.all([page.waitForEvent('download'), page.click('#export-all')]);
    const zipPath = join(ARTIFACTS, 'exports', zipDownload.suggestedFilename());
    await zipDownload.saveAs(zipPath);
    const [reportDownload] = await Promise.all([page.waitForEvent('download'), page.click('#export-report')]);
    const reportPath = join(ARTIFACTS, 'exports', reportDownload.suggestedFilename());
    await reportDownload.saveAs(reportPath);
    const laneWav = decodeWav(new Uint8Array(readFileSync(lanePath)));
    check(laneWav.sampleRateHz === 22050 && laneWav.durationSeconds > 2, `exported lane ${laneDownload.suggestedFilename()} is a valid WAV (${laneWav.durationSeconds.toFixed(2)} s)`);
    const entries = readStoredZip(new Uint8Array(readFileSync(zipPath)));
    const sourceName = [...entries.keys()].find((n) => n.endsWith('-source.wav'));
    check(sourceName !== undefined && entries.size === server.models.length + 2, `zip holds the source, ${server.models.length} lanes and metrics.json (${[...entries.keys()].join(', ')})`);
    const source = decodeWav(entries.get(sourceName!)!);
    for (const [name, bytes] of entries) {
      if (!name.endsWith('.wav') || name === sourceName) continue;
      const wav = decodeWav(bytes);
      const difference = meanAbsDifference(wav.samples, source.samples);
      check(wav.sampleRateHz === 22050 && difference > 0.005, `${name} is valid and differs from the source (mean |Δ| ${difference.toFixed(4)})`);
    }
    check(readFileSync(reportPath, 'utf8').includes('data:image/png;base64,'), `report ${reportDownload.suggestedFilename()} is self-contained`);
    await page.screenshot({ path: join(ARTIFACTS, '06-exported.png'), fullPage: true });

    // A dropped text file shows an error; the page keeps working.
    const drop = async (name: string, type: string, content: string): Promise<void> =>
      page.evaluate(
        ([n, t, c]) => {
          const data = new DataTransfer();
          data.items.add(new File([c!], n!, { type: t! }));
          document.getElementById('drop-zone')!.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
        },
        [name, type, content],
      );
    await drop('notes.txt', 'text/plain', 'these are my notes, not audio');
    await page.waitForFunction(() => /not a WAV file/.test(document.getElementById('input-error')!.textContent ?? ''), undefined, { timeout: 5_000 });
    check(true, `dropping notes.txt shows: "${await page.textContent('#input-error')}"`);
    await shot(page, '07-drop-error.png');
    await drop('fake.wav', 'audio/wav', 'RIFX this is not really a wav');
    await page.waitForFunction(() => /RIFF\/WAVE header/.test(document.getElementById('input-error')!.textContent ?? ''), undefined, { timeout: 5_000 });
    check(true, `dropping a text file named fake.wav shows: "${await page.textContent('#input-error')}"`);
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    await page.keyboard.press('Space');
    await page.waitForSelector('body[data-playing="true"]', { timeout: 5_000 }).catch(() => undefined);
    check((await page.getAttribute('body', 'data-playing')) === 'true', 'after the bad drops, playback still works');
    await page.keyboard.press('Escape');
    // And the page still converts (the earlier input is kept).
    await page.click('#convert');
    await page.waitForSelector('body[data-state="converting"]', { timeout: 10_000 });
    await page.waitForSelector('.lane-model', { timeout: 60_000 }); // cancel after the first lane
    await page.click('#cancel');
    await page.waitForSelector('body:not([data-state="converting"])', { timeout: 60_000 });
    const status = (await page.textContent('#convert-status')) ?? '';
    check(/Cancelled after 1 of/.test(status) || (server.mode === 'real' && /Done/.test(status)), `a second conversion can be started and cancelled ("${status}")`);
    await shot(page, '08-after-cancel.png');
    check(pageErrors.length === 0, `no page errors${pageErrors.length ? `: ${pageErrors.join(' | ')}` : ''}`);
  } finally {
    await context.close();
    server.child.kill('SIGTERM');
    rmSync(work, { recursive: true, force: true });
  }
  writeFileSync(join(ARTIFACTS, 'result.json'), JSON.stringify({ mode: server.mode, models: server.models, failures }, null, 2));
  if (failures.length > 0) {
    log(`${failures.length} check(s) failed (mode: ${server.mode})`);
    process.exitCode = 1;
  } else log(`all checks passed (mode: ${server.mode})`);
  // The plain closing line CI reads as this suite's count.
  console.log(`e2e: ${passedChecks} passed, ${failures.length} failed`);
}

main().catch((error: unknown) => {
  console.error(`e2e: error: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
  process.exitCode = 1;
});
