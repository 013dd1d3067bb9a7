/**
 * The one poll-until of the specs: for a condition that no event announces
 * (a registry emptied, a process listening, a listing settled), ask again
 * every few milliseconds until it holds, and fail naming it when it does not.
 * Where an event exists, wait for the event instead.
 */

/** What a probe answers: a value once the condition holds; `undefined` or `false` until then. */
export type Probe<T> = T | undefined | false;

export interface PollOptions {
  /** How long to keep asking. @default 5000 */
  readonly timeoutMs?: number;
  /** How long to wait between two questions. @default 10 */
  readonly intervalMs?: number;
  /** What the failure reports as last seen (for a probe whose answer alone says too little). */
  readonly lastSeen?: () => unknown;
}

/**
 * Calls `probe` until it answers a value (neither `undefined` nor `false`)
 * and resolves with it; rejects after `timeoutMs` with an error naming
 * `what`. An exception from `probe` ends the wait at once.
 */
export async function pollUntil<T>(
  what: string,
  probe: () => Probe<T> | Promise<Probe<T>>,
  { timeoutMs = 5000, intervalMs = 10, lastSeen }: PollOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const answer = await probe();
    if (answer !== undefined && answer !== false) return answer;
    if (Date.now() > deadline) {
      const seen = lastSeen === undefined ? '' : `; last seen ${JSON.stringify(lastSeen())}`;
      throw new Error(`not within ${timeoutMs} ms: ${what}${seen}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
