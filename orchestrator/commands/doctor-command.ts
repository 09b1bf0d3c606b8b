// `vm-test doctor`: what the host has, what it lacks and which apt package brings it, and whether KVM works.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { CommandModule } from 'yargs';
import { buildDirs, cacheLayout, resolveCacheRoot } from '../cache.ts';
import { createExecaPort } from '../exec/exec-port.ts';
import { aptInstallLine, checkHost, isNeeded, REQUIREMENTS } from '../host/requirements.ts';
import { EXIT } from '../outcome.ts';
import { probeKvm } from '../vm/kvm-probe.ts';
import type { CliContext } from './context.ts';

export function doctorCommand(ctx: CliContext): CommandModule<object, { 'cache-dir'?: string; packages?: boolean }> {
  return {
    command: 'doctor',
    describe: 'check the host: tools, packages, KVM',
    builder: (y) => y.option('cache-dir', { type: 'string' }).option('packages', { type: 'boolean', describe: 'only print the Debian/Ubuntu packages vm-test needs, one line' }),
    handler: async (argv) => {
      if (argv.packages) {
        ctx.stdout.write([...new Set(REQUIREMENTS.map((r) => r.aptPackage))].join(' ') + '\n');
        return;
      }
      const checks = await checkHost();
      for (const c of checks) {
        const mark = c.present ? 'ok     ' : c.requirement.fullSelftests ? 'missing (--full-selftests)' : 'MISSING';
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
      const missing = checks.filter((c) => !c.present && isNeeded(c.requirement));
      if (missing.length) {
        ctx.stdout.write(`\nmissing: ${aptInstallLine(missing.map((m) => m.requirement.aptPackage))}\n`);
        ctx.setExitCode(EXIT.missingTool);
      }
    },
  };
}
