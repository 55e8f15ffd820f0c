// "Your voices": create a user voice from the current input (a recording or an opened WAV) or from WAV
// files (≥ 10 s of speech in all), name it, and remove it; the engine's validation errors show inline. Each voice can
// be scored: how well every installed model reaches it (judged on the held-out end of its recordings).

import type { VoiceInfo, VoiceReach, VoiceRecording } from '../engine/api.js';
import { UiEngineError, type UiTransport } from './transport.js';
import { wavHeaderProblem } from './wavBytes.js';

/** What the panel needs from the page. */
export interface VoicesPanelContext {
  transport: UiTransport;
  voices(): readonly VoiceInfo[];
  /** The current input of section 1, if any. */
  input(): { bytes: Uint8Array; name: string } | undefined;
  /** Reloads the voice list everywhere after a change. */
  refreshVoices(): Promise<void>;
}

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const node = document.getElementById(id);
  if (!node) throw new Error(`the page lacks #${id}`);
  return node as T;
};

/** A model's verdict in words: reaches the voice, partly, or heard as which other voice. */
const verdictText = (m: VoiceReach['models'][number]): string => (m.verdict === 'reaches' ? 'reaches it' : m.verdict === 'partly' ? 'partly' : `heard as ${m.mostlyHeardAs}`);

/** The reach report as a table: per model, how often each judge heard the voice, and the verdict. */
function renderReach(into: HTMLElement, reach: VoiceReach): void {
  if (reach.unscorable !== undefined || reach.models.length === 0) {
    into.textContent = reach.unscorable ?? 'No installed model converts to this voice yet.';
    return;
  }
  const caption = document.createElement('p');
  caption.className = 'muted';
  caption.textContent = `${reach.sentences} test sentences read by ${reach.sources.join(', ')}, converted to ${reach.voiceId} and judged among the corpus voices and ${reach.voiceId} (the last ${reach.heldOutSeconds.toFixed(1)} s of your recordings, which no model trained on).`;
  const table = document.createElement('table');
  const row = (cells: string[], header = false): HTMLTableRowElement => {
    const tr = document.createElement('tr');
    for (const text of cells) {
      const cell = document.createElement(header ? 'th' : 'td');
      cell.textContent = text;
      tr.append(cell);
    }
    return tr;
  };
  const pct = (v: number): string => `${Math.round(100 * v)} %`;
  table.append(row(['model', 'd-vector judge', 'cepstral judge', 'verdict'], true));
  for (const m of reach.models) {
    const tr = row([m.label, pct(m.dVectorIdentification), pct(m.cepstralIdentification), verdictText(m)]);
    tr.dataset.model = m.model;
    tr.dataset.verdict = m.verdict;
    table.append(tr);
  }
  into.replaceChildren(caption, table);
}

/** Wires the panel; returns `render()` for when the voice list changes. */
export function createVoicesPanel(context: VoicesPanelContext): { render(): void } {
  const nameInput = $<HTMLInputElement>('new-voice-name');
  const nameError = $('voice-name-error');
  const error = $('voice-create-error');
  const status = $('voice-create-status');
  const files = $<HTMLInputElement>('voice-files');

  function clear(): void {
    nameError.textContent = '';
    error.textContent = '';
  }

  async function create(recordings: VoiceRecording[]): Promise<void> {
    clear();
    const name = nameInput.value.trim();
    if (name === '') {
      nameError.textContent = 'Give the voice a name (letters, digits, "-" or "_").';
      return;
    }
    status.textContent = 'Checking the recordings…';
    document.body.dataset.voiceCreate = 'busy';
    try {
      const voice = await context.transport.addVoice({ name, recordings });
      status.textContent = `Created "${voice.id}". It is now a target voice and can be added to the VAE (section 6).`;
      nameInput.value = '';
      await context.refreshVoices();
      document.body.dataset.voiceCreate = 'done';
    } catch (e) {
      const info = e instanceof UiEngineError ? e : new UiEngineError({ code: 'INTERNAL', message: String(e) });
      const message = info.message.replace(/^./, (c) => c.toUpperCase());
      if (info.field === 'name') nameError.textContent = message;
      else error.textContent = message;
      status.textContent = '';
      document.body.dataset.voiceCreate = 'failed';
    }
  }

  $('voice-from-input').addEventListener('click', () => {
    const input = context.input();
    if (!input) {
      clear();
      error.textContent = 'Record at least 10 s (raise the limit in section 1) or open a WAV file first.';
      return;
    }
    void create([{ bytes: input.bytes, name: input.name }]);
  });
  $('voice-from-files').addEventListener('click', () => files.click());
  files.addEventListener('change', async () => {
    const chosen = [...(files.files ?? [])];
    files.value = '';
    if (chosen.length === 0) return;
    const recordings: VoiceRecording[] = [];
    for (const file of chosen) {
      const bytes = new Uint8Array(await file.arrayBuffer());
      const problem = wavHeaderProblem(bytes, file.name);
      if (problem) {
        clear();
        error.textContent = problem;
        return;
      }
      recordings.push({ bytes, name: file.name });
    }
    await create(recordings);
  });

  function render(): void {
    const list = $('user-voices');
    const mine = context.voices().filter((v) => v.kind === 'user');
    list.replaceChildren(
      ...mine.map((voice) => {
        const item = document.createElement('li');
        item.dataset.voiceId = voice.id;
        const label = document.createElement('span');
        label.textContent = voice.label;
        const remove = document.createElement('button');
        remove.type = 'button';
        remove.textContent = 'Remove';
        remove.setAttribute('aria-label', `Remove voice ${voice.id}`);
        remove.addEventListener('click', async () => {
          clear();
          try {
            await context.transport.removeVoice(voice.id);
            await context.refreshVoices();
          } catch (e) {
            error.textContent = e instanceof Error ? e.message : String(e);
          }
        });
        const reach = document.createElement('button');
        reach.type = 'button';
        reach.textContent = 'How well do the models reach it?';
        reach.setAttribute('aria-label', `Score how well each model reaches voice ${voice.id}`);
        const report = document.createElement('div');
        report.className = 'reach';
        report.setAttribute('aria-live', 'polite');
        reach.addEventListener('click', async () => {
          clear();
          reach.disabled = true;
          report.textContent = 'Converting a few sentences with every model and judging them (up to a minute)…';
          item.dataset.reach = 'busy';
          try {
            renderReach(report, await context.transport.voiceReach(voice.id));
            item.dataset.reach = 'done';
          } catch (e) {
            report.textContent = '';
            error.textContent = e instanceof Error ? e.message : String(e);
            item.dataset.reach = 'failed';
          } finally {
            reach.disabled = false;
          }
        });
        item.append(label, reach, remove, report);
        return item;
      }),
    );
    if (mine.length === 0) {
      const none = document.createElement('li');
      none.className = 'muted';
      none.textContent = 'None yet.';
      list.append(none);
    }
  }
  render();
  return { render };
}
