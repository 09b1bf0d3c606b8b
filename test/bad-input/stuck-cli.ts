// The CLI with one command that never ends and ignores the stop signal (as a mkdir spinning on /proc did):
// for the test that a signal still ends the process.
import { main } from '../../orchestrator/cli.ts';

process.exitCode = await main(['stuck'], [() => ({
  command: 'stuck',
  describe: 'never ends',
  handler: () => {
    process.stderr.write('stuck: started\n');
    return new Promise(() => setInterval(() => {}, 1000));
  },
})]);
