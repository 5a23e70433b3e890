'use strict';
/**
 * Keeps the PostgreSQL a query started running while it is used, and stops it once idle.
 *
 *   node postgres-keeper.cjs '<json: {record, idleMs, pid, pgCtl, dataDir, uid?, gid?}>'
 *
 * A query touches the record file every second while it runs (its modification time is the last use). Once it is older than
 * `idleMs`, the server is stopped (pg_ctl stop, fast mode) and the record removed. Ends on its own
 * when the record is gone or the server has stopped (a `trips run` or `trips local up` stops it to
 * start their own stack).
 */
const fs = require('node:fs');
const { spawnSync } = require('node:child_process');
const o = JSON.parse(process.argv[2]);

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}

function postmasterPid() {
  try {
    return Number(fs.readFileSync(`${o.dataDir}/postmaster.pid`, 'utf8').split('\n')[0]);
  } catch {
    return 0;
  }
}

function stop() {
  const r = spawnSync(o.pgCtl, ['stop', '-D', o.dataDir, '-m', 'fast', '-w'], { stdio: 'ignore', ...(o.uid !== undefined ? { uid: o.uid, gid: o.gid } : {}) });
  if (r.status !== 0 && alive(o.pid)) process.kill(o.pid, 'SIGINT'); // its folder deleted under it: pg_ctl cannot find it
}

const timer = setInterval(() => {
  let mtime;
  try {
    mtime = fs.statSync(o.record).mtimeMs;
  } catch {
    // The record is gone: stopStack stopped the server (and the next stack owns the folder), or the
    // whole state folder was deleted, and then nobody else will stop it.
    if (!fs.existsSync(o.dataDir) && alive(o.pid)) process.kill(o.pid, 'SIGINT');
    clearInterval(timer);
    return;
  }
  if (postmasterPid() !== o.pid || !alive(o.pid)) {
    fs.rmSync(o.record, { force: true });
    clearInterval(timer);
    return;
  }
  if (Date.now() - mtime < o.idleMs) return;
  fs.rmSync(o.record, { force: true });
  stop();
  clearInterval(timer);
}, 1000);
