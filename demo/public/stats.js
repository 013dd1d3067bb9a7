'use strict';
/**
 * The stats page: the chat room's stats from /stats-feed (demo/stats.ts) over
 * SockJS, charted with uPlot over the last five minutes. Reconnects when the
 * feed closes.
 */
(function () {
  var TRANSPORTS = ['websocket', 'xhr-streaming', 'xhr-polling', 'eventsource', 'htmlfile', 'jsonp-polling'];
  var COLORS = ['#1f6fb4', '#e07b10', '#2a9a3c', '#c8322f', '#8656b8', '#7a5a4a'];
  /** The same colours, lightened: opaque, since each band is painted over the one below. */
  var FILLS = ['#b4cfe8', '#f5cfa3', '#b2dcb9', '#ecb3b1', '#d5c4e8', '#d4c7c0'];
  /** Points shown: five minutes at one a second. */
  var WINDOW = 300;
  var times = [];
  var open = TRANSPORTS.map(function () { return []; });
  var received = [];
  var sent = [];

  function width() {
    return document.getElementById('sessions-chart').clientWidth || 700;
  }

  function chart(id, title, series) {
    var options = {
      title: title,
      width: width(),
      height: 200,
      scales: { x: { time: true }, y: { range: function (_u, _min, max) { return [0, Math.max(4, max)]; } } },
      series: [{}].concat(series.map(function (one) {
        return { label: one.label, stroke: one.color, width: 2, fill: one.fill, value: one.value };
      })),
    };
    return new uPlot(options, [[]].concat(series.map(function () { return []; })), document.getElementById(id));
  }

  // Stacked: series i is transports i.. added up, so each transport is the band between
  // its line and the next one's; the legend shows each transport's own count.
  var sessionsChart = chart('sessions-chart', 'Sessions open by transport (stacked)', TRANSPORTS.map(function (name, i) {
    return {
      label: name,
      color: COLORS[i],
      fill: FILLS[i],
      value: function (_u, _v, _series, index) { return index == null ? '--' : open[i][index]; },
    };
  }));

  /** open[i..] added up, for each point. */
  function stacked() {
    return open.map(function (_list, i) {
      return times.map(function (_t, index) {
        var sum = 0;
        for (var j = i; j < open.length; j++) sum += open[j][index];
        return sum;
      });
    });
  }
  var messagesChart = chart('messages-chart', 'Messages per second', [
    { label: 'in (from clients)', color: '#1f6fb4' },
    { label: 'out (to clients)', color: '#e07b10' },
  ]);

  function add(point) {
    times.push(point.t);
    TRANSPORTS.forEach(function (name, i) { open[i].push(point.open[name] || 0); });
    received.push(point.in);
    sent.push(point.out);
    if (times.length > WINDOW) {
      times.shift();
      open.forEach(function (list) { list.shift(); });
      received.shift();
      sent.shift();
    }
  }

  function redraw() {
    sessionsChart.setData([times].concat(stacked()));
    messagesChart.setData([times, received, sent]);
    var last = times.length - 1;
    if (last < 0) return;
    document.getElementById('open-now').textContent = String(open.reduce(function (sum, list) { return sum + list[last]; }, 0));
    document.getElementById('in-now').textContent = String(received[last]);
    document.getElementById('out-now').textContent = String(sent[last]);
  }

  function connect() {
    var state = document.getElementById('feed-state');
    var sock = new SockJS('/stats-feed');
    sock.onopen = function () { state.textContent = 'open'; };
    sock.onmessage = function (event) {
      var message = JSON.parse(event.data);
      if (message.type === 'history') {
        times.length = received.length = sent.length = 0;
        open.forEach(function (list) { list.length = 0; });
        message.points.forEach(add);
      } else if (message.type === 'point') {
        add(message.point);
      }
      redraw();
    };
    sock.onclose = function () {
      state.textContent = 'closed, reconnecting';
      setTimeout(connect, 2000);
    };
  }

  window.addEventListener('resize', function () {
    sessionsChart.setSize({ width: width(), height: 200 });
    messagesChart.setSize({ width: width(), height: 200 });
  });
  connect();
})();
