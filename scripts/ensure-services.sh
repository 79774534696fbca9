#!/usr/bin/env bash
# Makes sure PostgreSQL (127.0.0.1:5432, database `test`) and Redis (127.0.0.1:6379) are up for the tests.
# Starts them when they are installed but down; says loudly when one cannot be had.
set -u

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if ! port_open 5432; then
  if [ -d /etc/postgresql ] && command -v pg_ctlcluster >/dev/null; then
    echo "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
fi
if ! port_open 6379; then
  if command -v redis-server >/dev/null; then
    echo "starting Redis"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no || true
  fi
fi
for i in $(seq 1 50); do
  port_open 5432 && port_open 6379 && break
  sleep 0.2
done
port_open 5432 || echo "WARNING: PostgreSQL is not reachable on 127.0.0.1:5432; its tests will skip" >&2
port_open 6379 || echo "WARNING: Redis is not reachable on 127.0.0.1:6379; its tests will skip" >&2
exit 0
