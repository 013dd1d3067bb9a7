/*
 * The browser side of spec/browser.spec.ts: drives sockjs-client (window.SockJS)
 * and reports plain results the spec asserts on. Messages are built and compared
 * here, in the page, so that strings Node and the browser cannot pass to each
 * other unchanged (lone surrogates) never leave the page.
 */
(function () {
  'use strict';

  function connect(url, transport) {
    var sock = new SockJS(url, null, { transports: [transport] });
    var result = { opened: false, transport: null, received: [], close: null };
    var closed = new Promise(function (resolve) {
      sock.onopen = function () {
        result.opened = true;
        result.transport = sock.transport;
      };
      sock.onmessage = function (event) {
        result.received.push(event.data);
      };
      sock.onclose = function (event) {
        result.close = { code: event.code, reason: event.reason };
        resolve();
      };
    });
    return { sock: sock, result: result, closed: closed };
  }

  function timeout(ms, what) {
    return new Promise(function (resolve) {
      setTimeout(function () {
        resolve(what + ' timed out after ' + ms + ' ms');
      }, ms);
    });
  }

  function report(conn, extra) {
    var r = conn.result;
    var out = { opened: r.opened, transport: r.transport, close: r.close, count: r.received.length };
    for (var key in extra) out[key] = extra[key];
    return out;
  }

  /**
   * Code units a page lets go unanswered before it waits for echoes: sockjs-client
   * batches queued messages into one request, and form encoding (jsonp-polling)
   * takes up to 9 bytes per code unit, so this keeps every request well under the
   * server's default maxMessageSize. A bigger message goes out alone.
   */
  var WINDOW = 32768;

  /** Opens, sends `messages` (pipelined within WINDOW), waits for all back, closes; compares in the page. */
  function echo(url, transport, messages, ms) {
    var conn = connect(url, transport);
    var sent = 0;
    var units = 0;
    function sendMore() {
      var received = conn.result.received.length;
      if (received === sent) units = 0;
      while (sent < messages.length && (received === sent || units + messages[sent].length <= WINDOW)) {
        units += messages[sent].length;
        conn.sock.send(messages[sent]);
        sent++;
        if (units > WINDOW) break;
      }
    }
    var all = new Promise(function (resolve) {
      var onmessage = conn.sock.onmessage;
      conn.sock.onmessage = function (event) {
        onmessage(event);
        if (conn.result.received.length === messages.length) resolve();
        else sendMore();
      };
      var onopen = conn.sock.onopen;
      conn.sock.onopen = function () {
        onopen();
        sendMore();
      };
    });
    return Promise.race([
      all.then(function () {
        return undefined;
      }),
      conn.closed.then(function () {
        return 'closed before every message came back';
      }),
      timeout(ms, 'echo'),
    ]).then(function (error) {
      conn.sock.close();
      return Promise.race([conn.closed, timeout(ms, 'close')]).then(function () {
        return report(conn, { error: error, difference: sockjsFirstDifference(conn.result.received, messages) });
      });
    });
  }

  window.sockjsHarness = {
    /** Echoes the shared message set (spec/support/messages.ts). */
    echoAll: function (url, transport, ms) {
      return echo(url, transport, sockjsMessages, ms);
    },
    /** Echoes a few short messages. */
    echoFew: function (url, transport, ms) {
      return echo(url, transport, ['a', 'b c', '\u00e9\ud83d\ude00'], ms);
    },
    /** Opens (or tries to) and waits for the close event, whoever closes. */
    untilClosed: function (url, transport, ms) {
      var conn = connect(url, transport);
      return Promise.race([conn.closed, timeout(ms, 'close')]).then(function (error) {
        return report(conn, { error: error });
      });
    },
    /** A plain WebSocket to a SockJS session URL: 'open' or 'refused'. */
    websocket: function (url, ms) {
      return new Promise(function (resolve) {
        var id = Math.random().toString(36).slice(2);
        var ws = new WebSocket(url.replace(/^http/, 'ws') + '/000/' + id + '/websocket');
        var timer = setTimeout(function () {
          resolve('no answer within ' + ms + ' ms');
        }, ms);
        ws.onopen = function () {
          clearTimeout(timer);
          ws.close();
          resolve('open');
        };
        ws.onerror = ws.onclose = function () {
          clearTimeout(timer);
          resolve('refused');
        };
      });
    },
  };
})();
