// A small typed event emitter: the part of node:events the client offers (on, once, off, emit,
// listenerCount), written here so the SDK runs where node:events does not (browsers, Deno, edge
// runtimes). Listener lists are copied on write, so a listener that adds or removes listeners
// while an event is being emitted changes only the next emit.

type Listener<Args extends unknown[]> = (...args: Args) => void;
// biome-ignore lint/suspicious/noExplicitAny: the map holds every event's listeners, each with its own arguments
type AnyListener = (...args: any[]) => void;

/** Listeners per event, before a warning-free ceiling: more means a leak, as in node:events. */
const LISTENERS_PER_EVENT_MAX = 1000;

/** `Events` maps each event name to the arguments its listeners receive. */
export class TypedEmitter<Events extends { [E in keyof Events]: unknown[] }> {
  private readonly listeners = new Map<keyof Events, ReadonlyArray<AnyListener>>();

  on<E extends keyof Events>(event: E, listener: Listener<Events[E]>): this {
    const list = this.listeners.get(event) ?? [];
    if (list.length >= LISTENERS_PER_EVENT_MAX) {
      throw new RangeError(`more than ${LISTENERS_PER_EVENT_MAX} listeners for '${String(event)}': a listener leak`);
    }
    this.listeners.set(event, [...list, listener as AnyListener]);
    return this;
  }

  addListener<E extends keyof Events>(event: E, listener: Listener<Events[E]>): this {
    return this.on(event, listener);
  }

  /** Calls `listener` on the next `event` only. `off` with the same listener cancels it. */
  once<E extends keyof Events>(event: E, listener: Listener<Events[E]>): this {
    const wrapper = Object.assign(
      (...args: Events[E]) => {
        this.off(event, wrapper);
        listener(...args);
      },
      { original: listener },
    );
    return this.on(event, wrapper);
  }

  off<E extends keyof Events>(event: E, listener: Listener<Events[E]>): this {
    const list = this.listeners.get(event);
    if (list === undefined) return this;
    const index = list.findIndex((l) => l === listener || (l as { original?: unknown }).original === listener);
    if (index === -1) return this;
    const rest = [...list.slice(0, index), ...list.slice(index + 1)];
    if (rest.length === 0) this.listeners.delete(event);
    else this.listeners.set(event, rest);
    return this;
  }

  removeListener<E extends keyof Events>(event: E, listener: Listener<Events[E]>): this {
    return this.off(event, listener);
  }

  removeAllListeners(event?: keyof Events): this {
    if (event === undefined) this.listeners.clear();
    else this.listeners.delete(event);
    return this;
  }

  listenerCount(event: keyof Events): number {
    return this.listeners.get(event)?.length ?? 0;
  }

  /**
   * Calls every listener of `event` in the order they were added; answers whether there was one.
   * As with node:events, an 'error' event nobody listens to is thrown, so it is never lost.
   */
  emit<E extends keyof Events>(event: E, ...args: Events[E]): boolean {
    const list = this.listeners.get(event);
    if (list === undefined) {
      if (event === 'error') throw args[0] instanceof Error ? args[0] : new Error(`unhandled 'error' event: ${String(args[0])}`);
      return false;
    }
    for (const listener of list) listener(...args);
    return true;
  }
}
