/**
 * xhr-streaming: `POST <session>/xhr_streaming` keeps the response open and
 * writes frames separated by newlines, after 2 KiB of `h` that makes old
 * browsers hand over the partial response.
 */
import type { HttpReceiverFormat } from './http-receiver';

const PRELUDE = 'h'.repeat(2048) + '\n';

export const xhrStreaming: HttpReceiverFormat = {
  transport: 'xhr-streaming',
  contentType: 'application/javascript; charset=UTF-8',
  streaming: true,
  prelude: () => PRELUDE,
  frame: (frame) => frame + '\n',
};
