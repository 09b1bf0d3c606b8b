// vm-test doctor --install, npm test's pretest, through the real CLI: what it cannot install is exit 13 with the line.
import test from 'ava';
import { EXIT } from '../../orchestrator/outcome.ts';
import { runCli } from '../bad-input/cli-runner.ts';
import { tempDir } from '../helpers.ts';

test.serial('doctor --install: tools missing and no apt-get to install them is exit 13, printing the apt-get line', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  // An empty PATH: every tool looks missing, and there is no apt-get or sudo to run, so nothing is installed.
  const r = await runCli(['doctor', '--install'], { PATH: tmp.path });
  t.is(r.exitCode, EXIT.missingTool, r.stderr);
  t.regex(r.stderr, /^vm-test doctor: installing missing packages: .*\bgcc\b/m);
  t.regex(r.stderr, /vm-test doctor: missing host tools \(.*\); install them with:\n {2}sudo apt-get update && sudo apt-get install -y .*\bqemu-system-x86\b/);
  t.is(r.stdout, '', 'no table and no KVM probe');
});
