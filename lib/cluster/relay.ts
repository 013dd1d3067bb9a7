/**
 * The relaying side: a receiving HTTP request for a session another process
 * owns. The owner decides what to write, as for a local receiver; this end
 * only opens the response once the owner took it, writes the frames it gets
 * and tells the owner when the client goes away.
 */
import type { ServerResponse } from 'node:http';
import { HEARTBEAT_FRAME, closeFrame } from '../framing';
import { sendText } from '../http';
import { HttpReceiver, type HttpReceiverFormat } from '../transports/http-receiver';

/** Code and reason a client gets for a session whose process died or left. */
export const SERVER_GONE = { code: 1001, reason: 'Server gone' } as const;
const SERVER_GONE_FRAME = closeFrame(SERVER_GONE.code, SERVER_GONE.reason);

export class Relay {
  /** The owner of the session. */
  readonly owner: string;
  readonly #res: ServerResponse;
  readonly #format: HttpReceiverFormat;
  readonly #callback: string;
  readonly #responseLimit: number;
  readonly #onMissing: (() => void) | undefined;
  #receiver: HttpReceiver | undefined;
  /** The owner sends nothing more: it ended the response, or never took it. */
  settled = false;

  /** @param onMissing what to do instead of a `404` when the owner has no such session */
  constructor(owner: string, res: ServerResponse, format: HttpReceiverFormat, callback: string, responseLimit: number, onMissing?: () => void) {
    this.owner = owner;
    this.#onMissing = onMissing;
    this.#res = res;
    this.#format = format;
    this.#callback = callback;
    this.#responseLimit = responseLimit;
  }

  /** Whether the response is still open. */
  get open(): boolean {
    return !this.#res.writableEnded && !this.#res.destroyed;
  }

  /** The owner took the request: the response starts (headers, prelude). */
  accept(): void {
    if (this.#receiver === undefined && this.open) {
      this.#receiver = new HttpReceiver(this.#res, this.#format, this.#callback, this.#responseLimit);
    }
  }

  /** Whether the owner took the request. */
  get accepted(): boolean {
    return this.#receiver !== undefined;
  }

  /** One frame from the owner; the last one when the response is full (the owner counts alike). */
  frame(frame: string): void {
    this.accept();
    // Only a response that was open and ended here is settled; one the client cut off is not.
    const open = this.open;
    if (this.#receiver !== undefined && !this.#receiver.write(frame) && open) this.settled = true;
  }

  /** The owner ended the response. */
  end(): void {
    this.settled = true;
    this.#receiver?.end();
  }

  /** The owner dropped the connection. */
  abort(): void {
    this.settled = true;
    this.#res.destroy();
  }

  /** The owner has no such session (or not for this client). */
  missing(): void {
    this.settled = true;
    if (!this.open) return;
    if (this.#onMissing) this.#onMissing();
    else sendText(this.#res, 404, 'Not found.');
  }

  /** The owner died or left: the session is over. */
  gone(): void {
    this.frame(SERVER_GONE_FRAME);
    this.end();
  }

  /**
   * This process is leaving and the owner sends nothing more: the response
   * ends cleanly, so the client comes back through another process. A
   * polling response gets a heartbeat, which the client answers with a new poll.
   */
  handOver(): void {
    if (!this.open) return;
    if (this.#receiver === undefined || !this.#format.streaming) this.frame(HEARTBEAT_FRAME);
    this.end();
  }

  /** The cluster could not be asked in time. */
  unavailable(): void {
    if (this.open && this.#receiver === undefined) sendText(this.#res, 503, 'Cluster unavailable.');
  }
}
