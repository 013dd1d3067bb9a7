// The chat page: a nickname login, then sockjs-client against the /chat handler of
// demo/server.ts, which serves only logged-in visitors (the login cookie goes with
// every transport's requests).
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

  // A notice above the room when the server refuses the page; '' hides it.
  function refused(text) {
    el('refused').textContent = text;
    el('refused').hidden = !text;
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

  // The login form when logged out (nick null), else who is logged in and the Join form.
  function showLogin(nick) {
    el('login').hidden = nick !== null;
    el('join').hidden = nick === null;
    el('me').textContent = nick || '';
    if (nick !== null) el('login-error').textContent = '';
  }

  function request(method, url, body) {
    var init = { method: method, credentials: 'same-origin', headers: {} };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    return fetch(url, init);
  }

  // Who the server says is logged in: a nickname, or null.
  function whoAmI() {
    return request('GET', '/me').then(function (res) { return res.json(); }).then(function (me) { return me.nick; });
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
    refused('');
    setState('connecting');
    if (!previous || previous.readyState !== SockJS.OPEN) {
      if (previous) previous.close();
      return open();
    }
    leaving = previous;
    var giveUp = setTimeout(function () { previous.close(); }, 5000);
    previous.onclose = function () {
      clearTimeout(giveUp);
      if (leaving !== previous) return; // disconnected meanwhile
      leaving = null;
      open();
    };
    previous.send(JSON.stringify({ type: 'leave' }));
  }

  // Drops the connection, and a reconnection under way, without opening another.
  function disconnect() {
    var current = sock || leaving;
    sock = null;
    leaving = null;
    if (current) current.close();
    setState('closed');
  }

  function open() {
    var picked = el('transport').value;
    var current = new SockJS('/chat', null, picked ? { transports: [picked] } : {});
    sock = current;
    pingsSent = {};
    current.onopen = function () {
      if (sock !== current) return;
      setState('open', current.transport);
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
      sock = null;
      setState('closed');
      show('notice', '', 'disconnected (' + e.code + ' ' + e.reason + ')');
      explainClose(e);
    };
  }

  // After a close the page did not ask for: is the login gone (expired, or ended in
  // another tab)? Then back to the login form. Otherwise say so if the server refused us:
  // sockjs-client closes with 1002 when /info is refused and 2000 when every transport was.
  function explainClose(e) {
    whoAmI().then(function (nick) {
      showLogin(nick);
      if (nick === null) {
        refused('Your login has ended (it expired, or you logged out elsewhere). Log in again to join.');
      } else if (e.code === 1002 || e.code === 2000) {
        refused('The server refused the connection (' + e.code + ' ' + e.reason + ').');
      }
    }, function () {
      refused('The server cannot be reached.');
    });
  }

  el('login').onsubmit = function (e) {
    e.preventDefault();
    el('login-error').textContent = '';
    request('POST', '/login', { nick: el('nick').value }).then(function (res) {
      return res.json().then(function (answer) {
        if (!res.ok) {
          el('login-error').textContent = answer.error || ('login refused (' + res.status + ')');
          return;
        }
        refused('');
        showLogin(answer.nick);
      });
    }).catch(function () {
      el('login-error').textContent = 'The server cannot be reached.';
    });
  };
  el('logout').onclick = function () {
    disconnect();
    request('POST', '/logout').then(function () {
      refused('');
      showLogin(null);
    }, function () {
      refused('The server cannot be reached.');
    });
  };
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

  whoAmI().then(showLogin, function () {
    refused('The server cannot be reached.');
  });
})();
