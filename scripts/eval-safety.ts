// Prints the safety scan's recall and precision per category on the labelled corpus
// (test/safety-corpus), for the tuning split, the held-out split and both together.
//   npm run eval:safety            # the table
//   npm run eval:safety -- --misses tuning   # also list what the tuning split missed
import { scanText } from '../shared/learning/safety.ts';
import {
  type CorpusEntry,
  evaluate,
  formatReport,
  loadCorpus,
} from '../test/safety-corpus/evaluate.ts';

const missesOf = process.argv.includes('--misses')
  ? process.argv[process.argv.indexOf('--misses') + 1]
  : undefined;
const splits: [string, CorpusEntry[]][] = [
  ['tuning', loadCorpus('tuning')],
  ['held-out', loadCorpus('heldout')],
];
splits.push(['full corpus', splits.flatMap(([, e]) => e)]);
for (const [name, entries] of splits) {
  const report = await evaluate(entries, scanText);
  console.log(formatReport(name, report));
  if (missesOf && (name === missesOf || (missesOf === 'heldout' && name === 'held-out'))) {
    for (const m of report.misses) {
      console.log(`    ${m.source}  ${m.expected} <- ${m.got}  | ${JSON.stringify(m.text)}`);
    }
  }
}
