/**
 * Chaos: kill -9 the local Functions host at random points of a full sync (a new host each time) and
 * measure what the pipeline recovers by itself: the time from the request to the completed run against
 * an undisturbed run of the same tenant, the directory against the oracle (people lost, duplicated
 * or wrong), and the app's event feed as a reader following its cursor saw it (chaos-feed.ts). Used by
 * `npm run chaos` and, on a small tenant, by `npm test`.
 */
import { setTimeout as sleep } from 'node:timers/promises';

import { type LocalEnvironment, startLocalEnvironment } from '../local/environment/local-environment.js';
import { waitForRun } from '../local/environment/run-watcher.js';
import { SeededRandom } from '../local/standin/tenant/seeded-random.js';
import type { RunSummary } from '../src/usecases/describe-runs.js';
import { requestSync } from '../src/usecases/request-sync.js';
import { expectedDirectory } from '../test/pipeline/directory-oracle.js';
import { differences, readDirectory } from '../test/pipeline/directory-reader.js';
import { checkFeed, type FeedCheck, type FeedFollower, followFeed } from './chaos-feed.js';

export interface ChaosOptions {
  readonly users: number;
  readonly kills: number;
  readonly seed?: number;
  /** Extra app settings for the hosts (the same for both runs). */
  readonly settings?: Record<string, string>;
  /** Give up waiting for a run after this long. */
  readonly timeoutMs?: number;
  readonly log?: (line: string) => void;
}

export interface ChaosResult {
  readonly users: number;
  readonly kills: number;
  readonly undisturbedSeconds: number;
  /** From the request to the completed run, with the kills. */
  readonly disturbedSeconds: number;
  readonly ratio: number;
  /** Seconds into the disturbed run at which each host was killed. */
  readonly killedAt: readonly number[];
  readonly state: string;
  /** People the oracle expects and the tables do not have. */
  readonly lost: number;
  /** Entra users with more than one person row. */
  readonly duplicated: number;
  /** Every other difference from the oracle (fields, statuses, teams, team members). */
  readonly wrong: number;
  /** The run's counts are the people created, each once, and nothing else (a first sync). */
  readonly countsExact: boolean;
  /** The disturbed run's counts, and the people rows it left (what countsExact compares). */
  readonly counts: RunSummary['counts'];
  readonly people: number;
  readonly recoveries: number;
  readonly differences: readonly string[];
  /** A reader that followed the feed's cursor through the kills: what it missed, what the feed repeats. */
  readonly feed: FeedCheck;
}

interface Measured {
  readonly seconds: number;
  readonly run: RunSummary;
  readonly env: LocalEnvironment;
  /** Follows the feed in both runs, so that both bear its reads. */
  readonly follower: FeedFollower;
}

async function fullSync(
  options: ChaosOptions,
  killAt: readonly number[],
  onKill: (seconds: number) => void,
): Promise<Measured> {
  const env = await startLocalEnvironment({
    standin: { users: options.users, seed: options.seed ?? 7 },
    settings: options.settings ?? {},
    schedule: { kind: 'manual' },
  });
  const started = Date.now();
  await requestSync(env.services.deps(), env.tenantId, 'initial');
  const follower = followFeed(env.services, env.tenantId);
  const finished = waitForRun(env.services, env.tenantId, { timeoutMs: options.timeoutMs ?? 20 * 60_000 });
  let done = false;
  void finished.then(
    () => (done = true),
    () => (done = true),
  );
  for (const at of killAt) {
    const wait = started + at * 1000 - Date.now();
    if (wait > 0) await sleep(wait);
    if (done) break;
    await env.host().kill();
    onKill((Date.now() - started) / 1000);
    await env.startHost();
  }
  const run = await finished;
  return {
    seconds: (Date.parse(run.endedAt ?? new Date().toISOString()) - started) / 1000,
    run,
    env,
    follower,
  };
}

export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const log = options.log ?? (() => undefined);
  const undisturbed = await fullSync(options, [], () => undefined);
  await undisturbed.follower.finish(Date.now());
  await undisturbed.env.stop();
  log(`undisturbed: ${undisturbed.seconds.toFixed(1)} s`);

  const rng = new SeededRandom(options.seed ?? 7);
  const killAt = Array.from(
    { length: options.kills },
    () => undisturbed.seconds * (0.05 + 0.85 * rng.next()),
  ).sort((a, b) => a - b);
  const killedAt: number[] = [];
  const disturbed = await fullSync(options, killAt, (seconds) => {
    killedAt.push(Math.round(seconds * 10) / 10);
    log(`host killed at ${seconds.toFixed(1)} s; a new host started`);
  });
  try {
    const seen = await disturbed.follower.finish(Date.now());
    const snapshot = disturbed.env.standin.control.snapshot();
    const expected = expectedDirectory([snapshot]);
    const actual = await readDirectory(disturbed.env.azurite.connectionString, disturbed.env.tenantId);
    const lines = differences(actual, expected);
    const lost = [...expected.people.keys()].filter((id) => !actual.people.has(id)).length;
    const duplicated = [...actual.peopleRowsPerObject.values()].filter((n) => n > 1).length;
    const wrong = lines.filter((line) => !/ missing \(expected| duplicated /.test(line)).length;
    return {
      users: options.users,
      kills: killedAt.length,
      undisturbedSeconds: round1(undisturbed.seconds),
      disturbedSeconds: round1(disturbed.seconds),
      ratio: Math.round((disturbed.seconds / undisturbed.seconds) * 100) / 100,
      killedAt,
      state: disturbed.run.state,
      lost,
      duplicated,
      wrong,
      // A first sync: each person created and counted once, and nothing else counted, whatever was redone.
      countsExact: Object.entries(disturbed.run.counts).every(([kind, n]) =>
        kind === 'created' ? n === actual.people.size : (n ?? 0) === 0,
      ),
      counts: disturbed.run.counts,
      people: actual.people.size,
      recoveries: disturbed.run.recoveries,
      differences: lines.slice(0, 20),
      feed: await checkFeed(
        disturbed.env.services,
        disturbed.env.tenantId,
        seen,
        [...actual.people.values()].map((person) => person.personId),
      ),
    };
  } finally {
    await disturbed.env.stop();
  }
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}
