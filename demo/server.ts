/**
 * The demo: an echo page that talks to sockjs-express through sockjs-client.
 *
 *   npm start          # then open http://127.0.0.1:8080/
 *
 * PORT and HOST come from the environment (defaults 8080 and 127.0.0.1).
 */
import express from 'express';
import path from 'node:path';
import { sockjs } from '../lib';

const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST ?? '127.0.0.1';
const clientDir = path.dirname(require.resolve('sockjs-client/dist/sockjs.min.js'));

const app = express();
const echo = sockjs({ sockjsUrl: '/sockjs.min.js' }, (session) => {
  session.on('data', (message) => session.send(message));
});

app.use('/echo', echo);
app.get('/sockjs.min.js', (_req, res) => res.sendFile(path.join(clientDir, 'sockjs.min.js')));
app.use(express.static(path.join(__dirname, 'public')));

const server = app.listen(port, host, () => {
  echo.attach(server);
  console.log(`sockjs-express demo on http://${host}:${port}/ (SockJS endpoint /echo)`);
});

process.on('SIGINT', () => {
  void echo.close().then(() => server.close(() => process.exit(0)));
});
