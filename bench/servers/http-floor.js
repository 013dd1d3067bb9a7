'use strict';
/**
 * The floor for the HTTP transports on `node:http`: the minimal echo of
 * `floor.js` as the server's request listener.
 */
const http = require('node:http');
const { floor } = require('./floor');
const { serve } = require('./control');

serve(http.createServer(floor()), () => 0);
