// `vm-test doctor`: what the host has, what it lacks and which apt package brings it, and whether KVM works.
// `vm-test doctor --install`: install what is missing (npm test's pretest), saying only what it did.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { buildDirs, cacheLayout, resolveCacheRoot } from '../cache.ts';
import { createExecaPort } from '../exec/exec-port.ts';
import { aptInstall, aptInstallLine, checkHost, isNeeded, REQUIREMENTS } from '../host/requirements.ts';
import type { CommandResult } from '../outcome.ts';
import { probeKvm } from '../vm/kvm-probe.ts';
import { done, type CliContext, type CommandEnd, type ResultCommand } from './context.ts';

/** The apt packages of what a run needs and the host lacks; b4 too, which the tests of lore: series run for real. */
async function missingPackages(): Promise<string[]> {
  return (await checkHost()).filter((c) => !c.present && isNeeded(c.requirement, { lore: true })).map((c) => c.requirement.aptPackage);
}

/** Installs what is missing when root or passwordless sudo allows; silent when nothing is. */
export async function installMissing(ctx: Pick<CliContext, 'stderr'>): Promise<CommandResult> {
  const missing = await missingPackages();
  if (missing.length === 0) return { type: 'doctor', missing };
  ctx.stderr.write(`vm-test doctor: installing missing packages: ${missing.join(' ')}\n`);
  const problem = await aptInstall(createExecaPort(), missing);
  const still = await missingPackages();
  if (still.length > 0) ctx.stderr.write(`vm-test doctor: missing host tools${problem ? ` (${problem})` : ''}; install them with:\n  ${aptInstallLine(still)}\n`);
  return { type: 'doctor', missing: still };
}

export function doctorCommand(ctx: CliContext): ResultCommand<{ 'cache-dir'?: string; packages?: boolean; install?: boolean }> {
  return {
    command: 'doctor',
    describe: 'check the host: tools, packages, KVM',
    builder: (y) => y.option('cache-dir', { type: 'string' })
      .option('packages', { type: 'boolean', describe: 'only print the Debian/Ubuntu packages vm-test needs, one line' })
      .option('install', { type: 'boolean', describe: 'install the missing packages (as root or with passwordless sudo) and print only what it did; no KVM probe (npm test runs this first)' }),
    handler: async (argv): Promise<CommandEnd> => {
      if (argv.packages) {
        ctx.stdout.write([...new Set(REQUIREMENTS.map((r) => r.aptPackage))].join(' ') + '\n');
        return done();
      }
      if (argv.install) return installMissing(ctx);
      const checks = await checkHost();
      for (const c of checks) {
        const mark = c.present ? 'ok     ' : c.requirement.fullSelftests ? 'missing (--full-selftests)' : c.requirement.lore ? 'missing (--series lore:)' : 'MISSING';
        ctx.stdout.write(`${mark.padEnd(26)} ${c.requirement.what.padEnd(22)} apt: ${c.requirement.aptPackage.padEnd(16)} for ${c.requirement.neededFor}\n`);
      }
      const cache = cacheLayout(resolveCacheRoot(argv['cache-dir'], process.env));
      // Probe KVM with a kernel we already have: the newest built bzImage in the cache.
      const kernels = buildDirs(cache, (d) => (existsSync(d) ? readdirSync(d) : [])).map((d) => join(d, 'arch/x86/boot/bzImage')).filter((p) => existsSync(p));
      if (kernels[0]) {
        const probe = await probeKvm(createExecaPort(), kernels[0], join(cache.root, 'kvm-probe.json'));
        ctx.stdout.write(`${probe.accel === 'kvm' ? 'ok     ' : 'no KVM '}             ${probe.reason}\n`);
      } else {
        ctx.stdout.write(`${existsSync('/dev/kvm') ? '/dev/kvm present' : 'no /dev/kvm: TCG will be used'}; KVM is probed with a real boot on the first run\n`);
      }
      const missing = checks.filter((c) => !c.present && isNeeded(c.requirement)).map((c) => c.requirement.aptPackage);
      if (missing.length) ctx.stdout.write(`\nmissing: ${aptInstallLine(missing)}\n`);
      return { type: 'doctor', missing };
    },
  };
}
