/**
 * The settings preview, measured: POST /api/connections/{tenantId}/settings/preview on the local host
 * with settings that scope the directory to three department groups and map a field from another
 * attribute, timed from the request to the answer, with the Graph requests the stand-in counted
 * meanwhile (0: the preview reads the mirror alone).
 */
import type { LocalEnvironment } from '../local/environment/local-environment.js';
import type { SettingsPreview } from '../src/usecases/preview-settings.js';
import { graphCountsOf } from './pipeline-graph-counts.js';

export interface PreviewFigures {
  /** From the request to the answer. */
  readonly seconds: number;
  /** Graph requests the stand-in served meanwhile. */
  readonly graphRequests: number;
  readonly usersPlanned: number;
  readonly counts: Record<string, number>;
  /** What the gate would decide over the save (pass, or hold with its threshold). */
  readonly gate: string;
}

export async function measurePreview(env: LocalEnvironment): Promise<PreviewFigures> {
  const { settings } = (await env.services.deps().connections.get(env.tenantId))!;
  const scopeGroups = env.standin.control
    .snapshot()
    .groups.filter((g) => typeof g.displayName === 'string' && g.displayName.startsWith('sg-'))
    .slice(0, 3)
    .map((g) => g.id);
  const proposed = {
    ...settings,
    policy: {
      ...settings.policy,
      scope: { ...settings.policy.scope, groups: scopeGroups },
      mappings: [
        { source: 'onPremisesExtensionAttributes.extensionAttribute2', target: { field: 'jobTitle' } },
      ],
    },
  };
  env.standin.control.resetCounters();
  const started = Date.now();
  const response = await fetch(`${env.host().httpBaseUrl}/api/connections/${env.tenantId}/settings/preview`, {
    method: 'POST',
    headers: { 'x-functions-key': env.functionKey, 'content-type': 'application/json' },
    body: JSON.stringify(proposed),
  });
  const text = await response.text();
  const seconds = Math.round((Date.now() - started) / 10) / 100;
  if (response.status !== 200) throw new Error(`preview answered ${response.status}: ${text.slice(0, 500)}`);
  const preview = JSON.parse(text) as SettingsPreview;
  return {
    seconds,
    graphRequests: graphCountsOf(env.standin.control.counters()).graphRequests,
    usersPlanned: preview.usersPlanned,
    counts: preview.counts,
    gate: preview.gate.kind === 'pass' ? 'pass' : `hold (${preview.gate.threshold})`,
  };
}
