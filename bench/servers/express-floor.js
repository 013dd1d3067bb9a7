'use strict';
/**
 * The floor for the HTTP transports in Express: an Express 5 app whose
 * route under `/echo` answers the same requests with the minimal echo of
 * `floor.js`. What Express itself costs per request shows here.
 */
const http = require('node:http');
const express = require('express');
const { floor } = require('./floor');
const { serve } = require('./control');

const app = express();
app.use('/echo', floor());
serve(http.createServer(app), () => 0);
