'use strict';
/** sockjs-express echo at /echo, default options, from the compiled dist/ users run. */
const http = require('node:http');
const express = require('express');
const { sockjs } = require('../..');
const { serve } = require('./control');

const app = express();
const echo = sockjs({}, (session) => {
  session.on('data', (message) => session.send(message));
});
app.use('/echo', echo);
const server = http.createServer(app);
echo.attach(server);
serve(server, (message) => echo.broadcast(message));
