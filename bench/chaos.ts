/**
 * `npm run chaos -- --users 20000 --kills 5 [--seed 7]`: kill -9 the local Functions host at random
 * points of a full sync (a new host each time) and print one JSON line: undisturbedSeconds,
 * disturbedSeconds (request to completed run, with the kills), their ratio, lost, duplicated, wrong,
 * and `feed` (a reader following the event feed's cursor: events it skipped, events the feed repeats,
 * people without their person.created). Exits 1 when the directory differs from the oracle, the
 * follower skipped an event, a person has no person.created, or the run did not complete.
 */
import { Command } from 'commander';

import { positiveInt, wholeNumber } from '../local/cli-numbers.js';
import { runChaos } from './chaos-run.js';

const count = wholeNumber(0);

const program = new Command()
  .name('chaos')
  .description('kill -9 the host at random points of a full sync; measure recovery and correctness')
  .option('--users <n>', 'users in the simulated tenant', positiveInt, 20_000)
  .option('--kills <k>', 'hosts killed during the sync', count, 5)
  .option('--seed <s>', 'seed of the tenant and of the kill times', positiveInt, 7)
  .parse();
const options = program.opts<{ users: number; kills: number; seed: number }>();

const result = await runChaos({
  users: options.users,
  kills: options.kills,
  seed: options.seed,
  log: (line) => process.stderr.write(`${line}\n`),
});
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exitCode =
  result.lost + result.duplicated + result.wrong + result.feed.skipped + result.feed.peopleWithoutCreated ===
    0 && result.state.startsWith('completed')
    ? 0
    : 1;
