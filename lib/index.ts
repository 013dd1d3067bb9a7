/**
 * sockjs-express: a SockJS server as Express/Connect middleware.
 *
 * ```ts
 * import express from 'express';
 * import { sockjs } from 'sockjs-express';
 *
 * const app = express();
 * const echo = sockjs({}, (session) => session.on('data', (m) => session.send(m)));
 * app.use('/echo', echo);
 * echo.attach(app.listen(8081));
 * ```
 * @packageDocumentation
 */
import { sockjs } from './handler';

export { sockjs };
export type { SockJSHandler, SessionHandler, HandlerEvents } from './handler';
export { Session } from './session';
export type { SessionState, SessionRequest, SessionEvents } from './session';
export type { SessionTransport } from './receiver';
export type {
  Options,
  ResolvedOptions,
  TransportName,
  WebsocketOptions,
  PerMessageDeflateOptions,
  JsessionidFunction,
  AllowedOrigins,
  OriginPolicy,
  SessionBinding,
  MiddlewareRuns,
} from './options';
export type { Adapter, Bus, BusListener, JoinOptions, Ownership } from './adapter';
export { memoryAdapter } from './memory-adapter';
export type { ClusterSession } from './cluster/envelope';
export type { HandlerStats, TransportCounts, LimitCloses, ClusterCounts, ClusterStats } from './stats';
export {
  SockJSError,
  SessionNotOpenError,
  TransportError,
  InvalidOptionError,
  InvalidArgumentError,
  HandlerClosedError,
  ClusterUnavailableError,
  RootMountError,
} from './errors';
export type { SockJSErrorCode } from './errors';

export default sockjs;
