// The order in which a job's lanes run their two steps (conversion, then rendering through the vocoder) on the
// engine's thread and its lane workers. Alone, each lane is converted and rendered before the next starts, so lanes
// finish one by one. Side by side, every runner takes the costliest conversion left that it can run and renders only
// when no conversion is left for it: the renderings (each about a tenth of a diffusion lane) then fill the gaps at
// the end, whichever runner their conversion ran on, instead of a whole short lane running alone after the long ones.

/** What a job gives the schedule; `slot` is null for the engine's own thread, else the lane worker's number. */
export interface LaneSteps<Converted> {
  /** Lane indices, in the order their conversions start (costliest first side by side). */
  readonly order: readonly number[];
  /** Lane workers beside the engine's own thread (0: every step on this thread). */
  readonly workers: number;
  /** Whether lane `index`'s conversion may run on a lane worker (models on disk) or only on this thread. */
  readonly convertsOnWorker: (index: number) => boolean;
  /** The lane's conversion; undefined when the lane ended there (failed or cancelled: the caller has reported it). */
  readonly convert: (index: number, slot: number | null) => Promise<Converted | undefined>;
  /** The lane's rendering, on any runner; reports its own end. */
  readonly render: (index: number, converted: Converted, slot: number | null) => Promise<void>;
  readonly signal: AbortSignal;
}

/** Runs every lane's steps; resolves when all have ended or, after `signal` aborts, when the running steps have. */
export async function runLaneSteps<Converted>(steps: LaneSteps<Converted>): Promise<void> {
  const waiting = [...steps.order];
  const ready: { index: number; converted: Converted }[] = [];
  let converting = 0;
  let sleepers: (() => void)[] = [];
  const wake = (): void => {
    const woken = sleepers;
    sleepers = [];
    for (const resolve of woken) resolve();
  };
  steps.signal.addEventListener('abort', wake, { once: true });
  const rendersLast = steps.workers > 0;

  const runner = async (slot: number | null): Promise<void> => {
    for (;;) {
      if (steps.signal.aborted) return;
      const at = waiting.findIndex((i) => slot === null || steps.convertsOnWorker(i));
      if (at >= 0) {
        const [index] = waiting.splice(at, 1) as [number];
        converting++;
        let converted: Converted | undefined;
        try {
          converted = await steps.convert(index, slot);
          if (converted !== undefined && rendersLast) ready.push({ index, converted });
        } finally {
          converting--;
          wake();
        }
        if (converted !== undefined && !rendersLast) await steps.render(index, converted, slot);
        continue;
      }
      const next = ready.shift();
      if (next !== undefined) {
        await steps.render(next.index, next.converted, slot);
        continue;
      }
      if (waiting.length === 0 && converting === 0) return;
      // A conversion is still running (or waits for a runner that can take it): its rendering may come to this runner.
      await new Promise<void>((resolve) => sleepers.push(resolve));
    }
  };

  try {
    await Promise.all([runner(null), ...Array.from({ length: steps.workers }, (_, slot) => runner(slot))]);
  } finally {
    steps.signal.removeEventListener('abort', wake);
  }
}
