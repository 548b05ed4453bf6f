/**
 * The dashboard's script (plain browser JavaScript, served as /dashboard/dashboard.js): polls
 * /dashboard/data.json, fills in the page, and keeps the last points of each chart in memory.
 * Rates and mean latencies are differences between two snapshots of the service's counters.
 */
export const DASHBOARD_JS = String.raw`'use strict';
(function () {
  var params = new URLSearchParams(location.search);
  var REFRESH_MS = Math.max(500, Number(params.get('refresh')) || 2000);
  var POINTS = 150;
  var TIERS = ['oltp', 'content', 'olap', 'queue', 'notifications'];
  var COLORS = { oltp: '#3867d6', content: '#20bf6b', olap: '#8854d0', queue: '#fa8231', notifications: '#eb3b5a' };
  var previous = null;
  var series = { t: [], latency: {}, ready: [], running: [], dead: [], processed: [], failed: [], outbox: [] };
  TIERS.forEach(function (t) { series.latency[t] = []; });
  var charts = {};

  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) {
      if (k === 'text') e.textContent = attrs[k];
      else if (k === 'class') e.className = attrs[k];
      else e.setAttribute(k, attrs[k]);
    }
    (children || []).forEach(function (c) { if (c) e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
    return e;
  }
  function fill(id, nodes) {
    var box = document.getElementById(id);
    box.replaceChildren.apply(box, nodes);
  }
  function fmt(n, digits) {
    if (n === undefined || n === null || isNaN(n)) return '–';
    return Number(n).toLocaleString(undefined, { maximumFractionDigits: digits === undefined ? 1 : digits });
  }
  function ago(iso) {
    if (!iso) return 'never';
    var s = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 1000));
    return s < 60 ? s + ' s ago' : s < 3600 ? Math.round(s / 60) + ' min ago' : Math.round(s / 3600) + ' h ago';
  }
  function kv(pairs) {
    var dl = el('dl', { class: 'kv' });
    pairs.forEach(function (p) { dl.appendChild(el('dt', { text: p[0] })); dl.appendChild(el('dd', { text: p[1] })); });
    return dl;
  }
  function sum(obj) { var s = 0; for (var k in obj || {}) s += obj[k]; return s; }
  function push(arr, v) { arr.push(v); if (arr.length > POINTS) arr.shift(); }

  function tierCard(t, prevTier, dt) {
    var card = el('div', { class: 'card tier', 'data-tier': t.tier, 'data-status': t.status, 'data-circuit': t.circuit });
    var use = t.pool.max > 0 ? t.pool.total / t.pool.max : 0;
    var rate = prevTier && dt > 0 ? (t.calls - prevTier.calls) / dt : null;
    card.appendChild(el('h2', { text: t.tier }));
    card.appendChild(el('div', { class: 'state' }, [el('span', { class: 'dot' }), t.status === 'up' ? 'up' : 'down']));
    card.appendChild(kv([
      ['circuit', t.circuit],
      ['latency', t.latencyMs !== undefined ? fmt(t.latencyMs, 2) + ' ms' : '–'],
      ['pool', t.pool.total + ' / ' + t.pool.max + (t.pool.waiting ? ' (' + t.pool.waiting + ' waiting)' : '')],
      ['calls/s', rate === null ? '–' : fmt(rate)],
    ]));
    var bar = el('div', { class: 'bar' + (use >= 1 ? ' full' : use > 0.8 ? ' high' : ''), title: 'pool use ' + Math.round(use * 100) + '%' }, [el('span')]);
    bar.firstChild.style.width = Math.min(100, Math.round(use * 100)) + '%';
    card.appendChild(bar);
    if (t.error) card.appendChild(el('div', { class: 'err', text: t.error }));
    return card;
  }
  function redisCard(redis) {
    var status = redis ? redis.status : 'none';
    var card = el('div', { class: 'card tier', 'data-tier': 'redis', 'data-status': status });
    card.appendChild(el('h2', { text: 'redis dispatch' }));
    card.appendChild(el('div', { class: 'state' }, [el('span', { class: 'dot' }), redis ? status : 'not used']));
    card.appendChild(kv([['role', 'queue dispatch'], ['fallback', redis && status === 'down' ? 'PostgreSQL (active)' : 'PostgreSQL']]));
    return card;
  }

  function chart(id, names, colors, opts) {
    var box = document.getElementById(id);
    var width = Math.max(200, box.clientWidth);
    var seriesOpts = [{}].concat(names.map(function (n, i) { return { label: n, stroke: colors[i], width: 2, spanGaps: true, points: { show: false } }; }));
    var data = [[]].concat(names.map(function () { return []; }));
    return new uPlot({ width: width, height: 150, series: seriesOpts, axes: [{ size: 28 }, { size: 44 }], scales: { x: { time: true }, y: { range: (opts && opts.range) || function (u, min, max) { return [0, Math.max(1, max * 1.1)]; } } }, legend: { live: false } }, data, box);
  }
  function ensureCharts() {
    if (charts.latency || typeof uPlot === 'undefined') return;
    charts.latency = chart('chart-latency', TIERS, TIERS.map(function (t) { return COLORS[t]; }));
    charts.queue = chart('chart-queue', ['ready', 'running', 'dead letters'], ['#3867d6', '#20bf6b', '#d64545']);
    charts.rates = chart('chart-rates', ['processed', 'failed'], ['#20bf6b', '#d64545']);
    charts.outbox = chart('chart-outbox', ['rows waiting'], ['#fa8231']);
    window.addEventListener('resize', function () {
      for (var k in charts) { var box = charts[k].root.parentNode; charts[k].setSize({ width: Math.max(200, box.clientWidth), height: 150 }); }
    });
  }
  function updateCharts(s, dt) {
    push(series.t, new Date(s.at).getTime() / 1000);
    var prevTiers = {};
    (previous ? previous.tiers : []).forEach(function (t) { prevTiers[t.tier] = t; });
    s.tiers.forEach(function (t) {
      var p = prevTiers[t.tier];
      var dc = p ? t.calls - p.calls : 0;
      push(series.latency[t.tier], dc > 0 ? ((t.callSeconds - p.callSeconds) / dc) * 1000 : null);
    });
    var q = s.queue && !s.queue.unavailable ? s.queue : null;
    push(series.ready, q ? q.ready : null);
    push(series.running, q ? q.running : null);
    push(series.dead, q ? q.deadLetters : null);
    var proc = sum(s.jobs.processed), fail = sum(s.jobs.failed);
    push(series.processed, previous && dt > 0 ? Math.max(0, proc - sum(previous.jobs.processed)) / dt : null);
    push(series.failed, previous && dt > 0 ? Math.max(0, fail - sum(previous.jobs.failed)) / dt : null);
    push(series.outbox, s.outbox && !s.outbox.unavailable ? s.outbox.backlog : null);
    ensureCharts();
    if (!charts.latency) return;
    charts.latency.setData([series.t].concat(TIERS.map(function (t) { return series.latency[t]; })));
    charts.queue.setData([series.t, series.ready, series.running, series.dead]);
    charts.rates.setData([series.t, series.processed, series.failed]);
    charts.outbox.setData([series.t, series.outbox]);
  }

  function render(s) {
    // why: the service shares one snapshot between requests for a moment; the same one twice adds nothing
    if (previous && s.at === previous.at) return;
    var dt = previous ? (new Date(s.at).getTime() - new Date(previous.at).getTime()) / 1000 : 0;
    var overall = document.getElementById('overall');
    overall.textContent = s.status;
    overall.className = 'badge ' + s.status;
    document.body.setAttribute('data-status', s.status);
    document.getElementById('meta').textContent = 'instance ' + s.instance.pid + (s.instance.leader === null ? '' : s.instance.leader ? ' · leads maintenance' : ' · follower') + ' · updated ' + new Date(s.at).toLocaleTimeString();
    var prevTiers = {};
    (previous ? previous.tiers : []).forEach(function (t) { prevTiers[t.tier] = t; });
    fill('tiers', s.tiers.map(function (t) { return tierCard(t, prevTiers[t.tier], dt); }).concat([redisCard(s.redis)]));

    if (s.alerts === null) fill('alerts', [el('p', { class: 'muted', text: 'alert evaluation does not run in this process' })]);
    else if (s.alerts.length === 0) fill('alerts', [el('p', { class: 'ok', text: 'none' })]);
    else fill('alerts', [el('ul', { class: 'alerts' }, s.alerts.map(function (a) { return el('li', { 'data-alert': a.key }, [el('strong', { text: a.alert + ' ' }), a.description]); }))]);

    var queueNodes = [];
    if (s.queue.unavailable) queueNodes.push(el('p', { class: 'bad', text: 'queue: ' + s.queue.unavailable }));
    else {
      queueNodes.push(kv([['ready', fmt(s.queue.ready, 0)], ['running', fmt(s.queue.running, 0)], ['dead letters', fmt(s.queue.deadLetters, 0)], ['processed (this instance)', fmt(sum(s.jobs.processed), 0)], ['failed attempts (this instance)', fmt(sum(s.jobs.failed), 0)]]));
      var rows = Object.keys(s.queue.byQueue).sort().map(function (name) {
        var b = s.queue.byQueue[name];
        return el('tr', {}, [el('td', { text: name }), el('td', { class: 'n', text: fmt(b.queued || 0, 0) }), el('td', { class: 'n', text: fmt((b.running || 0) + (b.dispatched || 0), 0) }), el('td', { class: 'n', text: fmt(b.dead || 0, 0) })]);
      });
      queueNodes.push(el('table', {}, [el('tr', {}, [el('th', { text: 'queue' }), el('th', { class: 'n', text: 'ready' }), el('th', { class: 'n', text: 'running' }), el('th', { class: 'n', text: 'dead' })])].concat(rows)));
    }
    if (s.outbox.unavailable) queueNodes.push(el('p', { class: 'bad', text: 'outbox: ' + s.outbox.unavailable }));
    else queueNodes.push(kv([['outbox backlog', fmt(s.outbox.backlog, 0)], ['oldest row', fmt(s.outbox.oldestAgeSeconds, 0) + ' s']]));
    fill('queue', queueNodes);

    var c = s.consistency;
    var mNodes = [];
    if (c.lastRun) {
      var findings = c.findings ? sum(c.findings) : 0;
      mNodes.push(el('p', {}, ['consistency check ' + ago(c.lastRun.endedAt || c.lastRun.startedAt) + ': ', el('span', { class: c.lastRun.result === 'error' ? 'bad' : findings > 0 ? 'bad' : 'ok', text: c.lastRun.result === 'error' ? 'failed' : !c.lastRun.endedAt ? 'running' : findings > 0 ? findings + ' findings' : 'clean' })]));
    } else mNodes.push(el('p', { class: 'muted', text: 'no consistency check recorded yet' }));
    mNodes.push(el('table', {}, [el('tr', {}, [el('th', { text: 'task' }), el('th', { text: 'last run' }), el('th', { text: 'result' })])].concat(s.maintenance.map(function (r) {
      return el('tr', {}, [el('td', { text: r.task }), el('td', { text: ago(r.startedAt) }), el('td', { class: r.result === 'error' ? 'bad' : '', text: r.result || 'running' })]);
    }))));
    if (s.recorded.unavailable) mNodes.push(el('p', { class: 'bad', text: 'recorded runs: ' + s.recorded.unavailable }));
    else if (s.recorded.length > 0) {
      mNodes.push(el('table', {}, [el('tr', {}, [el('th', { text: 'recorded (any instance)' }), el('th', { text: 'finished' }), el('th', { text: 'result' })])].concat(s.recorded.map(function (r) {
        return el('tr', {}, [el('td', { text: r.task }), el('td', { text: ago(r.endedAt) }), el('td', { class: r.ok ? '' : 'bad', text: r.ok ? 'ok' : 'findings' })]);
      }))));
    }
    fill('maintenance', mNodes);

    function tenantTable(list, title) {
      return el('table', {}, [el('tr', {}, [el('th', { text: title }), el('th', { class: 'n', text: 'calls' }), el('th', { class: 'n', text: 'mean ms' }), el('th', { class: 'n', text: 'max ms' })])].concat(list.map(function (t) {
        return el('tr', {}, [el('td', {}, [el('code', { text: t.tenantId.slice(0, 8) })]), el('td', { class: 'n', text: fmt(t.calls, 0) }), el('td', { class: 'n', text: fmt(t.avgMs, 2) }), el('td', { class: 'n', text: fmt(t.maxMs, 1) })]);
      })));
    }
    fill('tenants', s.topTenants.byVolume.length === 0 ? [el('p', { class: 'muted', text: 'no tenant calls yet' })] : [tenantTable(s.topTenants.byVolume, 'by volume'), tenantTable(s.topTenants.byLatency.slice(0, 5), 'by latency')]);

    updateCharts(s, dt);
    previous = s;
  }

  function tick() {
    fetch('/dashboard/data.json', { cache: 'no-store' }).then(function (r) {
      if (!r.ok) throw new Error('HTTP ' + r.status);
      return r.json();
    }).then(render).catch(function (err) {
      var overall = document.getElementById('overall');
      overall.textContent = 'no answer';
      overall.className = 'badge stale';
      document.getElementById('meta').textContent = 'the service does not answer: ' + err.message;
    }).finally(function () { setTimeout(tick, REFRESH_MS); });
  }
  tick();
})();
`;
