// Run one VM: QEMU with the console streamed to a log, the results port tailed live, and every timeout enforced.
import { createWriteStream, statSync } from 'node:fs';
import { open, readFile, writeFile } from 'node:fs/promises';
import type { RunEvents } from '../events.ts';
import { describeCommand, type ExecPort } from '../exec/exec-port.ts';
import { parseResultsLine } from '../guest/protocol.ts';
import type { ConsoleMark } from '../results/console-marks.ts';
import { consolePlanState } from '../results/splats.ts';
import { consoleAlarm } from './console-alarm.ts';
import { qemuArgs, type VmSpec } from './qemu-args.ts';

export type VmEnd =
  | 'completed'      // init ran the whole plan and rebooted
  | 'crashed'        // init started, but the guest died before the plan ended (panic, oops in init)
  | 'boot-failure'   // the guest never reached init
  | 'timeout'        // the global timeout, or no output for too long
  | 'qemu-failed'    // QEMU did not start or exited with an error of its own
  | 'interrupted';   // Ctrl-C

export interface VmOutcome {
  end: VmEnd;
  detail: string;
  accel: VmSpec['accel'];
  consoleLog: string;
  resultsLog: string;
  qemuCommand: string;
  qemuExitCode: number | undefined;
  /** QEMU reported "KVM internal error": the accelerator, not the kernel under test, failed. */
  kvmFailure?: boolean;
  /** The test whose begin marker arrived without an end marker, if any. */
  runningTest?: string;
  /** The kernel's last stall or lockup report on the console (RCU stall, soft lockup, hung task, hard lockup). */
  stallReport?: string;
  bootMs?: number;
  durationMs: number;
  /**
   * How far the results port had got as the console printed: each console line (1-based) at which the results log's
   * size had changed since the line before it, with that size in bytes. A console line's results size is the last
   * mark at or before it (console-marks.ts).
   */
  consoleMarks?: ConsoleMark[];
}

export interface VmRunRequest {
  spec: VmSpec;
  /** vm-test shell: QEMU gets the terminal; no console streaming and no silence limit. */
  interactive?: boolean;
  qemuBinary?: string;
  consoleLog: string;
  resultsLog: string;
  qemuStderrLog: string;
  commandFile: string;
  /** Hard limit for the whole VM. */
  timeoutMs: number;
  /** Stop when neither the console nor the results port has said anything for this long. */
  silenceTimeoutMs: number;
  /**
   * Each planned test's own limit (seconds). A test still running this long plus hangGraceMs after its
   * begin marker was not stopped by the init's kill: the kernel is stuck, whatever the console says.
   */
  testTimeouts?: ReadonlyMap<string, number>;
  hangGraceMs?: number;
  /** Results-channel silence after a fatal console report during a test that ends the VM (DEFAULT_CRASH_QUIET_MS). */
  crashQuietMs?: number;
  events: RunEvents;
  signal?: AbortSignal;
}

/** After its timeout the init sends SIGTERM, then SIGKILL 5 s later; allow for that and the end marker. */
export const DEFAULT_HANG_GRACE_MS = 15_000;
/**
 * A task that oopses dies, but its process may linger (its other threads wait forever), so the test
 * never ends by itself: once the console showed a fatal report during a test, this much silence on the
 * results channel ends the VM as crashed.
 */
export const DEFAULT_CRASH_QUIET_MS = 20_000;

export async function runVm(exec: ExecPort, request: VmRunRequest): Promise<VmOutcome> {
  const started = Date.now();
  const qemu = request.qemuBinary ?? 'qemu-system-x86_64';
  const args = qemuArgs(request.spec, request.resultsLog);
  const qemuCommand = describeCommand(qemu, args);
  await writeFile(request.commandFile, qemuCommand + '\n');
  await writeFile(request.resultsLog, '');
  if (request.spec.stderrFile) await writeFile(request.spec.stderrFile, '');
  const consoleOut = createWriteStream(request.consoleLog);
  const stderrOut = createWriteStream(request.qemuStderrLog);

  const stop = new AbortController();
  let stopReason: 'timeout' | 'silence' | 'kvm' | 'hung-test' | 'crashed-test' | undefined;
  const onOuterAbort = () => stop.abort();
  request.signal?.addEventListener('abort', onOuterAbort, { once: true });
  // What QEMU has written to the results file when each console line arrives: both ports are the guest's, written as
  // it prints, so a kernel report is placed among the tests' result lines (a report during test_progs: which test).
  const consoleMarks: ConsoleMark[] = [];
  let consoleLines = 0;
  const markConsoleLine = () => {
    consoleLines++;
    let size: number;
    try {
      size = statSync(request.resultsLog).size;
    } catch {
      return;
    }
    if (consoleMarks[consoleMarks.length - 1]?.resultsBytes !== size) consoleMarks.push({ consoleLine: consoleLines, resultsBytes: size });
  };

  let lastActivity = Date.now();
  let initStarted = false;
  let done = false;
  let bootMs: number | undefined;
  let running: string | undefined;
  let runningSince = 0;
  let lastBegun: string | undefined;
  let initFailed: string | undefined;
  let stallReport: string | undefined;
  let fatalReport: { line: string; at: number } | undefined;
  let lastResults = Date.now();
  let sawConsole = false;

  // Tail the results file (and the stderr port's, with vm-test exec): QEMU appends to them as the guest writes.
  const onResultsLine = (line: string) => {
    const marker = parseResultsLine(line);
    switch (marker?.type) {
      case 'init-started':
        initStarted = true;
        bootMs = Date.now() - started;
        request.events.emit({ type: 'info', stage: 'vm', message: `init reached after ${(bootMs / 1000).toFixed(1)} s` });
        return;
      case 'done':
        done = true;
        return;
      case 'init-failed':
        initFailed ??= marker.reason;
        return;
      case 'begin':
        running = marker.name;
        lastBegun = running;
        runningSince = Date.now();
        request.events.emit({ type: 'test-start', name: marker.name });
        return;
      case 'end':
        running = undefined;
        request.events.emit({ type: 'test-end', name: marker.name, exitCode: marker.exitCode });
        return;
    }
    if (running) request.events.emit({ type: 'guest-output', name: running, stream: 'stdout', line });
  };
  const results = await tailer(request.resultsLog, (line) => {
    lastActivity = Date.now();
    lastResults = lastActivity;
    onResultsLine(line);
  });
  const stderrTail = request.spec.stderrFile ? await tailer(request.spec.stderrFile, (line) => {
    lastActivity = Date.now();
    lastResults = lastActivity;
    // The two ports are read apart, so stderr may come after the end marker: it belongs to the last test begun.
    if (lastBegun) request.events.emit({ type: 'guest-output', name: lastBegun, stream: 'stderr', line });
  }) : undefined;
  const drainResults = async () => {
    await results.drain();
    await stderrTail?.drain();
  };
  const poll = setInterval(() => {
    void drainResults();
    const now = Date.now();
    if (now - started > request.timeoutMs) {
      stopReason ??= 'timeout';
      stop.abort();
    } else if (!request.interactive && now - lastActivity > request.silenceTimeoutMs) {
      stopReason ??= 'silence';
      stop.abort();
    } else if (fatalReport && running && now - Math.max(lastResults, fatalReport.at) > (request.crashQuietMs ?? DEFAULT_CRASH_QUIET_MS)) {
      stopReason ??= 'crashed-test';
      stop.abort();
    } else if (running && request.testTimeouts?.has(running) && now - runningSince > request.testTimeouts.get(running)! * 1000 + (request.hangGraceMs ?? DEFAULT_HANG_GRACE_MS)) {
      stopReason ??= 'hung-test';
      stop.abort();
    }
  }, 250);

  const result = await exec.run({
    command: qemu,
    args,
    signal: stop.signal,
    interactive: request.interactive,
    onLine: (line, stream) => {
      lastActivity = Date.now();
      if (stream === 'stdout') {
        sawConsole = true;
        consoleOut.write(line + '\n');
        markConsoleLine();
        // The splat scanner's patterns decide: a stall keeps the console busy, a fatal report means the test is dead.
        const alarm = consoleAlarm(line);
        if (alarm?.alarm === 'stall') stallReport = alarm.message;
        if (!fatalReport && alarm?.alarm === 'fatal') fatalReport = { line: alarm.message, at: Date.now() };
        request.events.emit({ type: 'console-line', line });
      } else {
        stderrOut.write(line + '\n');
        // KVM that cannot run the guest hangs forever after saying so: stop now instead of waiting out a timeout.
        if (/KVM internal error/.test(line)) {
          stopReason ??= 'kvm';
          stop.abort();
        }
      }
    },
  });
  clearInterval(poll);
  request.signal?.removeEventListener('abort', onOuterAbort);
  await drainResults();
  await results.close();
  await stderrTail?.close();
  await Promise.all([new Promise((r) => consoleOut.end(r)), new Promise((r) => stderrOut.end(r))]);

  const base = {
    accel: request.spec.accel,
    consoleLog: request.consoleLog,
    resultsLog: request.resultsLog,
    qemuCommand,
    qemuExitCode: result.exitCode,
    runningTest: running,
    stallReport,
    ...(consoleMarks.length ? { consoleMarks } : {}),
    bootMs,
    durationMs: Date.now() - started,
  };
  if (request.signal?.aborted) return { ...base, end: 'interrupted', detail: 'interrupted; QEMU was stopped' };
  if (stopReason === 'kvm') return { ...base, end: 'qemu-failed', kvmFailure: true, detail: 'QEMU reported "KVM internal error": KVM cannot run this guest' };
  if (stopReason === 'timeout') return { ...base, end: 'timeout', detail: `the VM ran past the ${request.timeoutMs / 1000} s timeout${running ? ` while running ${running}` : initStarted ? '' : ' before init started'}; QEMU was stopped` };
  if (stopReason === 'crashed-test') {
    return { ...base, end: 'crashed', detail: `the kernel reported "${fatalReport!.line}" during ${running}, which then printed nothing for ${(request.crashQuietMs ?? DEFAULT_CRASH_QUIET_MS) / 1000} s; QEMU was stopped` };
  }
  if (stopReason === 'hung-test') {
    const limit = request.testTimeouts?.get(running!) ?? 0;
    return { ...base, end: 'timeout', detail: `${running} was still running ${Math.round((Date.now() - runningSince) / 1000)} s after it began, past its ${limit} s timeout and the init's kill: the guest kernel is stuck${stallReport ? ` (console: ${stallReport})` : ''}; QEMU was stopped` };
  }
  if (stopReason === 'silence') return { ...base, end: 'timeout', detail: `the guest printed nothing for ${request.silenceTimeoutMs / 1000} s${running ? ` while running ${running}` : initStarted ? '' : ' before init started'} (hang); QEMU was stopped` };
  if (result.spawnError) return { ...base, end: 'qemu-failed', detail: `${qemu} could not be started: ${result.spawnError}` };
  if (done) return { ...base, end: 'completed', detail: 'init ran the whole plan' };
  if (result.exitCode !== 0 && !sawConsole) {
    return { ...base, end: 'qemu-failed', detail: `QEMU exited with ${result.exitCode} before the guest printed anything: ${result.stderr.split('\n').slice(-3).join(' | ')}` };
  }
  // The results channel ended early. Once (2026-12-03) it lacked even init's line after a sysrq panic in a
  // test; the console carries init's kmsg copies of the markers.
  const fromConsole = consolePlanState(await readFile(request.consoleLog, 'utf8').catch(() => ''));
  const failed = initFailed ?? fromConsole.initFailed;
  if (!initStarted && !fromConsole.initStarted) return { ...base, end: 'boot-failure', detail: failed ? `the guest's init failed: ${failed}` : 'the guest stopped before init reported in' };
  const last = running ?? fromConsole.running;
  return { ...base, runningTest: last, end: 'crashed', detail: `the guest stopped before the plan ended${last ? `, while running ${last}` : ''}` };
}

/** Follows a file QEMU appends to, line by line; drain() reads what arrived since the last call. */
async function tailer(path: string, onLine: (line: string) => void): Promise<{ drain: () => Promise<void>; close: () => Promise<void> }> {
  const file = await open(path, 'r');
  let offset = 0;
  let pending = '';
  let draining: Promise<void> | undefined;
  const readAll = async () => {
    for (;;) {
      const buffer = Buffer.alloc(65536);
      const { bytesRead } = await file.read(buffer, 0, buffer.length, offset);
      if (bytesRead === 0) return;
      offset += bytesRead;
      pending += buffer.subarray(0, bytesRead).toString('utf8');
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl).replace(/\r$/, '');
        pending = pending.slice(nl + 1);
        onLine(line);
      }
    }
  };
  // One reader at a time: the poll and the final drain must not read the same bytes twice.
  const drain = () => (draining = (draining ?? Promise.resolve()).then(readAll));
  return { drain, close: async () => { await drain(); await file.close(); } };
}
