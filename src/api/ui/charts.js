// charts.js — small SVG charts built with DOM calls only (no HTML strings, no
// inline style: the CSP forbids it).  Colours come from classes in app.css.
const NS = 'http://www.w3.org/2000/svg';
export const GAITS = ['halt', 'walk', 'trot', 'canter', 'gallop', 'unclassified'];

export function svg(tag, attrs, text) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = String(text);
  return e;
}

export function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v; else e.setAttribute(k, String(v));
  }
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

export function mmss(s) {
  if (!isFinite(s)) return '–';
  s = Math.round(s);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const two = (n) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${two(m)}:${two(r)}` : `${m}:${two(r)}`;
}

function frame(node, w, h) {
  const s = svg('svg', { viewBox: `0 0 ${w} ${h}`, role: 'img' });
  clear(node).appendChild(s);
  return s;
}

// Horizontal bars: items [{key, label, value, text, cls}] → one rect.bar each.
export function bars(node, items, title) {
  const rowH = 22, labelW = 62, textW = 88, w = 330, h = Math.max(1, items.length) * rowH;
  const s = frame(node, w, h);
  s.setAttribute('aria-label', title);
  const max = Math.max(...items.map((i) => i.value), 1e-9);
  items.forEach((it, k) => {
    const y = k * rowH;
    s.appendChild(svg('text', { x: 0, y: y + 16 }, it.label));
    const bw = Math.max(1, (w - labelW - textW) * it.value / max);
    const r = svg('rect', { x: labelW, y: y + 4, width: bw.toFixed(1), height: rowH - 8, rx: 2,
                            class: 'bar ' + it.cls, 'data-key': it.key, 'data-value': it.value });
    r.appendChild(svg('title', {}, `${it.label}: ${it.text}`));
    s.appendChild(r);
    s.appendChild(svg('text', { x: labelW + bw + 6, y: y + 16 }, it.text));
  });
  if (items.length === 0) s.appendChild(svg('text', { x: 0, y: 16 }, 'nothing to show'));
}

export function legend(node, keys, prefix) {
  const d = el('div', { class: 'legend' });
  for (const k of keys) {
    const item = el('span');
    const s = svg('svg', { viewBox: '0 0 10 10' });
    s.appendChild(svg('rect', { width: 10, height: 10, class: prefix + k }));
    item.appendChild(s);
    item.appendChild(document.createTextNode(k));
    d.appendChild(item);
  }
  node.appendChild(d);
}

// Runs of consecutive windows with the same gait: [{gait, t0, t1, n}].
export function runs(windows) {
  const out = [];
  for (const w of windows) {
    const last = out[out.length - 1];
    if (last && last.gait === w.gait && Math.abs(last.t1 - w.t_start) < 1e-6) {
      last.t1 = w.t_end; last.n++;
    } else {
      out.push({ gait: w.gait, t0: w.t_start, t1: w.t_end, n: 1 });
    }
  }
  return out;
}

// Gait timeline: one rect.run per run of windows, a marker per jump.
export function timeline(node, windows, duration, jumps) {
  // the trace's left margin, so a moment sits at the same x in both
  const w = 1000, h = 64, top = 14, bandH = 30, left = 34;
  const s = frame(node, w, h);
  s.setAttribute('aria-label', 'gait timeline');
  const end = Math.max(duration || 0, ...windows.map((x) => x.t_end), 1e-9);
  const x = (t) => left + (t / end) * (w - left);
  for (const r of runs(windows)) {
    const rect = svg('rect', { x: x(r.t0).toFixed(2), y: top, height: bandH,
                               width: Math.max(0.5, x(r.t1) - x(r.t0)).toFixed(2),
                               class: 'run g-' + r.gait, 'data-gait': r.gait });
    rect.appendChild(svg('title', {}, `${r.gait} ${mmss(r.t0)}–${mmss(r.t1)}`));
    s.appendChild(rect);
  }
  for (const j of jumps || []) {
    const cx = x(j.t);
    const m = svg('path', { d: `M${(cx - 5).toFixed(1)} 2 L${(cx + 5).toFixed(1)} 2 L${cx.toFixed(1)} ${top - 1} Z`,
                            class: 'jump' });
    m.appendChild(svg('title', {}, `jump at ${mmss(j.t)}: ${j.airtime_s.toFixed(2)} s in the air, ~${j.height_m.toFixed(2)} m`));
    s.appendChild(m);
  }
  const ticks = 6;
  for (let i = 0; i <= ticks; i++) {
    const t = (end * i) / ticks;
    s.appendChild(svg('text', { x: Math.min(w - 30, x(t)), y: h - 4 }, mmss(t)));
  }
  legend(node, GAITS.filter((g) => windows.some((x) => x.gait === g)), 'g-');
}

// Min/max envelope: one vertical stroke per bucket, in a single path.
export function trace(node, tr) {
  const w = 1000, h = 180, left = 34, bottom = 16;
  const s = frame(node, w, h);
  s.setAttribute('aria-label', 'vertical acceleration');
  const n = tr.t.length;
  const lo = Math.min(0, ...tr.min), hi = Math.max(0, ...tr.max);
  const span = hi - lo || 1;
  const end = Math.max(tr.duration_s, n ? tr.t[n - 1] + tr.bucket_s : 0, 1e-9);
  const x = (t) => left + ((t + tr.bucket_s / 2) / end) * (w - left);
  const y = (v) => (h - bottom) - ((v - lo) / span) * (h - bottom - 4);
  let d = '';
  for (let i = 0; i < n; i++) {
    const xi = x(tr.t[i]).toFixed(1);
    let y0 = y(tr.min[i]), y1 = y(tr.max[i]);
    if (y0 - y1 < 1) { y0 += 0.5; y1 -= 0.5; }
    d += `M${xi} ${y0.toFixed(1)}V${y1.toFixed(1)}`;
  }
  s.appendChild(svg('line', { x1: left, x2: w, y1: y(0), y2: y(0), class: 'zero' }));
  s.appendChild(svg('path', { d, class: 'trace', 'data-buckets': n }));
  for (const v of [lo, 0, hi]) s.appendChild(svg('text', { x: 0, y: y(v) + 4 }, v.toFixed(0)));
  for (let i = 0; i <= 5; i++) {
    const t = (end * i) / 5;
    s.appendChild(svg('text', { x: Math.min(w - 30, x(t)), y: h - 2 }, mmss(t)));
  }
}

// A line over dates with a dashed baseline; flagged points highlighted.
export function line(node, points, baseline, label) {
  const w = 1000, h = 120, left = 44, bottom = 16;
  const fig = el('div');
  node.appendChild(fig);
  fig.appendChild(el('div', { class: 'muted' }, label));
  const s = svg('svg', { viewBox: `0 0 ${w} ${h}`, role: 'img', 'aria-label': label });
  fig.appendChild(s);
  const vals = points.map((p) => p.v).concat(isFinite(baseline) ? [baseline] : []);
  const lo = Math.min(...vals), hi = Math.max(...vals), span = hi - lo || 1;
  const x = (i) => left + (points.length > 1 ? (i / (points.length - 1)) * (w - left - 8) : (w - left) / 2);
  const y = (v) => (h - bottom) - ((v - lo) / span) * (h - bottom - 6);
  if (isFinite(baseline)) s.appendChild(svg('line', { x1: left, x2: w, y1: y(baseline), y2: y(baseline), class: 'baseline' }));
  s.appendChild(svg('path', { d: points.map((p, i) => `${i ? 'L' : 'M'}${x(i).toFixed(1)} ${y(p.v).toFixed(1)}`).join(''), class: 'line' }));
  points.forEach((p, i) => {
    const c = svg('circle', { cx: x(i), cy: y(p.v), r: p.flag ? 5 : 3, class: p.flag ? 'flagged' : 'dot' });
    c.appendChild(svg('title', {}, `${p.label}: ${p.v}${p.flag ? ' (flag: ' + p.flag + ')' : ''}`));
    s.appendChild(c);
  });
  s.appendChild(svg('text', { x: 0, y: y(hi) + 4 }, hi.toFixed(1)));
  s.appendChild(svg('text', { x: 0, y: y(lo) + 4 }, lo.toFixed(1)));
}
