/**
 * The messages processes post to each other over the adapter's bus: a JSON
 * header on the first line, then an optional payload taken as it is (a frame
 * or a message is never JSON-encoded a second time).
 */
import type { TransportName } from '../options';
import type { SessionTransport } from '../receiver';

/** One session as the cluster lists it. */
export interface ClusterSession {
  /** `session.id`; with an adapter it starts with the owner's node id and a `/`. */
  readonly id: string;
  /** The process that owns the session (runs its `'data'` listeners). */
  readonly node: string;
  /** The transport of its current (or last) receiving connection. */
  readonly transport: SessionTransport;
  /** The process carrying its current receiving HTTP request, when that is not the owner. */
  readonly via?: string;
}

/**
 * The header of a message between processes. `ref` names a request (or a
 * relay) of the process that made it, so the answer can find it: a reply
 * carries its request's `ref`, and every message about a relayed response
 * carries the relay's.
 */
export type Header =
  /** Relay the frames of HTTP session `urlId` to `from`, for a response of `transport`. */
  | {
      readonly op: 'attach';
      readonly ref: string;
      readonly from: string;
      readonly urlId: string;
      /** The client's binding key (see `sessionBinding`), when the handler binds sessions. */
      readonly key?: string;
      readonly transport: TransportName;
      /** The jsonp or htmlfile callback, or `''`. */
      readonly callback: string;
      /** The relaying process's `responseLimit`, which the owner counts the response against. */
      readonly responseLimit: number;
    }
  /** The owner took the relay `ref` (frames follow), or has no such session. */
  | { readonly op: 'accept' | 'missing'; readonly ref: string }
  /** Payload: one frame for relay `ref`. */
  | { readonly op: 'frame'; readonly ref: string }
  /** The owner ended relay `ref` (`end`) or dropped it (`abort`). */
  | { readonly op: 'end' | 'abort'; readonly ref: string }
  /** The response of relay `ref` of `from` went away: cut off by the client (`interrupted`) or ended. */
  | { readonly op: 'detach'; readonly ref: string; readonly from: string; readonly interrupted: boolean }
  /** Request `ref`: `from` is leaving; stop sending to its relay `relay` and reply. */
  | { readonly op: 'release'; readonly ref: string; readonly from: string; readonly relay: string }
  /** Request `ref`; payload: a JSON array of messages from the client of HTTP session `urlId`. */
  | { readonly op: 'deliver'; readonly ref: string; readonly from: string; readonly urlId: string; readonly key?: string }
  /** Close HTTP session `urlId` for a protocol reason (a send over `maxMessageSize`). */
  | { readonly op: 'refuse'; readonly urlId: string; readonly key?: string; readonly code: number; readonly reason: string }
  /** Request `ref`; payload: a message for session `id`, as a JSON string (lone surrogates survive). */
  | { readonly op: 'send'; readonly ref: string; readonly from: string; readonly id: string }
  /** Payload: a message for every session of every process but `from`, as a JSON string. */
  | { readonly op: 'broadcast'; readonly from: string }
  /** Request `ref`: list your sessions (`list`), or send your `handler.stats()` (`stats`), to `from`. */
  | { readonly op: 'list' | 'stats'; readonly ref: string; readonly from: string }
  /** Nothing to do: whether the post reaches the process tells if it is alive. */
  | { readonly op: 'ping' }
  /** The answer to request `ref`; payload: a JSON list for `list`, a JSON object for `stats`. */
  | { readonly op: 'reply'; readonly ref: string; readonly ok: boolean };

/** A request: a header that waits for a `reply` with its `ref`. */
export type Request = Extract<Header, { op: 'deliver' | 'send' | 'list' | 'stats' | 'release' }>;

/** A decoded message. */
export interface Envelope {
  readonly header: Header;
  readonly payload: string;
}

/** Writes a message: the header, a newline, the payload. */
export function encode(header: Header, payload = ''): string {
  return JSON.stringify(header) + '\n' + payload;
}

/** Reads a message; `undefined` for anything that is not one (it is dropped). */
export function decode(message: string): Envelope | undefined {
  const newline = message.indexOf('\n');
  if (newline < 0) return undefined;
  try {
    const header: unknown = JSON.parse(message.slice(0, newline));
    if (header === null || typeof header !== 'object' || typeof (header as { op?: unknown }).op !== 'string') {
      return undefined;
    }
    return { header: header as Header, payload: message.slice(newline + 1) };
  } catch {
    return undefined;
  }
}
