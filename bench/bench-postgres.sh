#!/usr/bin/env bash
# Starts (creating it the first time) a PostgreSQL 15 cluster for the benchmarks: port 55432,
# trust auth on 127.0.0.1, max_connections 300 (sendEmail at concurrency 32 holds more
# connections than a default server allows), otherwise initdb defaults. Debian's
# postgresql-common tools; run as root. Then:
#   FIVETIER_BENCH_PG_URL=postgresql://postgres@127.0.0.1:55432/postgres npm run bench:send
# Stop it with: pg_ctlcluster 15 bench stop
set -euo pipefail
version=$(ls /etc/postgresql | sort -V | tail -n1)
if ! pg_lsclusters -h | awk '{print $2}' | grep -qx bench; then
  pg_createcluster "$version" bench -p 55432 -- --auth=trust >/dev/null
  echo "max_connections = 300" >> "/etc/postgresql/$version/bench/postgresql.conf"
  echo "listen_addresses = '127.0.0.1'" >> "/etc/postgresql/$version/bench/postgresql.conf"
fi
pg_ctlcluster --skip-systemctl-redirect "$version" bench start 2>/dev/null || true
pg_isready -h 127.0.0.1 -p 55432
