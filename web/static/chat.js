// Chat bubbles for the interview screen. Every text goes through the safe Markdown renderer
// (or textContent); nothing is ever parsed as HTML.

import { h, phaseLabel } from './dom.js';
import { renderInto } from './markdown.js';

const ACTION_NOTE = {
  hint: 'You asked for a hint.',
  move_on: 'You asked to move on to the next step.',
  end: 'You ended the interview.',
};
const STATUS_TEXT = {
  queued: 'Not sent yet — will send when reconnected',
  sent: 'Sending…',
  rejected: 'Not delivered: the interview had ended',
};

/** A new, empty interviewer turn: {node, body, phaseTag, note, text, done}. */
export function interviewerEntry(turn) {
  const body = h('div', { class: 'body md' });
  const phaseTag = h('span', { class: 'tag' });
  const note = h('p', { class: 'note', hidden: true });
  const node = h('article', { class: 'msg interviewer', 'aria-label': 'Interviewer', dataset: { turn: String(turn) } },
    h('p', { class: 'who' }, 'Interviewer ', phaseTag), body, note);
  return { node, body, phaseTag, note, text: '', done: false };
}

/**
 * Apply an `interviewer_delta`: `offset` is the character offset in the turn, so offset 0 on a
 * turn that already had text means the server restarted it (after a crash) — start over.
 */
export function applyDelta(entry, offset, text) {
  if (entry.done) return false; // the authoritative text is already there
  const piece = String(text ?? '');
  if (offset === 0) entry.text = piece;
  else if (offset <= entry.text.length) entry.text = entry.text.slice(0, offset) + piece;
  else entry.text += piece;
  entry.node.setAttribute('aria-busy', 'true');
  renderInto(entry.body, entry.text);
  return true;
}

/** The turn is complete: the authoritative text replaces whatever was streamed. */
export function finishTurn(entry, text, phase, fallback) {
  entry.text = String(text ?? '');
  entry.done = true;
  entry.node.removeAttribute('aria-busy');
  entry.phaseTag.textContent = phaseLabel(phase);
  renderInto(entry.body, entry.text);
  if (fallback) {
    entry.note.hidden = false;
    entry.note.textContent = 'Phrased offline because the model was unavailable.';
    entry.note.title = String(fallback);
  }
}

/** A candidate message (an answer bubble, or a one-line note for hint / move on / end). */
export function candidateEntry({ type = 'answer', text = '', clientId }) {
  const statusNode = h('p', { class: 'status', hidden: true });
  const verdict = h('p', { class: 'verdict', hidden: true });
  let node;
  if (type === 'answer') {
    const body = h('div', { class: 'body md' });
    renderInto(body, text);
    node = h('article', { class: 'msg candidate', 'aria-label': 'You' }, h('p', { class: 'who' }, 'You'), body,
      statusNode, verdict);
  } else {
    node = h('p', { class: 'msg action' }, ACTION_NOTE[type] || type, ' ', statusNode);
  }
  if (clientId) node.dataset.clientId = clientId;
  return { node, statusNode, verdict, type, clientId, status: undefined };
}

/** queued (not sent yet) → sent → delivered (acknowledged), or rejected. */
export function setStatus(entry, status) {
  entry.status = status;
  const text = STATUS_TEXT[status];
  entry.statusNode.hidden = !text;
  entry.statusNode.textContent = text || '';
  entry.node.dataset.status = status || '';
}
