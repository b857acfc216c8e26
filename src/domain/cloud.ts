/**
 * Decides where a connection's tenant lives: the Entra authority host and the Microsoft Graph
 * endpoint. The global cloud is the default; the national clouds are presets; any other pair is
 * allowed (a sovereign or private cloud), configured the same way.
 */
export const CLOUD_PRESETS = {
  global: {
    authorityHost: 'https://login.microsoftonline.com',
    graphEndpoint: 'https://graph.microsoft.com',
  },
  'usgov-l4': {
    authorityHost: 'https://login.microsoftonline.us',
    graphEndpoint: 'https://graph.microsoft.us',
  },
  'usgov-l5': {
    authorityHost: 'https://login.microsoftonline.us',
    graphEndpoint: 'https://dod-graph.microsoft.us',
  },
  china: {
    authorityHost: 'https://login.chinacloudapi.cn',
    graphEndpoint: 'https://microsoftgraph.chinacloudapi.cn',
  },
} as const;

export type CloudPreset = keyof typeof CLOUD_PRESETS;

export type CloudSetting =
  { readonly preset: CloudPreset } | { readonly authorityHost: string; readonly graphEndpoint: string };

export interface ResolvedCloud {
  readonly authorityHost: string;
  readonly graphEndpoint: string;
  /** Entra instance discovery only knows Microsoft's own clouds. */
  readonly instanceDiscovery: boolean;
}

export function resolveCloud(cloud: CloudSetting): ResolvedCloud {
  if ('preset' in cloud) return { ...CLOUD_PRESETS[cloud.preset], instanceDiscovery: true };
  return {
    authorityHost: trimSlash(cloud.authorityHost),
    graphEndpoint: graphRoot(cloud.graphEndpoint),
    instanceDiscovery: false,
  };
}

/**
 * Graph's endpoint is its origin (`https://graph.microsoft.com`): the token scope is
 * `<endpoint>/.default` and requests add `/v1.0`. A base URL with the version (`…/v1.0`, `…/beta`, as
 * `npm run standin` prints `graphBaseUrl`) is taken for its endpoint; without this the token request
 * asked for `…/v1.0/.default` and Entra refused it (AADSTS1002012).
 */
function graphRoot(url: string): string {
  return trimSlash(url).replace(/\/(?:v1\.0|beta)$/i, '');
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}
