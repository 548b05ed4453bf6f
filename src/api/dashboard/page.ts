/** The dashboard's page: layout and styles; src/api/dashboard/client.ts fills it in. */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>fivetier operations</title>
<link rel="stylesheet" href="/dashboard/uplot.css">
<style>
  :root { --bg: #f5f6f8; --card: #fff; --ink: #1d2430; --muted: #6b7585; --line: #e2e5ea; --up: #1f9d55; --down: #d64545; --warn: #d98e04; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: var(--bg); color: var(--ink); }
  header { display: flex; align-items: center; gap: 16px; padding: 10px 20px; background: #1d2430; color: #fff; }
  header h1 { font-size: 17px; margin: 0; font-weight: 600; }
  header .meta { margin-left: auto; font-size: 12px; color: #c5cbd5; }
  .badge { padding: 2px 10px; border-radius: 10px; font-size: 12px; font-weight: 600; text-transform: uppercase; }
  .badge.up { background: var(--up); } .badge.degraded { background: var(--warn); } .badge.down, .badge.stale { background: var(--down); }
  main { padding: 14px 20px; display: grid; gap: 14px; max-width: 1600px; margin: 0 auto; }
  .tiers { display: grid; grid-template-columns: repeat(6, minmax(0, 1fr)); gap: 10px; }
  .card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; min-width: 0; }
  .card h2, .panel h2 { margin: 0 0 6px; font-size: 13px; font-weight: 600; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
  .tier { border-top: 4px solid var(--line); }
  .tier[data-status="up"] { border-top-color: var(--up); }
  .tier[data-status="down"] { border-top-color: var(--down); background: #fff5f5; }
  .tier .state { display: flex; align-items: center; gap: 6px; font-size: 16px; font-weight: 600; }
  .dot { width: 10px; height: 10px; border-radius: 50%; background: var(--muted); display: inline-block; }
  .tier[data-status="up"] .dot { background: var(--up); } .tier[data-status="down"] .dot { background: var(--down); }
  .kv { display: grid; grid-template-columns: auto 1fr; gap: 1px 8px; font-size: 12px; margin-top: 4px; }
  .kv dt { color: var(--muted); } .kv dd { margin: 0; text-align: right; font-variant-numeric: tabular-nums; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
  .bar { height: 6px; background: var(--line); border-radius: 3px; overflow: hidden; margin-top: 6px; }
  .bar > span { display: block; height: 100%; background: var(--up); }
  .bar.high > span { background: var(--warn); } .bar.full > span { background: var(--down); }
  .err { color: var(--down); font-size: 12px; margin-top: 4px; overflow-wrap: anywhere; }
  .charts { display: grid; grid-template-columns: repeat(4, minmax(0, 1fr)); gap: 10px; }
  .panels { display: grid; grid-template-columns: 1.2fr 1fr 1fr 1.4fr; gap: 10px; }
  .panel { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; min-width: 0; }
  .chart { min-height: 170px; }
  .big { font-size: 22px; font-weight: 600; font-variant-numeric: tabular-nums; }
  .muted { color: var(--muted); font-size: 12px; }
  table { width: 100%; border-collapse: collapse; font-size: 12px; }
  th { text-align: left; color: var(--muted); font-weight: 500; border-bottom: 1px solid var(--line); }
  td { padding: 2px 0; border-bottom: 1px solid #f0f1f4; font-variant-numeric: tabular-nums; }
  td.n, th.n { text-align: right; }
  ul.alerts { list-style: none; margin: 0; padding: 0; }
  ul.alerts li { padding: 4px 6px; margin-bottom: 4px; background: #fdecec; border-left: 3px solid var(--down); font-size: 12px; }
  .ok { color: var(--up); font-weight: 600; }
  .bad { color: var(--down); font-weight: 600; }
  code { font-size: 11px; }
  @media (max-width: 1100px) { .tiers { grid-template-columns: repeat(3, 1fr); } .charts, .panels { grid-template-columns: repeat(2, 1fr); } }
</style>
</head>
<body>
<header>
  <h1>fivetier operations</h1>
  <span id="overall" class="badge">…</span>
  <span class="meta" id="meta">loading…</span>
</header>
<main>
  <section class="tiers" id="tiers" aria-label="tiers"></section>
  <section class="charts">
    <div class="panel"><h2>Query latency, ms (mean)</h2><div class="chart" id="chart-latency"></div></div>
    <div class="panel"><h2>Queue depth</h2><div class="chart" id="chart-queue"></div></div>
    <div class="panel"><h2>Jobs per second</h2><div class="chart" id="chart-rates"></div></div>
    <div class="panel"><h2>Outbox backlog</h2><div class="chart" id="chart-outbox"></div></div>
  </section>
  <section class="panels">
    <div class="panel" id="alerts-panel"><h2>Alerts firing</h2><div id="alerts"></div></div>
    <div class="panel"><h2>Queue and outbox</h2><div id="queue"></div></div>
    <div class="panel"><h2>Maintenance</h2><div id="maintenance"></div></div>
    <div class="panel"><h2>Top tenants</h2><div id="tenants"></div></div>
  </section>
</main>
<script src="/dashboard/uplot.js"></script>
<script src="/dashboard/dashboard.js"></script>
</body>
</html>
`;
