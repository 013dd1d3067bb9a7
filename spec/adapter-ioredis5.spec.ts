/**
 * The Redis adapter specs (adapter.spec.ts) again, on ioredis 5: the
 * `ioredis5` devDependency (an npm alias of ioredis@5) stands in for `ioredis`
 * wherever this file's modules load it, lib/redis included. The peer range
 * of package.json promises both majors; this is what holds it to that.
 * (The one child process adapter.spec starts loads ioredis 6, so there a
 * process on 5 and one on 6 share a cluster.)
 */
import IORedis from 'ioredis';

jest.mock('ioredis', () => jest.requireActual('ioredis5'));

describe('ioredis', () => {
  it('is ioredis 5 for the adapter specs in this file', () => {
    expect(IORedis).toBe(jest.requireActual<{ default: unknown }>('ioredis5').default);
    expect(IORedis).not.toBe(jest.requireActual<{ default: unknown }>('ioredis').default);
    expect(jest.requireActual<{ version: string }>('ioredis5/package.json').version).toMatch(/^5\./);
  });
});

require('./adapter.spec');
