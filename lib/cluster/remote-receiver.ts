/**
 * The owner's side of a relayed response: a receiver whose frames go over
 * the bus to the process holding the client's HTTP request. It counts the
 * response's bytes exactly as that process's `HttpReceiver` does, so both
 * agree on which frame ends it and none is sent to a finished response.
 */
import type { Receiver } from '../receiver';
import type { TransportName } from '../options';
import type { Session } from '../session';
import { ResponseBudget, type HttpReceiverFormat } from '../transports/http-receiver';
import { encode } from './envelope';

/** Posts to the relaying process; resolves `false` when it is gone. */
export type Post = (node: string, message: string) => Promise<boolean>;

export class RemoteReceiver implements Receiver {
  readonly raw = false;
  /** The process holding the HTTP request. */
  readonly node: string;
  /** The relay's name on that process. */
  readonly relay: string;
  /** The session it is attached to (set once attached). */
  session: Session | undefined;
  readonly #format: HttpReceiverFormat;
  readonly #callback: string;
  readonly #budget: ResponseBudget;
  readonly #post: Post;
  readonly #done: (receiver: RemoteReceiver) => void;
  #finished = false;
  /** Frames posted to the relay so far. */
  #frames = 0;

  /**
   * @param done called once when the relay is over (ended, dropped, or the
   *   other process gone), so the cluster forgets it
   */
  constructor(
    node: string,
    relay: string,
    format: HttpReceiverFormat,
    callback: string,
    responseLimit: number,
    post: Post,
    done: (receiver: RemoteReceiver) => void,
  ) {
    this.node = node;
    this.relay = relay;
    this.#format = format;
    this.#callback = callback;
    this.#budget = new ResponseBudget(format, responseLimit);
    this.#post = post;
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
    this.#send(encode({ op: 'accept', r: this.relay }));
  }

  write(frame: string): boolean {
    if (this.#finished) return false;
    this.#frames++;
    this.#send(encode({ op: 'frame', r: this.relay }, frame));
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
    this.#send(encode({ op: 'end', r: this.relay }));
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
    this.#send(encode({ op: 'abort', r: this.relay }));
    this.finish();
  }

  /** The relay is over: nothing more is sent to it. */
  finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#done(this);
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

  #send(message: string): void {
    this.#post(this.node, message).then(
      (taken) => {
        if (!taken) this.lost();
      },
      () => this.lost(),
    );
  }
}
