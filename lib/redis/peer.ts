/** Checks that `ioredis`, the optional peer dependency `sockjs-express/redis` needs, is installed, before the adapter module loads it. */
import { requirePeer } from '../peer';

requirePeer('ioredis', 'sockjs-express/redis');
