// dashboard.mjs — drives headless Chromium (Debian's, through playwright-core:
// no browser download) through keel's dashboard, as tests/e2e/e2e_browser.sh
// sets it up: user A with a horse and a session, user B with a horse of
// their own, an admin token.  Every expected number is fetched from the API
// here (the same calls the page makes), never written down.
//
// env: KEEL_URL, CHROMIUM, A_EMAIL, B_EMAIL, PASSWORD, ADMIN_TOKEN,
//      SESSION_ID, UPLOAD_CSV, SHOTS (screenshot folder)
// Prints "ok - …" / "FAIL - …" and "N passed, N failed"; exit 1 on a failure.
import { chromium } from 'playwright-core';

const env = (k) => {
  if (!process.env[k]) throw new Error(`${k} is not set`);
  return process.env[k];
};
const BASE = env('KEEL_URL');
const SHOTS = env('SHOTS');
let pass = 0, failed = 0;
const ok = (what) => { pass++; console.log(`ok   - ${what}`); };
const fail = (what) => { failed++; console.log(`FAIL - ${what}`); };
const expectEq = (what, got, want) => {
  const g = JSON.stringify(got), w = JSON.stringify(want);
  if (g === w) ok(what); else fail(`${what}: got ${g}, want ${w}`);
};

async function api(tokenValue, module, method, input) {
  const r = await fetch(`${BASE}/v1/${module}/${method}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(tokenValue ? { Authorization: `Bearer ${tokenValue}` } : {}) },
    body: JSON.stringify(input || {}),
  });
  const body = await r.json();
  if (!r.ok) throw new Error(`${module}.${method}: HTTP ${r.status} ${JSON.stringify(body)}`);
  return body;
}

// The page's own rule for the timeline: consecutive windows of one gait
// that touch make one bar (src/api/ui/charts.js runs()).
function runs(windows) {
  const out = [];
  for (const w of windows) {
    const last = out[out.length - 1];
    if (last && last.gait === w.gait && Math.abs(last.t1 - w.t_start) < 1e-6) last.t1 = w.t_end;
    else out.push({ gait: w.gait, t1: w.t_end });
  }
  return out.length;
}

const browser = await chromium.launch({
  executablePath: env('CHROMIUM'),
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
const problems = [];
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  // CSP violations as the page sees them (also reported on the console)
  await context.addInitScript(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  const page = await context.newPage();
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));

  const password = env('PASSWORD');
  const tokenA = (await api(null, 'auth', 'login', { email: env('A_EMAIL'), password })).token;
  const tokenB = (await api(null, 'auth', 'login', { email: env('B_EMAIL'), password })).token;
  const horsesA = (await api(tokenA, 'riding', 'list_horses', {})).horses;
  const horsesB = (await api(tokenB, 'riding', 'list_horses', {})).horses;
  const sid = Number(env('SESSION_ID'));
  // the summary lands after the upload answered (e2e_browser.sh waited for it too)
  const session = await api(tokenA, 'riding', 'get_session', { session_id: sid, wait_ms: 30000 });
  expectEq('the session is summarized', session.status, 'ready');
  const windows = (await api(tokenA, 'riding', 'session_windows', { session_id: sid })).windows;
  const summary = session.summary;

  // ---- sign in with email and password ---------------------------------------
  const resp = await page.goto(`${BASE}/ui/`);
  expectEq('GET /ui/ answers 200', resp.status(), 200);
  await page.fill('#email', env('A_EMAIL'));
  await page.fill('#password', password);
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#horses button');
  expectEq('A sees exactly their horses', await page.$$eval('#horses button', (b) => b.map((x) => Number(x.dataset.horse)).sort()),
           horsesA.map((h) => h.id).sort());
  expectEq('the signed-in user is shown', await page.textContent('#who'), env('A_EMAIL'));
  const stored = await page.evaluate(() => ({ s: sessionStorage.getItem('keel.token'), l: localStorage.length, url: location.href }));
  expectEq('token kept in sessionStorage, not localStorage, not the URL',
           [!!stored.s, stored.l, stored.url.includes(stored.s || '\u0000')], [true, 0, false]);

  // ---- one session as pictures -----------------------------------------------
  await page.click(`#horses button[data-horse="${session.horse_id}"]`);
  await page.waitForSelector(`#sessions tr[data-session="${sid}"]`);
  await page.click(`#sessions tr[data-session="${sid}"]`);
  await page.waitForSelector('#gait-bars rect.bar');
  await page.waitForSelector('#trace path.trace');
  const gaitsWant = ['halt', 'walk', 'trot', 'canter', 'gallop', 'unclassified']
    .map((g) => [g, g === 'unclassified' ? summary.unclassified : summary.gaits[g]])
    .filter(([, v]) => v && v.time_s > 0)
    .map(([g, v]) => [g, v.time_s]);
  const gaitsGot = await page.$$eval('#gait-bars rect.bar', (r) => r.map((x) => [x.dataset.key, Number(x.dataset.value)]));
  expectEq('one gait bar per gait with time, seconds as in the summary', gaitsGot, gaitsWant);
  expectEq('timeline: one bar per run of windows', await page.$$eval('#timeline rect.run', (r) => r.length), runs(windows));
  expectEq('timeline: one marker per jump', await page.$$eval('#timeline path.jump', (r) => r.length), (summary.jumps || []).length);
  const cadWant = ['walk', 'trot', 'canter', 'gallop'].filter((g) => summary.gaits[g].cadence_spm > 0)
    .map((g) => [g, summary.gaits[g].cadence_spm]);
  expectEq('cadence bars as in the summary', await page.$$eval('#cadence rect.bar', (r) => r.map((x) => [x.dataset.key, Number(x.dataset.value)])), cadWant);
  if (summary.rein) {
    expectEq('rein bars: left, straight, right seconds',
             await page.$$eval('#rein rect.bar', (r) => r.map((x) => Number(x.dataset.value))),
             [summary.rein.left_s, summary.rein.straight_s, summary.rein.right_s]);
  }
  const buckets = Number(await page.getAttribute('#trace path.trace', 'data-buckets'));
  if (buckets >= 10 && buckets <= 5000) ok(`trace drawn with ${buckets} buckets`); else fail(`trace buckets ${buckets}`);
  await page.screenshot({ path: `${SHOTS}/riding-session.png`, fullPage: true });

  // ---- upload by file choice (the drop zone's input) ---------------------------
  const before = await page.$$eval('#sessions tbody tr[data-session]', (r) => r.length);
  await page.setInputFiles('#file', env('UPLOAD_CSV'));
  await page.waitForFunction(() => /stored as session/.test(document.getElementById('upload-status').textContent), null, { timeout: 30000 });
  const after = await page.$$eval('#sessions tbody tr[data-session]', (r) => r.length);
  expectEq('the uploaded session is listed', after, before + 1);
  const listed = (await api(tokenA, 'riding', 'list_sessions', { horse_id: session.horse_id })).sessions.length;
  expectEq('the page lists what the API lists', after, listed);

  // ---- the second user sees none of the first user's horses ----------------------
  await page.click('#signout');
  await page.waitForSelector('#login-form', { state: 'visible' });
  expectEq('signing out forgets the token', await page.evaluate(() => sessionStorage.getItem('keel.token')), null);
  await page.fill('#email', env('B_EMAIL'));
  await page.fill('#password', password);
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#horses button');
  const seenB = await page.$$eval('#horses button', (b) => b.map((x) => Number(x.dataset.horse)).sort());
  expectEq('B sees exactly their horses', seenB, horsesB.map((h) => h.id).sort());
  expectEq('none of A\'s horses among them', seenB.filter((id) => horsesA.some((h) => h.id === id)), []);
  await page.screenshot({ path: `${SHOTS}/riding-second-user.png`, fullPage: true });

  // ---- Operations with an admin token ------------------------------------------------
  await page.click('#signout');
  await page.waitForSelector('#token-form', { state: 'attached' });
  await page.click('details summary');
  await page.fill('#token', env('ADMIN_TOKEN'));
  await page.click('#token-form button[type=submit]');
  await page.click('#tab-ops');
  await page.waitForSelector('#methods tbody tr[data-method="riding.get_session"]');
  const mods = await (await fetch(`${BASE}/v1/modules`)).json();
  expectEq('one row per module', await page.$$eval('#modules tbody tr', (r) => r.map((x) => x.dataset.module)),
           mods.modules.map((m) => m.name));
  const calls = Number(await page.textContent('#methods tr[data-method="riding.get_session"] td:nth-child(2)'));
  if (calls >= 2) ok(`riding.get_session calls counted from /metrics (${calls})`); else fail(`get_session calls ${calls}`);
  await page.screenshot({ path: `${SHOTS}/operations.png`, fullPage: true });

  const csp = await page.evaluate(() => window.__csp);
  expectEq('no CSP violations', csp, []);
} catch (e) {
  fail(`driver: ${e.stack || e}`);
} finally {
  await browser.close();
}
expectEq('no console errors or warnings, page errors or failed requests', problems, []);
console.log(`${pass} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
