/** Runs the real pipeline for tests: Azurite, the stand-in, the local host (its own process). */
import { afterAll, beforeAll } from 'vitest';

import {
  type LocalEnvironment,
  type LocalEnvironmentOptions,
  startLocalEnvironment,
} from '../../local/environment/local-environment.js';
import { isFinished, waitForRun } from '../../local/environment/run-watcher.js';
import type { TenantSnapshot } from '../../local/standin/index.js';
import type { Row } from '../../src/adapters/storage/table-gateway.js';
import type { RunSummary } from '../../src/usecases/describe-runs.js';
import type { RunRef } from '../../src/usecases/messages.js';
import { requestSync } from '../../src/usecases/request-sync.js';
import { expectedDirectory, type OracleRules } from './directory-oracle.js';
import { differences, readDirectory } from './directory-reader.js';
import { waitFor } from './notification-probes.js';

/** Settings that make the pipeline quick to observe in tests (small flushes, fast retries). */
export const TEST_SETTINGS: Record<string, string> = {
  SYNC_FLUSH_EVERY_PAGES: '2',
  AzureFunctionsJobHost__extensions__queues__visibilityTimeout: '00:00:01',
  AzureFunctionsJobHost__extensions__queues__maxPollingInterval: '00:00:00.500',
};

/**
 * A pipeline started before the enclosing describe's tests and stopped after them (call it in the
 * describe's body); answers the pipeline once started.
 */
export function pipelineForDescribe(
  options: LocalEnvironmentOptions,
  startTimeoutMs = 60_000,
): () => PipelineUnderTest {
  let pipeline: PipelineUnderTest | undefined;
  beforeAll(async () => {
    pipeline = await PipelineUnderTest.start(options);
  }, startTimeoutMs);
  afterAll(async () => {
    await pipeline?.stop();
  });
  return () => pipeline!;
}

export class PipelineUnderTest {
  /** The tenant as each completed round read it: the oracle's input. */
  readonly rounds: TenantSnapshot[] = [];
  /** The admin's rules (and the app's edits) each of those rounds ran under, for the oracle. */
  readonly rulesOfRounds: OracleRules[] = [];
  /** The rules the next round runs under (the test keeps them equal to the settings it saved). */
  rules: OracleRules = {};

  private constructor(readonly env: LocalEnvironment) {}

  static async start(options: LocalEnvironmentOptions = {}): Promise<PipelineUnderTest> {
    const env = await startLocalEnvironment({
      ...options,
      settings: { ...TEST_SETTINGS, ...options.settings },
    });
    return new PipelineUnderTest(env);
  }

  get control() {
    return this.env.standin.control;
  }

  deps() {
    return this.env.services.deps();
  }

  async latestRunKey(): Promise<string | undefined> {
    return (await this.deps().runs.list(this.env.tenantId, 1))[0]?.rowKey;
  }

  /** Requests a round and waits for it to finish; records the tenant as the round read it. */
  async sync(trigger: 'initial' | 'manual' = 'manual', full = false): Promise<RunSummary> {
    const afterRunKey = await this.latestRunKey();
    this.recordRound(this.control.snapshot());
    await requestSync(this.deps(), this.env.tenantId, trigger, full);
    return this.waitForNextRun(afterRunKey);
  }

  /** A round reads the tenant as it is now, under the current rules. */
  recordRound(snapshot: TenantSnapshot): void {
    this.rounds.push(snapshot);
    this.rulesOfRounds[this.rounds.length - 1] = this.rules;
  }

  async waitForNextRun(afterRunKey: string | undefined): Promise<RunSummary> {
    return waitForRun(this.env.services, this.env.tenantId, {
      ...(afterRunKey ? { afterRunKey } : {}),
      timeoutMs: 240_000,
    });
  }

  /**
   * Waits for this run to end, whichever runs come after it: a round resumed by the watchdog may be
   * followed by one more (a request coalesced while it ran) that ends first, a no-op, before this
   * round's chunks are all applied.
   */
  async waitForRunOf(ref: RunRef): Promise<Row> {
    return waitFor(
      `run ${ref.runId} to end`,
      async () => {
        const row = await this.deps().runs.get(ref);
        return isFinished(row) ? row : undefined;
      },
      240_000,
    );
  }

  /** Differences between the tables and the oracle (empty when equal). */
  async differences(): Promise<string[]> {
    const actual = await readDirectory(this.env.azurite.connectionString, this.env.tenantId);
    return differences(actual, expectedDirectory(this.rounds, this.rulesOfRounds));
  }

  async directory() {
    return readDirectory(this.env.azurite.connectionString, this.env.tenantId);
  }

  async stop(): Promise<void> {
    await this.env.stop();
  }
}
