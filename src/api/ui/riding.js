// riding.js — the Riding view: your horses (own and shared), a horse's
// sessions (upload by drag and drop), one session as pictures.
import { call, uploadSession } from './api.js';
import { GAITS, bars, clear, el, line, mmss, timeline, trace } from './charts.js';

let current = { horse: null, session: null };
let report = () => {};

const $ = (id) => document.getElementById(id);

function mainGait(summary) {
  if (!summary || !summary.gaits) return '–';
  let best = null;
  for (const g of GAITS.slice(1, 5)) {
    const v = summary.gaits[g];
    if (v && v.time_s > 0 && (!best || v.time_s > summary.gaits[best].time_s)) best = g;
  }
  return best || 'halt';
}

function when(iso) {
  const d = new Date(iso);
  return isNaN(d) ? iso : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export async function loadHorses() {
  const out = await call('riding', 'list_horses', { limit: 500 });
  const ul = clear($('horses'));
  $('no-horses').hidden = out.horses.length > 0;
  for (const h of out.horses) {
    const b = el('button', { type: 'button', 'data-horse': h.id });
    b.appendChild(el('span', {}, h.name));
    b.appendChild(el('span', { class: 'badge' }, `${h.role} · ${h.sessions ?? 0}`));
    b.addEventListener('click', () => openHorse(h).catch(report));
    const li = el('li');
    li.appendChild(b);
    ul.appendChild(li);
  }
  return out.horses;
}

async function openHorse(h) {
  current.horse = h;
  for (const b of document.querySelectorAll('#horses button')) {
    b.setAttribute('aria-current', String(b.dataset.horse === String(h.id)));
  }
  $('sessions-title').textContent = `Sessions of ${h.name}`;
  $('sessions-card').hidden = false;
  $('session-card').hidden = true;
  $('drop').hidden = !(h.role === 'owner' || h.role === 'editor' || h.role === 'admin');
  const out = await call('riding', 'list_sessions', { horse_id: h.id, limit: 200 });
  const tb = clear($('sessions').tBodies[0]);
  for (const s of out.sessions) {
    const tr = el('tr', { class: 'pick', 'data-session': s.session_id, tabindex: 0 });
    tr.appendChild(el('td', {}, when(s.started_at)));
    tr.appendChild(el('td', {}, s.summary ? mmss(s.summary.duration_s) : '–'));
    tr.appendChild(el('td', {}, mainGait(s.summary)));
    tr.appendChild(el('td', {}, s.summary ? s.summary.jump_count : '–'));
    tr.appendChild(el('td', {}, s.status));
    const open = () => openSession(s.session_id).catch(report);
    tr.addEventListener('click', open);
    tr.addEventListener('keydown', (e) => { if (e.key === 'Enter') open(); });
    tb.appendChild(tr);
  }
  if (out.sessions.length === 0) {
    const tr = el('tr');
    tr.appendChild(el('td', { colspan: 5, class: 'muted' }, 'No sessions yet.'));
    tb.appendChild(tr);
  }
  await showTrend(h, out.sessions);
}

// The horse's trend: each metric over its sessions (oldest first, from the
// stored summaries) against compute trend's baseline; a metric the trend
// flags has its latest point highlighted.  horse_trend needs a summarized
// session: it is not asked otherwise.
const TREND_METRICS = ['gaits.trot.cadence_spm', 'trot_symmetry_pct', 'rein.balance', 'intensity.load'];

function pick(obj, path) {
  let v = obj;
  for (const k of path.split('.')) v = v && typeof v === 'object' ? v[k] : undefined;
  return typeof v === 'number' ? v : NaN;
}

async function showTrend(h, sessions) {
  const fig = $('trend-fig'), node = clear($('trend'));
  fig.hidden = true;
  const chrono = sessions.filter((s) => s.summary).reverse();
  if (chrono.length === 0) return;
  const out = await call('riding', 'horse_trend', { horse_id: h.id });
  const horse = (out.horses || [])[0] || {};
  const flags = horse.flags || [];
  for (const name of TREND_METRICS) {
    const pts = chrono.map((s, i) => ({ v: pick(s.summary, name), label: when(s.started_at), i }))
      .filter((p) => isFinite(p.v));
    if (pts.length < 2) continue;
    const flag = flags.find((f) => f.metric === name);
    if (flag) pts[pts.length - 1].flag = flag.flag;
    const m = (horse.metrics || {})[name] || {};
    line(node, pts, typeof m.baseline === 'number' ? m.baseline : NaN,
         flag ? `${name} — ${flag.message}` : name);
    fig.hidden = false;
  }
}

export async function openSession(id) {
  current.session = id;
  for (const tr of document.querySelectorAll('#sessions tbody tr')) {
    tr.setAttribute('aria-selected', String(tr.dataset.session === String(id)));
  }
  const width = Math.max(10, Math.min(5000, Math.round($('session-card').clientWidth || 1000)));
  const [s, w, tr] = await Promise.all([
    // a fresh upload's summary is computed after the upload answered: the
    // server holds the call until it is stored (or 20 s pass)
    call('riding', 'get_session', { session_id: id, wait_ms: 20000 }),
    call('riding', 'session_windows', { session_id: id }),
    call('riding', 'session_trace', { session_id: id, max_points: width }),
  ]);
  const sum = s.summary;
  $('session-card').hidden = false;
  $('session-title').textContent = `Session of ${when(s.started_at)}`;
  if (!sum) {
    $('session-facts').textContent = s.status === 'failed'
      ? `The summary failed: ${s.error || 'unknown error'}`
      : 'The summary is still being computed; open the session again in a moment.';
    return;
  }
  $('session-facts').textContent =
    `${mmss(sum.duration_s)} · ${sum.samples} samples at ${Math.round(sum.rate_hz)} Hz · ` +
    `${sum.jump_count} jump${sum.jump_count === 1 ? '' : 's'} · load ${sum.intensity ? sum.intensity.load : '–'}`;
  const gaits = GAITS.map((g) => [g, g === 'unclassified' ? sum.unclassified : sum.gaits[g]])
    .filter(([, v]) => v && v.time_s > 0);
  bars($('gait-bars'), gaits.map(([g, v]) => ({
    key: g, label: g, value: v.time_s, cls: 'g-' + g,
    text: `${mmss(v.time_s)} (${Math.round((v.share || 0) * 100)} %)`,
  })), 'time per gait');
  if (sum.rein) {
    bars($('rein'), ['left', 'straight', 'right'].map((r) => ({
      key: r, label: r, value: sum.rein[r + '_s'], cls: 'r-' + r, text: mmss(sum.rein[r + '_s']),
    })), 'rein balance');
    $('rein').appendChild(el('p', { class: 'muted' },
      `balance ${sum.rein.balance > 0 ? '+' : ''}${sum.rein.balance} (−1 all right … +1 all left)`));
  } else {
    clear($('rein')).appendChild(el('p', { class: 'muted' }, 'Unknown: the file has no rate columns.'));
  }
  bars($('cadence'), GAITS.slice(1, 5).filter((g) => sum.gaits[g] && sum.gaits[g].cadence_spm > 0)
    .map((g) => ({ key: g, label: g, value: sum.gaits[g].cadence_spm, cls: 'g-' + g,
                   text: sum.gaits[g].cadence_spm.toFixed(1) })), 'cadence per gait');
  timeline($('timeline'), w.windows, sum.duration_s, sum.jumps);
  trace($('trace'), tr);
}

function startUpload(file) {
  const h = current.horse;
  if (!h || !file) return;
  const prog = $('upload-progress'), status = $('upload-status');
  // the file's modification time is when the logger stopped: the closest
  // thing to the ride's start a CSV without a date carries
  const started = new Date(file.lastModified || Date.now()).toISOString().replace(/\.\d+Z$/, 'Z');
  prog.hidden = false;
  prog.value = 0;
  status.textContent = `uploading ${file.name}…`;
  uploadSession(h.id, started, file, (f) => { prog.value = Math.round(f * 100); })
    .then(async (s) => {
      prog.value = 100;
      await openHorse(h);
      await openSession(s.session_id);
      // said once the list shows it (the browser test waits for this text)
      status.textContent = `${file.name}: stored as session ${s.session_id}`;
    })
    .catch((e) => { status.textContent = `${file.name}: ${e.message}`; })
    .finally(() => { prog.hidden = true; });
}

export function initRiding(onError) {
  report = onError;
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    startUpload(e.dataTransfer.files[0]);
  });
  $('file').addEventListener('change', (e) => startUpload(e.target.files[0]));
}

export function resetRiding() {
  current = { horse: null, session: null };
  clear($('horses'));
  $('sessions-card').hidden = true;
  $('session-card').hidden = true;
}
