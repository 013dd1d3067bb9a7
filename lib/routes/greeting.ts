/** `GET <prefix>/`: the greeting that tells a person they reached SockJS. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendText } from '../http';

export function greeting(_req: IncomingMessage, res: ServerResponse): void {
  sendText(res, 200, 'Welcome to SockJS!\n');
}
