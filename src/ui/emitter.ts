// The UI's typed event emitter (wavesurfer.js shape): `on()` returns its unsubscribe, `unAll()` clears.
// The UI may not import engine code, so this mirrors src/engine/events.ts in a few lines.

type AnyListener = (...args: unknown[]) => void;

/** Typed emitter over an event map `{ name: [args] }`. */
export class Emitter<Events extends { [name: string]: unknown[] }> {
  private readonly listeners = new Map<keyof Events, Set<AnyListener>>();

  /** Subscribes; returns the unsubscribe. */
  on<E extends keyof Events>(event: E, listener: (...args: Events[E]) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    const stored = listener as unknown as AnyListener;
    set.add(stored);
    return () => set.delete(stored);
  }

  /** Calls every listener of `event`; a throwing listener is logged, the rest still run. */
  emit<E extends keyof Events>(event: E, ...args: Events[E]): void {
    for (const listener of [...(this.listeners.get(event) ?? [])]) {
      try {
        listener(...args);
      } catch (error) {
        console.error(error);
      }
    }
  }

  /** Listener count (leak checks). */
  listenerCount(): number {
    let n = 0;
    for (const set of this.listeners.values()) n += set.size;
    return n;
  }

  /** Drops every listener. */
  unAll(): void {
    this.listeners.clear();
  }
}
