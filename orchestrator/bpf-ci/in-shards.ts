// vm-test bpf-ci --in-shards N: the whole run as its N shards one after another in one run directory, each kept as it
// ends, so a run longer than the machine stays up (under TCG here, hours a side) is taken up where it stopped.
import { existsSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunEvents } from '../events.ts';
import type { ExecPort } from '../exec/exec-port.ts';
import { VmTestError } from '../outcome.ts';
import { describePlan, type RunPlan } from '../plan/run-plan.ts';
import { bpfCiJson, bpfCiReport, mergeBpfCi, type BpfCiReport } from '../report/bpf-ci-report.ts';
import type { runPipeline } from '../run.ts';
import { runBpfCi } from './bpf-ci.ts';
import type { KnownFailure } from './known-failures.ts';

export interface InShardsDeps {
  exec: ExecPort;
  events: RunEvents;
  signal?: AbortSignal;
  /** runBpfCi's, for tests. */
  pipeline?: typeof runPipeline;
  /** --base-again: each shard's base runs even when its verdict is kept. */
  baseAgain?: boolean;
}

/**
 * A shard report to keep: a difference of two guests that ran their whole plans, whatever it found (new failures, a
 * new kernel report). The others (a build error, a guest that crashed or hung, Ctrl-C) run again.
 */
const finished = (report: BpfCiReport) => !!report.diff && !report.diff.unfinished;

/**
 * --in-shards N: shard i/N's report is DIR/shard<i>ofN/bpf-ci.json, written as it ends. A shard whose report is there
 * with a difference is not run again; the first that ends without one stops the run (the rest would fail alike), and
 * the same command with --run-dir DIR takes up from there. The whole is --merge's join of the N reports.
 */
export async function runInShards(count: number, top: string, planShard: (index: number) => Promise<RunPlan>, known: KnownFailure[], deps: InShardsDeps): Promise<BpfCiReport> {
  const parts: { file: string; report: BpfCiReport }[] = [];
  for (let index = 1; index <= count; index++) {
    const dir = join(top, `shard${index}of${count}`);
    const file = join(dir, 'bpf-ci.json');
    const planned = await planShard(index);
    const series = Object.freeze({ ...planned, runDir: join(dir, 'series'), jsonOut: undefined, junitOut: undefined });
    const kept = JSON.parse(await readFile(file, 'utf8').catch(() => 'null')) as BpfCiReport | null;
    // Kept only when it ran this very plan (the selection, runners, kernel and series its plan.txt names).
    const samePlan = (await readFile(join(series.runDir, 'plan.txt'), 'utf8').catch(() => '')).trim() === describePlan(series).trim();
    if (kept && finished(kept) && kept.shard === `${index}/${count}` && samePlan) {
      deps.events.emit({ type: 'info', stage: 'results', message: `shard ${index}/${count}: kept from ${file}: ${kept.headline}` });
      parts.push({ file, report: kept });
      continue;
    }
    if (existsSync(dir)) {
      // An earlier attempt's logs stay, beside the new one.
      const aside = `${dir}.${kept && !samePlan ? 'other-plan' : 'unfinished'}-${Date.now()}`;
      await rename(dir, aside);
      deps.events.emit({ type: 'info', stage: 'results', message: `shard ${index}/${count}: ${kept && !samePlan ? 'run with other options' : 'did not finish'} before; that attempt moved to ${aside}` });
    }
    deps.events.emit({ type: 'info', stage: 'results', message: `shard ${index}/${count}: running it (${dir})` });
    const base = Object.freeze({ ...planned, series: undefined, runDir: join(dir, 'base'), buildSlot: 'base', jsonOut: undefined, junitOut: undefined });
    const result = await runBpfCi({ series, base }, { exec: deps.exec, events: deps.events, ...(deps.signal ? { signal: deps.signal } : {}), ...(deps.pipeline ? { pipeline: deps.pipeline } : {}), ...(deps.baseAgain ? { baseAgain: true } : {}), runDir: dir });
    const report = bpfCiReport(result, `${index}/${count}`, known);
    // The shard's own report; the exit code is the whole command's, decided once by the CLI.
    await writeFile(file, bpfCiJson(report));
    if (!finished(report)) {
      return { ...report, shard: undefined, headline: `shard ${index}/${count}: ${report.headline}; the shards before it are kept: the same command with --run-dir ${top} resumes` };
    }
    parts.push({ file, report });
  }
  const merged = mergeBpfCi(parts);
  if ('error' in merged) throw new VmTestError('usage', `--in-shards: ${merged.error}`, merged.file ? { file: merged.file } : {});
  return merged;
}
