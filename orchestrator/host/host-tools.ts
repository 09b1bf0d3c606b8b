// The host stage: the tools a run needs are on this machine, installed with apt-get when they are not (and allowed).
import { existsSync } from 'node:fs';
import type { RunEvents } from '../events.ts';
import type { ExecPort } from '../exec/exec-port.ts';
import { acquireLock, holderName } from '../lock.ts';
import { VmTestError } from '../outcome.ts';
import { aptInstall, aptInstallLine, checkHost, isNeeded, type HostNeeds } from './requirements.ts';

export interface HostToolsContext {
  exec: ExecPort;
  events: RunEvents;
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
}

/**
 * ensureHostTools, one at a time in a cache (locksDir): two apt-get runs at once fail on dpkg's lock (bpf-ci's two
 * sides did, 2026-12-07); the second finds what the first installed.
 */
export async function ensureHostToolsLocked(ctx: HostToolsContext, locksDir: string, logFile: string, needs: HostNeeds | boolean = {}): Promise<void> {
  const lock = await acquireLock(locksDir, 'host-tools', (holder) =>
    ctx.events.emit({ type: 'info', stage: 'host', message: `waiting for ${holderName(holder)} to check the host's tools` }), ctx.signal);
  try {
    await ensureHostTools(ctx, logFile, needs);
  } finally {
    await lock.release();
  }
}

/**
 * Returns when every needed tool is present; otherwise a missingTool error naming them and the apt-get line.
 * needs: true for --full-selftests (as before), or what the run asks for ({ lore: true } for a lore: series).
 */
export async function ensureHostTools(ctx: HostToolsContext, logFile: string, needs: HostNeeds | boolean = {}): Promise<void> {
  const full = needs;
  const missing = (await checkHost(ctx.env)).filter((c) => !c.present && isNeeded(c.requirement, full));
  if (missing.length === 0) return;
  const packages = missing.map((m) => m.requirement.aptPackage);
  const env = ctx.env ?? process.env;
  let problem: string | undefined = 'automatic installs are off (VM_TEST_NO_INSTALL)';
  if (!env.VM_TEST_NO_INSTALL) {
    ctx.events.emit({ type: 'info', stage: 'host', message: `installing missing packages: ${packages.join(' ')}` });
    problem = await aptInstall(ctx.exec, packages, logFile);
  }
  const still = (await checkHost(ctx.env)).filter((c) => !c.present && isNeeded(c.requirement, full));
  if (problem || still.length > 0) {
    const list = still.map((s) => `${s.requirement.what} (${s.requirement.aptPackage}, for ${s.requirement.neededFor})`).join(', ');
    // Why nothing was installed, and apt-get's output when it ran.
    throw new VmTestError('missingTool', `missing host tools: ${list}. Install them with:\n  ${aptInstallLine(still.map((s) => s.requirement.aptPackage))}`,
      { ...(existsSync(logFile) ? { logPath: logFile } : {}), ...(problem ? { excerpt: [problem] } : {}) });
  }
}
