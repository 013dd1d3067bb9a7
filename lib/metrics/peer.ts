/** Checks that `prom-client`, the optional peer dependency `sockjs-express/metrics` needs, is installed, before the module loads it. */
import { requirePeer } from '../peer';

requirePeer('prom-client', 'sockjs-express/metrics');
