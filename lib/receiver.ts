/**
 * A receiver carries a session's frames to the client for a while: one HTTP
 * response (polling or streaming) or one websocket. The session decides what
 * to write and when; a receiver only formats and writes.
 */
import type { TransportName } from './options';

/** What `session.transport` reports: a SockJS transport, or the raw websocket. */
export type SessionTransport = TransportName | 'raw-websocket';

/** The connection a session writes its frames to. */
export interface Receiver {
  /** The transport this receiver speaks. */
  readonly transport: SessionTransport;
  /** `true` for the raw websocket: messages go out as they are, unframed. */
  readonly raw: boolean;
  /**
   * Writes one frame. Returns `false` when the receiver has finished with
   * this write (a polling response, or a streaming response past its limit)
   * and must not be written to again. `ascii` promises every character of
   * `frame` is ASCII (so its UTF-8 bytes are its Latin-1 bytes); `bytes`, when
   * given, is `frame` already UTF-8 encoded (a broadcast encodes its frame once
   * for every session). A receiver may use either hint or ignore it.
   */
  write(frame: string, ascii?: boolean, bytes?: Buffer): boolean;
  /** Writes one message unframed: only receivers that are `raw` have it. */
  writeRaw?(message: string): void;
  /** Ends the connection; websockets close with `code` and `reason`. */
  end(code: number, reason: string): void;
  /** Bytes written to this receiver that have not reached the network yet. */
  readonly bufferedAmount: number;
  /** Calls `callback` once the receiver's buffer has been written out. */
  onDrain(callback: () => void): void;
  /** Drops the connection and whatever it still buffers (no close handshake). */
  abort(): void;
}

/**
 * How one HTTP receiving transport writes a frame: as much of its format as
 * another process needs to count a response it relays (see `lib/cluster/`).
 */
export interface FrameFormat {
  /** The sockjs-client name of the transport. */
  readonly transport: TransportName;
  /** Streaming responses stay open for many frames; polling ones carry one. */
  readonly streaming: boolean;
  /** The bytes of one frame. */
  frame(frame: string, callback: string): string;
}

/**
 * When one receiving response ends: after its first frame when polling; when
 * streaming, once the bytes of its frames (as formatted) reach the response
 * limit. A relayed response is counted on both processes alike, so both know
 * which frame ends it.
 */
export class ResponseBudget {
  readonly #streaming: boolean;
  readonly #limit: number;
  #written = 0;

  constructor(format: FrameFormat, responseLimit: number) {
    this.#streaming = format.streaming;
    this.#limit = responseLimit;
  }

  /** Counts one written frame (`data`, as formatted); `false` when the response ends after it. */
  take(data: string): boolean {
    if (!this.#streaming) return false;
    this.#written += Buffer.byteLength(data);
    return this.#written < this.#limit;
  }
}
