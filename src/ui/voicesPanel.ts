// "Your voices": create a user voice from the current input (a recording or an opened WAV) or from WAV
// files (≥ 10 s of speech in all), name it, and remove it; the engine's validation errors show inline.

import type { VoiceInfo, VoiceRecording } from '../engine/api.js';
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
        item.append(label, remove);
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
