// The start screen: choose a case (with a prompt preview), level, length and mode.

import { api } from './api.js';
import { $, clear, h } from './dom.js';
import { renderInto } from './markdown.js';
import { store } from './store.js';

const details = new Map(); // case id -> detail promise
let cases = null;
let bound = false;

function detail(id) {
  if (!details.has(id)) details.set(id, api.caseDetail(id).catch((err) => { details.delete(id); throw err; }));
  return details.get(id);
}

async function preview(id) {
  const box = $('#case-preview');
  const summary = cases?.find((c) => c.id === id);
  $('#level-help').textContent = summary ? `This case is written for: ${summary.levels.join(', ')}.` : '';
  box.setAttribute('aria-busy', 'true');
  try {
    const c = await detail(id);
    if ($('input[name="case"]:checked')?.value !== id) return; // the choice changed meanwhile
    clear(box);
    const prompt = h('div', { class: 'prompt md', tabindex: '0', role: 'region', 'aria-label': 'Case prompt' });
    renderInto(prompt, c.prompt);
    box.append(h('p', { class: 'preview-title' }, h('strong', {}, c.title)), prompt,
      c.tags?.length ? h('ul', { class: 'tags', 'aria-label': 'Topics' }, c.tags.map((t) => h('li', {}, t))) : null);
  } catch (err) {
    clear(box).append(h('p', { class: 'error' }, `Could not load the prompt: ${err.message}`));
  } finally {
    box.removeAttribute('aria-busy');
  }
}

function renderCases(list, chosen) {
  const box = $('#case-list');
  clear(box);
  list.forEach((c, i) => {
    const id = `case-${c.id}`;
    const input = h('input', { type: 'radio', name: 'case', id, value: c.id, 'aria-describedby': `${id}-summary` });
    if (c.id === chosen || (!chosen && i === 0)) input.checked = true;
    box.append(h('div', { class: 'case-option' }, input,
      h('label', { for: id }, h('span', { class: 'case-title' }, c.title),
        h('span', { class: 'case-summary', id: `${id}-summary` }, c.summary),
        h('span', { class: 'case-levels' }, c.levels.join(' · ')))));
  });
  box.removeAttribute('aria-busy');
  box.addEventListener('change', (e) => {
    if (e.target.name === 'case') preview(e.target.value);
  });
}

async function submit(event) {
  event.preventDefault();
  const error = $('#start-error');
  const button = $('#start-btn');
  error.textContent = '';
  const caseId = $('input[name="case"]:checked')?.value;
  const minutes = Number($('#minutes').value);
  const level = $('#level').value;
  const mode = $('input[name="mode"]:checked')?.value || 'practice';
  if (!caseId) {
    error.textContent = 'Choose a case first.';
    return;
  }
  if (!Number.isInteger(minutes) || minutes < 10 || minutes > 180) {
    error.textContent = 'The length must be a whole number of minutes between 10 and 180.';
    $('#minutes').focus();
    return;
  }
  button.disabled = true;
  button.textContent = 'Starting…';
  try {
    const created = await api.createSession({ case_id: caseId, level, minutes, mode });
    const c = cases.find((x) => x.id === caseId);
    store.saveSession({
      session_id: created.session_id, token: created.token, case_id: caseId, case_title: c?.title || caseId,
      level, minutes, mode, created_at: new Date().toISOString(), status: 'active',
    });
    store.setCurrent(created.session_id);
    store.setLastSeq(created.session_id, 0);
    store.setPrefs({ case_id: caseId, level, minutes, mode });
    location.hash = `#/interview/${encodeURIComponent(created.session_id)}`;
  } catch (err) {
    error.textContent = `Could not start the interview: ${err.message}`;
  } finally {
    button.disabled = false;
    button.textContent = 'Start interview';
  }
}

export async function showStart() {
  const current = store.current();
  const rec = current && store.session(current);
  const banner = $('#resume-banner');
  banner.hidden = !(rec && rec.status !== 'finished');
  if (!banner.hidden) {
    $('#resume-case').textContent = `${rec.case_title || rec.case_id} (${rec.level}, ${rec.mode})`;
    $('#resume-link').href = `#/interview/${encodeURIComponent(rec.session_id)}`;
  }
  const prefs = store.prefs();
  if (!bound) {
    bound = true;
    $('#start-form').addEventListener('submit', submit);
    if (prefs.level) $('#level').value = prefs.level;
    if (prefs.minutes) $('#minutes').value = prefs.minutes;
    if (prefs.mode === 'exam') $('#mode-exam').checked = true;
  }
  if (cases) return;
  try {
    cases = await api.cases();
    renderCases(cases, prefs.case_id);
    const chosen = $('input[name="case"]:checked');
    if (chosen) preview(chosen.value);
  } catch (err) {
    clear($('#case-list')).append(h('p', { class: 'error', role: 'alert' }, `Could not load the cases: ${err.message}`));
  }
}
