/**
 * One timer for the periodic work of many sessions (heartbeats, websocket
 * pings) instead of a `setInterval` each: a Timeout object and a closure per
 * session were a large part of an idle session's memory.
 *
 * The period is cut into slots and the timer ticks once a slot. A member
 * joins the slot that ticked last, so it is called every `period` ms, the
 * first time between `period - period / SLOTS` and `period` ms after it
 * joined. The timer runs only while there are members and never holds the
 * process open.
 */

/** Slots per period: how much earlier than `period` a first call may come. */
const SLOTS = 8;

export class Ticker<T> {
  readonly #slots: Set<T>[];
  readonly #tick: number;
  readonly #call: (member: T) => void;
  /** The slot that ticked last; new members join it. */
  #cursor = 0;
  #members = 0;
  #timer: NodeJS.Timeout | undefined;

  /**
   * @param period milliseconds between two calls of one member (at least 1)
   * @param call what to do for a member once a period
   */
  constructor(period: number, call: (member: T) => void) {
    const slots = Math.min(SLOTS, period);
    this.#slots = Array.from({ length: slots }, () => new Set<T>());
    this.#tick = period / slots;
    this.#call = call;
  }

  /** Starts calling `member` once a period. Returns its slot, for {@link remove}. */
  add(member: T): number {
    const slot = this.#cursor;
    this.#slots[slot].add(member);
    if (++this.#members === 1) {
      this.#timer = setInterval(() => this.#advance(), this.#tick);
      this.#timer.unref();
    }
    return slot;
  }

  /** Stops calling `member`; `slot` is what {@link add} returned. */
  remove(member: T, slot: number): void {
    if (!this.#slots[slot].delete(member)) return;
    if (--this.#members === 0) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  #advance(): void {
    this.#cursor = (this.#cursor + 1) % this.#slots.length;
    // A member may leave (or join this slot) while it is called; iterate a copy.
    for (const member of [...this.#slots[this.#cursor]]) this.#call(member);
  }
}
