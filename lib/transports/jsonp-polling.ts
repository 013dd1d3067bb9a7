/**
 * jsonp-polling: `GET <session>/jsonp?c=<callback>` answers with one frame as
 * a script that calls the callback. The frame is a string literal with
 * markup characters escaped.
 */
import { scriptString } from '../framing';
import type { HttpReceiverFormat } from './http-receiver';

export const jsonpPolling: HttpReceiverFormat = {
  transport: 'jsonp-polling',
  contentType: 'application/javascript; charset=UTF-8',
  streaming: false,
  frame: (frame, callback) => `/**/${callback}(${scriptString(frame)});\r\n`,
};
