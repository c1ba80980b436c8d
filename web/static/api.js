// REST client for /v1 (session calls authenticate with "Authorization: Bearer <token>").

export class ApiError extends Error {
  constructor(status, detail, code) {
    super(detail || `HTTP ${status}`);
    this.status = status;
    this.code = code;
  }
}

const enc = encodeURIComponent;

async function fail(res) {
  let detail = res.statusText;
  let code;
  try {
    const body = await res.json();
    if (typeof body.detail === 'string') detail = body.detail;
    else if (Array.isArray(body.detail)) { // FastAPI validation errors: say which field and why
      detail = body.detail.map((d) => `${(d.loc || []).slice(1).join('.') || 'request'}: ${d.msg}`).join('; ');
    } else detail = JSON.stringify(body.detail);
    code = body.code;
  } catch {
    // not JSON
  }
  throw new ApiError(res.status, detail, code);
}

async function request(method, path, { token, body } = {}) {
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, { method, headers, cache: 'no-store', body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (err) {
    throw new ApiError(0, `network error: ${err.message || err}`, 'network');
  }
  if (!res.ok) await fail(res);
  return res.status === 204 ? null : res.json();
}

export const api = {
  cases: () => request('GET', '/v1/cases'),
  caseDetail: (id) => request('GET', `/v1/cases/${enc(id)}`),
  createSession: (body) => request('POST', '/v1/sessions', { body }),
  session: (id, token) => request('GET', `/v1/sessions/${enc(id)}`, { token }),
  events: (id, token, after = 0) => request('GET', `/v1/sessions/${enc(id)}/events?after=${after}`, { token }),
  transcript: (id, token) => request('GET', `/v1/sessions/${enc(id)}/transcript`, { token }),
  scorecard: (id, token) => request('GET', `/v1/sessions/${enc(id)}/scorecard`, { token }),
  regrade: (id, token) => request('POST', `/v1/sessions/${enc(id)}/regrade`, { token }),
  gradings: (id, token) => request('GET', `/v1/sessions/${enc(id)}/gradings`, { token }),
  /** The Markdown export as a Blob (fetched with the bearer token, so no token in any URL). */
  async exportMarkdown(id, token) {
    let res;
    try {
      res = await fetch(`/v1/sessions/${enc(id)}/export?format=md`, {
        headers: { Authorization: `Bearer ${token}`, Accept: 'text/markdown' }, cache: 'no-store',
      });
    } catch (err) {
      throw new ApiError(0, `network error: ${err.message || err}`, 'network');
    }
    if (!res.ok) await fail(res);
    const text = await res.text();
    return new Blob([text], { type: 'text/markdown;charset=utf-8' });
  },
};
