// Before `npm test`: the same host check as the main job, installing missing apt packages when root or sudo allows.
import { createExecaPort } from '../orchestrator/exec/exec-port.ts';
import { aptInstall, aptInstallLine, checkHost, isNeeded } from '../orchestrator/host/requirements.ts';

const missing = (await checkHost()).filter((c) => !c.present && isNeeded(c.requirement));
if (missing.length > 0) {
  const packages = missing.map((m) => m.requirement.aptPackage);
  process.stderr.write(`npm test: installing missing packages: ${packages.join(' ')}\n`);
  const problem = await aptInstall(createExecaPort(), packages);
  const still = (await checkHost()).filter((c) => !c.present && isNeeded(c.requirement));
  if (problem || still.length > 0) {
    process.stderr.write(`npm test: missing host tools; install them with:\n  ${aptInstallLine(still.map((s) => s.requirement.aptPackage))}\n`);
    process.exit(13);
  }
}
