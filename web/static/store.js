// Everything this browser remembers, in localStorage under "mockround.*".

const PREFIX = 'mockround.';

function read(key, fallback) {
  try {
    const raw = localStorage.getItem(PREFIX + key);
    return raw === null ? fallback : JSON.parse(raw);
  } catch {
    return fallback;
  }
}

function write(key, value) {
  try {
    if (value === null || value === undefined) localStorage.removeItem(PREFIX + key);
    else localStorage.setItem(PREFIX + key, JSON.stringify(value));
  } catch {
    // storage full or disabled: the page still works, it just forgets on refresh
  }
}

export const store = {
  /** Past and current sessions: [{session_id, token, case_id, case_title, level, minutes, mode, created_at, status, overall, hire_call}] */
  sessions() {
    const list = read('sessions', []);
    return Array.isArray(list) ? list.filter((s) => s && typeof s.session_id === 'string') : [];
  },
  session(id) {
    return this.sessions().find((s) => s.session_id === id) || null;
  },
  saveSession(record) {
    const list = this.sessions();
    const i = list.findIndex((s) => s.session_id === record.session_id);
    if (i >= 0) list[i] = { ...list[i], ...record };
    else list.unshift(record);
    write('sessions', list);
    return this.session(record.session_id);
  },
  forget(id) {
    write('sessions', this.sessions().filter((s) => s.session_id !== id));
    write(`seq.${id}`, null);
    write(`outbox.${id}`, null);
    if (this.current() === id) this.setCurrent(null);
  },
  current() {
    return read('current', null);
  },
  setCurrent(id) {
    write('current', id);
  },
  lastSeq(id) {
    const n = Number(read(`seq.${id}`, 0));
    return Number.isInteger(n) && n > 0 ? n : 0;
  },
  setLastSeq(id, seq) {
    write(`seq.${id}`, seq);
  },
  /** Driving messages sent but not yet acknowledged by the server (resent after a reconnect). */
  outbox(id) {
    const list = read(`outbox.${id}`, []);
    return Array.isArray(list) ? list : [];
  },
  setOutbox(id, list) {
    write(`outbox.${id}`, list.length ? list : null);
  },
  prefs() {
    return read('prefs', {});
  },
  setPrefs(prefs) {
    write('prefs', prefs);
  },
};
