// A typed event emitter in the wavesurfer.js shape: an event map names each event's argument tuple,
// `on()` returns its unsubscribe, `unAll()` drops everything. Engine jobs and registries use it.

/** Map of event name → argument tuple. */
export type EventMap = { [event: string]: unknown[] };

type Listener<Args extends unknown[]> = (...args: Args) => void;
type AnyListener = (...args: unknown[]) => void;

/** Typed emitter; listener errors are caught and reported to `onListenerError` so one bad listener cannot stop a job. */
export class TypedEmitter<Events extends EventMap> {
  private readonly listeners = new Map<keyof Events, Set<AnyListener>>();

  constructor(private readonly onListenerError: (error: unknown) => void = () => {}) {}

  /** Subscribes; returns the unsubscribe function. */
  on<E extends keyof Events>(event: E, listener: Listener<Events[E]>, options: { once?: boolean } = {}): () => void {
    let set = this.listeners.get(event);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(event, set);
    }
    const stored: Listener<Events[E]> = options.once
      ? (...args) => {
          unsubscribe();
          listener(...args);
        }
      : listener;
    set.add(stored as unknown as AnyListener);
    const unsubscribe = (): void => {
      set.delete(stored as unknown as AnyListener);
    };
    return unsubscribe;
  }

  /** Subscribes for one call. */
  once<E extends keyof Events>(event: E, listener: Listener<Events[E]>): () => void {
    return this.on(event, listener, { once: true });
  }

  /** Number of listeners of one event, or of all (leak tests). */
  listenerCount(event?: keyof Events): number {
    if (event !== undefined) return this.listeners.get(event)?.size ?? 0;
    let n = 0;
    for (const set of this.listeners.values()) n += set.size;
    return n;
  }

  /** Drops every listener. */
  unAll(): void {
    this.listeners.clear();
  }

  /** Calls the event's listeners in subscription order. */
  emit<E extends keyof Events>(event: E, ...args: Events[E]): void {
    const set = this.listeners.get(event);
    if (set === undefined) return;
    for (const listener of [...set]) {
      try {
        listener(...args);
      } catch (error) {
        this.onListenerError(error);
      }
    }
  }
}
