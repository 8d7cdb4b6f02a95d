// ops.js — the Operations view (admin token): modules with placement,
// health and breaker (/v1/modules, /readyz details), per-method calls,
// error rate and latency percentiles parsed from /metrics (the same counters
// a Prometheus scrape sees), event queues and dead letters (jobs module).
import { call, getJSON, getText } from './api.js';
import { clear, el } from './charts.js';

const $ = (id) => document.getElementById(id);
let timer = null;
let prev = null;       // {at, calls: Map} of the last refresh, for rates
let report = () => {};

// Prometheus text format 0.0.4: samples of the families we read.
export function parseMetrics(text) {
  const out = [];
  const re = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/;
  for (const lineText of text.split('\n')) {
    if (lineText === '' || lineText[0] === '#') continue;
    const m = re.exec(lineText);
    if (!m) continue;
    const labels = {};
    const lre = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
    let l;
    while ((l = lre.exec(m[3] || '')) !== null) labels[l[1]] = l[2].replace(/\\(.)/g, (x, c) => (c === 'n' ? '\n' : c));
    out.push({ name: m[1], labels, value: Number(m[4]) });
  }
  return out;
}

// histogram_quantile as Prometheus computes it: linear within the bucket.
export function quantile(q, buckets) {
  const b = buckets.slice().sort((x, y) => x.le - y.le);
  if (b.length === 0) return NaN;
  const total = b[b.length - 1].count;
  if (!(total > 0)) return NaN;
  const rank = q * total;
  let prevLe = 0, prevCount = 0;
  for (const x of b) {
    if (x.count >= rank) {
      if (x.le === Infinity) return prevLe;
      const inBucket = x.count - prevCount;
      return inBucket > 0 ? prevLe + (x.le - prevLe) * ((rank - prevCount) / inBucket) : x.le;
    }
    prevLe = x.le;
    prevCount = x.count;
  }
  return prevLe;
}

// Per "module.method": calls, errors and the duration buckets, summed over
// transports.
export function methodStats(samples) {
  const by = new Map();
  const get = (l) => {
    const k = `${l.module}.${l.method}`;
    if (!by.has(k)) by.set(k, { calls: 0, errors: 0, buckets: new Map() });
    return by.get(k);
  };
  for (const s of samples) {
    if (s.name === 'keel_method_calls_total') get(s.labels).calls += s.value;
    else if (s.name === 'keel_method_errors_total') get(s.labels).errors += s.value;
    else if (s.name === 'keel_method_duration_seconds_bucket') {
      const st = get(s.labels), le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
      st.buckets.set(le, (st.buckets.get(le) || 0) + s.value);
    }
  }
  return by;
}

function ms(seconds) {
  if (!isFinite(seconds)) return '–';
  return seconds < 0.001 ? `${(seconds * 1e6).toFixed(0)} µs` : `${(seconds * 1000).toFixed(seconds < 0.01 ? 2 : 1)} ms`;
}

function renderModules(mods, ready, breakers) {
  const tb = clear($('modules').tBodies[0]);
  const health = (ready && ready.modules) || {};
  for (const m of mods.modules) {
    const tr = el('tr', { 'data-module': m.name });
    const h = health[m.name] || {};
    tr.appendChild(el('td', {}, m.name));
    tr.appendChild(el('td', {}, m.version));
    tr.appendChild(el('td', {}, m.placement + (m.url ? ` (${m.url})` : '')));
    const st = h.status || (m.started ? 'started' : 'not started');
    tr.appendChild(el('td', { class: st === 'ok' || st === 'remote' ? 'ok' : 'bad' }, st));
    const br = (m.remote && m.remote.breaker) || breakers.get(m.name) || (m.placement === 'remote' ? '?' : '–');
    tr.appendChild(el('td', { class: br === 'open' ? 'bad' : '' }, br));
    const detail = Object.assign({}, h.detail || {}, m.events ? { events: m.events } : {});
    tr.appendChild(el('td', { class: 'muted' }, Object.keys(detail).length ? JSON.stringify(detail) : ''));
    tb.appendChild(tr);
  }
}

function renderMethods(stats, rates) {
  const tb = clear($('methods').tBodies[0]);
  const keys = [...stats.keys()].sort();
  for (const k of keys) {
    const s = stats.get(k);
    const buckets = [...s.buckets].map(([le, count]) => ({ le, count }));
    const tr = el('tr', { 'data-method': k });
    tr.appendChild(el('td', {}, k));
    tr.appendChild(el('td', {}, s.calls));
    tr.appendChild(el('td', {}, rates.has(k) ? rates.get(k).toFixed(2) : '–'));
    tr.appendChild(el('td', {}, s.errors));
    const er = s.calls > 0 ? (100 * s.errors) / s.calls : 0;
    tr.appendChild(el('td', { class: er > 5 ? 'bad' : '' }, `${er.toFixed(1)} %`));
    for (const q of [0.5, 0.95, 0.99]) tr.appendChild(el('td', {}, ms(quantile(q, buckets))));
    tb.appendChild(tr);
  }
}

async function renderJobs(mods) {
  const emitting = mods.modules.filter((m) => m.events);
  const tb = clear($('dead').tBodies[0]);
  $('dead').hidden = emitting.length === 0;
  if (emitting.length === 0) {
    $('jobs-summary').textContent = 'No module emits or subscribes to events in this build.';
    return;
  }
  const out = await call('jobs', 'list', { state: 'all', limit: 100 });
  $('jobs-summary').textContent = `${out.queued.length} queued, ${out.dead.length} dead letters`;
  for (const d of out.dead) {
    const tr = el('tr');
    tr.appendChild(el('td', {}, d.id));
    tr.appendChild(el('td', {}, d.topic));
    tr.appendChild(el('td', {}, `${d.attempts}/${d.max_attempts}`));
    tr.appendChild(el('td', { class: 'muted' }, d.last_error || ''));
    const td = el('td');
    const b = el('button', { type: 'button' }, 'Replay');
    b.addEventListener('click', () => {
      b.disabled = true;
      call('jobs', 'retry', { id: d.id }).then(refresh).catch(report);
    });
    td.appendChild(b);
    tr.appendChild(td);
    tb.appendChild(tr);
  }
}

export async function refresh() {
  const [mods, ready, text] = await Promise.all([
    getJSON('/v1/modules'),
    // 503 while not ready still carries the detail: read it either way
    fetchReady(),
    getText('/metrics'),
  ]);
  const samples = parseMetrics(text);
  const breakers = new Map();
  const names = ['closed', 'half-open', 'open'];
  for (const s of samples) {
    if (s.name === 'keel_remote_breaker_state') breakers.set(s.labels.module, names[s.value] || String(s.value));
  }
  const stats = methodStats(samples);
  const now = performance.now(), rates = new Map();
  if (prev) {
    const dt = (now - prev.at) / 1000;
    for (const [k, s] of stats) rates.set(k, Math.max(0, (s.calls - (prev.calls.get(k) || 0)) / dt));
  }
  prev = { at: now, calls: new Map([...stats].map(([k, s]) => [k, s.calls])) };
  renderModules(mods, ready, breakers);
  renderMethods(stats, rates);
  await renderJobs(mods);
  $('ops-status').textContent = `${ready && ready.status === 'ok' ? 'ready' : 'not ready'} · updated ${new Date().toLocaleTimeString()}`;
}

async function fetchReady() {
  try {
    return await getJSON('/readyz');
  } catch (e) {
    return { status: 'unavailable' };
  }
}

export function startOps(onError) {
  report = onError;
  stopOps();
  prev = null;
  const tick = () => refresh().catch((e) => { report(e); });
  tick();
  timer = setInterval(tick, 5000);
}

export function stopOps() {
  if (timer) clearInterval(timer);
  timer = null;
}
