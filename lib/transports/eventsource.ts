/**
 * eventsource: `GET <session>/eventsource` streams server-sent events, one
 * `data:` event per frame. Frames never hold raw line breaks (the framing
 * escapes them), so one `data:` line is enough.
 */
import type { HttpReceiverFormat } from './http-receiver';

export const eventsource: HttpReceiverFormat = {
  transport: 'eventsource',
  contentType: 'text/event-stream',
  streaming: true,
  prelude: () => '\r\n',
  frame: (frame) => 'data: ' + frame + '\r\n\r\n',
};
