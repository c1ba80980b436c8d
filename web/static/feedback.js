// The practice-mode feedback panel: one block per `grade` event (met items with the candidate's
// own words as evidence, common mistakes, flags). Everything is inserted as text.

import { h } from './dom.js';
import { itemLabel } from './scorecard.js';

const FLAG_TEXT = {
  prompt_injection: 'Instructions aimed at the grader were detected and ignored.',
  keyword_stuffing: 'Keyword stuffing was detected; listing terms without explaining them earns nothing.',
};

const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The feedback block for the `n`-th graded answer. */
export function gradeBlock(event, n) {
  const met = event.met || [];
  const mistakes = event.mistakes || [];
  return h('section', { class: 'grade', 'aria-label': `Feedback on answer ${n}`, dataset: { turn: String(event.turn) } },
    h('p', { class: 'grade-head' }, h('strong', {}, `Answer ${n}: `),
      met.length ? `${plural(met.length, 'rubric point')} met` : 'no rubric point met yet',
      event.in_scope ? ` (of ${event.in_scope} in scope)` : ''),
    met.length ? h('ul', { class: 'met-list' }, met.map((m) => h('li', { dataset: { item: m.item_id } },
      h('span', { class: 'ok', 'aria-hidden': 'true' }, '✓ '), m.criterion || itemLabel(m.item_id),
      m.evidence ? h('q', { class: 'evidence' }, m.evidence) : null))) : null,
    mistakes.length ? h('ul', { class: 'mistake-list' }, mistakes.map((m) => h('li', { dataset: { item: m.item_id } },
      h('span', { class: 'warn', 'aria-hidden': 'true' }, '⚠ '), `Common mistake: ${m.criterion || itemLabel(m.item_id)}`,
      m.evidence ? h('q', { class: 'evidence' }, m.evidence) : null))) : null,
    (event.flags || []).map((f) => h('p', { class: 'flag' }, FLAG_TEXT[f] || f)),
    !met.length && !mistakes.length ? h('p', { class: 'muted' },
      'Be specific: numbers, named technologies and the reason for each choice.') : null);
}

/** The short verdict shown under the candidate's own message. */
export function verdictText(event) {
  const met = (event.met || []).length;
  const mistakes = (event.mistakes || []).length;
  const parts = [met ? `✓ ${plural(met, 'point')} met` : 'no rubric point met'];
  if (mistakes) parts.push(`⚠ ${plural(mistakes, 'common mistake')}`);
  return parts.join(' · ');
}
