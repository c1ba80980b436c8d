// A deliberately tiny, safe Markdown renderer.
//
// Safety model: the source is NEVER parsed as HTML. Every character of the input ends up in a
// text node (textContent / createTextNode), which is equivalent to escaping all of it; the only
// elements ever created come from the whitelist below (paragraphs, lists, bold, italics, code,
// line breaks). No innerHTML, no links, no images, no eval, and no attribute comes from the input
// except the numeric `start` of an ordered list (parsed with Number).

const ALLOWED = new Set(['P', 'UL', 'OL', 'LI', 'STRONG', 'EM', 'CODE', 'PRE', 'BR']);

function el(tag) {
  if (!ALLOWED.has(tag.toUpperCase())) throw new Error(`markdown: <${tag}> is not allowed`);
  return document.createElement(tag);
}

/** Escape text for contexts that need an HTML string (not used for rendering; exported for tests). */
export function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

const WORD = /[\p{L}\p{N}]/u;
const isWord = (c) => c !== undefined && WORD.test(c);
const isSpace = (c) => c === undefined || /\s/.test(c);

function findClose(text, marker, from) {
  let idx = text.indexOf(marker, from);
  while (idx !== -1) {
    const before = text[idx - 1];
    const after = text[idx + marker.length];
    const single = marker.length === 1;
    const ok = !isSpace(before)
      && !(single && (after === marker || before === marker))
      && !(marker[0] === '_' && isWord(after));
    if (ok) return idx;
    idx = text.indexOf(marker, idx + 1);
  }
  return -1;
}

function inline(text, parent, depth = 0) {
  let buf = '';
  const flush = () => {
    if (buf) parent.append(document.createTextNode(buf));
    buf = '';
  };
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '\\' && i + 1 < text.length && '\\`*_'.includes(text[i + 1])) {
      buf += text[i + 1];
      i += 2;
      continue;
    }
    if (c === '`') {
      const end = text.indexOf('`', i + 1);
      if (end > i + 1) {
        flush();
        const code = el('code');
        code.textContent = text.slice(i + 1, end);
        parent.append(code);
        i = end + 1;
        continue;
      }
    }
    if ((c === '*' || c === '_') && depth < 4) {
      const double = text[i + 1] === c;
      const marker = double ? c + c : c;
      const start = i + marker.length;
      const opensOk = !isSpace(text[start]) && !(c === '_' && isWord(text[i - 1]));
      const end = opensOk ? findClose(text, marker, start + 1) : -1;
      if (end > start) {
        flush();
        const node = el(double ? 'strong' : 'em');
        inline(text.slice(start, end), node, depth + 1);
        parent.append(node);
        i = end + marker.length;
        continue;
      }
    }
    buf += c;
    i += 1;
  }
  flush();
}

function inlineLines(lines, parent) {
  lines.forEach((line, n) => {
    if (n > 0) parent.append(el('br'));
    inline(line, parent);
  });
}

const BULLET = /^\s{0,3}[-*+]\s+(.*)$/;
const ORDERED = /^\s{0,3}(\d{1,9})[.)]\s+(.*)$/;
const HEADING = /^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/;
const FENCE = /^\s{0,3}(```|~~~)/;

/** Render Markdown source to a DocumentFragment built only from whitelisted elements. */
export function renderMarkdown(source) {
  const frag = document.createDocumentFragment();
  const lines = String(source ?? '').replace(/\r\n?/g, '\n').split('\n');
  let para = null; // lines of the open paragraph
  let list = null; // {node, kind, item: lines of the open item}

  const closePara = () => {
    if (para && para.length) {
      const p = el('p');
      inlineLines(para, p);
      frag.append(p);
    }
    para = null;
  };
  const closeItem = () => {
    if (list && list.item) {
      const li = el('li');
      inlineLines(list.item, li);
      list.node.append(li);
      list.item = null;
    }
  };
  const closeList = () => {
    closeItem();
    if (list) frag.append(list.node);
    list = null;
  };

  for (let n = 0; n < lines.length; n += 1) {
    const line = lines[n];
    const fence = line.match(FENCE);
    if (fence) {
      closePara();
      closeList();
      const body = [];
      n += 1;
      while (n < lines.length && !lines[n].trim().startsWith(fence[1])) body.push(lines[n++]);
      const pre = el('pre');
      const code = el('code');
      code.textContent = body.join('\n');
      pre.append(code);
      frag.append(pre);
      continue;
    }
    if (!line.trim()) {
      closePara();
      closeList();
      continue;
    }
    const bullet = line.match(BULLET);
    const ordered = bullet ? null : line.match(ORDERED);
    if (bullet || ordered) {
      closePara();
      const kind = bullet ? 'ul' : 'ol';
      if (!list || list.kind !== kind) {
        closeList();
        list = { node: el(kind), kind, item: null };
        if (ordered && ordered[1] !== '1') list.node.start = Number(ordered[1]);
      }
      closeItem();
      list.item = [(bullet || ordered)[bullet ? 1 : 2]];
      continue;
    }
    if (list && /^\s+\S/.test(line)) { // continuation of a list item
      list.item.push(line.trim());
      continue;
    }
    closeList();
    const heading = line.match(HEADING);
    if (heading) {
      closePara();
      const p = el('p');
      const strong = el('strong');
      inline(heading[1], strong);
      p.append(strong);
      frag.append(p);
      continue;
    }
    (para ||= []).push(line);
  }
  closePara();
  closeList();
  return frag;
}

/** Replace the children of `target` with the rendered Markdown. */
export function renderInto(target, source) {
  target.replaceChildren(renderMarkdown(source));
  return target;
}
