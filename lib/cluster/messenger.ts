/**
 * Messaging between the processes of a cluster, over the adapter's bus:
 * one-way messages, requests that wait for their reply, and calls to the
 * directory. Every failure to reach the backend in time becomes a
 * {@link ClusterUnavailableError}; what the messages mean is the cluster's
 * business (`./index.ts`).
 */
import createDebug from 'debug';
import type { Bus } from '../adapter';
import { ClusterUnavailableError } from '../errors';
import { encode, type Envelope, type Header, type Request } from './envelope';

const debug = createDebug('sockjs:cluster');

/** How long a request to another process, or a directory call, may take. */
export const REQUEST_TIMEOUT_MS = 5000;

interface Pending {
  readonly node: string;
  resolve(reply: Envelope | undefined): void;
  reject(error: Error): void;
  readonly timer: NodeJS.Timeout;
}

export class Messenger {
  readonly #bus: Bus;
  #sequence = 0;
  /** Requests waiting for their reply, by `ref`. */
  readonly #pending = new Map<string, Pending>();

  constructor(bus: Bus) {
    this.#bus = bus;
  }

  /** This process's node id. */
  get node(): string {
    return this.#bus.node;
  }

  /** A fresh name for a request or relay of this process. */
  ref(): string {
    return String(++this.#sequence);
  }

  /**
   * Runs a call to the bus's directory, turning its failure, or no answer
   * within the request timeout (a backend that is down may queue calls for a
   * long time), into {@link ClusterUnavailableError}.
   */
  async ask<T>(call: (bus: Bus) => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)), REQUEST_TIMEOUT_MS);
    });
    try {
      return await Promise.race([call(this.#bus), timeout]);
    } catch (error) {
      throw unavailable(error);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Posts a message to `node`; resolves whether a live process took it,
   * rejects with {@link ClusterUnavailableError} when the backend failed.
   */
  post(node: string, header: Header, payload = ''): Promise<boolean> {
    return this.#bus.post(node, encode(header, payload)).catch((error: unknown) => {
      throw unavailable(error);
    });
  }

  /** Posts without waiting: a message that cannot go (the backend is down) is only logged. */
  tell(node: string, header: Header, payload = ''): void {
    this.#bus.post(node, encode(header, payload)).catch((error: unknown) => debug('posting to %s failed: %O', node, error));
  }

  /** Posts a message to every process, this one included. */
  postAll(header: Header, payload = ''): Promise<void> {
    return this.#bus.postAll(encode(header, payload)).catch((error: unknown) => {
      throw unavailable(error);
    });
  }

  /**
   * Posts a request and waits for its reply; `undefined` when `node` is
   * gone. Rejects with {@link ClusterUnavailableError} when the backend
   * failed or `node` did not answer within `timeoutMs`.
   */
  request(node: string, header: Request, payload = '', timeoutMs = REQUEST_TIMEOUT_MS): Promise<Envelope | undefined> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(header.ref);
        reject(new ClusterUnavailableError(`sockjs: node ${node} did not answer`));
      }, timeoutMs);
      const pending: Pending = { node, resolve, reject, timer };
      this.#pending.set(header.ref, pending);
      const settle = (reply: Envelope | undefined, error?: Error): void => {
        if (this.#pending.get(header.ref) !== pending) return;
        this.#pending.delete(header.ref);
        clearTimeout(timer);
        if (error) reject(error);
        else resolve(reply);
      };
      this.post(node, header, payload).then(
        (taken) => {
          if (!taken) settle(undefined);
        },
        (error: Error) => settle(undefined, error),
      );
    });
  }

  /** Answers request `ref` of `to`. */
  reply(to: string, ref: string, ok: boolean, payload = ''): void {
    this.tell(to, { op: 'reply', ref, ok }, payload);
  }

  /** A reply arrived: the request waiting for it gets it. */
  replied(reply: Envelope & { header: { op: 'reply' } }): void {
    const pending = this.#pending.get(reply.header.ref);
    if (pending === undefined) return;
    this.#pending.delete(reply.header.ref);
    clearTimeout(pending.timer);
    pending.resolve(reply);
  }

  /** `node` died or left: its pending requests get no reply. */
  nodeDown(node: string): void {
    for (const [ref, pending] of [...this.#pending]) {
      if (pending.node !== node) continue;
      this.#pending.delete(ref);
      clearTimeout(pending.timer);
      pending.resolve(undefined);
    }
  }

  /** Forgets every pending request (this process is leaving), and leaves the bus. */
  leave(): Promise<void> {
    for (const pending of this.#pending.values()) clearTimeout(pending.timer);
    this.#pending.clear();
    return this.#bus.leave();
  }
}

/** `error` as the backend's unavailability. */
function unavailable(error: unknown): ClusterUnavailableError {
  if (error instanceof ClusterUnavailableError) return error;
  debug('backend failed: %s', error instanceof Error ? error.message : String(error));
  return new ClusterUnavailableError('sockjs: the cluster backend is unavailable', { cause: error });
}
