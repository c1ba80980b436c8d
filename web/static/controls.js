// Keyboard and button wiring for the interview composer. Shortcuts: Ctrl/⌘+Enter sends the
// answer; Alt+Shift+H hint, Alt+Shift+M move on, Alt+Shift+E end (asks for confirmation).

/**
 * @param {object} el  the screen's elements (form, answer, hint, move, end, confirm, endYes, endNo)
 * @param {{submit: Function, hint: Function, moveOn: Function, askEnd: Function, confirmEnd: Function,
 *          cancelEnd: Function, active: () => boolean}} act
 * @param {AbortSignal} signal  removes every listener when the screen is left
 */
export function bindControls(el, act, signal) {
  const opts = { signal };
  el.form.addEventListener('submit', (e) => { e.preventDefault(); act.submit(); }, opts);
  el.answer.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      act.submit();
    }
  }, opts);
  el.hint.addEventListener('click', () => act.hint(), opts);
  el.move.addEventListener('click', () => act.moveOn(), opts);
  el.end.addEventListener('click', () => act.askEnd(), opts);
  el.endNo.addEventListener('click', () => act.cancelEnd(), opts);
  el.endYes.addEventListener('click', () => act.confirmEnd(), opts);
  el.confirm.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') act.cancelEnd();
  }, opts);
  const shortcuts = { KeyH: act.hint, KeyM: act.moveOn, KeyE: act.askEnd };
  document.addEventListener('keydown', (e) => {
    if (!e.altKey || !e.shiftKey || e.ctrlKey || e.metaKey || !act.active()) return;
    const action = shortcuts[e.code];
    if (action) {
      e.preventDefault();
      action();
    }
  }, opts);
}
