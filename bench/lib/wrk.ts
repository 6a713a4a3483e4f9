import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { track } from './children.js';
import { WRK } from './nginx.js';

const SCRIPT = fileURLToPath(new URL('../lua/post.lua', import.meta.url));

export interface WrkResult {
  requests: number;
  durationUs: number;
  bytes: number;
  /** wrk's percentiles, corrected by wrk for coordinated omission (what `wrk --latency` prints). */
  p50Us: number;
  p90Us: number;
  p99Us: number;
  meanUs: number;
  maxUs: number;
  errConnect: number;
  errRead: number;
  errWrite: number;
  errTimeout: number;
  /** Responses with a status ≥ 400 (wrk's "Non-2xx or 3xx responses"). */
  non2xx: number;
}

export interface WrkRun {
  /** Origin, e.g. http://127.0.0.1:8080 */
  origin: string;
  path: string;
  bodyFile: string;
  keysFile: string;
  connections: number;
  seconds: number;
  /** CPU to pin wrk to (taskset -c). */
  cpu?: number;
  /** A command wrk runs under, e.g. `['nice', '-n', '-5']`. */
  prefix?: readonly string[];
  /** Each connection pauses this long on average (0 to twice it) after each response, in ms: a load below saturation. */
  pauseMs?: number;
}

export const errorsOf = (r: WrkResult) => r.errConnect + r.errRead + r.errWrite + r.errTimeout;

/** One wrk run, one thread: POSTs `bodyFile` to `origin + path`, rotating over the keys. */
export function runWrk(run: WrkRun): Promise<WrkResult> {
  const wrkArgs = [
    '-t1',
    `-c${run.connections}`,
    `-d${run.seconds}s`,
    '--timeout',
    '10s',
    '-s',
    SCRIPT,
    `${run.origin}${run.path}`,
    '--',
    run.path,
    run.bodyFile,
    run.keysFile,
    String(run.pauseMs ?? 0),
  ];
  const [cmd, ...args] = [...(run.prefix ?? []), ...(run.cpu === undefined ? [] : ['taskset', '-c', String(run.cpu)]), WRK, ...wrkArgs];
  return new Promise((resolve, reject) => {
    const child = track(spawn(cmd!, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
    let out = '';
    let err = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      const line = out.split('\n').find((l) => l.startsWith('WRK_RESULT '));
      if (code !== 0 || !line) {
        reject(new Error(`wrk exited with ${signal ?? code}: ${err.trim() || out.trim()}`));
        return;
      }
      resolve(JSON.parse(line.slice('WRK_RESULT '.length)) as WrkResult);
    });
  });
}
