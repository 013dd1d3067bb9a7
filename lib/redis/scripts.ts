/**
 * The directory's Lua scripts. Each runs atomically in Redis, so two
 * processes claiming one URL id, or sweeping one dead process, cannot
 * interleave. They touch keys named from their arguments (the owner's
 * liveness key), so they need a standalone Redis or Sentinel, not Redis Cluster.
 *
 * Keys, under the adapter's prefix `p`:
 *   p:nodes          set of the processes that joined
 *   p:alive:<node>   exists while <node> refreshes it (expires after nodeTimeout)
 *   p:url:<urlId>    the owner of an HTTP session, or `!<node>` for a session
 *                    whose owner is gone (expires after a disconnect delay)
 *   p:urls:<node>    the URL ids <node> owns, for the sweep
 */
import { createHash } from 'node:crypto';
import type Redis from 'ioredis';

/** A script sent once and then run by its SHA-1. */
export class Script {
  readonly #source: string;
  readonly #sha: string;

  constructor(source: string) {
    this.#source = source;
    this.#sha = createHash('sha1').update(source).digest('hex');
  }

  async run(redis: Redis, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.#sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return redis.eval(this.#source, keys.length, ...keys, ...args);
    }
  }
}

/**
 * KEYS: p:url:<urlId>, p:urls:<me>. ARGV: me, `p:alive:`, disconnect delay
 * (ms), urlId, `1` to claim. Returns the owner, `!<node>` when gone, or nil.
 * An owner whose liveness key expired is marked gone on the spot.
 */
export const CLAIM = new Script(`
local owner = redis.call('GET', KEYS[1])
if owner then
  if string.sub(owner, 1, 1) == '!' then return owner end
  if owner == ARGV[1] or redis.call('EXISTS', ARGV[2] .. owner) == 1 then return owner end
  redis.call('SET', KEYS[1], '!' .. owner, 'PX', ARGV[3])
  return '!' .. owner
end
if ARGV[5] == '1' then
  redis.call('SET', KEYS[1], ARGV[1])
  redis.call('SADD', KEYS[2], ARGV[4])
  return ARGV[1]
end
return false
`);

/** KEYS: p:url:<urlId>, p:urls:<me>. ARGV: me, urlId. Forgets a claim of `me`. */
export const RELEASE = new Script(`
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
redis.call('SREM', KEYS[2], ARGV[2])
return 1
`);

/**
 * KEYS: p:nodes. ARGV: `p:`, disconnect delay (ms), a node to remove, or ''
 * for every node whose liveness key expired. Marks their URL ids gone,
 * forgets them, and returns their names.
 */
export const SWEEP = new Script(`
local down = {}
local nodes = redis.call('SMEMBERS', KEYS[1])
if ARGV[3] ~= '' then nodes = { ARGV[3] } end
for _, node in ipairs(nodes) do
  if ARGV[3] ~= '' or redis.call('EXISTS', ARGV[1] .. 'alive:' .. node) == 0 then
    local urls = ARGV[1] .. 'urls:' .. node
    for _, url in ipairs(redis.call('SMEMBERS', urls)) do
      local key = ARGV[1] .. 'url:' .. url
      if redis.call('GET', key) == node then redis.call('SET', key, '!' .. node, 'PX', ARGV[2]) end
    end
    redis.call('DEL', urls, ARGV[1] .. 'alive:' .. node)
    redis.call('SREM', KEYS[1], node)
    down[#down + 1] = node
  end
end
return down
`);
