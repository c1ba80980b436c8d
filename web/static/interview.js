// The interview screen: streamed chat, phase bar, timer, controls, practice feedback.

import { api, ApiError } from './api.js';
import { applyDelta, candidateEntry, finishTurn, interviewerEntry, setStatus } from './chat.js';
import { Connection, describeState } from './connection.js';
import { bindControls } from './controls.js';
import { $, clear, h, newClientId } from './dom.js';
import { gradeBlock, verdictText } from './feedback.js';
import { PhaseBar } from './phasebar.js';
import { store } from './store.js';

const MAX_FRAME_BYTES = 15500; // the server's default limit is 16000 bytes per frame
const encoder = new TextEncoder();

export class InterviewScreen {
  constructor({ session, onScorecard, onFatal }) {
    this.session = session;
    this.id = session.session_id;
    this.onScorecard = onScorecard;
    this.onFatal = onFatal;
    this.lastSeq = 0;
    this.turns = new Map(); // interviewer turn index -> {node, body, text, done}
    this.pending = new Map(); // client_id -> candidate entry
    this.byTurn = new Map(); // candidate turn index -> candidate entry
    this.awaiting = null; // the acknowledged candidate entry whose reply has not started yet
    this.ended = false;
    this.disposed = false;
    this.grades = 0;
    this.abort = new AbortController();
    this.el = {
      title: $('#iv-title'), meta: $('#iv-meta'), conn: $('#conn'), connText: $('#conn-text'),
      timer: $('#timer'), phases: $('#phase-list'), chat: $('#chat'), typing: $('#typing'),
      form: $('#answer-form'), answer: $('#answer'), send: $('#send-btn'), hint: $('#hint-btn'),
      move: $('#move-btn'), end: $('#end-btn'), confirm: $('#end-confirm'), endYes: $('#end-yes'),
      endNo: $('#end-no'), error: $('#composer-error'), ended: $('#ended'), toScorecard: $('#to-scorecard'),
      feedback: $('#feedback'),
    };
    this.phases = new PhaseBar(this.el.phases, this.el.timer);
  }

  // ---- lifecycle -------------------------------------------------------------------------
  async start() {
    const { el, session } = this;
    clear(el.chat);
    clear(el.feedback);
    el.title.textContent = session.case_title || session.case_id || 'Interview';
    el.meta.textContent = [session.level, session.minutes && `${session.minutes} min`, session.mode && `${session.mode} mode`]
      .filter(Boolean).join(' · ');
    el.feedback.append(h('p', { class: 'muted' }, session.mode === 'exam'
      ? 'Exam mode: your grades are shown on the scorecard when the interview ends.'
      : 'Feedback on each answer appears here.'));
    el.ended.hidden = true;
    el.confirm.hidden = true;
    el.error.textContent = '';
    el.toScorecard.href = `#/scorecard/${encodeURIComponent(this.id)}`;
    this.setComposerEnabled(true);
    this.phases.render();
    this.bindControls();
    this.keepChatPinned();

    const stored = store.lastSeq(this.id);
    try {
      const [transcript, events] = await Promise.all([
        api.transcript(this.id, session.token), api.events(this.id, session.token, 0)]);
      if (this.disposed) return;
      const log = events.events || [];
      const upTo = Math.min(stored, log.length ? log[log.length - 1].seq : 0);
      this.loadHistory(transcript, log, upTo);
      this.lastSeq = upTo;
      // a message the server acknowledged after this page last saw an event is not resent as new
      const acked = new Set(log.filter((e) => e.type === 'ack').map((e) => e.client_id));
      store.setOutbox(this.id, store.outbox(this.id).filter((m) => !acked.has(m.client_id)));
    } catch (err) {
      if (!(err instanceof ApiError)) throw err; // a bug, not a network or server problem
      if (this.disposed) return;
      if (err.status === 401 || err.status === 404) {
        this.onFatal(err.status === 401 ? 'This session token is not valid any more.' : 'This session no longer exists.');
        return;
      }
      this.lastSeq = 0; // the socket replays the whole log instead
    }
    for (const message of store.outbox(this.id)) this.addCandidate({ ...message, status: 'queued' });
    this.tick = setInterval(() => this.phases.tick(), 1000);
    if (this.ended) {
      this.renderConn('ended');
      return;
    }
    this.conn = new Connection({
      sessionId: this.id, token: session.token, lastSeq: () => this.lastSeq,
      onEvent: (event) => this.onEvent(event, true), onState: (state, info) => this.renderConn(state, info),
    });
    window.__mockround.conn = this.conn;
    this.conn.start();
  }

  dispose() {
    this.disposed = true;
    this.abort.abort();
    clearInterval(this.tick);
    this.resizer?.disconnect();
    if (this.conn) this.conn.stop();
    if (window.__mockround.conn === this.conn) window.__mockround.conn = null;
  }

  /** Rebuild the conversation after a refresh: turns from the transcript, state from stored events. */
  loadHistory(transcript, events, upTo) {
    const turns = transcript.turns || [];
    for (const turn of turns) {
      if (turn.role === 'interviewer') {
        finishTurn(this.interviewerTurn(turn.index), turn.text, turn.phase, turn.fallback);
      } else {
        const entry = this.addCandidate({ type: turn.action, text: turn.text, status: 'delivered' });
        entry.turn = turn.index;
        this.byTurn.set(turn.index, entry);
      }
    }
    const started = turns.length ? Number(turns[0].at) : NaN;
    for (const event of events) {
      if (typeof event.seq === 'number' && event.seq > upTo) break;
      this.onEvent(event, false);
    }
    const last = this.phases.event;
    if (last && !last.finished && Number.isFinite(started)) {
      // how long ago was the last phase event sent? elapsed now (server clock) minus elapsed then
      this.phases.update(last, Date.now() / 1000 - started - last.elapsed_s);
    }
  }

  // ---- events ----------------------------------------------------------------------------
  onEvent(event, live) {
    if (this.disposed) return;
    if (typeof event.seq === 'number') {
      if (event.seq <= this.lastSeq) return; // already seen (replay overlap)
      this.lastSeq = event.seq;
      if (live) store.setLastSeq(this.id, event.seq);
    }
    switch (event.type) {
      case 'ack': return this.onAck(event, live);
      case 'interviewer_delta': return this.onDelta(event);
      case 'interviewer_done': return this.onDone(event);
      case 'phase': return this.onPhase(event);
      case 'grade': return this.onGrade(event);
      case 'scorecard': return this.onScorecardEvent(event, live);
      case 'error': return live ? this.onError(event) : (event.code === 'session_ended' && this.markEnded());
      default: return undefined; // pong and future event types
    }
  }

  onAck(event, live) {
    const entry = this.pending.get(event.client_id);
    if (!live) store.setOutbox(this.id, store.outbox(this.id).filter((m) => m.client_id !== event.client_id));
    if (entry) {
      setStatus(entry, 'delivered');
      this.pending.delete(event.client_id);
      if (!event.duplicate) this.awaiting = entry;
    }
    if (live && !event.duplicate) this.el.typing.hidden = false;
  }

  interviewerTurn(turn) {
    let entry = this.turns.get(turn);
    if (entry) return entry;
    entry = interviewerEntry(turn);
    this.turns.set(turn, entry);
    if (this.awaiting) { // the reply to the last acknowledged candidate message
      this.awaiting.turn = turn - 1;
      this.byTurn.set(turn - 1, this.awaiting);
      this.awaiting = null;
    }
    this.el.chat.append(entry.node);
    return entry;
  }

  onDelta(event) {
    if (!applyDelta(this.interviewerTurn(event.turn), event.offset, event.text)) return;
    this.el.typing.hidden = true;
    this.scrollChat();
  }

  onDone(event) {
    finishTurn(this.interviewerTurn(event.turn), event.text, event.phase, event.fallback);
    this.el.typing.hidden = true;
    this.scrollChat();
  }

  onPhase(event) {
    this.phases.update(event);
    if (event.finished) this.markEnded();
  }

  onGrade(event) {
    const { feedback } = this.el;
    if (!this.grades) clear(feedback);
    this.grades += 1;
    feedback.prepend(gradeBlock(event, this.grades));
    const entry = this.byTurn.get(event.turn);
    if (entry) {
      entry.verdict.hidden = false;
      entry.verdict.textContent = verdictText(event);
    }
  }

  onScorecardEvent(event, live) {
    const card = event.scorecard || {};
    store.saveSession({ session_id: this.id, status: 'finished', overall: card.overall, hire_call: card.hire_call });
    if (store.current() === this.id) store.setCurrent(null);
    this.markEnded();
    if (live) {
      this.closeConnection();
      this.onScorecard(card);
    }
  }

  onError(event) {
    if (event.code === 'session_ended') {
      this.conn?.clearOutbox();
      for (const entry of this.pending.values()) setStatus(entry, 'rejected');
      this.pending.clear();
      this.markEnded();
      this.closeConnection();
    }
    if (event.code === 'rate_limited') setTimeout(() => this.conn?.flush(), 1500);
    this.el.error.textContent = `The server said: ${event.message || event.code}`;
  }

  markEnded() {
    if (this.ended) return;
    this.ended = true;
    this.el.typing.hidden = true;
    this.el.confirm.hidden = true;
    this.setComposerEnabled(false);
    this.el.ended.hidden = false;
    store.saveSession({ session_id: this.id, status: 'finished' });
    if (store.current() === this.id) store.setCurrent(null);
  }

  /** The interview is over and its scorecard arrived: nothing more will come on the socket. */
  closeConnection() {
    if (this.conn) this.conn.stop();
    this.renderConn('ended');
  }

  // ---- candidate messages -----------------------------------------------------------------
  addCandidate({ type = 'answer', text = '', client_id: clientId, status }) {
    if (clientId && this.pending.has(clientId)) return this.pending.get(clientId);
    const entry = candidateEntry({ type, text, clientId });
    if (clientId) this.pending.set(clientId, entry);
    setStatus(entry, status);
    this.el.chat.append(entry.node);
    this.scrollChat();
    return entry;
  }

  send(type, text = '') {
    if (this.ended) return false;
    this.el.error.textContent = '';
    const message = { type, client_id: newClientId() };
    if (type === 'answer') message.text = text;
    if (encoder.encode(JSON.stringify(message)).length > MAX_FRAME_BYTES) {
      this.el.error.textContent = 'That answer is too long for one message; please split it in two.';
      return false;
    }
    const entry = this.addCandidate({ ...message, status: 'queued' });
    if (!this.conn) store.setOutbox(this.id, [...store.outbox(this.id), message]); // sent once connected
    else if (this.conn.send(message)) setStatus(entry, 'sent');
    return true;
  }

  submitAnswer() {
    const text = this.el.answer.value.trim();
    if (!text) {
      this.el.error.textContent = 'Type an answer or a question first.';
      this.el.answer.focus();
      return;
    }
    if (this.send('answer', text)) this.el.answer.value = '';
    this.el.answer.focus();
  }

  askEnd() {
    if (this.ended) return;
    this.el.confirm.hidden = false;
    this.el.endYes.focus();
  }

  closeConfirm() {
    this.el.confirm.hidden = true;
    this.el.end.focus();
  }

  // ---- controls ---------------------------------------------------------------------------
  bindControls() {
    const { el } = this;
    bindControls(el, {
      submit: () => this.submitAnswer(),
      hint: () => this.send('hint'),
      moveOn: () => this.send('move_on'),
      askEnd: () => this.askEnd(),
      cancelEnd: () => this.closeConfirm(),
      confirmEnd: () => {
        el.confirm.hidden = true;
        this.send('end');
        el.answer.focus();
      },
      active: () => !this.ended,
    }, this.abort.signal);
  }

  setComposerEnabled(enabled) {
    const { el } = this;
    for (const control of [el.answer, el.send, el.hint, el.move, el.end]) control.disabled = !enabled;
    el.form.classList.toggle('disabled', !enabled);
  }

  // ---- rendering --------------------------------------------------------------------------
  renderConn(state, info = {}) {
    const { conn, connText } = this.el;
    conn.dataset.state = state;
    connText.textContent = describeState(state, info);
    if (state === 'connected') {
      // anything still waiting was just (re)sent by the connection
      for (const entry of this.pending.values()) if (entry.status === 'queued') setStatus(entry, 'sent');
    } else {
      for (const entry of this.pending.values()) if (entry.status === 'sent') setStatus(entry, 'queued');
    }
  }

  scrollChat() {
    const { chat } = this.el;
    chat.scrollTop = chat.scrollHeight;
  }

  /** When the chat changes size (rotation, narrow window), keep the latest turn in view if it was. */
  keepChatPinned() {
    const { chat } = this.el;
    let pinned = true;
    chat.addEventListener('scroll', () => {
      pinned = chat.scrollHeight - chat.scrollTop - chat.clientHeight < 48;
    }, { signal: this.abort.signal, passive: true });
    this.resizer = new ResizeObserver(() => { if (pinned) this.scrollChat(); });
    this.resizer.observe(chat);
  }
}
