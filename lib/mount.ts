/**
 * Where a handler is mounted. Express tells a mounted sub-app its mount path
 * (the `'mount'` event); every request through the handler tells it too
 * (`req.baseUrl`, or Connect's `originalUrl`). The upgrade listener needs the
 * paths to route websockets, which never pass through Express.
 */
import type { IncomingMessage } from 'node:http';
import type { MountedRequest } from './registry';

/** What Express sets on a mounted sub-app. */
export interface MountedApp {
  mountpath?: unknown;
  parent?: MountedApp;
}

/** Learned paths kept at most; a route with parameters could otherwise grow the set. */
const MAX_LEARNED = 32;
/** Express path patterns that are not literal prefixes. */
const PATTERN = /[:*?()[\]{}+!]/;

function pathnameOf(url: string): string {
  const query = url.indexOf('?');
  return query < 0 ? url : url.slice(0, query);
}

function trimSlash(path: string): string {
  return path.endsWith('/') ? path.slice(0, -1) : path;
}

/**
 * The literal mount paths of an Express sub-app, walking up its parents.
 * Express gives every app a `mountpath` of `'/'`; only one with a `parent`
 * was really mounted by `app.use`.
 */
function expressPaths(app: MountedApp): string[] {
  if (!app.parent) return [];
  const own = typeof app.mountpath === 'string' ? [app.mountpath] : Array.isArray(app.mountpath) ? app.mountpath : [];
  const literal = own.filter((path): path is string => typeof path === 'string' && !PATTERN.test(path));
  const parents = app.parent.parent ? expressPaths(app.parent) : [''];
  return parents.flatMap((parent) => literal.map((path) => trimSlash(parent + trimSlash(path))));
}

export class MountPaths {
  readonly #learned = new Set<string>();
  readonly #app: MountedApp;

  constructor(app: MountedApp) {
    this.#app = app;
  }

  /** Remembers the mount path a request came through. */
  learn(req: IncomingMessage): void {
    if (this.#learned.size >= MAX_LEARNED) return;
    const { baseUrl, originalUrl } = req as MountedRequest;
    let path = baseUrl;
    if (!path) {
      const original = pathnameOf(originalUrl ?? req.url ?? '');
      const local = pathnameOf(req.url ?? '');
      if (local === '/' && !original.endsWith('/')) path = original;
      else if (original.endsWith(local)) path = original.slice(0, original.length - local.length);
      else return;
    }
    this.#learned.add(trimSlash(path));
  }

  /** Every known mount path, longest first. */
  all(): string[] {
    const paths = new Set([...expressPaths(this.#app), ...this.#learned]);
    return [...paths].sort((a, b) => b.length - a.length);
  }

  /** The part of `url`'s path under a known mount path, or `undefined`. */
  match(url: string): string | undefined {
    const pathname = pathnameOf(url);
    for (const mount of this.all()) {
      if (pathname.startsWith(mount + '/')) return pathname.slice(mount.length);
    }
    return undefined;
  }
}
