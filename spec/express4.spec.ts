/**
 * The route, transport, mounting and security specs again on Express 4: the
 * `express4` devDependency (an npm alias of express@4) stands in for
 * `express` wherever this file's modules load it, so the handler's Router and
 * the specs' applications are Express 4, as in an Express 4 application that
 * installed sockjs-express (express is a peer dependency). package.spec
 * checks the same from the packed tarball with a request and a websocket.
 */
import express from 'express';

jest.mock('express', () => jest.requireActual('express4'));

describe('express', () => {
  it('is Express 4 for the specs in this file', () => {
    expect(express).toBe(jest.requireActual('express4'));
    expect(express).not.toBe(jest.requireActual('express'));
    expect(jest.requireActual<{ version: string }>('express4/package.json').version).toMatch(/^4\./);
  });
});

require('./routes.spec');
require('./streaming.spec');
require('./websocket.spec');
require('./mounting.spec');
require('./security.spec');
require('./direct-path.spec');
