// How often vm-test's bug title (the parse JSON's splats[0].bug_title) is syzkaller's own title for the same console
// log, over syzkaller's report corpus (../shared/syzkaller/report: real logs, each headed by "TITLE: ..."). Read at run
// time from there, never copied here. A measurement: prints the numbers, exits 0 whatever they are (2: no corpus).
//   node --import tsx scripts/splat-title-agreement.ts [--corpus DIR] [--show N]   (N disagreements listed, default 0)
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseLog } from '../orchestrator/commands/parse-command.ts';
import { toJson } from '../orchestrator/report/json-report.ts';

const args = process.argv.slice(2);
const opt = (name: string) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const root = new URL('..', import.meta.url).pathname;
const corpus = opt('--corpus') ?? process.env.CORPUS ?? join(root, '../shared/syzkaller/report');
const show = Number(opt('--show') ?? 0);

/** Headers up to the first empty line, then the log up to a "REPORT:" section after an empty line (as the corpus is read). */
function readCase(path: string): { title: string; log: string } {
  const lines = readFileSync(path, 'latin1').replaceAll('\r', '').split('\n');
  let title = '';
  let k = 0;
  for (; k < lines.length && lines[k] !== ''; k++) if (lines[k]!.startsWith('TITLE: ')) title = lines[k]!.slice(7);
  const log: string[] = [];
  for (k++; k < lines.length; k++) {
    if (lines[k] === 'REPORT:' && lines[k - 1] === '') break;
    log.push(lines[k]!);
  }
  return { title, log: log.join('\n') };
}

/** The kind half of a title: everything before its last " in <function>". */
const withoutFunction = (t: string) => t.replace(/ in [^ ]+$/, '');

let files: string[];
try {
  files = readdirSync(corpus).filter((f) => !f.startsWith('.') && f !== 'README.md');
} catch {
  console.log(`splat titles: no corpus at ${corpus}`);
  process.exit(2);
}
let crashes = 0, titled = 0, exact = 0, sameKind = 0, anySplat = 0;
const misses: string[] = [];
for (const file of files.sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))) {
  const { title, log } = readCase(join(corpus, file));
  if (!title) continue;
  crashes++;
  const json = JSON.parse(toJson(parseLog(log).tree)) as { splats: { bug_title?: string }[] };
  const titles = json.splats.map((s) => s.bug_title ?? '');
  if (titles.length === 0) continue;
  titled++;
  if (titles[0] === title) exact++;
  else misses.push(`${file}: syzkaller ${JSON.stringify(title)}, vm-test ${JSON.stringify(titles[0])}`);
  if (withoutFunction(titles[0]!) === withoutFunction(title)) sameKind++;
  if (titles.includes(title)) anySplat++;
}
const pct = (a: number, b: number) => (b ? `${((100 * a) / b).toFixed(1)}%` : 'n/a');
for (const line of misses.slice(0, show)) console.log(line);
console.log(`corpus ${corpus}: ${crashes} logs syzkaller titles as a crash, ${titled} of them with a vm-test splat`);
console.log(`splat titles: first splat's title equals syzkaller's ${exact}/${titled} (${pct(exact, titled)}); ` +
  `modulo the function ${sameKind}/${titled} (${pct(sameKind, titled)}); some splat's title equals it ${anySplat}/${titled} (${pct(anySplat, titled)})`);
