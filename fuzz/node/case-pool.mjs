// Runs fuzz cases in child processes (case-child.mjs) and classifies how each ended:
//   ok, typed     the input was accepted, or refused with a TensorRTError: fine
//   js-error      refused with any other error (a TypeError from a missing check...)
//   crash         the process died (signal or exit code; its stderr tail is kept, with the
//                 sanitizer's stack when the addon was built with one)
//   hang          no answer within the time limit (the process is killed)
//   rss           the process grew past the memory limit (killed)
// A child serves many cases; after a crash, hang or rss it is replaced.
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./case-child.mjs', import.meta.url));
const STDERR_KEEP = 16 * 1024;
const RSS_POLL_MS = 50;
const CASES_PER_CHILD = 400;  // fresh processes now and then, so RSS measures cases, not history

/** Resident memory of a process in MB, or 0 once it is gone. */
export function rssMb(pid) {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

class CaseChild {
  constructor(env) {
    this.stderr = '';
    this.served = 0;
    this.proc = fork(CHILD, [], { serialization: 'advanced', stdio: ['ignore', 'ignore', 'pipe', 'ipc'], env });
    this.proc.stderr.on('data', (chunk) => {
      this.stderr = (this.stderr + chunk).slice(-STDERR_KEEP);
    });
    this.closed = new Promise((resolve) => this.proc.on('close', (code, signal) => resolve({ code, signal })));
    this.ready = new Promise((resolve) => this.proc.once('message', resolve));
    this.nextId = 0;
  }

  kill() {
    this.proc.kill('SIGKILL');
  }
}

export class CasePool {
  /**
   * @param {{ timeoutMs?: number, rssLimitMb?: number, env?: NodeJS.ProcessEnv }} options
   *   env: for the case processes (the sanitizer run sets LD_PRELOAD and the addon path there)
   */
  constructor({ timeoutMs = 10_000, rssLimitMb = 1536, env = process.env } = {}) {
    this.timeoutMs = timeoutMs;
    this.rssLimitMb = rssLimitMb;
    this.env = env;
    this.child = undefined;
    this.peakRssMb = 0;
  }

  /** Runs one case; resolves to { outcome, ...details }. Never rejects. */
  async run(target, bytes) {
    // A child that exited between cases (after answering) is replaced too.
    if (!this.child || this.child.served >= CASES_PER_CHILD || !this.child.proc.connected) {
      this.child?.kill();
      this.child = new CaseChild(this.env);
      // A child that dies while starting (the addon failed to load) is reported as a crash.
      const started = await Promise.race([this.child.ready.then(() => true), this.child.closed.then(() => false)]);
      if (!started) return this.#died(await this.child.closed, 'while starting');
    }
    const child = this.child;
    child.served++;
    const id = child.nextId++;
    let poll;
    let timer;
    const answered = new Promise((resolve) => {
      const onMessage = (m) => {
        if (m.id === id) {
          child.proc.off('message', onMessage);
          resolve(m);
        }
      };
      child.proc.on('message', onMessage);
    });
    const limits = new Promise((resolve) => {
      timer = setTimeout(() => resolve({ outcome: 'hang', detail: `no answer after ${this.timeoutMs} ms` }), this.timeoutMs);
      poll = setInterval(() => {
        const rss = rssMb(child.proc.pid);
        this.peakRssMb = Math.max(this.peakRssMb, rss);
        if (rss > this.rssLimitMb) resolve({ outcome: 'rss', detail: `RSS ${rss.toFixed(0)} MB > limit ${this.rssLimitMb} MB` });
      }, RSS_POLL_MS);
    });
    child.proc.send({ id, target, bytes });
    const result = await Promise.race([answered, limits, child.closed.then((how) => ({ outcome: 'crash', how }))]);
    clearTimeout(timer);
    clearInterval(poll);
    this.peakRssMb = Math.max(this.peakRssMb, rssMb(child.proc.pid));
    if (result.outcome === 'crash') return this.#died(result.how, '');
    if (result.outcome === 'hang' || result.outcome === 'rss') {
      child.kill();
      await child.closed;
      this.child = undefined;
      return { ...result, stderr: child.stderr };
    }
    return result;
  }

  #died({ code, signal }, when) {
    const child = this.child;
    this.child = undefined;
    return { outcome: 'crash', detail: `case process ${signal ? `killed by ${signal}` : `exited with code ${code}`} ${when}`.trim(), stderr: child.stderr };
  }

  close() {
    this.child?.kill();
    this.child = undefined;
  }
}

/** Whether an outcome is a finding (anything but an accepted input or a typed refusal). */
export function isFinding(result) {
  return result.outcome !== 'ok' && result.outcome !== 'typed';
}
