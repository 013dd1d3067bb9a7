/**
 * The relaying side: a receiving HTTP request for a session another process
 * owns. The owner decides what to write, as for a local receiver; this end
 * only opens the response once the owner took it, writes the frames it gets
 * and tells the owner when the client goes away.
 */
import type { ServerResponse } from 'node:http';
import { HEARTBEAT_FRAME, closeFrame } from '../framing';
import { sendText } from '../http';
import { SERVER_GONE, type RelayedResponse, type ResponseWriter } from '../registry';

const SERVER_GONE_FRAME = closeFrame(SERVER_GONE.code, SERVER_GONE.reason);

export class Relay {
  /** The owner of the session. */
  readonly owner: string;
  readonly #response: RelayedResponse;
  readonly #res: ServerResponse;
  #writer: ResponseWriter | undefined;
  /** The owner sends nothing more: it ended the response, or never took it. */
  settled = false;

  constructor(owner: string, response: RelayedResponse) {
    this.owner = owner;
    this.#response = response;
    this.#res = response.res;
  }

  /** Whether the response is still open. */
  get open(): boolean {
    return !this.#res.writableEnded && !this.#res.destroyed;
  }

  /** The owner took the request: the response starts (headers, prelude). */
  accept(): void {
    if (this.#writer === undefined && this.open) this.#writer = this.#response.open();
  }

  /** Whether the owner took the request. */
  get accepted(): boolean {
    return this.#writer !== undefined;
  }

  /** One frame from the owner; the last one when the response is full (the owner counts alike). */
  frame(frame: string): void {
    this.accept();
    // Only a response that was open and ended here is settled; one the client cut off is not.
    const open = this.open;
    if (this.#writer !== undefined && !this.#writer.write(frame) && open) this.settled = true;
  }

  /** The owner ended the response. */
  end(): void {
    this.settled = true;
    this.#writer?.end();
  }

  /** The owner dropped the connection. */
  abort(): void {
    this.settled = true;
    this.#res.destroy();
  }

  /** The owner has no such session (or not for this client). */
  missing(): void {
    this.settled = true;
    if (this.open) this.#response.missing();
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
    if (this.#writer === undefined || !this.#response.format.streaming) this.frame(HEARTBEAT_FRAME);
    this.end();
  }

  /** The cluster could not be asked in time. */
  unavailable(): void {
    if (this.open && this.#writer === undefined) sendText(this.#res, 503, 'Cluster unavailable.');
  }
}
