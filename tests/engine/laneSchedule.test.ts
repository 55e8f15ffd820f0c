// The order of lanes' steps: alone, lane by lane; side by side, conversions (costliest first) before renderings, which
// any runner takes; a worker never converts a lane only this thread can; a failed conversion renders nothing; an abort
// starts nothing new. Steps end when the test says so (no timers).

import { describe, expect, it } from 'vitest';
import { runLaneSteps } from '../../src/engine/laneSchedule.js';

/** Steps whose ends the test controls; `log` records "who:step lane" at each start. */
function controlledSteps() {
  const log: string[] = [];
  const ends = new Map<string, (ok: boolean) => void>();
  const who = (slot: number | null): string => (slot === null ? 'main' : `worker${slot}`);
  const step = <T>(name: string, slot: number | null, value: T): Promise<T | undefined> => {
    log.push(`${who(slot)}:${name}`);
    return new Promise((resolve) => ends.set(name, (ok) => resolve(ok ? value : undefined)));
  };
  const end = async (name: string, ok = true): Promise<void> => {
    const finish = ends.get(name);
    if (finish === undefined) throw new Error(`${name} has not started; started: ${log.join(', ')}`);
    ends.delete(name);
    finish(ok);
    for (let i = 0; i < 10; i++) await Promise.resolve(); // let the runners move on
  };
  return {
    log,
    end,
    convert: (index: number, slot: number | null) => step(`convert ${index}`, slot, `mel ${index}`),
    render: async (index: number, converted: string, slot: number | null) => {
      expect(converted).toBe(`mel ${index}`);
      await step(`render ${index}`, slot, undefined);
    },
  };
}

const settle = async (): Promise<void> => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

describe('runLaneSteps', () => {
  it('alone: each lane is converted and rendered before the next starts, in the given order', async () => {
    const steps = controlledSteps();
    const done = runLaneSteps({ order: [1, 0], workers: 0, convertsOnWorker: () => true, convert: steps.convert, render: steps.render, signal: new AbortController().signal });
    await settle();
    await steps.end('convert 1');
    await steps.end('render 1');
    await steps.end('convert 0');
    await steps.end('render 0');
    await done;
    expect(steps.log).toEqual(['main:convert 1', 'main:render 1', 'main:convert 0', 'main:render 0']);
  });

  it('side by side: conversions first on whichever runner is free, renderings after them on any runner', async () => {
    const steps = controlledSteps();
    const done = runLaneSteps({ order: [3, 2, 1, 0], workers: 1, convertsOnWorker: () => true, convert: steps.convert, render: steps.render, signal: new AbortController().signal });
    await settle();
    expect(steps.log).toEqual(['main:convert 3', 'worker0:convert 2']);
    await steps.end('convert 2'); // the worker takes the next conversion, not the rendering of its own
    expect(steps.log.slice(2)).toEqual(['worker0:convert 1']);
    await steps.end('convert 3');
    expect(steps.log.slice(3)).toEqual(['main:convert 0']);
    await steps.end('convert 0'); // no conversion left: renderings in the order their conversions ended
    expect(steps.log.slice(4)).toEqual(['main:render 2']);
    await steps.end('convert 1');
    expect(steps.log.slice(5)).toEqual(['worker0:render 3']);
    await steps.end('render 3');
    expect(steps.log.slice(6)).toEqual(['worker0:render 0']);
    await steps.end('render 2');
    expect(steps.log.slice(7)).toEqual(['main:render 1']);
    await steps.end('render 0');
    await steps.end('render 1');
    await done;
    expect(steps.log).toHaveLength(8);
  });

  it('a worker renders, but never converts, a lane only this thread can convert; a failed conversion renders nothing', async () => {
    const steps = controlledSteps();
    const done = runLaneSteps({ order: [0, 1, 2], workers: 1, convertsOnWorker: (i) => i !== 0, convert: steps.convert, render: steps.render, signal: new AbortController().signal });
    await settle();
    expect(steps.log).toEqual(['main:convert 0', 'worker0:convert 1']);
    await steps.end('convert 1', false); // failed: nothing to render
    expect(steps.log.slice(2)).toEqual(['worker0:convert 2']);
    await steps.end('convert 2');
    expect(steps.log.slice(3)).toEqual(['worker0:render 2']);
    await steps.end('render 2'); // the worker waits for this thread's conversion and renders it
    expect(steps.log).toHaveLength(4);
    await steps.end('convert 0');
    expect(steps.log.slice(4)).toEqual(['main:render 0']);
    await steps.end('render 0');
    await done;
    expect(steps.log).not.toContain('worker0:convert 0');
    expect(steps.log.some((l) => l.endsWith('render 1'))).toBe(false);
  });

  it('after an abort starts nothing new and resolves once the running steps end', async () => {
    const steps = controlledSteps();
    const controller = new AbortController();
    const done = runLaneSteps({ order: [0, 1, 2], workers: 1, convertsOnWorker: () => true, convert: steps.convert, render: steps.render, signal: controller.signal });
    await settle();
    controller.abort();
    await steps.end('convert 0', false);
    await steps.end('convert 1', false);
    await done;
    expect(steps.log).toEqual(['main:convert 0', 'worker0:convert 1']);
  });
});
