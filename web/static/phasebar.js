// The phase bar (five steps, budget and time used per step) and the overall timer. The server
// sends a `phase` event after every turn; between events the current step's clock runs locally.

import { clear, fmtClock, h, PHASE_SHORT, PHASES } from './dom.js';

export class PhaseBar {
  /** @param {HTMLElement} list the <ol> of steps  @param {HTMLElement} timer the overall clock */
  constructor(list, timer) {
    this.list = list;
    this.timer = timer;
    this.event = null; // the last `phase` event
    this.at = 0; // performance.now() when that event arrived (or when it was sent, after a refresh)
    this.rows = {};
  }

  /** A new `phase` event; `ageSeconds` says how long ago it was sent (0 when it just arrived). */
  update(event, ageSeconds = 0) {
    this.event = event;
    this.at = performance.now() - Math.max(0, ageSeconds) * 1000;
    this.render();
  }

  get finished() {
    return !!this.event?.finished;
  }

  sinceEvent() {
    return this.event && !this.event.finished ? Math.max(0, (performance.now() - this.at) / 1000) : 0;
  }

  render() {
    clear(this.list);
    this.rows = {};
    const ev = this.event;
    const current = ev ? PHASES.findIndex(([id]) => id === ev.phase) : 0;
    PHASES.forEach(([id, label], index) => {
      const row = ev?.phases?.find((p) => p.id === id);
      const state = ev?.finished || index < current ? 'done' : index === current ? 'current' : 'upcoming';
      const time = h('span', { class: 'phase-time' });
      const fill = h('span', { class: 'fill' });
      const li = h('li', { class: `phase ${state}`, dataset: { phase: id }, 'aria-current': state === 'current' ? 'step' : null },
        h('span', { class: 'phase-name' }, h('span', { class: 'visually-hidden' }, `Step ${index + 1}: `),
          h('span', { class: 'long' }, label), h('span', { class: 'short', 'aria-hidden': 'true' }, PHASE_SHORT[id]),
          h('span', { class: 'visually-hidden' }, state === 'done' ? ' (done)' : state === 'current' ? ' (current)' : '')),
        time, h('span', { class: 'bar', 'aria-hidden': 'true' }, fill));
      this.list.append(li);
      this.rows[id] = { li, time, fill, row, state };
    });
    this.tick();
  }

  /** Advance the clocks (called every second). */
  tick() {
    const ev = this.event;
    if (!ev) return;
    const since = this.sinceEvent();
    const elapsed = ev.elapsed_s + since;
    this.timer.textContent = `${fmtClock(elapsed)} / ${fmtClock(ev.total_s)}`;
    this.timer.classList.toggle('over', elapsed > ev.total_s);
    for (const { time, fill, row, state, li } of Object.values(this.rows)) {
      if (!row) continue;
      const used = row.used_s + (state === 'current' ? since : 0);
      time.textContent = `${fmtClock(used)} / ${fmtClock(row.budget_s)}`;
      fill.style.width = `${Math.min(100, row.budget_s ? (100 * used) / row.budget_s : 0)}%`;
      li.classList.toggle('over', used > row.budget_s);
    }
  }
}
