// app.js — the dashboard's entry: sign-in, the two views, errors.
// Plain ES modules served by keel itself (docs/ui.md): no build step, no CDN.
import { call, token } from './api.js';
import { initRiding, loadHorses, resetRiding } from './riding.js';
import { startOps, stopOps } from './ops.js';

const $ = (id) => document.getElementById(id);
let view = sessionStorage.getItem('keel.view') || 'riding';

function showError(e) {
  $('error').textContent = e ? (e.message || String(e)) : '';
  if (e && e.status === 401) signOut();
}

function setView(v) {
  view = v;
  sessionStorage.setItem('keel.view', v);
  $('tab-riding').setAttribute('aria-pressed', String(v === 'riding'));
  $('tab-ops').setAttribute('aria-pressed', String(v === 'ops'));
  const signedIn = !!token.get();
  $('signin').hidden = signedIn;
  $('riding').hidden = !signedIn || v !== 'riding';
  $('ops').hidden = !signedIn || v !== 'ops';
  $('signout').hidden = !signedIn;
  showError(null);
  stopOps();
  if (!signedIn) return;
  if (v === 'riding') loadHorses().catch(showError);
  else startOps(showError);
}

async function whoami() {
  try {
    const me = await call('auth', 'whoami', {});
    $('who').textContent = me.email || (me.operator ? 'operator' : '');
  } catch (e) {
    $('who').textContent = '';
    if (e.status === 401) throw e;
  }
}

function signOut() {
  token.clear();
  $('who').textContent = '';
  resetRiding();
  setView(view);
}

async function signedIn(t) {
  token.set(t);
  try {
    await whoami();
  } catch (e) {
    token.clear();
    throw e;
  }
  setView(view);
}

document.addEventListener('DOMContentLoaded', () => {
  initRiding(showError);
  $('tab-riding').addEventListener('click', () => setView('riding'));
  $('tab-ops').addEventListener('click', () => setView('ops'));
  $('signout').addEventListener('click', signOut);
  $('login-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const email = $('email').value, password = $('password').value;
    $('password').value = '';
    call('auth', 'login', { email, password })
      .then((out) => signedIn(out.token))
      .catch(showError);
  });
  $('token-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const t = $('token').value.trim();
    $('token').value = '';
    signedIn(t).catch(showError);
  });
  if (token.get()) whoami().then(() => setView(view)).catch(showError);
  else setView(view);
});
