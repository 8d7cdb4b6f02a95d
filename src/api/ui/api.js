// api.js — the dashboard's only way out: this origin's HTTP API, with the
// bearer token kept in sessionStorage (this tab only; never in a URL, never
// in localStorage, never sent anywhere else: the CSP allows connect-src 'self').
const KEY = 'keel.token';

export const token = {
  get: () => sessionStorage.getItem(KEY),
  set: (t) => sessionStorage.setItem(KEY, t),
  clear: () => sessionStorage.removeItem(KEY),
};

export class ApiError extends Error {
  constructor(status, body) {
    const e = body && body.error ? body.error : {};
    super(e.message || `HTTP ${status}`);
    this.status = status;
    this.code = e.code || String(status);
  }
}

function headers(extra) {
  const h = Object.assign({}, extra);
  const t = token.get();
  if (t) h.Authorization = 'Bearer ' + t;
  return h;
}

async function parse(r) {
  const text = await r.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch (e) { body = null; }
  if (!r.ok) throw new ApiError(r.status, body);
  return body;
}

// POST /v1/<module>/<method> with a JSON object; resolves to the output.
export async function call(module, method, input) {
  const r = await fetch(`/v1/${encodeURIComponent(module)}/${encodeURIComponent(method)}`, {
    method: 'POST', cache: 'no-store', credentials: 'omit',
    headers: headers({ 'Content-Type': 'application/json' }),
    body: JSON.stringify(input || {}),
  });
  return parse(r);
}

// GET path (/readyz, /v1/modules) as JSON, with the token.
export async function getJSON(path) {
  const r = await fetch(path, { cache: 'no-store', credentials: 'omit', headers: headers() });
  return parse(r);
}

// GET path as text (/metrics).
export async function getText(path) {
  const r = await fetch(path, { cache: 'no-store', credentials: 'omit', headers: headers() });
  if (!r.ok) await parse(r);
  return r.text();
}

// riding.upload_session with the file as a text/csv body; onProgress(0..1).
// XMLHttpRequest because fetch reports no upload progress.
export function uploadSession(horseId, startedAt, file, onProgress) {
  return new Promise((resolve, reject) => {
    const q = new URLSearchParams({ horse_id: String(horseId), started_at: startedAt });
    const x = new XMLHttpRequest();
    x.open('POST', '/v1/riding/upload_session?' + q.toString());
    const h = headers({ 'Content-Type': 'text/csv' });
    for (const k of Object.keys(h)) x.setRequestHeader(k, h[k]);
    x.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); };
    x.onload = () => {
      let body = null;
      try { body = JSON.parse(x.responseText); } catch (e) { body = null; }
      if (x.status >= 200 && x.status < 300) resolve(body); else reject(new ApiError(x.status, body));
    };
    x.onerror = () => reject(new ApiError(0, { error: { message: 'network error' } }));
    x.send(file);
  });
}
