/**
 * The demo's chat room: one SockJS handler, messages as JSON.
 *
 * A client sends, as JSON text:
 *   { "type": "join", "nick": "ada" }   enter the room (once per session)
 *   { "type": "say", "text": "hi" }     a chat line, to everyone in the room
 *   { "type": "ping", "id": 7 }         answered with { "type": "pong", "id": 7 } to the sender only
 *   { "type": "leave" }                 the server closes the session (1000, "Left the room")
 *
 * The server sends { type: 'join', nick, users, transport } (the server's name for the
 * joiner's transport), { type: 'leave', nick, users }, { type: 'say', nick, text },
 * { type: 'pong', id } and { type: 'error', message }. Anything a client sends that is not
 * one of the three shapes above gets an `error` message back and changes nothing.
 */
import { sockjs, type Session, type SessionTransport, type SockJSHandler } from '../lib';
import { sockjsClientPath } from './sockjs-client';

/** Longest nickname, in characters. */
export const MAX_NICK = 24;
/** Longest chat line, in characters. */
export const MAX_TEXT = 500;
/** Longest message a client may send, in characters; longer ones get an error unread. */
export const MAX_INPUT = 2048;
/**
 * The transport's own bound, in bytes: a larger HTTP send gets `413` and a larger
 * websocket message closes the websocket (1009), before any JSON is parsed.
 */
const MAX_MESSAGE_SIZE = 16 * 1024;

/** What a client may send. */
export type ClientMessage =
  | { type: 'join'; nick: string }
  | { type: 'say'; text: string }
  | { type: 'ping'; id: number }
  | { type: 'leave' };

/** What the server sends. */
export type ServerMessage =
  | { type: 'join'; nick: string; users: number; transport: SessionTransport }
  | { type: 'leave'; nick: string; users: number }
  | { type: 'say'; nick: string; text: string }
  | { type: 'pong'; id: number }
  | { type: 'error'; message: string };

/** Control characters have no place in a nickname or a chat line. */
const CONTROL = /\p{Cc}/u;

/** Reads one client message, or says why it cannot. */
export function parseClientMessage(raw: string): ClientMessage | { error: string } {
  if (raw.length > MAX_INPUT) return { error: `message over ${MAX_INPUT} characters` };
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return { error: 'not JSON' };
  }
  if (typeof value !== 'object' || value === null) return { error: 'expected a JSON object' };
  const message = value as Record<string, unknown>;
  switch (message.type) {
    case 'join': {
      const nick = typeof message.nick === 'string' ? message.nick.trim() : '';
      if (nick.length < 1 || nick.length > MAX_NICK || CONTROL.test(nick)) {
        return { error: `a nickname is 1 to ${MAX_NICK} printable characters` };
      }
      return { type: 'join', nick };
    }
    case 'say': {
      const text = typeof message.text === 'string' ? message.text.trim() : '';
      if (text.length < 1 || text.length > MAX_TEXT || CONTROL.test(text)) {
        return { error: `a chat line is 1 to ${MAX_TEXT} printable characters` };
      }
      return { type: 'say', text };
    }
    case 'ping':
      if (!Number.isSafeInteger(message.id)) return { error: 'a ping needs an integer id' };
      return { type: 'ping', id: message.id as number };
    case 'leave':
      return { type: 'leave' };
    default:
      return { error: 'unknown message type' };
  }
}

/** Creates the chat room's SockJS handler; mount it with `app.use(prefix, room)`. */
export function chatRoom(): SockJSHandler {
  /** Sessions that have joined, with their nicknames. */
  const members = new Map<Session, string>();

  const tell = (session: Session, message: ServerMessage): void => {
    session.send(JSON.stringify(message));
  };
  const everyone = (message: ServerMessage): void => {
    const text = JSON.stringify(message);
    for (const session of members.keys()) session.send(text);
  };

  return sockjs({ sockjsUrl: sockjsClientPath, maxMessageSize: MAX_MESSAGE_SIZE }, (session) => {
    session.on('data', (raw) => {
      const message = parseClientMessage(raw);
      if ('error' in message) return tell(session, { type: 'error', message: message.error });
      const nick = members.get(session);
      switch (message.type) {
        case 'join':
          if (nick !== undefined) return tell(session, { type: 'error', message: 'already joined' });
          members.set(session, message.nick);
          return everyone({ type: 'join', nick: message.nick, users: members.size, transport: session.transport });
        case 'say':
          if (nick === undefined) return tell(session, { type: 'error', message: 'join first' });
          return everyone({ type: 'say', nick, text: message.text });
        case 'ping':
          return tell(session, { type: 'pong', id: message.id });
        case 'leave':
          // A close the server sends reaches the client on every transport, where
          // sockjs-client's own close() cannot stop a jsonp poll already under way.
          session.close(1000, 'Left the room');
          return;
      }
    });
    session.on('close', () => {
      const nick = members.get(session);
      if (nick === undefined) return;
      members.delete(session);
      everyone({ type: 'leave', nick, users: members.size });
    });
  });
}
