/** xhr-polling: `POST <session>/xhr` answers with one frame and a newline. */
import type { HttpReceiverFormat } from './http-receiver';

export const xhrPolling: HttpReceiverFormat = {
  transport: 'xhr-polling',
  contentType: 'application/javascript; charset=UTF-8',
  streaming: false,
  frame: (frame) => frame + '\n',
};
