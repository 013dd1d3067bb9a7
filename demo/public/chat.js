// The chat page: sockjs-client against the /chat handler of demo/server.ts.
// User text only ever reaches the page through textContent, never innerHTML.
'use strict';

(function () {
  // Round-trip time: every PING_EVERY_MS the page sends {type:'ping', id} and the server
  // answers {type:'pong', id} to this page only. Pings rather than timing the echo of our
  // own chat lines, so the figure stays live when nobody types and is not held up by the
  // broadcast to other members. It is what a message costs over the transport in use:
  // on polling transports that includes the poll the answer rides back on.
  var PING_EVERY_MS = 2000;

  var el = function (id) { return document.getElementById(id); };
  var sock = null;
  var pingTimer = null;
  var pingsSent = {}; // id -> performance.now() at send
  var nextPingId = 1;

  el('nick').value = 'guest-' + Math.floor(Math.random() * 1000);

  function show(kind, nick, text) {
    var li = document.createElement('li');
    li.className = kind;
    if (nick) {
      var who = document.createElement('span');
      who.className = 'nick';
      who.textContent = nick;
      li.appendChild(who);
    }
    var body = document.createElement('span');
    body.className = 'text';
    body.textContent = text;
    li.appendChild(body);
    var list = el('messages');
    list.appendChild(li);
    list.scrollTop = list.scrollHeight;
  }

  function setState(state, transport) {
    el('state').textContent = state;
    el('state').className = state;
    el('transport-in-use').textContent = transport || 'none';
    var open = state === 'open';
    el('text').disabled = !open;
    el('send').disabled = !open;
    el('connect').textContent = open ? 'Rejoin' : 'Join';
    if (!open) {
      clearInterval(pingTimer);
      pingTimer = null;
      el('rtt').textContent = '–';
    }
  }

  function send(message) {
    if (sock && sock.readyState === SockJS.OPEN) sock.send(JSON.stringify(message));
  }

  function ping() {
    var id = nextPingId++;
    pingsSent[id] = performance.now();
    send({ type: 'ping', id: id });
  }

  function receive(message) {
    switch (message.type) {
      case 'say':
        return show('chat', message.nick, message.text);
      case 'join':
        el('users').textContent = String(message.users);
        return show('notice', '', message.nick + ' joined (the server sees ' + message.transport + ')');
      case 'leave':
        el('users').textContent = String(message.users);
        return show('notice', '', message.nick + ' left');
      case 'pong':
        if (pingsSent[message.id] === undefined) return;
        el('rtt').textContent = Math.round(performance.now() - pingsSent[message.id]) + ' ms';
        delete pingsSent[message.id];
        return;
      case 'error':
        return show('error', '', 'server: ' + message.message);
    }
  }

  // (Re)connects with the picked transport, or sockjs-client's own choice for "auto".
  // An open connection leaves first and the new one opens once the server has closed
  // the old session: that close reaches the page on every transport, where a client-side
  // close() leaves a jsonp poll running and the old session in the room until it times out.
  var leaving = null;
  function connect() {
    if (leaving) return; // the new connection opens when the old one has closed
    var previous = sock;
    sock = null;
    setState('connecting');
    if (!previous || previous.readyState !== SockJS.OPEN) {
      if (previous) previous.close();
      return open();
    }
    leaving = previous;
    var giveUp = setTimeout(function () { previous.close(); }, 5000);
    previous.onclose = function () {
      clearTimeout(giveUp);
      leaving = null;
      open();
    };
    previous.send(JSON.stringify({ type: 'leave' }));
  }

  function open() {
    var picked = el('transport').value;
    var current = new SockJS('/chat', null, picked ? { transports: [picked] } : {});
    sock = current;
    pingsSent = {};
    current.onopen = function () {
      if (sock !== current) return;
      setState('open', current.transport);
      send({ type: 'join', nick: el('nick').value });
      ping();
      pingTimer = setInterval(ping, PING_EVERY_MS);
    };
    current.onmessage = function (e) {
      if (sock !== current) return;
      try {
        receive(JSON.parse(e.data));
      } catch (error) {
        show('error', '', 'unreadable message from the server');
      }
    };
    current.onclose = function (e) {
      if (sock !== current) return;
      setState('closed');
      show('notice', '', 'disconnected (' + e.code + ' ' + e.reason + ')');
    };
  }

  el('join').onsubmit = function (e) {
    e.preventDefault();
    connect();
  };
  el('transport').onchange = function () {
    if (sock) connect();
  };
  el('say').onsubmit = function (e) {
    e.preventDefault();
    var text = el('text').value;
    if (text.trim()) send({ type: 'say', text: text });
    el('text').value = '';
  };
})();
