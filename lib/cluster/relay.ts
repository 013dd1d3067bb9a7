/**
 * The relaying side: receiving HTTP requests this process holds for
 * sessions other processes own. The owner decides what to write, as for a
 * local receiver; this end only opens the response once the owner took it,
 * writes the frames it gets and tells the owner when the client goes away.
 */
import type { ServerResponse } from 'node:http';
import { HEARTBEAT_FRAME, closeFrame } from '../framing';
import { ClusterUnavailableError } from '../errors';
import { sendText } from '../http';
import { SERVER_GONE, type RelayedResponse, type ResponseWriter } from '../registry';
import type { Header } from './envelope';
import type { Messenger } from './messenger';

const SERVER_GONE_FRAME = closeFrame(SERVER_GONE.code, SERVER_GONE.reason);

/** How long the client of a relayed request may wait for the owner to take it before getting `503`. */
const ATTACH_TIMEOUT_MS = 5000;
/** How long a leaving process waits for owners to stop sending to its relays. */
const HANDOVER_TIMEOUT_MS = 1000;

/** A receiving request to relay: whose session, and the response it goes to. */
export interface RelayRequest {
  readonly owner: string;
  readonly urlId: string;
  readonly key: string | undefined;
  readonly response: RelayedResponse;
  /** The owner was only remembered: when it lacks the session, the transport asks again. */
  readonly remembered: boolean;
}

/** The messages an owner sends about a relay. */
type RelayMessage = Extract<Header, { op: 'accept' | 'frame' | 'end' | 'abort' | 'missing' }>;

/** Every relay of this process, by name. */
export class Relays {
  readonly #messenger: Messenger;
  readonly #relays = new Map<string, Relay>();
  /** Called when an owner turned out not to have the session of `urlId`. */
  readonly #missing: (urlId: string) => void;

  constructor(messenger: Messenger, missing: (urlId: string) => void) {
    this.#messenger = messenger;
    this.#missing = missing;
  }

  /** Asks the owner to attach the request's response to its session, and relays what it writes. */
  start({ owner, urlId, key, response, remembered }: RelayRequest): void {
    const res = response.res;
    // The client left while the owner was looked up: nothing to attach ('close' has fired).
    if (res.destroyed) return;
    const messenger = this.#messenger;
    const ref = messenger.ref();
    const relay = new Relay(owner, {
      ...response,
      missing: () => {
        this.#missing(urlId);
        if (remembered) response.missing();
        else sendText(res, 404, 'Not found.');
      },
    });
    this.#relays.set(ref, relay);
    res.once('close', () => {
      if (this.#relays.get(ref) !== relay) return;
      this.#relays.delete(ref);
      if (relay.settled) return;
      // Cut off by the client, or never started: the owner's session loses it.
      const interrupted = !relay.accepted || !res.writableEnded;
      messenger.tell(owner, { op: 'detach', ref, from: messenger.node, interrupted });
    });
    // Until the owner has the request: the backend may be unreachable. After that the owner
    // answers (a poll may wait for its frame as long as the heartbeat), or is found dead.
    const timer = setTimeout(() => {
      if (!relay.accepted && !relay.settled) relay.unavailable();
    }, ATTACH_TIMEOUT_MS).unref();
    const { format, callback, responseLimit } = response;
    const attach: Header = {
      op: 'attach',
      ref,
      from: messenger.node,
      urlId,
      ...(key === undefined ? {} : { key }),
      transport: format.transport,
      callback,
      responseLimit,
    };
    messenger.post(owner, attach).then(
      (taken) => {
        clearTimeout(timer);
        if (!taken) this.#forget(ref)?.gone();
      },
      () => {
        clearTimeout(timer);
        relay.unavailable();
      },
    );
  }

  /** What an owner wrote to relay `header.ref`. */
  message(header: RelayMessage, payload: string): void {
    switch (header.op) {
      case 'accept':
        this.#relays.get(header.ref)?.accept();
        return;
      case 'frame':
        this.#relays.get(header.ref)?.frame(payload);
        return;
      case 'end':
        this.#forget(header.ref)?.end();
        return;
      case 'abort':
        this.#forget(header.ref)?.abort();
        return;
      case 'missing':
        this.#forget(header.ref)?.missing();
        return;
    }
  }

  /** `node` died or left: the relays of its sessions end with the close frame. */
  ownerDown(node: string): void {
    for (const [ref, relay] of [...this.#relays]) {
      if (relay.owner === node) this.#forget(ref)?.gone();
    }
  }

  /**
   * This process is leaving: each relay ends cleanly once its owner stopped
   * sending to it (or did not answer in time), so its client carries on
   * through another process.
   */
  async handOver(): Promise<void> {
    const messenger = this.#messenger;
    await Promise.all(
      [...this.#relays].map(async ([ref, relay]) => {
        const release = { op: 'release', ref: messenger.ref(), from: messenger.node, relay: ref } as const;
        await messenger.request(relay.owner, release, '', HANDOVER_TIMEOUT_MS).catch((error: unknown) => {
          if (!(error instanceof ClusterUnavailableError)) throw error;
        });
        this.#forget(ref)?.handOver();
      }),
    );
  }

  #forget(ref: string): Relay | undefined {
    const relay = this.#relays.get(ref);
    this.#relays.delete(ref);
    return relay;
  }
}

/** One relayed response. */
class Relay {
  /** The owner of the session. */
  readonly owner: string;
  readonly #response: RelayedResponse;
  readonly #res: ServerResponse;
  #writer: ResponseWriter | undefined;
  /** The owner sends nothing more: it ended the response, or never took it. */
  settled = false;

  constructor(owner: string, response: RelayedResponse) {
    this.owner = owner;
    this.#response = response;
    this.#res = response.res;
  }

  /** Whether the response is still open. */
  get open(): boolean {
    return !this.#res.writableEnded && !this.#res.destroyed;
  }

  /** The owner took the request: the response starts (headers, prelude). */
  accept(): void {
    if (this.#writer === undefined && this.open) this.#writer = this.#response.open();
  }

  /** Whether the owner took the request. */
  get accepted(): boolean {
    return this.#writer !== undefined;
  }

  /** One frame from the owner; the last one when the response is full (the owner counts alike). */
  frame(frame: string): void {
    this.accept();
    // Only a response that was open and ended here is settled; one the client cut off is not.
    const open = this.open;
    if (this.#writer !== undefined && !this.#writer.write(frame) && open) this.settled = true;
  }

  /** The owner ended the response. */
  end(): void {
    this.settled = true;
    this.#writer?.end();
  }

  /** The owner dropped the connection. */
  abort(): void {
    this.settled = true;
    this.#res.destroy();
  }

  /** The owner has no such session (or not for this client). */
  missing(): void {
    this.settled = true;
    if (this.open) this.#response.missing();
  }

  /** The owner died or left: the session is over. */
  gone(): void {
    this.frame(SERVER_GONE_FRAME);
    this.end();
  }

  /**
   * This process is leaving and the owner sends nothing more: the response
   * ends cleanly, so the client comes back through another process. A
   * polling response gets a heartbeat, which the client answers with a new poll.
   */
  handOver(): void {
    if (!this.open) return;
    if (this.#writer === undefined || !this.#response.format.streaming) this.frame(HEARTBEAT_FRAME);
    this.end();
  }

  /** The cluster could not be asked in time. */
  unavailable(): void {
    if (this.open && this.#writer === undefined) sendText(this.#res, 503, 'Cluster unavailable.');
  }
}
