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

/** The header of a message between processes; `r` names a request (or relay) of the sender. */
export type Header =
  /** Relay the frames of HTTP session `u` to `from`, for a response of transport `t`. */
  | {
      readonly op: 'attach';
      readonly r: string;
      readonly from: string;
      readonly u: string;
      readonly k?: string;
      readonly t: TransportName;
      readonly c: string;
      readonly l: number;
    }
  /** The owner took the relay `r` (frames follow), or has no such session. */
  | { readonly op: 'accept' | 'missing'; readonly r: string }
  /** Payload: one frame for relay `r`. */
  | { readonly op: 'frame'; readonly r: string }
  /** The owner ended relay `r` (`end`) or dropped it (`abort`). */
  | { readonly op: 'end' | 'abort'; readonly r: string }
  /** The response of relay `r` of `from` went away: cut off by the client (`i`) or ended. */
  | { readonly op: 'detach'; readonly r: string; readonly from: string; readonly i: boolean }
  /** Request `r`: `from` is leaving; stop sending to its relay `relay` and reply. */
  | { readonly op: 'release'; readonly r: string; readonly from: string; readonly relay: string }
  /** Payload: a JSON array of messages from the client of HTTP session `u`. */
  | { readonly op: 'deliver'; readonly r: string; readonly from: string; readonly u: string; readonly k?: string }
  /** Close HTTP session `u` for a protocol reason (a send over `maxMessageSize`). */
  | { readonly op: 'refuse'; readonly u: string; readonly k?: string; readonly code: number; readonly reason: string }
  /** Payload: a message for session `id`, as a JSON string (lone surrogates survive). */
  | { readonly op: 'send'; readonly r: string; readonly from: string; readonly id: string }
  /** Payload: a message for every session of every process but `from`, as a JSON string. */
  | { readonly op: 'broadcast'; readonly from: string }
  /** List your sessions to `from`. */
  | { readonly op: 'list'; readonly r: string; readonly from: string }
  /** Nothing to do: whether the post reaches the process tells if it is alive. */
  | { readonly op: 'ping' }
  /** The answer to request `r`; payload: a JSON list for `list`. */
  | { readonly op: 'reply'; readonly r: string; readonly ok: boolean };

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
