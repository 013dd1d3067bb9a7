/**
 * eventsource: `GET <session>/eventsource` streams server-sent events, one
 * `data:` event per frame. Frames never hold raw line breaks (the framing
 * escapes them), so one `data:` line is enough. sockjs-client passes each
 * event's data through `decodeURI`, so `%` goes out as `%25`.
 */
import type { HttpReceiverFormat } from './http-receiver';

const PERCENT = /%/g;

export const eventsource: HttpReceiverFormat = {
  transport: 'eventsource',
  contentType: 'text/event-stream',
  streaming: true,
  prelude: () => '\r\n',
  frame: (frame) => 'data: ' + frame.replace(PERCENT, '%25') + '\r\n\r\n',
};
