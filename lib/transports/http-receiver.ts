/**
 * The receiver behind every HTTP receiving transport: one response that
 * carries one frame (polling) or frames up to the response limit (streaming).
 * Each transport only says how its response starts and how a frame looks.
 */
import type { ServerResponse } from 'node:http';
import type { TransportName } from '../options';
import { ResponseBudget, type FrameFormat, type Receiver } from '../receiver';

/** How one HTTP receiving transport writes its response. */
export interface HttpReceiverFormat extends FrameFormat {
  /** The `Content-Type` of the response. */
  readonly contentType: string;
  /** Bytes sent before the first frame (padding some browsers need), if any. */
  prelude?(callback: string): string;
}

/** A receiving HTTP response. */
export class HttpReceiver implements Receiver {
  readonly raw = false;
  readonly #res: ServerResponse;
  readonly #format: HttpReceiverFormat;
  readonly #callback: string;
  readonly #budget: ResponseBudget;

  constructor(res: ServerResponse, format: HttpReceiverFormat, callback: string, responseLimit: number) {
    this.#res = res;
    this.#format = format;
    this.#callback = callback;
    this.#budget = new ResponseBudget(format, responseLimit);
    res.statusCode = 200;
    res.setHeader('Content-Type', format.contentType);
    if (format.streaming) {
      res.flushHeaders();
      const prelude = format.prelude?.(callback);
      if (prelude !== undefined) res.write(prelude);
    }
  }

  get transport(): TransportName {
    return this.#format.transport;
  }

  write(frame: string): boolean {
    const res = this.#res;
    if (res.writableEnded || res.destroyed) return false;
    const data = this.#format.frame(frame, this.#callback);
    if (this.#budget.take(data)) {
      res.write(data);
      return true;
    }
    res.end(data);
    return false;
  }

  end(): void {
    if (!this.#res.writableEnded) this.#res.end();
  }

  get bufferedAmount(): number {
    return this.#res.writableLength;
  }

  onDrain(callback: () => void): void {
    this.#res.once('drain', callback);
  }

  abort(): void {
    this.#res.destroy();
  }
}
