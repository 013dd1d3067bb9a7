/**
 * The ES module entry: the same module as the CommonJS one, with `sockjs` as
 * the default export too (`import sockjs from 'sockjs-express'`). The names
 * are listed rather than `export *`-ed, so that the CommonJS module's
 * `__esModule` marker does not become a named export.
 */
import { sockjs } from './index.js';

export {
  sockjs,
  Session,
  memoryAdapter,
  SockJSError,
  SessionNotOpenError,
  TransportError,
  InvalidOptionError,
  InvalidArgumentError,
  HandlerClosedError,
  ClusterUnavailableError,
  RootMountError,
} from './index.js';
export type * from './index.js';
export default sockjs;
