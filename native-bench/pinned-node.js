// One Aerie node under load for latency.js and profile.js: the node pinned to CPU 0 and the native
// generator to CPU 1 when taskset exists (as run.js pins its "Aerie" row), 50 connections.
'use strict';
const { spawn, spawnSync, execFileSync } = require('node:child_process');
const os = require('node:os');
const path = require('node:path');

const CLI = path.join(__dirname, '..', 'dist', 'src', 'cli', 'main.js');
const LOADGEN = path.join(__dirname, 'build', 'loadgen');
const CONNECTIONS = 50;
const pin = os.availableParallelism() >= 2 && spawnSync('taskset', ['--version'], { stdio: 'ignore' }).status === 0;
const onCpu = (cpu, cmd, args) => (pin ? ['taskset', ['-c', String(cpu), cmd, ...args]] : [cmd, args]);

/** Starts `aerie start --config config` (with node flags `nodeArgs`); resolves once it listens. */
function startNode(config, nodeArgs = []) {
  return new Promise((resolve, reject) => {
    const [cmd, args] = onCpu(0, process.execPath, [...nodeArgs, CLI, 'start', '--config', config]);
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const grab = (d) => {
      out += d;
      const m = /ws:\/\/[\d.]+:(\d+).*\(pid (\d+)\)/.exec(out);
      if (m) resolve({ child, port: Number(m[1]), pid: Number(m[2]) });
    };
    child.stdout.on('data', grab);
    child.stderr.on('data', (d) => (out += d));
    child.once('exit', (code) => reject(new Error(`node exited ${code}: ${out}`)));
  });
}

function loadgenArgv(port, pid, keys, extra) {
  return onCpu(1, LOADGEN, ['--port', String(port), '--connections', String(CONNECTIONS), '--keys', String(keys), '--server-pid', String(pid), '--json', ...extra]);
}

/** Runs the generator to the end and returns its JSON report. */
function loadgen(port, pid, keys, extra) {
  const [cmd, args] = loadgenArgv(port, pid, keys, extra);
  return JSON.parse(execFileSync(cmd, args, { encoding: 'utf8', timeout: 900_000 }));
}

/** As loadgen, without blocking this process (to run something beside it). */
function loadgenAsync(port, pid, keys, extra) {
  const [cmd, args] = loadgenArgv(port, pid, keys, extra);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`loadgen exited ${code}`))));
  });
}

/** The Markdown line naming the machine and the pinning. */
function machineLine() {
  return `Machine: ${os.cpus().length} CPUs (${os.cpus()[0]?.model}), Node ${process.version}. ${pin ? 'Node pinned to CPU 0, generator to CPU 1.' : 'Nothing pinned (no taskset).'}`;
}

module.exports = { CLI, LOADGEN, CONNECTIONS, pin, startNode, loadgen, loadgenAsync, machineLine };
