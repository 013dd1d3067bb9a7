/**
 * The owner's side of a relayed response: a receiver whose frames go over
 * the bus to the process holding the client's HTTP request. It counts the
 * response's bytes exactly as that process's `HttpReceiver` does, so both
 * agree on which frame ends it and none is sent to a finished response.
 */
import type { TransportName } from '../options';
import { ResponseBudget, type FrameFormat, type Receiver } from '../receiver';
import type { Session } from '../session';
import type { Header } from './envelope';
import type { Messenger } from './messenger';

/** A receiving request another process holds for a session of this one. */
export interface RemoteRequest {
  /** The process holding the HTTP request. */
  readonly node: string;
  /** The relay's name on that process. */
  readonly relay: string;
  readonly format: FrameFormat;
  readonly callback: string;
  /** The holding process's `responseLimit`. */
  readonly responseLimit: number;
}

export class RemoteReceiver implements Receiver {
  readonly raw = false;
  /** The process holding the HTTP request. */
  readonly node: string;
  /** The relay's name on that process. */
  readonly relay: string;
  /** The session it is attached to (set once attached). */
  session: Session | undefined;
  readonly #format: FrameFormat;
  readonly #callback: string;
  readonly #budget: ResponseBudget;
  readonly #messenger: Messenger;
  readonly #done: (receiver: RemoteReceiver) => void;
  #finished = false;
  /** Frames posted to the relay so far. */
  #frames = 0;

  /**
   * @param done called once when the relay is over (ended, dropped, or the
   *   other process gone), so the cluster forgets it
   */
  constructor(request: RemoteRequest, messenger: Messenger, done: (receiver: RemoteReceiver) => void) {
    this.node = request.node;
    this.relay = request.relay;
    this.#format = request.format;
    this.#callback = request.callback;
    this.#budget = new ResponseBudget(request.format, request.responseLimit);
    this.#messenger = messenger;
    this.#done = done;
  }

  get transport(): TransportName {
    return this.#format.transport;
  }

  /** Whether frames may still be written. */
  get active(): boolean {
    return !this.#finished;
  }

  /** Tells the relaying process the session took the request; frames follow. */
  accept(): void {
    this.#send({ op: 'accept', ref: this.relay });
  }

  write(frame: string): boolean {
    if (this.#finished) return false;
    this.#frames++;
    this.#send({ op: 'frame', ref: this.relay }, frame);
    // Only a streaming response's size depends on the formatted bytes.
    if (this.#budget.take(this.#format.streaming ? this.#format.frame(frame, this.#callback) : '')) return true;
    this.finish();
    return false;
  }

  writeRaw(): void {
    throw new Error('sockjs: HTTP receivers carry frames only');
  }

  end(): void {
    if (this.#finished) return;
    this.#send({ op: 'end', ref: this.relay });
    this.finish();
  }

  /** Nothing is buffered here: the bus takes every frame at once. */
  get bufferedAmount(): number {
    return 0;
  }

  onDrain(callback: () => void): void {
    setImmediate(callback);
  }

  abort(): void {
    if (this.#finished) return;
    this.#send({ op: 'abort', ref: this.relay });
    this.finish();
  }

  /** The relay is over: nothing more is sent to it. */
  finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#done(this);
  }

  /**
   * The relaying process's response went away: the client cut it off
   * (`interrupted`), it ended, or that process is leaving. The session lets go of it.
   */
  detach(interrupted: boolean): void {
    const session = this.session;
    this.finish();
    session?.detach(this, interrupted);
  }

  /**
   * The relaying process went away, and with it the client's request. When
   * frames went out through it, some may never have reached the client: the
   * session closes (1002), as for a request the client cut off. When none did
   * (a held poll), nothing is lost and the session waits for the client's next
   * request, which a load balancer may already be retrying on another process.
   */
  lost(): void {
    const session = this.session;
    this.finish();
    session?.detach(this, this.#frames > 0);
  }

  #send(header: Header, payload = ''): void {
    this.#messenger.post(this.node, header, payload).then(
      (taken) => {
        if (!taken) this.lost();
      },
      () => this.lost(),
    );
  }
}
