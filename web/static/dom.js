// Tiny DOM helpers. Text is only ever inserted as text nodes (never parsed as HTML).

const SVG_NS = 'http://www.w3.org/2000/svg';

function setProps(el, props) {
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.setAttribute('class', value);
    else if (key === 'text') el.textContent = String(value);
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** h('p', {class: 'x'}, 'text', h('strong', {}, 'bold')) */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  setProps(el, props);
  return append(el, children);
}

export function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setProps(el, attrs);
  return append(el, children);
}

export function $(selector, root = document) {
  return root.querySelector(selector);
}

export function clear(el) {
  el.replaceChildren();
  return el;
}

export function fmtClock(seconds) {
  const s = Math.max(0, Math.round(Number(seconds) || 0));
  const m = Math.floor(s / 60);
  return `${m}:${String(s % 60).padStart(2, '0')}`;
}

export function fmtScore(value) {
  const n = Number(value);
  return Number.isFinite(n) ? String(Math.round(n)) : '–';
}

export function fmtDate(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export const PHASES = [
  ['clarify', 'Clarify'],
  ['high_level', 'High-level design'],
  ['deep_dive', 'Deep dive'],
  ['cross_cutting', 'Cross-cutting'],
  ['summary', 'Summary'],
];
export const PHASE_SHORT = { clarify: 'Clarify', high_level: 'High-level', deep_dive: 'Deep dive', cross_cutting: 'Cross-cut', summary: 'Summary' };
export const PHASE_LABEL = Object.fromEntries(PHASES);
export const phaseLabel = (id) => PHASE_LABEL[id] || String(id || '').replace(/_/g, ' ');

export const DIMENSION_LABEL = {
  requirements: 'Requirements',
  architecture: 'Architecture',
  depth_tradeoffs: 'Depth and trade-offs',
  operations: 'Operations',
  cost_scale: 'Cost and scale',
  communication: 'Communication',
};
export const dimensionLabel = (id) => DIMENSION_LABEL[id] || String(id || '').replace(/_/g, ' ');

/** A client id for protocol messages: random, ≤ 80 chars; works outside secure contexts too. */
export function newClientId() {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return `c-${Date.now().toString(36)}-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}
