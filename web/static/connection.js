// The interview websocket: reconnects with backoff, resumes from the last seen seq, and keeps
// driving messages in an outbox until the server acknowledges them (the server dedupes on
// client_id, so resending after a reconnect is always safe).

import { store } from './store.js';

const BACKOFF_MS = [500, 1000, 2000, 4000, 8000];
const MAX_BACKOFF_MS = 10000;
const STABLE_MS = 3000; // a connection that lived this long resets the backoff
const PING_EVERY_MS = 45000;
const SILENCE_MS = 60000; // no frame at all this long after a ping: the socket is dead (a model turn may take ~30 s)
const FATAL = { 4401: 'This session token is not valid any more.', 4404: 'This session does not exist (it may have been deleted).' };

const STATE_TEXT = {
  idle: 'Not connected',
  connecting: 'Connecting…',
  connected: 'Connected',
  reconnecting: 'Reconnecting…',
  offline: 'Offline — will reconnect when the network is back',
  closed: 'Disconnected',
  failed: 'Cannot connect',
  ended: 'Interview ended',
};

/** What to tell the user about a connection state (see Connection.setState). */
export function describeState(state, info = {}) {
  if (state === 'reconnecting' && info.attempt) {
    return info.trying ? `Reconnecting… (attempt ${info.attempt})`
      : `Reconnecting… next try in ${Math.max(1, Math.round((info.delay || 0) / 1000))} s`;
  }
  if (state === 'failed' && info.message) return `Cannot connect: ${info.message}`;
  return STATE_TEXT[state] || state;
}

export class Connection {
  /**
   * @param {object} opts
   * @param {string} opts.sessionId
   * @param {string} opts.token
   * @param {() => number} opts.lastSeq  the last event seq this page has seen
   * @param {(event: object) => void} opts.onEvent
   * @param {(state: string, info: object) => void} opts.onState
   */
  constructor({ sessionId, token, lastSeq, onEvent, onState }) {
    Object.assign(this, { sessionId, token, lastSeq, onEvent, onState });
    this.ws = null;
    this.state = 'idle';
    this.attempt = 0;
    this.timer = null;
    this.pingTimer = null;
    this.silenceTimer = null;
    this.stopped = false;
    this.openedAt = 0;
    this.onOnline = () => this.online();
    this.onOffline = () => this.offline();
  }

  get outbox() {
    return store.outbox(this.sessionId);
  }

  start() {
    this.stopped = false;
    window.addEventListener('online', this.onOnline);
    window.addEventListener('offline', this.onOffline);
    if (navigator.onLine === false) this.setState('offline');
    else this.open();
  }

  stop() {
    this.stopped = true;
    window.removeEventListener('online', this.onOnline);
    window.removeEventListener('offline', this.onOffline);
    clearTimeout(this.timer);
    this.stopTimers();
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.onclose = ws.onmessage = ws.onerror = ws.onopen = null;
      try { ws.close(1000, 'page left the interview'); } catch { /* already closed */ }
    }
    this.setState('closed');
  }

  setState(state, info = {}) {
    this.state = state;
    this.onState(state, { attempt: this.attempt, ...info });
  }

  url() {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const q = new URLSearchParams({ token: this.token, last_seq: String(this.lastSeq() || 0) });
    return `${proto}//${location.host}/v1/sessions/${encodeURIComponent(this.sessionId)}/ws?${q}`;
  }

  open() {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.setState(this.attempt ? 'reconnecting' : 'connecting', { trying: true });
    let ws;
    try {
      ws = new WebSocket(this.url());
    } catch (err) {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      if (ws !== this.ws) return;
      this.openedAt = Date.now();
      this.setState('connected');
      this.flush();
      this.startTimers();
    };
    ws.onmessage = (msg) => {
      if (ws !== this.ws) return;
      this.heard();
      let event;
      try {
        event = JSON.parse(msg.data);
      } catch {
        return;
      }
      if (event && typeof event === 'object') {
        if (event.type === 'ack') this.acked(event.client_id);
        this.onEvent(event);
      }
    };
    ws.onclose = (ev) => {
      if (ws !== this.ws) return;
      this.ws = null;
      this.stopTimers();
      if (this.stopped) return;
      if (FATAL[ev.code]) {
        this.setState('failed', { message: FATAL[ev.code], code: ev.code });
        return;
      }
      if (this.openedAt && Date.now() - this.openedAt >= STABLE_MS) this.attempt = 0;
      this.openedAt = 0;
      this.scheduleReconnect();
    };
    ws.onerror = () => { /* onclose follows and decides */ };
  }

  scheduleReconnect() {
    if (this.stopped) return;
    clearTimeout(this.timer);
    if (navigator.onLine === false) {
      this.setState('offline');
      return; // the 'online' event reconnects
    }
    const base = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)] ?? MAX_BACKOFF_MS;
    const delay = Math.min(MAX_BACKOFF_MS, Math.round(base * (0.8 + Math.random() * 0.4)));
    this.attempt += 1;
    this.setState('reconnecting', { delay, at: Date.now() + delay });
    this.timer = setTimeout(() => this.open(), delay);
  }

  online() {
    if (this.stopped) return;
    if (!this.ws || this.ws.readyState > WebSocket.OPEN) {
      this.attempt = Math.max(this.attempt, 1);
      this.open();
    }
  }

  offline() {
    if (this.stopped) return;
    clearTimeout(this.timer);
    // a socket over a network that is gone is dead; drop it now and reconnect when back online
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.onclose = ws.onmessage = ws.onerror = ws.onopen = null;
      try { ws.close(4000, 'browser went offline'); } catch { /* ignore */ }
    }
    this.stopTimers();
    this.setState('offline');
  }

  /** Drop the socket as if the network failed (used by tests and the "reconnect" button). */
  drop() {
    if (this.ws) this.ws.close(4000, 'dropped by the client');
  }

  reconnectNow() {
    this.attempt = Math.max(this.attempt, 1);
    if (this.ws) this.drop();
    else this.open();
  }

  isOpen() {
    return !!this.ws && this.ws.readyState === WebSocket.OPEN;
  }

  /** Queue a driving message (answer, hint, move_on, end) until it is acknowledged. */
  send(message) {
    const box = this.outbox.filter((m) => m.client_id !== message.client_id);
    box.push(message);
    store.setOutbox(this.sessionId, box);
    return this.isOpen() ? this.transmit(message) : false;
  }

  transmit(message) {
    try {
      this.ws.send(JSON.stringify(message));
      return true;
    } catch {
      return false;
    }
  }

  /** (Re)send every unacknowledged message, oldest first, with its original client_id. */
  flush() {
    const sent = [];
    for (const message of this.outbox) {
      if (!this.isOpen()) break;
      if (this.transmit(message)) sent.push(message.client_id);
    }
    return sent;
  }

  acked(clientId) {
    store.setOutbox(this.sessionId, this.outbox.filter((m) => m.client_id !== clientId));
  }

  clearOutbox() {
    store.setOutbox(this.sessionId, []);
  }

  startTimers() {
    this.stopTimers();
    this.pingTimer = setInterval(() => {
      if (!this.isOpen()) return;
      this.transmit({ type: 'ping' });
      clearTimeout(this.silenceTimer);
      this.silenceTimer = setTimeout(() => this.drop(), SILENCE_MS);
    }, PING_EVERY_MS);
  }

  heard() {
    clearTimeout(this.silenceTimer);
    this.silenceTimer = null;
  }

  stopTimers() {
    clearInterval(this.pingTimer);
    clearTimeout(this.silenceTimer);
    this.pingTimer = this.silenceTimer = null;
  }
}
