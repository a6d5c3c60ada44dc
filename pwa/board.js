// KPU status board: every PPK and PPS as a colour grid, alerts first, each committee opening its timeline.
const $ = (selector) => document.querySelector(selector);
const SESSION_KEY = 'pantau.board.token';
const REASONS = { neutrality_complaint: 'Pengaduan netralitas terbuka', correction_waiting: 'Perbaikan data menunggu',
  no_visit: 'Belum dikunjungi' };
const ORDER = ['neutrality_complaint', 'correction_waiting', 'no_visit'];

// The phone app may have left a token; otherwise this tab signs in on its own.
const token = () => sessionStorage.getItem(SESSION_KEY) || localStorage.getItem('pantau.token');

async function api(path, options = {}) {
  const headers = { Accept: 'application/json', ...(options.body ? { 'Content-Type': 'application/json' } : {}) };
  if (token()) headers.Authorization = 'Bearer ' + token();
  const response = await fetch('/api/v1/' + path, { ...options, headers });
  if (response.status === 401) { sessionStorage.removeItem(SESSION_KEY); show(false); throw new Error('401'); }
  if (!response.ok) throw new Error((await response.json().catch(() => ({}))).detail || response.statusText);
  return response.json();
}

async function all(path) {
  const items = [];
  let after = null;
  do {
    const page = await api(path + (after ? '&after=' + encodeURIComponent(after) : ''));
    items.push(...page.items);
    after = page.next;
  } while (after);
  return items;
}

function el(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

function shade(readiness) {
  if (readiness === null || readiness === undefined) return 'r-none';
  return readiness >= 1 ? 'r-full' : readiness >= 0.5 ? 'r-mid' : 'r-low';
}

const percent = (r) => (r === null || r === undefined ? '–' : Math.round(r * 100) + '%');

function cell(item) {
  const button = el('button', { type: 'button', className: `cell ${shade(item.readiness)}` + (item.alerts.length ? ' alert' : ''),
    title: item.alerts.map((a) => a.message).join('\n') || 'Tidak ada peringatan' },
  `${item.name.replace(/^PP[SK] /, '')} ${percent(item.readiness)}`);
  button.addEventListener('click', () => timeline(item.code, item.name));
  return button;
}

function render(ppks, ppss) {
  const names = Object.fromEntries([...ppks, ...ppss].map((c) => [c.code, c.name]));
  const alerts = ppss.concat(ppks.map((p) => ({ ...p, alerts: p.alerts.filter((a) => a.committee === p.code) })))
    .flatMap((c) => c.alerts)
    .sort((a, b) => ORDER.indexOf(a.reason) - ORDER.indexOf(b.reason) || a.committee.localeCompare(b.committee));
  // Never-visited committees are many at the start of a campaign: one folded line, not a wall of red.
  const never = alerts.filter((a) => a.reason === 'no_visit' && !a.since);
  const rows = alerts.filter((a) => !never.includes(a)).map((alert) => {
    const button = el('button', { type: 'button', className: alert.reason },
      `${names[alert.committee] || alert.committee} — ${REASONS[alert.reason] || alert.reason}: ${alert.message}`);
    button.addEventListener('click', () => timeline(alert.committee, names[alert.committee]));
    return el('li', {}, button);
  });
  if (never.length) {
    const list = ppss.filter((p) => never.some((a) => a.committee === p.code));
    rows.push(el('li', {}, el('details', {}, el('summary', {}, `${never.length} PPS belum pernah dikunjungi`),
      el('div', { className: 'cells' }, ...list.map(cell)))));
  }
  $('#alerts').replaceChildren(...rows);
  if (!alerts.length) $('#alerts').replaceChildren(el('li', {}, 'Tidak ada peringatan.'));
  $('#grid').replaceChildren(...ppks.map((ppk) => {
    const members = ppss.filter((p) => p.parent === ppk.code)
      .sort((a, b) => (b.alerts.length > 0) - (a.alerts.length > 0) || a.code.localeCompare(b.code));
    const head = el('h3', {}, `${ppk.name} · ${percent(ppk.readiness)} · ${ppk.visited_pps}/${ppk.pps_count} dikunjungi`);
    head.addEventListener('click', () => timeline(ppk.code, ppk.name));
    return el('div', { className: 'district' }, head, el('div', { className: 'cells' }, ...members.map(cell)));
  }));
}

async function timeline(code, name) {
  $('#timeline-title').textContent = `Riwayat ${name || code}`;
  $('#timeline-rows').replaceChildren(el('li', {}, 'Memuat…'));
  $('#timeline').showModal();
  try {
    const page = await api(`audit?committee=${encodeURIComponent(code)}&limit=200`);
    $('#timeline-rows').replaceChildren(...page.items.reverse().map((row) => el('li', {},
      el('time', { dateTime: row.recorded_at }, new Date(row.recorded_at).toLocaleString('id-ID')),
      `${row.actor} (${row.role}): ${row.summary}`)));
    if (!page.items.length) $('#timeline-rows').replaceChildren(el('li', {}, 'Belum ada peristiwa.'));
  } catch (error) {
    $('#timeline-rows').replaceChildren(el('li', {}, 'Riwayat tidak dapat dibuka: ' + error.message));
  }
}

async function load() {
  try {
    const [ppks, ppss] = await Promise.all([all('status?level=ppk&limit=1000'), all('status?level=pps&limit=1000')]);
    render(ppks, ppss);
    $('#updated').textContent = 'Diperbarui ' + new Date().toLocaleTimeString('id-ID');
  } catch (error) {
    if (error.message !== '401') $('#updated').textContent = 'Gagal memuat: ' + error.message;
  }
}

function show(signedIn) {
  $('#login').hidden = signedIn;
  $('#board').hidden = $('#refresh').hidden = $('#logout').hidden = !signedIn;
}

$('#login').addEventListener('submit', async (event) => {
  event.preventDefault();
  try {
    const session = await api('auth/token', { method: 'POST',
      body: JSON.stringify({ username: $('#username').value, password: $('#password').value }) });
    sessionStorage.setItem(SESSION_KEY, session.token);
    $('#password').value = '';
    show(true);
    load();
  } catch (error) {
    $('#login-error').textContent = error.message === '401' ? 'Nama pengguna atau kata sandi salah.' : 'Gagal masuk: ' + error.message;
  }
});
$('#refresh').addEventListener('click', load);
$('#logout').addEventListener('click', () => { sessionStorage.removeItem(SESSION_KEY); show(false); });

show(Boolean(token()));
if (token()) load();
setInterval(() => { if (token() && !document.hidden) load(); }, 60000);
