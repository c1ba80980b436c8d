// History (sessions kept in this browser) and the turn-by-turn replay with re-grading.

import { api } from './api.js';
import { $, clear, fmtDate, fmtScore, h, phaseLabel } from './dom.js';
import { renderInto } from './markdown.js';
import { itemLabel } from './scorecard.js';
import { store } from './store.js';

const ACTION_TEXT = { hint: 'asked for a hint', move_on: 'asked to move on', end: 'ended the interview' };

// ---- history ---------------------------------------------------------------------------------
export function showHistory() {
  const box = $('#history-list');
  clear(box);
  const sessions = store.sessions();
  if (!sessions.length) {
    box.append(h('p', { class: 'notice' }, 'No interviews yet in this browser. ', h('a', { href: '#/start' }, 'Start one')));
    return;
  }
  const list = h('ul', { class: 'history' });
  for (const s of sessions) list.append(historyRow(s));
  box.append(list);
  // refresh statuses from the server (an interview may have ended in another tab)
  for (const s of sessions.filter((x) => x.status !== 'finished')) {
    api.session(s.session_id, s.token).then((info) => {
      if (info.status !== s.status) {
        store.saveSession({ session_id: s.session_id, status: info.status });
        const row = list.querySelector(`li[data-session="${CSS.escape(s.session_id)}"]`);
        if (row) row.replaceWith(historyRow(store.session(s.session_id)));
      }
    }).catch(() => {});
  }
}

function historyRow(s) {
  const id = encodeURIComponent(s.session_id);
  const finished = s.status === 'finished';
  const forget = h('button', { type: 'button', class: 'button small' }, 'Remove from this browser');
  forget.addEventListener('click', () => {
    if (forget.dataset.armed) {
      store.forget(s.session_id);
      showHistory();
      $('#hist-title').focus();
    } else {
      forget.dataset.armed = '1';
      forget.textContent = 'Confirm: remove (the token is lost)';
      setTimeout(() => { delete forget.dataset.armed; forget.textContent = 'Remove from this browser'; }, 5000);
    }
  });
  return h('li', { class: 'panel history-row', dataset: { session: s.session_id } },
    h('div', { class: 'history-main' },
      h('h2', { class: 'history-title' }, s.case_title || s.case_id),
      h('p', { class: 'muted' }, [fmtDate(s.created_at), s.level, s.minutes && `${s.minutes} min`, s.mode].filter(Boolean).join(' · ')),
      h('p', {}, h('span', { class: `badge ${finished ? 'done' : 'active'}` }, finished ? 'finished' : 'in progress'),
        s.overall !== undefined && s.overall !== null ? ` ${fmtScore(s.overall)}/100 · ${s.hire_call || ''}` : '')),
    h('div', { class: 'history-actions' },
      finished ? h('a', { class: 'button', href: `#/scorecard/${id}` }, 'Scorecard')
        : h('a', { class: 'button primary', href: `#/interview/${id}` }, 'Continue'),
      h('a', { class: 'button', href: `#/replay/${id}` }, 'Replay'),
      forget));
}

// ---- replay ----------------------------------------------------------------------------------
export class ReplayScreen {
  constructor(id, { onError }) {
    this.id = id;
    this.onError = onError;
    this.index = 0;
    this.turns = [];
    this.abort = new AbortController();
  }

  dispose() {
    this.abort.abort();
  }

  async start() {
    const rec = store.session(this.id);
    this.rec = rec;
    clear($('#rp-turn'));
    $('#rp-prev').disabled = $('#rp-next').disabled = $('#regrade-btn').disabled = true; // until loaded
    $('#rp-turn-title').textContent = 'Loading…';
    clear($('#regrade-diff'));
    clear($('#gradings'));
    $('#rp-meta').textContent = '';
    if (!rec) {
      this.onError('This browser has no token for that session, so it cannot replay it.');
      return;
    }
    $('#rp-title').textContent = `Replay: ${rec.case_title || rec.case_id}`;
    $('#rp-meta').textContent = [rec.level, rec.minutes && `${rec.minutes} min`, rec.mode && `${rec.mode} mode`].filter(Boolean).join(' · ');
    const opts = { signal: this.abort.signal };
    $('#rp-prev').addEventListener('click', () => this.go(this.index - 1), opts);
    $('#rp-next').addEventListener('click', () => this.go(this.index + 1), opts);
    $('#regrade-btn').addEventListener('click', () => this.regrade(), opts);
    document.addEventListener('keydown', (e) => {
      if (e.target.closest?.('input, textarea, select') || e.altKey || e.ctrlKey || e.metaKey) return;
      if (e.key === 'ArrowLeft') this.go(this.index - 1);
      if (e.key === 'ArrowRight') this.go(this.index + 1);
    }, opts);
    try {
      const [transcript, info] = await Promise.all([api.transcript(this.id, rec.token), api.session(this.id, rec.token)]);
      this.turns = transcript.turns || [];
      if (info.status !== rec.status) this.rec = store.saveSession({ session_id: this.id, status: info.status });
    } catch (err) {
      this.onError(`Could not load the transcript: ${err.message}`);
      return;
    }
    this.go(0);
    const button = $('#regrade-btn');
    button.disabled = !this.showGrades();
    button.title = button.disabled ? 'Exam mode: grades are shown when the interview ends.' : '';
    this.loadGradings();
  }

  showGrades() {
    return this.rec.mode !== 'exam' || this.rec.status === 'finished';
  }

  go(index) {
    if (!this.turns.length) {
      $('#rp-turn-title').textContent = 'No turns yet';
      return;
    }
    this.index = Math.max(0, Math.min(this.turns.length - 1, index));
    const turn = this.turns[this.index];
    $('#rp-prev').disabled = this.index === 0;
    $('#rp-next').disabled = this.index === this.turns.length - 1;
    const who = turn.role === 'interviewer' ? 'Interviewer' : 'Candidate';
    $('#rp-turn-title').textContent = `Turn ${this.index + 1} of ${this.turns.length}: ${who}`;
    const box = clear($('#rp-turn'));
    box.append(h('p', { class: 'muted' }, h('span', { class: 'tag' }, phaseLabel(turn.phase)),
      turn.move?.kind ? h('span', { class: 'tag' }, turn.move.kind.replace(/_/g, ' ')) : null,
      turn.fallback ? h('span', { class: 'tag warn' }, 'offline fallback') : null));
    const body = h('div', { class: `body md replay-text ${turn.role}` });
    if (turn.role === 'candidate' && turn.action !== 'answer') body.append(h('p', { class: 'muted' }, `The candidate ${ACTION_TEXT[turn.action] || turn.action}.`));
    else renderInto(body, turn.text);
    box.append(body);

    const met = (turn.verdicts || []).filter((v) => v.met);
    if (turn.role === 'candidate' && turn.action === 'answer' && this.showGrades()) {
      box.append(h('section', { class: 'verdicts', 'aria-label': 'Verdicts' },
        h('h3', {}, `Verdicts: ${met.length} met of ${(turn.verdicts || []).length} checked`),
        met.length ? h('ul', { class: 'items' }, met.map((v) => h('li', {},
          h('strong', {}, itemLabel(v.item_id)), ' ', h('code', { class: 'item-id' }, v.item_id),
          v.source && v.source !== 'offline' ? h('span', { class: 'tag' }, v.source) : null,
          v.evidence ? h('blockquote', { class: 'evidence' }, `“${v.evidence}”`) : null)))
          : h('p', { class: 'muted' }, 'No rubric point met in this answer.'),
        (turn.flags || []).length ? h('p', { class: 'flag' }, `Flags: ${turn.flags.join(', ').replace(/_/g, ' ')}`) : null));
    }
    const retrieved = turn.retrieved || [];
    box.append(h('section', { class: 'retrieved', 'aria-label': 'Retrieved chunks' },
      h('h3', {}, `Retrieved chunks (${retrieved.length})`),
      retrieved.length ? h('ul', { class: 'chips' }, retrieved.map((c) => h('li', {}, h('code', {}, c))))
        : h('p', { class: 'muted' }, 'None for this turn.')),
    h('p', { class: 'muted small' }, [`model ${turn.model || 'offline'}`, turn.prompt_version && `prompt ${turn.prompt_version}`,
      turn.prompt_tokens || turn.completion_tokens ? `${turn.prompt_tokens} + ${turn.completion_tokens} tokens` : null,
      turn.latency_ms ? `${Math.round(turn.latency_ms)} ms` : null].filter(Boolean).join(' · ')));
  }

  async loadGradings() {
    const box = clear($('#gradings'));
    try {
      const versions = await api.gradings(this.id, this.rec.token);
      if (!versions.length) {
        box.append(h('p', { class: 'muted' }, 'Not graded yet: the interview has not ended.'));
        return;
      }
      box.append(h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': 'Grading versions' }, h('table', { class: 'versions' }, h('caption', {}, 'Grading versions'),
        h('thead', {}, h('tr', {}, ['Version', 'Grader', 'Overall', 'Hire call', 'When'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, versions.map((v) => h('tr', { dataset: { version: String(v.version) } },
          h('th', { scope: 'row' }, `v${v.version}`), h('td', {}, v.grader), h('td', {}, fmtScore(v.overall)),
          h('td', {}, v.hire_call || ''), h('td', {}, fmtDate(v.created_at))))))));
    } catch (err) {
      box.append(h('p', { class: 'error' }, `Could not load the grading versions: ${err.message}`));
    }
  }

  async regrade() {
    const button = $('#regrade-btn');
    const box = clear($('#regrade-diff'));
    button.disabled = true;
    button.textContent = 'Re-grading…';
    try {
      const result = await api.regrade(this.id, this.rec.token);
      const d = result.diff || {};
      const list = (ids, empty) => (ids?.length ? h('ul', { class: 'items' }, ids.map((i) => h('li', {}, itemLabel(i), ' ', h('code', { class: 'item-id' }, i))))
        : h('p', { class: 'muted' }, empty));
      const phases = Object.entries(d.phases || {});
      box.append(h('section', { class: 'diff', 'aria-label': `Re-grade version ${result.version}` },
        h('h3', {}, `Version ${result.version}`),
        h('p', { id: 'diff-overall' }, 'Overall ', h('strong', {}, fmtScore(d.overall?.before)), ' → ', h('strong', {}, fmtScore(d.overall?.after))),
        h('p', {}, 'Hire call ', d.hire_call?.before || '–', ' → ', d.hire_call?.after || '–'),
        phases.length ? h('ul', { class: 'items' }, phases.map(([p, v]) => h('li', {}, `${phaseLabel(p)}: ${fmtScore(v.before)} → ${fmtScore(v.after)}`))) : null,
        h('h4', {}, 'Newly met'), list(d.newly_met, 'None.'),
        h('h4', {}, 'No longer met'), list(d.no_longer_met, 'None.')));
      store.saveSession({ session_id: this.id, overall: result.scorecard?.overall, hire_call: result.scorecard?.hire_call });
      await this.loadGradings();
    } catch (err) {
      box.append(h('p', { class: 'error', role: 'alert' }, `Re-grade failed: ${err.message}`));
    } finally {
      button.disabled = !this.showGrades();
      button.textContent = 'Re-grade';
    }
  }
}
