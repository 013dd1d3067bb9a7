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
