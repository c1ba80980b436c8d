// The scorecard screen: scores, a per-dimension SVG bar chart, evidence, gaps and study pointers.

import { api } from './api.js';
import { $, clear, dimensionLabel, fmtScore, h, PHASES, phaseLabel, svg } from './dom.js';
import { store } from './store.js';

export function itemLabel(itemId) {
  const last = String(itemId || '').split('.').pop() || String(itemId || '');
  const words = last.replace(/[-_]+/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function itemHead(item) {
  return [h('strong', {}, itemLabel(item.item_id)), ' ', h('code', { class: 'item-id' }, item.item_id),
    item.phase ? h('span', { class: 'tag' }, phaseLabel(item.phase)) : null,
    item.hints ? h('span', { class: 'tag hinted' }, `after ${item.hints} hint${item.hints === 1 ? '' : 's'}`) : null];
}

/**
 * A horizontal bar chart drawn with SVG elements (no library, no HTML strings). Bars use
 * percentage widths and no viewBox, so the labels keep their size from phones to desktops.
 */
export function barChart(rows, { id, caption }) {
  const rowH = 46;
  const height = rows.length * rowH + 4;
  const span = 84; // % of the width for a full bar; the value label sits after it
  const descId = `${id}-desc`;
  const capId = `${id}-cap`;
  const chart = svg('svg', {
    class: 'bars', id, width: '100%', height, role: 'img', 'aria-labelledby': `${capId} ${descId}`,
  }, svg('desc', { id: descId }, rows.map(([label, value]) => `${label}: ${fmtScore(value)} of 100`).join('; ')));
  rows.forEach(([label, value], i) => {
    const v = Math.max(0, Math.min(100, Number(value) || 0));
    const y = i * rowH + 2;
    const level = v >= 65 ? 'good' : v >= 45 ? 'mid' : 'low';
    chart.append(svg('g', { class: 'bar-row', dataset: { value: String(v) } },
      svg('text', { x: 0, y: y + 14, class: 'bar-label' }, label),
      svg('rect', { x: 0, y: y + 22, width: `${span}%`, height: 14, rx: 3, class: 'bar-track' }),
      svg('rect', { x: 0, y: y + 22, width: `${(span * v) / 100}%`, height: 14, rx: 3, class: `bar-fill ${level}` }),
      svg('text', { x: `${span + 2}%`, y: y + 34, class: 'bar-value' }, fmtScore(v))));
  });
  return h('figure', { class: 'chart' }, h('figcaption', { id: capId }, caption), chart);
}

function section(title, id, ...children) {
  return h('section', { class: 'panel sc-section', 'aria-labelledby': id }, h('h2', { id }, title), ...children);
}

function collapsible(items, limit, renderItem, label) {
  if (items.length <= limit) return h('ul', { class: 'items' }, items.map(renderItem));
  return [h('ul', { class: 'items' }, items.slice(0, limit).map(renderItem)),
    h('details', {}, h('summary', {}, `${label} (${items.length - limit} more)`),
      h('ul', { class: 'items' }, items.slice(limit).map(renderItem)))];
}

export function renderScorecard(card, session) {
  const phases = card.phases || {};
  const dims = Object.entries(card.dimensions || {});
  const met = card.met || [];
  const missed = card.missed || [];
  const mistakes = card.mistakes || [];
  const stress = card.stress_tests || [];
  const study = card.study || [];
  const notes = card.notes || [];
  const level = card.level || session?.level || '';

  const hero = h('div', { class: 'panel score-hero' },
    h('p', { class: 'overall' }, h('span', { class: 'big', id: 'sc-overall' }, fmtScore(card.overall)),
      h('span', { class: 'out-of' }, ' / 100 overall')),
    h('p', { class: 'hire' }, `Hire call at ${level} level: `, h('strong', { id: 'sc-hire', class: 'hire-call' }, card.hire_call || '–')),
    h('table', { class: 'phase-scores' }, h('caption', {}, 'Score by step'),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Step'), h('th', { scope: 'col' }, 'Score'))),
      h('tbody', {}, PHASES.filter(([id]) => id in phases).map(([id, label]) => h('tr', { dataset: { phase: id } },
        h('th', { scope: 'row' }, label),
        h('td', {}, h('span', { class: 'mini-bar', 'aria-hidden': 'true' }, h('span', { class: 'fill', dataset: { w: String(phases[id]) } })),
          ` ${fmtScore(phases[id])}`))))));
  // widths through CSSOM (allowed by the CSP, unlike style attributes)
  hero.querySelectorAll('.mini-bar .fill').forEach((f) => { f.style.width = `${Math.max(0, Math.min(100, Number(f.dataset.w) || 0))}%`; });

  const evidenceItem = (m) => h('li', {}, itemHead(m),
    m.evidence ? h('blockquote', { class: 'evidence' }, `“${m.evidence}”`) : null,
    m.origin ? h('p', { class: 'muted small' }, m.origin) : null);
  const missedItem = (m) => h('li', {}, itemHead(m), m.origin ? h('p', { class: 'muted small' }, m.origin) : null);

  return [
    h('div', { class: 'sc-top' }, hero,
      h('div', { class: 'panel' }, barChart(dims.map(([d, v]) => [dimensionLabel(d), v]), { id: 'dim-chart', caption: 'Score by dimension (0–100)' }))),
    h('div', { class: 'sc-grid' },
      section(`What you covered (${met.length})`, 'sc-met-title',
        met.length ? collapsible(met, 12, evidenceItem, 'Show the rest') : h('p', { class: 'muted' }, 'No rubric point was met.')),
      section(`What you missed (${missed.length})`, 'sc-missed-title',
        missed.length ? collapsible(missed, 10, missedItem, 'Show all missed points') : h('p', { class: 'muted' }, 'Nothing important was missed.')),
      section(`Mistakes (${mistakes.length})`, 'sc-mistakes-title',
        mistakes.length ? h('ul', { class: 'items' }, mistakes.map(evidenceItem)) : h('p', { class: 'muted' }, 'No common mistake detected.')),
      section(`Stress tests faced (${stress.length})`, 'sc-stress-title',
        stress.length ? h('ul', { class: 'items' }, stress.map((t) => h('li', {},
          h('strong', {}, t.title), ' ', h('span', { class: 'tag' }, phaseLabel(t.phase)),
          h('p', {}, t.question), h('p', { class: 'muted small' }, `score ${fmtScore(t.score)} / 100`,
            t.hints ? ` · ${t.hints} hint${t.hints === 1 ? '' : 's'}` : ''))))
          : h('p', { class: 'muted' }, 'The interview did not reach a stress test.')),
      section('Study next', 'sc-study-title',
        study.length ? h('ul', { class: 'items study' }, study.map((s) => h('li', {},
          h('code', {}, s.source), ' — ', s.section, s.why ? h('p', { class: 'muted small' }, s.why) : null)))
          : h('p', { class: 'muted' }, 'No study pointers.')),
      notes.length ? section('Notes', 'sc-notes-title', h('ul', { class: 'items' }, notes.map((n) => h('li', {}, n)))) : null),
  ];
}

let exportBound = false;

export async function showScorecard(id, cached, { onError }) {
  const rec = store.session(id);
  const body = $('#sc-body');
  clear(body);
  $('#sc-meta').textContent = '';
  $('#export-status').textContent = '';
  $('#sc-replay').href = `#/replay/${encodeURIComponent(id)}`;
  if (!rec) {
    onError('This browser has no token for that session, so it cannot show its scorecard.');
    return;
  }
  $('#sc-title').textContent = `Scorecard: ${rec.case_title || rec.case_id}`;
  $('#sc-meta').textContent = [rec.level, rec.minutes && `${rec.minutes} min`, rec.mode && `${rec.mode} mode`].filter(Boolean).join(' · ');
  if (!exportBound) {
    exportBound = true;
    $('#export-btn').addEventListener('click', () => exportMarkdown($('#export-btn').dataset.session));
  }
  $('#export-btn').dataset.session = id;
  body.setAttribute('aria-busy', 'true');
  let card = cached;
  try {
    card = card || await api.scorecard(id, rec.token);
  } catch (err) {
    body.removeAttribute('aria-busy');
    const text = err.status === 409 ? 'Exam mode: the scorecard is shown when the interview ends.' : `Could not load the scorecard: ${err.message}`;
    body.append(h('p', { class: 'notice' }, text, ' ',
      err.status === 409 ? h('a', { href: `#/interview/${encodeURIComponent(id)}` }, 'Back to the interview') : null));
    return;
  }
  store.saveSession({ session_id: id, overall: card.overall, hire_call: card.hire_call });
  body.append(...renderScorecard(card, rec).flat());
  body.removeAttribute('aria-busy');
}

async function exportMarkdown(id) {
  const rec = store.session(id);
  const status = $('#export-status');
  if (!rec) return;
  status.textContent = 'Preparing the Markdown export…';
  try {
    const blob = await api.exportMarkdown(id, rec.token);
    const url = URL.createObjectURL(blob);
    const a = h('a', { href: url, download: `mockround-${id}.md`, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
    status.textContent = `Downloaded mockround-${id}.md`;
  } catch (err) {
    status.textContent = `Export failed: ${err.message}`;
  }
}
