// mockround in the browser: a hash router over five screens. No build step, no dependencies.

import { $ } from './dom.js';
import { InterviewScreen } from './interview.js';
import { renderMarkdown } from './markdown.js';
import { ReplayScreen, showHistory } from './replay.js';
import { showScorecard } from './scorecard.js';
import { showStart } from './start.js';
import { store } from './store.js';

// a small handle for debugging and the browser tests (the live connection, the renderer)
window.__mockround = { conn: null, renderMarkdown, store };

const SCREENS = ['start', 'interview', 'scorecard', 'history', 'replay'];
const TITLES = { start: 'Start', interview: 'Interview', scorecard: 'Scorecard', history: 'History', replay: 'Replay' };
let active = null; // the screen object that owns listeners or a socket
let scorecardCache = null; // {id, card} handed from the interview to the scorecard screen

function showError(message) {
  const box = $('#app-error');
  box.textContent = message || '';
  box.hidden = !message;
}

function show(name, { focus = true } = {}) {
  for (const screen of SCREENS) $(`#screen-${screen}`).hidden = screen !== name;
  for (const link of document.querySelectorAll('[data-nav]')) {
    if (link.dataset.nav === name) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  document.title = `${TITLES[name]} · mockround`;
  if (focus) $(`#screen-${name} .screen-title`)?.focus({ preventScroll: false });
}

async function route() {
  if (active) {
    active.dispose();
    active = null;
  }
  showError('');
  const match = (location.hash || '').match(/^#\/([a-z]+)(?:\/([^/?#]+))?$/);
  const name = match ? match[1] : 'start';
  const id = match && match[2] ? decodeURIComponent(match[2]) : null;

  if (name === 'interview' && id) {
    const session = store.session(id);
    show('interview', { focus: false });
    if (!session) {
      showError('This browser has no token for that interview. Start a new one or open it from History.');
      show('start');
      showStart();
      return;
    }
    store.setCurrent(session.status === 'finished' ? store.current() : id);
    const screen = new InterviewScreen({
      session,
      onScorecard: (card) => {
        scorecardCache = { id, card };
        location.hash = `#/scorecard/${encodeURIComponent(id)}`;
      },
      onFatal: (message) => showError(message),
    });
    active = screen;
    await screen.start();
    if (active === screen && !screen.ended) $('#answer').focus();
    else if (active === screen) $('#iv-title').focus();
    return;
  }
  if (name === 'scorecard' && id) {
    show('scorecard');
    const cached = scorecardCache && scorecardCache.id === id ? scorecardCache.card : null;
    scorecardCache = null;
    await showScorecard(id, cached, { onError: showError });
    return;
  }
  if (name === 'replay' && id) {
    show('replay');
    const screen = new ReplayScreen(id, { onError: showError });
    active = screen;
    await screen.start();
    return;
  }
  if (name === 'history') {
    show('history');
    showHistory();
    return;
  }
  show('start', { focus: !!match });
  await showStart();
}

$('#skip-link').addEventListener('click', (e) => {
  e.preventDefault(); // a plain #main link would change the route
  $('#main').focus();
});
window.addEventListener('hashchange', route);
route();
