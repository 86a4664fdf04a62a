// Runs a native libFuzzer target (built by fuzz/native/build.sh into build-fuzz/) for a
// bounded time and reads back what the per-target summary needs. Fork mode with
// -ignore_crashes keeps it fuzzing past the first crash, as the Node targets do; each crash,
// timeout and OOM input lands in the findings folder with libFuzzer's own prefix
// (crash-, timeout-, oom-, leak-), next to a .txt holding its sanitizer report.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { rssMb } from './case-pool.mjs';

export const NATIVE_TARGETS = {
  'native-onnx': { binary: 'onnx_reader_fuzzer', seeds: 'fuzz/corpus/onnx' },
  'native-engine': { binary: 'engine_format_fuzzer', seeds: 'build-fuzz/seeds/engine' },
};

// Per-input limits: a case that needs a second or a gigabyte is a finding, not a slow case.
const LIMITS = ['-timeout=10', '-rss_limit_mb=2048', '-malloc_limit_mb=1024', '-max_len=65536'];
// UBSan prints no stack by default; a finding without one is hard to route.
const ENV = { ...process.env, UBSAN_OPTIONS: process.env.UBSAN_OPTIONS ?? 'print_stacktrace=1' };

function descendants(pid) {
  const out = [];
  const walk = (p) => {
    let kids = [];
    try {
      kids = readdirSync(`/proc/${p}/task`).flatMap((t) => readFileSync(`/proc/${p}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean));
    } catch {
      return;
    }
    for (const k of kids) {
      out.push(Number(k));
      walk(k);
    }
  };
  walk(pid);
  return out;
}

export function binaryPath(name) {
  return join('build-fuzz', NATIVE_TARGETS[name].binary);
}

/**
 * Fuzzes for `seconds` from libFuzzer's random `seed` (a number; 0 lets libFuzzer pick);
 * resolves to { cases, crashes, hangs, ooms, peakRssMb, findings }.
 */
export async function runLibFuzzer(name, seconds, findingsDir, seed = 0) {
  const target = NATIVE_TARGETS[name];
  const work = join('build-fuzz', 'work', name);
  mkdirSync(work, { recursive: true });
  mkdirSync(findingsDir, { recursive: true });
  const before = new Set(readdirSync(findingsDir));
  const args = ['-fork=1', '-ignore_crashes=1', '-ignore_timeouts=1', '-ignore_ooms=1', `-max_total_time=${seconds}`, `-seed=${seed}`,
    ...LIMITS, `-artifact_prefix=${findingsDir}/`, work, target.seeds];
  const proc = spawn(binaryPath(name), args, { stdio: ['ignore', 'ignore', 'pipe'], env: ENV });
  let log = '';
  proc.stderr.on('data', (chunk) => {
    log += chunk;
  });
  let peakRssMb = 0;
  const poll = setInterval(() => {
    const total = [proc.pid, ...descendants(proc.pid)].reduce((sum, p) => sum + rssMb(p), 0);
    peakRssMb = Math.max(peakRssMb, total);
  }, 200);
  const code = await new Promise((resolve) => proc.on('close', resolve));
  clearInterval(poll);
  // Fork mode prints "#<runs>: cov: ... oom/timeout/crash: a/b/c time: ..." per job.
  const stats = [...log.matchAll(/#(\d+): cov: .*? oom\/timeout\/crash: (\d+)\/(\d+)\/(\d+)/g)].pop();
  const findings = readdirSync(findingsDir).filter((f) => !before.has(f) && !f.endsWith('.txt'));
  for (const f of findings) writeFileSync(join(findingsDir, `${f}.txt`), reproduce(name, join(findingsDir, f)));
  return {
    cases: stats ? Number(stats[1]) : 0,
    ooms: stats ? Number(stats[2]) : 0,
    hangs: stats ? Number(stats[3]) : 0,
    crashes: stats ? Number(stats[4]) : 0,
    peakRssMb,
    findings: findings.map((f) => join(findingsDir, f)),
    exitCode: code,
    log: stats ? '' : log.slice(-4000),
  };
}

/** Runs one input through a native target; returns its report (empty when it passed). */
export function reproduce(name, file) {
  const run = spawnSync(binaryPath(name), [...LIMITS, file], { encoding: 'utf8', timeout: 60_000, env: ENV });
  return run.status === 0 ? '' : `${run.stderr ?? ''}`.slice(-12_000);
}

export function nativeTargetBuilt(name) {
  return existsSync(binaryPath(name));
}
