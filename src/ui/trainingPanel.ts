// The training panel: pick what to train (a model on the corpus, your voice added to the VAE, a CycleGAN-VC
// pair), steps, start / cancel / resume, live loss charts, steps/s and ETA; the new model joins the list.

import type { EngineErrorInfo, ModelInfo, TrainerInfo, TrainingJob, TrainRequest, TrainTarget, VoiceInfo } from '../engine/api.js';
import { LossCharts } from './lossChart.js';
import { UiEngineError, type UiTransport } from './transport.js';

/** What the panel needs from the page. */
export interface TrainingPanelContext {
  transport: UiTransport;
  voices(): readonly VoiceInfo[];
  /** Reloads the model list (a run finished); resolves with it. */
  refreshModels(): Promise<readonly ModelInfo[]>;
}

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const node = document.getElementById(id);
  if (!node) throw new Error(`the page lacks #${id}`);
  return node as T;
};

/** Choices of "Train": a trainer on the corpus, or a fine-tuning kind. */
type Choice = { value: string; label: string; target: (form: FormValues) => TrainTarget; defaultSteps: number; needs: readonly ('voice' | 'from' | 'to')[] };
interface FormValues {
  voice: string;
  from: string;
  to: string;
}

function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '—';
  const s = Math.round(seconds);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

/** Wires the training panel; returns `refreshVoices()` for when the voice list changes. */
export function createTrainingPanel(context: TrainingPanelContext, trainers: readonly TrainerInfo[]): { refreshVoices(): void } {
  const what = $<HTMLSelectElement>('train-what');
  const steps = $<HTMLInputElement>('train-steps');
  const charts = new LossCharts($('loss-charts'));
  const status = $('train-status');
  const rate = $('train-rate');
  const bar = $<HTMLProgressElement>('train-progress');
  const start = $<HTMLButtonElement>('train-start');
  const cancel = $<HTMLButtonElement>('train-cancel');
  const resume = $<HTMLButtonElement>('train-resume');
  const error = $('train-error');
  let job: TrainingJob | undefined;
  let lastRequest: TrainRequest | undefined;

  const choices: Choice[] = [
    ...trainers
      .filter((t) => !t.pairwise)
      .map((t): Choice => ({ value: `model:${t.name}`, label: `${t.label} on the corpus`, target: () => ({ kind: 'model', model: t.name }), defaultSteps: t.defaultSteps, needs: [] })),
    { value: 'vae-add-voice', label: 'VAE: add one of your voices', target: (f) => ({ kind: 'vae-add-voice', voice: f.voice }), defaultSteps: 200, needs: ['voice'] },
    ...trainers
      .filter((t) => t.pairwise)
      .map((t): Choice => ({ value: 'cyclegan-pair', label: `${t.label}: a voice pair`, target: (f) => ({ kind: 'cyclegan-pair', from: f.from, to: f.to }), defaultSteps: t.defaultSteps, needs: ['from', 'to'] })),
  ];
  what.replaceChildren(...choices.map((c) => new Option(c.label, c.value)));
  const choice = (): Choice => choices.find((c) => c.value === what.value) ?? choices[0]!;

  function fillSelect(id: string, voices: readonly VoiceInfo[], extra: [string, string][] = []): void {
    const select = $<HTMLSelectElement>(id);
    const previous = select.value;
    select.replaceChildren(...extra.map(([value, label]) => new Option(label, value)), ...voices.map((v) => new Option(v.label, v.id)));
    if ([...select.options].some((o) => o.value === previous)) select.value = previous;
  }

  function refreshVoices(): void {
    const voices = context.voices();
    fillSelect('train-voice', voices.filter((v) => v.kind === 'user'));
    fillSelect('train-from', voices.filter((v) => v.kind !== 'test'), [['any', 'any voice (all corpus voices)']]);
    fillSelect('train-to', voices.filter((v) => v.kind === 'corpus'));
  }

  function onChoice(): void {
    const c = choice();
    for (const field of ['voice', 'from', 'to'] as const) {
      const visible = c.needs.includes(field);
      $(`train-${field}`).hidden = !visible;
      $(`train-${field}-label`).hidden = !visible;
    }
    steps.value = String(c.defaultSteps);
    error.textContent = '';
  }

  function setState(state: 'idle' | 'running' | 'done' | 'cancelled' | 'failed'): void {
    document.body.dataset.training = state;
    start.disabled = state === 'running';
    cancel.disabled = state !== 'running';
    resume.hidden = state !== 'cancelled';
    what.disabled = state === 'running';
  }

  function showError(info: EngineErrorInfo): void {
    const where = info.field ? ` (${info.field})` : '';
    error.textContent = `${info.message.replace(/^./, (ch) => ch.toUpperCase())}${where}`;
  }

  function readForm(): TrainRequest | string {
    const c = choice();
    const form: FormValues = { voice: $<HTMLSelectElement>('train-voice').value, from: $<HTMLSelectElement>('train-from').value, to: $<HTMLSelectElement>('train-to').value };
    if (c.needs.includes('voice') && !form.voice) return 'Create one of your voices first (section 5), then pick it here.';
    if (c.needs.includes('to') && !form.to) return 'Pick the target voice of the pair.';
    const n = Number(steps.value);
    if (steps.value.trim() === '' || !Number.isInteger(n) || n < 1 || n > 1_000_000) return `Steps must be a whole number from 1 to 1000000, got "${steps.value}".`;
    const request: TrainRequest = { target: c.target(form), steps: n };
    if ($<HTMLInputElement>('train-tiny').checked) request.preset = 'tiny';
    if ($<HTMLInputElement>('train-fresh').checked) request.fresh = true;
    if ($<HTMLInputElement>('train-overwrite').checked) request.overwrite = true;
    return request;
  }

  async function run(request: TrainRequest): Promise<void> {
    error.textContent = '';
    setState('running');
    status.textContent = 'Preparing…';
    lastRequest = { ...request, fresh: false };
    let started: TrainingJob;
    try {
      started = await context.transport.train(request);
    } catch (e) {
      showError(e instanceof UiEngineError ? { code: e.code, message: e.message, ...(e.field ? { field: e.field } : {}) } : { code: 'INTERNAL', message: String(e) });
      status.textContent = '';
      setState('idle');
      return;
    }
    job?.destroy();
    job = started;
    job.on('start', (s) => {
      if (!s.resumed) charts.clear();
      bar.max = s.totalSteps;
      bar.value = s.startStep;
      status.textContent = s.resumed ? `Resumed ${s.name} at step ${s.startStep} of ${s.totalSteps}…` : `Training ${s.name}: ${s.totalSteps} steps…`;
    });
    job.on('progress', (p) => {
      charts.add(p.step, p.losses);
      bar.max = p.totalSteps;
      bar.value = p.step;
      rate.textContent = `step ${p.step}/${p.totalSteps} · ${p.stepsPerSecond.toFixed(2)} steps/s · ETA ${formatEta(p.etaSeconds)}`;
    });
    job.on('checkpoint', (c) => (rate.dataset.checkpoint = String(c.step)));
    try {
      const outcome = await job.finished;
      if (outcome.kind === 'cancelled') {
        status.textContent = `Cancelled at step ${outcome.cancelled.step} of ${outcome.cancelled.totalSteps}; a checkpoint was written — Resume continues from it.`;
        setState('cancelled');
      } else {
        const { modelId, steps: total, seconds } = outcome.done;
        const listed = (await context.refreshModels()).some((m) => m.id === modelId);
        // A speaker encoder is not a conversion model: it measures similarity, so it does not join the list.
        status.textContent = `Done: model ${modelId} (${total} steps, ${seconds.toFixed(1)} s).${listed ? ' It is in the model list above.' : ''}`;
        setState('done');
      }
    } catch (e) {
      showError(e instanceof UiEngineError ? { code: e.code, message: e.message } : { code: 'INTERNAL', message: String(e) });
      status.textContent = '';
      setState('failed');
    }
  }

  what.addEventListener('change', onChoice);
  start.addEventListener('click', () => {
    const request = readForm();
    if (typeof request === 'string') {
      error.textContent = request;
      return;
    }
    void run(request);
  });
  cancel.addEventListener('click', () => {
    job?.cancel();
    status.textContent = 'Cancelling after this step…';
  });
  resume.addEventListener('click', () => {
    if (lastRequest) void run(lastRequest);
  });
  refreshVoices();
  onChoice();
  setState('idle');
  return { refreshVoices };
}
