/**
 * Unit specs for lib/ticker.ts: the one timer behind every session's
 * heartbeat and every websocket's pings.
 */
import { Ticker } from '../lib/ticker';
import { sleep } from './helpers';

describe('Ticker', () => {
  it('calls every member once a period until it leaves, also when it leaves during its own call', async () => {
    const calls: string[] = [];
    let slotOfA = -1;
    let done: () => void = () => undefined;
    const thirdCallOfA = new Promise<void>((resolve) => (done = resolve));
    const ticker = new Ticker<string>(16, (member) => {
      calls.push(member);
      if (member === 'a' && calls.filter((m) => m === 'a').length === 3) {
        ticker.remove('a', slotOfA);
        done();
      }
    });
    slotOfA = ticker.add('a');
    const slotOfB = ticker.add('b');
    await thirdCallOfA;
    ticker.remove('b', slotOfB);
    const seen = calls.length;
    await sleep(100);
    expect(calls.filter((m) => m === 'a')).toHaveLength(3);
    // Joined in the same slot, so b was called in the same ticks as a.
    expect(calls.filter((m) => m === 'b').length).toBeGreaterThanOrEqual(2);
    expect(calls).toHaveLength(seen);
  });

  it('never calls a member that left before its first period', async () => {
    const calls: string[] = [];
    const ticker = new Ticker<string>(8, (member) => calls.push(member));
    ticker.remove('gone', ticker.add('gone'));
    let resolve: () => void = () => undefined;
    const stayCalled = new Promise<void>((r) => (resolve = r));
    const stay = new Ticker<string>(8, () => resolve());
    const slot = stay.add('stay');
    await stayCalled;
    await sleep(40);
    stay.remove('stay', slot);
    expect(calls).toEqual([]);
  });

  it('leaves a member it does not hold alone', () => {
    const ticker = new Ticker<string>(10, () => undefined);
    expect(() => ticker.remove('stranger', 0)).not.toThrow();
  });
});
