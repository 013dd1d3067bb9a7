/**
 * SockJS frames, server to client, and parsing of what clients send.
 *
 * Frames: `o` open, `h` heartbeat, `a[...]` messages, `c[code,"reason"]` close.
 * Every frame is JSON text in which the characters that browsers or proxies
 * mangle are written as `\uXXXX` escapes, so any JavaScript string (lone
 * surrogates included) arrives unchanged.
 */

/** The open frame, sent once when a session starts. */
export const OPEN_FRAME = 'o';
/** The heartbeat frame. */
export const HEARTBEAT_FRAME = 'h';

/**
 * Characters JSON.stringify leaves raw but the SockJS protocol wants escaped:
 * zero-width and bidi controls, line/paragraph separators, invisible
 * operators and specials. (C0 controls and lone surrogates JSON.stringify
 * already escapes.)
 */
const UNSAFE = /[\u200c-\u200f\u2028-\u202f\u2060-\u206f\ufff0-\uffff]/g;
const UNSAFE_TEST = /[\u200c-\u200f\u2028-\u202f\u2060-\u206f\ufff0-\uffff]/;

function escapeChar(char: string): string {
  return '\\u' + char.charCodeAt(0).toString(16).padStart(4, '0');
}

/** Escapes the protocol's unsafe characters in JSON text (a no-op for most text). */
export function escapeUnsafe(json: string): string {
  return UNSAFE_TEST.test(json) ? json.replace(UNSAFE, escapeChar) : json;
}

/** JSON text of one message, escaped for the wire: `"..."`. */
export function quote(message: string): string {
  return escapeUnsafe(JSON.stringify(message));
}

/**
 * The `a[...]` frame carrying `messages`, in order. `ascii` says every
 * message is ASCII: JSON of ASCII text is ASCII, so the scan for the
 * protocol's unsafe characters (a regex over the whole frame) is skipped.
 */
export function messageFrame(messages: readonly string[], ascii = false): string {
  const json = JSON.stringify(messages);
  return 'a' + (ascii ? json : escapeUnsafe(json));
}

/** The `c[code,"reason"]` frame. */
export function closeFrame(code: number, reason: string): string {
  return 'c' + escapeUnsafe(JSON.stringify([code, reason]));
}

/**
 * Parses what a client sent: a JSON array of strings (or, as some clients
 * send over websockets, one JSON string). Returns `null` when the text is not
 * valid JSON or holds anything but strings.
 */
export function parseMessages(text: string): string[] | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value === 'string') return [value];
  if (!Array.isArray(value)) return null;
  for (const item of value) {
    if (typeof item !== 'string') return null;
  }
  return value as string[];
}

const MARKUP = /[<>&]/g;

/**
 * A frame as a JavaScript string literal that is safe inside an HTML
 * `<script>` block or a JSONP response: `<`, `>` and `&` are escaped too, so
 * no message can end the script or open markup.
 */
export function scriptString(frame: string): string {
  return JSON.stringify(frame).replace(MARKUP, escapeChar);
}
