// The Timbre window: input (record or open a WAV), target voice, models and their settings, convert with
// per-model progress and cancel, lanes to compare, export. Talks to the engine only through `UiTransport`.

import WaveSurfer from 'wavesurfer.js';
import type { ConversionJob, EngineErrorInfo, EngineInfo, LaneResult, ModelInfo, ModelSettings, SettingSpec, VocoderInfo, VoiceInfo } from '../engine/api.js';
import { LaneSet, type LaneMetric } from './lanes.js';
import { MicRecorder } from './recorder.js';
import { createTrainingPanel } from './trainingPanel.js';
import { createVoicesPanel } from './voicesPanel.js';
import { detectTransport, UiEngineError, type UiTransport } from './transport.js';
import { wavHeaderProblem, wavSummary } from './wavBytes.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const node = document.getElementById(id);
  if (!node) throw new Error(`the page lacks #${id}`);
  return node as T;
};

interface InputAudio {
  bytes: Uint8Array;
  name: string;
}

const state: {
  transport?: UiTransport;
  info?: EngineInfo;
  voices: VoiceInfo[];
  models: ModelInfo[];
  input?: InputAudio;
  job?: ConversionJob;
  jobId?: string;
  laneResults: Map<string, LaneResult>;
} = { voices: [], models: [], laneResults: new Map() };

const lanes = new LaneSet($('lanes'));
const inputWave = WaveSurfer.create({ container: $('input-wave'), height: 64, waveColor: '#94a3b8', progressColor: '#475569', cursorWidth: 1 });
const recorder = new MicRecorder(inputWave);

// ---- messages -------------------------------------------------------------------------------------

const errorTargets = ['input-error', 'voice-error', 'models-error', 'convert-error', 'export-error'] as const;
type ErrorTarget = (typeof errorTargets)[number];

function showError(target: ErrorTarget, message: string): void {
  $(target).textContent = message;
}

function clearErrors(...targets: ErrorTarget[]): void {
  for (const t of targets.length ? targets : errorTargets) $(t).textContent = '';
}

function errorInfo(error: unknown): EngineErrorInfo {
  if (error instanceof UiEngineError) return { code: error.code, message: error.message, field: error.field };
  return { code: 'INTERNAL', message: error instanceof Error ? error.message : String(error) };
}

/** Shows an engine error next to the control it is about. */
function showEngineError(error: unknown, fallback: ErrorTarget): void {
  const info = errorInfo(error);
  const field = info.field ?? '';
  const target: ErrorTarget =
    field.startsWith('input') || ['NOT_WAV', 'INVALID_AUDIO', 'INPUT_TOO_LARGE', 'EMPTY_FILE', 'CORRUPT_HEADER', 'UNSUPPORTED_FORMAT', 'EMPTY_AUDIO', 'TOO_LONG'].includes(info.code)
      ? 'input-error'
      : field === 'targetVoiceId' || info.code === 'VOICE_NOT_FOUND'
        ? 'voice-error'
        : field.startsWith('models')
          ? 'models-error'
          : fallback;
  showError(target, info.message.replace(/^./, (c) => c.toUpperCase()));
}

const fmt = (value: number | null | undefined, digits: number, unit: string): string =>
  value === null || value === undefined || !Number.isFinite(value) ? '—' : `${value.toFixed(digits)}${unit}`;

function setBusy(busy: boolean): void {
  document.body.dataset.state = busy ? 'converting' : state.laneResults.size > 0 ? 'done' : 'idle';
  $<HTMLButtonElement>('convert').disabled = busy;
  $<HTMLButtonElement>('cancel').disabled = !busy;
  $<HTMLProgressElement>('overall').hidden = !busy && state.laneResults.size === 0;
}

function setResultButtons(): void {
  const hasLanes = lanes.ids().length > 0;
  for (const id of ['play', 'stop', 'ab']) $<HTMLButtonElement>(id).disabled = !hasLanes;
  for (const id of ['export-all', 'export-report']) $<HTMLButtonElement>(id).disabled = state.laneResults.size === 0;
  document.body.dataset.lanes = String(lanes.ids().length);
}

// ---- input ----------------------------------------------------------------------------------------

function setInput(bytes: Uint8Array, name: string): void {
  const problem = wavHeaderProblem(bytes, name);
  if (problem) {
    showError('input-error', problem);
    return;
  }
  const max = state.info?.maxInputBytes ?? Infinity;
  if (bytes.length > max) {
    showError('input-error', `"${name}" is ${(bytes.length / 1e6).toFixed(1)} MB; the limit is ${(max / 1e6).toFixed(0)} MB.`);
    return;
  }
  clearErrors('input-error');
  state.input = { bytes, name };
  const summary = wavSummary(bytes);
  $('input-summary').textContent = summary
    ? `${name}: ${summary.durationSeconds.toFixed(1)} s, ${summary.sampleRateHz} Hz, ${summary.channels === 1 ? 'mono' : `${summary.channels} channels`}`
    : `${name}: ${(bytes.length / 1024).toFixed(0)} KiB`;
  void inputWave.loadBlob(new Blob([bytes as BlobPart], { type: 'audio/wav' })).catch(() => undefined);
  document.body.dataset.input = 'ready';
}

async function handleFile(file: File): Promise<void> {
  clearErrors('input-error');
  const looksWav = /\.wav$/i.test(file.name) || /^audio\/(x-)?wav|^audio\/wave|^audio\/vnd\.wave/.test(file.type);
  if (!looksWav) {
    showError('input-error', `"${file.name}" is not a WAV file${file.type ? ` (it is ${file.type})` : ''}. Drop or open a .wav recording.`);
    return;
  }
  setInput(new Uint8Array(await file.arrayBuffer()), file.name);
}

function wireInput(): void {
  const recordButton = $<HTMLButtonElement>('record');
  recordButton.addEventListener('click', () => {
    if (recorder.isRecording()) {
      recorder.stop();
      return;
    }
    const limit = Number($<HTMLInputElement>('record-limit').value);
    if (!Number.isFinite(limit) || limit < 1 || limit > 120) {
      showError('input-error', `The recording limit must be between 1 and 120 seconds, got "${$<HTMLInputElement>('record-limit').value}".`);
      return;
    }
    clearErrors('input-error');
    void recorder.start(limit);
  });
  recorder.on('state', (recording) => {
    recordButton.setAttribute('aria-pressed', String(recording));
    recordButton.textContent = recording ? '■ Stop recording' : '● Record';
    document.body.dataset.state = recording ? 'recording' : 'idle';
  });
  recorder.on('level', (db) => {
    const clamped = Math.max(-60, Math.min(0, Number.isFinite(db) ? db : -60));
    $('level-bar').style.width = `${((clamped + 60) / 60) * 100}%`;
    $('level').setAttribute('aria-valuenow', clamped.toFixed(0));
  });
  recorder.on('progress', (seconds) => ($('record-time').textContent = `${seconds.toFixed(1)} s`));
  recorder.on('recorded', (wav) => setInput(wav, 'recording.wav'));
  recorder.on('error', (message) => showError('input-error', message));

  const fileInput = $<HTMLInputElement>('file-input');
  const openFile = async (): Promise<void> => {
    if (state.transport?.openWavFile) {
      try {
        const opened = await state.transport.openWavFile();
        if (opened) setInput(opened.bytes, opened.name);
      } catch (error) {
        showEngineError(error, 'input-error');
      }
    } else fileInput.click();
  };
  $('open-file').addEventListener('click', () => void openFile());
  fileInput.addEventListener('change', () => {
    const file = fileInput.files?.[0];
    if (file) void handleFile(file);
    fileInput.value = '';
  });
  const zone = $('drop-zone');
  zone.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      void openFile();
    }
  });
  // Dropping anywhere counts; never let the browser navigate to a dropped file.
  window.addEventListener('dragover', (event) => {
    event.preventDefault();
    zone.classList.add('dragging');
  });
  window.addEventListener('dragleave', () => zone.classList.remove('dragging'));
  window.addEventListener('drop', (event) => {
    event.preventDefault();
    zone.classList.remove('dragging');
    const file = event.dataTransfer?.files[0];
    if (file) void handleFile(file);
    else showError('input-error', 'Nothing to open was dropped; drop a .wav file.');
  });
}

// ---- voices and models ----------------------------------------------------------------------------

const voiceListeners: (() => void)[] = [];

/** Reloads the voices (one was created or removed) and redraws every voice list. */
async function refreshVoices(): Promise<void> {
  if (!state.transport) return;
  state.voices = await state.transport.listVoices();
  renderVoices();
}

/** Reloads the models (a training finished); ticked boxes stay ticked. Resolves with the new list. */
async function refreshModels(): Promise<readonly ModelInfo[]> {
  if (!state.transport) return state.models;
  state.models = await state.transport.listModels();
  renderModels();
  return state.models;
}

/** The vocoder choice from the engine's list: unavailable ones shown disabled with the reason. */
function renderVocoders(vocoders: readonly VocoderInfo[]): void {
  const select = $<HTMLSelectElement>('vocoder');
  select.replaceChildren(
    ...vocoders.map((v) => {
      const option = document.createElement('option');
      option.value = v.id;
      option.textContent = v.available ? v.label : `${v.label} (not installed)`;
      option.disabled = !v.available;
      if (v.unavailableReason !== undefined) option.title = v.unavailableReason;
      option.selected = v.isDefault;
      return option;
    }),
  );
  const missing = vocoders.filter((v) => !v.available);
  $('vocoder-note').textContent = missing.map((v) => `${v.label}: ${v.unavailableReason ?? 'unavailable'}`).join('; ');
}

function renderVoices(): void {
  const select = $<HTMLSelectElement>('voice');
  const previous = select.value;
  select.replaceChildren();
  const groups: [VoiceInfo['kind'], string][] = [['corpus', 'Shipped voices'], ['user', 'Your voices'], ['test', 'Test voices']];
  for (const [kind, label] of groups) {
    const voices = state.voices.filter((v) => v.kind === kind);
    if (voices.length === 0) continue;
    const group = document.createElement('optgroup');
    group.label = label;
    for (const v of voices) group.append(new Option(v.label, v.id));
    select.append(group);
  }
  if (state.voices.length === 0) {
    select.append(new Option('No voices yet', ''));
    select.disabled = true;
    showError('voice-error', 'No target voices are available yet. Build the corpus ("timbre corpus build") or add your own voice ("timbre voice add").');
  }
  const preferred = state.voices.find((v) => v.id === previous) ?? state.voices.find((v) => v.hasPreview) ?? state.voices[0];
  if (preferred) {
    select.value = preferred.id;
    select.disabled = false;
  }
  onVoiceChange();
  for (const listener of voiceListeners) listener();
}

function selectedVoice(): VoiceInfo | undefined {
  return state.voices.find((v) => v.id === $<HTMLSelectElement>('voice').value);
}

function onVoiceChange(): void {
  const voice = selectedVoice();
  $('voice-description').textContent = voice?.description ?? '';
  $<HTMLButtonElement>('preview-voice').disabled = !voice?.hasPreview;
  clearErrors('voice-error');
  renderModels();
}

const canTarget = (model: ModelInfo, voiceId: string | undefined): boolean =>
  voiceId !== undefined && (model.targetVoices.includes('*') || model.targetVoices.includes(voiceId));

function settingControl(model: ModelInfo, spec: SettingSpec, index: number): HTMLElement[] {
  const id = `setting-${index}-${spec.key}`;
  const label = document.createElement('label');
  label.htmlFor = id;
  label.textContent = spec.label;
  let control: HTMLInputElement | HTMLSelectElement;
  if (spec.kind === 'boolean') {
    control = document.createElement('input');
    control.type = 'checkbox';
    control.checked = spec.defaultValue;
  } else if (spec.kind === 'choice') {
    control = document.createElement('select');
    for (const choice of spec.choices) control.append(new Option(choice === 'ml' ? 'ML (fast)' : 'Euler–Maruyama', choice));
    control.value = spec.defaultValue;
  } else {
    control = document.createElement('input');
    control.type = 'number';
    control.min = String(spec.min);
    control.max = String(spec.max);
    control.step = spec.kind === 'integer' ? '1' : String(spec.step);
    control.value = String(spec.defaultValue);
  }
  control.id = id;
  control.dataset.setting = spec.key;
  control.disabled = !model.available;
  return [label, control];
}

function renderModels(): void {
  const fieldset = $<HTMLFieldSetElement>('models');
  const legend = fieldset.querySelector('legend');
  const previouslyChecked = new Set([...fieldset.querySelectorAll<HTMLInputElement>('input[data-model]:checked')].map((c) => c.dataset.model));
  const firstRender = fieldset.querySelectorAll('input[data-model]').length === 0;
  fieldset.replaceChildren(...(legend ? [legend] : []));
  const voiceId = selectedVoice()?.id;
  state.models.forEach((model, index) => {
    const usable = model.available && canTarget(model, voiceId);
    const reason = !model.available ? model.unavailableReason ?? 'unavailable' : !usable ? `cannot produce voice "${voiceId ?? '—'}"` : '';
    const box = document.createElement('div');
    box.className = `model${usable ? '' : ' unavailable'}`;
    box.dataset.modelId = model.id;
    const checkbox = document.createElement('input');
    checkbox.type = 'checkbox';
    checkbox.id = `model-${index}`;
    checkbox.dataset.model = model.id;
    checkbox.disabled = !usable;
    checkbox.checked = usable && (firstRender || previouslyChecked.has(model.id));
    const label = document.createElement('label');
    label.htmlFor = checkbox.id;
    label.textContent = ` ${model.label}`;
    box.append(checkbox, label);
    if (reason) {
      const why = document.createElement('p');
      why.className = 'reason';
      why.id = `model-${index}-reason`;
      why.textContent = reason;
      checkbox.setAttribute('aria-describedby', why.id);
      box.append(why);
    }
    if (model.settings.length > 0) {
      const settings = document.createElement('div');
      settings.className = 'settings';
      for (const spec of model.settings) settings.append(...settingControl({ ...model, available: usable }, spec, index));
      box.append(settings);
    }
    fieldset.append(box);
  });
}

/** Reads the ticked models and their settings; reports the first bad setting. */
function readSelection(): { modelId: string; settings: ModelSettings }[] | string {
  const out: { modelId: string; settings: ModelSettings }[] = [];
  for (const box of $('models').querySelectorAll<HTMLElement>('.model')) {
    const checkbox = box.querySelector<HTMLInputElement>('input[data-model]');
    if (!checkbox?.checked || checkbox.disabled) continue;
    const model = state.models.find((m) => m.id === checkbox.dataset.model)!;
    const settings: ModelSettings = {};
    for (const spec of model.settings) {
      const control = box.querySelector<HTMLInputElement | HTMLSelectElement>(`[data-setting="${spec.key}"]`);
      if (!control) continue;
      if (spec.kind === 'choice') {
        settings.solver = control.value as 'ml' | 'euler';
        continue;
      }
      if (spec.kind === 'boolean') {
        if ((control as HTMLInputElement).checked) settings.keepSourcePitch = true;
        continue;
      }
      const value = Number(control.value);
      const whole = spec.kind === 'integer';
      if (control.value.trim() === '' || !Number.isFinite(value) || value < spec.min || value > spec.max || (whole && !Number.isInteger(value))) {
        return `${model.label}: ${spec.label} must be ${whole ? 'a whole number' : 'a number'} from ${spec.min} to ${spec.max}, got "${control.value}".`;
      }
      if (spec.key === 'steps') settings.steps = value;
      if (spec.key === 'pitchShiftSemitones' && value !== 0) settings.pitchShiftSemitones = value;
    }
    out.push({ modelId: model.id, settings });
  }
  return out;
}

// ---- conversion -----------------------------------------------------------------------------------

function progressRow(modelId: string, label: string): HTMLLIElement {
  const row = document.createElement('li');
  row.dataset.modelId = modelId;
  const name = document.createElement('span');
  name.textContent = label;
  const bar = document.createElement('progress');
  bar.max = 1;
  bar.value = 0;
  bar.setAttribute('aria-label', `${label} progress`);
  const stage = document.createElement('span');
  stage.className = 'stage';
  stage.textContent = 'waiting';
  row.append(name, bar, stage);
  return row;
}

function laneMetrics(lane: LaneResult): LaneMetric[] {
  const metrics: LaneMetric[] = [
    { label: 'time', value: fmt(lane.processingSeconds, 2, ' s') },
    { label: 'RTF', value: fmt(lane.realTimeFactor, 2, ''), title: 'real-time factor: processing time ÷ audio duration' },
    { label: 'F0', value: fmt(lane.f0MedianHz, 0, ' Hz'), title: 'median fundamental frequency of voiced frames' },
  ];
  metrics.push({ label: 'vocoder', value: lane.vocoder === 'neural' ? 'neural' : 'Griffin-Lim', title: 'what turned the converted mel into sound' });
  if (lane.speakerSimilarity !== undefined) metrics.push({ label: 'similarity', value: fmt(lane.speakerSimilarity, 2, ''), title: 'speaker similarity to the target voice' });
  return metrics;
}

async function convert(): Promise<void> {
  clearErrors();
  const voice = selectedVoice();
  const selection = readSelection();
  let ok = true;
  if (!state.input) {
    showError('input-error', 'Record something or open a WAV file first.');
    ok = false;
  }
  if (!voice) {
    showError('voice-error', 'Choose a target voice.');
    ok = false;
  }
  if (typeof selection === 'string') {
    showError('models-error', selection);
    ok = false;
  } else if (selection.length === 0) {
    showError('models-error', 'Tick at least one available model.');
    ok = false;
  }
  if (!ok || !state.transport || !state.input || !voice || typeof selection === 'string') return;

  lanes.clear();
  state.laneResults.clear();
  $('export-status').textContent = '';
  setResultButtons();
  const list = $('progress-list');
  list.replaceChildren(...selection.map((s) => progressRow(s.modelId, state.models.find((m) => m.id === s.modelId)?.label ?? s.modelId)));
  const overall = $<HTMLProgressElement>('overall');
  overall.value = 0;
  setBusy(true);
  $('convert-status').textContent = 'Uploading…';
  let job: ConversionJob;
  try {
    const vocoder = $<HTMLSelectElement>('vocoder').value === 'neural' ? 'neural' : 'griffin-lim';
    job = await state.transport.convert({ input: { kind: 'wav-bytes', bytes: state.input.bytes, name: state.input.name }, targetVoiceId: voice.id, models: selection, vocoder });
  } catch (error) {
    showEngineError(error, 'convert-error');
    list.replaceChildren();
    $('convert-status').textContent = '';
    setBusy(false);
    return;
  }
  state.job?.destroy();
  state.job = job;
  state.jobId = job.id;
  $('convert-status').textContent = 'Converting…';
  const row = (modelId: string | undefined): HTMLElement | null => (modelId === undefined ? null : list.querySelector<HTMLElement>(`li[data-model-id="${CSS.escape(modelId)}"]`));
  job.on('source', (source) => {
    lanes.add({
      id: 'source',
      title: 'Source',
      kind: 'source',
      wav: source.wav,
      metrics: [
        { label: 'length', value: fmt(source.durationSeconds, 2, ' s') },
        { label: 'F0', value: fmt(source.f0MedianHz, 0, ' Hz') },
        { label: 'file rate', value: `${source.originalSampleRateHz} Hz` },
      ],
    });
    for (const warning of source.warnings) $('convert-status').textContent = `Converting… (note: ${warning})`;
    setResultButtons();
  });
  job.on('progress', (p) => {
    overall.value = p.overallFraction;
    const r = row(p.modelId);
    if (!r) return;
    r.querySelector('progress')!.value = p.fraction;
    r.querySelector('.stage')!.textContent = p.stage;
  });
  job.on('lane', (lane) => {
    state.laneResults.set(lane.laneId, lane);
    lanes.add({ id: lane.laneId, title: lane.label, kind: 'model', wav: lane.wav, metrics: laneMetrics(lane) });
    setResultButtons();
  });
  job.on('laneError', (failure) => {
    const r = row(failure.modelId);
    if (!r) return;
    r.classList.add('failed');
    r.querySelector('.stage')!.textContent = `failed: ${failure.error.message}`;
  });
  try {
    const result = await job.finished;
    $('convert-status').textContent = result.cancelled
      ? `Cancelled after ${result.lanes.length} of ${selection.length} models.`
      : `Done: ${result.lanes.length} lane${result.lanes.length === 1 ? '' : 's'} in ${result.totalSeconds.toFixed(1)} s${result.failures.length ? `, ${result.failures.length} failed` : ''}.`;
  } catch (error) {
    showEngineError(error, 'convert-error');
    $('convert-status').textContent = '';
  } finally {
    setBusy(false);
    setResultButtons();
    overall.value = 1;
  }
}

// ---- playback and export --------------------------------------------------------------------------

async function exportFiles(format: 'wav' | 'zip' | 'report', laneIds?: string[]): Promise<void> {
  clearErrors('export-error');
  if (!state.transport || !state.jobId) return;
  try {
    const file = await state.transport.exportLanes({ jobId: state.jobId, format, ...(laneIds ? { laneIds } : {}) });
    const where = await state.transport.saveFile(file);
    $('export-status').textContent = where ? `Saved: ${where}` : 'Export cancelled.';
  } catch (error) {
    showEngineError(error, 'export-error');
  }
}

function wireResults(): void {
  const play = $<HTMLButtonElement>('play');
  play.addEventListener('click', () => void lanes.playPause());
  $('stop').addEventListener('click', () => lanes.stop());
  $('ab').addEventListener('click', () => lanes.toggleAB());
  lanes.on('playing', (playing) => {
    play.textContent = playing ? '⏸ Pause' : '▶ Play';
    document.body.dataset.playing = String(playing);
  });
  lanes.on('audible', (laneId) => $('ab').setAttribute('aria-pressed', String(laneId === 'source' && lanes.ids().length > 1)));
  lanes.on('export', (laneId) => void exportFiles('wav', [laneId]));
  $('export-all').addEventListener('click', () => void exportFiles('zip'));
  $('export-report').addEventListener('click', () => void exportFiles('report'));
  document.addEventListener('keydown', (event) => {
    const target = event.target as HTMLElement;
    if (target.closest('input, select, textarea, button, [role="button"]') || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === ' ') {
      event.preventDefault();
      void lanes.playPause();
    } else if (event.key === 'b' || event.key === 'B') lanes.toggleAB();
    else if (event.key === 'Escape') lanes.stop();
  });
}

// ---- start ----------------------------------------------------------------------------------------

async function start(): Promise<void> {
  document.body.dataset.state = 'loading';
  wireInput();
  wireResults();
  $('convert').addEventListener('click', () => void convert());
  $('cancel').addEventListener('click', () => {
    state.job?.cancel();
    $('convert-status').textContent = 'Cancelling…';
  });
  $('voice').addEventListener('change', onVoiceChange);
  $('preview-voice').addEventListener('click', async () => {
    const voice = selectedVoice();
    if (!voice || !state.transport) return;
    try {
      const file = await state.transport.voicePreview(voice.id);
      const url = URL.createObjectURL(new Blob([file.bytes as BlobPart], { type: file.mimeType }));
      const audio = new Audio(url);
      audio.addEventListener('ended', () => URL.revokeObjectURL(url));
      await audio.play();
    } catch (error) {
      showEngineError(error, 'voice-error');
    }
  });
  try {
    state.transport = detectTransport();
    const [info, voices, models] = await Promise.all([state.transport.info(), state.transport.listVoices(), state.transport.listModels()]);
    state.info = info;
    state.voices = voices;
    state.models = models;
    $('engine-info').textContent = `${state.transport.kind === 'web' ? 'Web mode' : 'Desktop'} · engine ${info.version} · output ${info.sampleRateHz} Hz`;
    renderVoices();
    renderVocoders(info.vocoders);
    const voicesPanel = createVoicesPanel({ transport: state.transport, voices: () => state.voices, input: () => state.input, refreshVoices });
    const trainingPanel = createTrainingPanel({ transport: state.transport, voices: () => state.voices, refreshModels }, await state.transport.listTrainers());
    voiceListeners.push(() => voicesPanel.render(), () => trainingPanel.refreshVoices());
    state.transport.onMenuCommand?.((command) => {
      if (command === 'open') $('open-file').click();
      else if (state.laneResults.size > 0) void exportFiles('zip');
      else showError('export-error', 'Nothing to export yet: convert something first.');
    });
    document.body.dataset.state = 'idle';
  } catch (error) {
    const fatal = $('fatal');
    fatal.hidden = false;
    fatal.textContent = `Timbre cannot start: ${errorInfo(error).message}`;
    document.body.dataset.state = 'failed';
  }
  setResultButtons();
}

void start();
