/**
 * The demo's chat room: one SockJS handler, messages as JSON, behind a login.
 *
 * Who a session is for comes from the login (demo/server.ts) through the
 * handler's `context` option: the server announces the member as the session
 * opens, and a client never names itself in the room.
 *
 * A client sends, as JSON text:
 *   { "type": "say", "text": "hi" }     a chat line, to everyone in the room
 *   { "type": "ping", "id": 7 }         answered with { "type": "pong", "id": 7 } to the sender only
 *   { "type": "leave" }                 the server closes the session (1000, "Left the room")
 *
 * The server sends { type: 'join', nick, users, transport } (the server's name for the
 * joiner's transport), { type: 'leave', nick, users }, { type: 'say', nick, text },
 * { type: 'pong', id } and { type: 'error', message }. Anything a client sends that is not
 * one of the three shapes above gets an `error` message back and changes nothing.
 */
import type { IncomingMessage } from 'node:http';
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

/** Who a chat session is for. */
export interface Member {
  readonly nick: string;
  /** The login it belongs to (the express-session id), so that logging out can end it. */
  readonly login: string;
}

/** What a client may send. */
export type ClientMessage =
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

/** A nickname as the login form sent it, trimmed; or why it is not one. */
export function parseNick(value: unknown): { ok: true; nick: string } | { ok: false; reason: string } {
  const nick = typeof value === 'string' ? value.trim() : '';
  if (nick.length < 1 || nick.length > MAX_NICK || CONTROL.test(nick)) {
    return { ok: false, reason: `a nickname is 1 to ${MAX_NICK} printable characters` };
  }
  return { ok: true, nick };
}

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

/**
 * Creates the chat room's SockJS handler; mount it with `app.use(prefix, guard, room)`
 * behind a guard that lets only logged-in requests through. `memberOf` reads the
 * member from a request the guard let through; a session it finds no member for is
 * closed at once (`4001, 'Log in first'`).
 */
export function chatRoom(memberOf: (req: IncomingMessage) => Member | undefined): SockJSHandler<Member | undefined> {
  /** Sessions in the room, with their nicknames. */
  const members = new Map<Session<Member | undefined>, string>();

  const tell = (session: Session<Member | undefined>, message: ServerMessage): void => {
    session.send(JSON.stringify(message));
  };
  const everyone = (message: ServerMessage): void => {
    const text = JSON.stringify(message);
    for (const session of members.keys()) session.send(text);
  };

  const options = {
    sockjsUrl: sockjsClientPath,
    maxMessageSize: MAX_MESSAGE_SIZE,
    // Cookies carry the login, so only the server's own pages may use the room.
    allowedOrigins: [],
    context: memberOf,
  };
  return sockjs(options, (session) => {
    const member = session.context;
    if (member === undefined) {
      session.close(4001, 'Log in first');
      return;
    }
    members.set(session, member.nick);
    everyone({ type: 'join', nick: member.nick, users: members.size, transport: session.transport });
    session.on('data', (raw) => {
      const message = parseClientMessage(raw);
      if ('error' in message) return tell(session, { type: 'error', message: message.error });
      switch (message.type) {
        case 'say':
          return everyone({ type: 'say', nick: member.nick, text: message.text });
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
      members.delete(session);
      everyone({ type: 'leave', nick: member.nick, users: members.size });
    });
  });
}

/** Closes the room's sessions of one login (`4001, 'Logged out'`); returns how many. */
export function endLogin(room: SockJSHandler<Member | undefined>, login: string): number {
  let ended = 0;
  for (const session of room.sessions.values()) {
    if (session.context?.login === login && session.close(4001, 'Logged out')) ended += 1;
  }
  return ended;
}
