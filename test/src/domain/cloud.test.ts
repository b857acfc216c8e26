import { describe, expect, it } from 'vitest';

import { CLOUD_PRESETS, type CloudPreset, resolveCloud } from '../../../src/domain/cloud.js';

describe('resolveCloud', () => {
  it('resolves the global cloud to login.microsoftonline.com and graph.microsoft.com, with instance discovery', () => {
    expect(resolveCloud({ preset: 'global' })).toEqual({
      authorityHost: 'https://login.microsoftonline.com',
      graphEndpoint: 'https://graph.microsoft.com',
      instanceDiscovery: true,
    });
  });

  it.each([
    ['usgov-l4', 'https://login.microsoftonline.us', 'https://graph.microsoft.us'],
    ['usgov-l5', 'https://login.microsoftonline.us', 'https://dod-graph.microsoft.us'],
    ['china', 'https://login.chinacloudapi.cn', 'https://microsoftgraph.chinacloudapi.cn'],
  ] as const)('resolves the %s national cloud preset', (preset, authorityHost, graphEndpoint) => {
    expect(resolveCloud({ preset })).toEqual({ authorityHost, graphEndpoint, instanceDiscovery: true });
  });

  it('has a preset for every key and only https endpoints without a trailing slash', () => {
    for (const preset of Object.keys(CLOUD_PRESETS) as CloudPreset[]) {
      const cloud = resolveCloud({ preset });
      expect(cloud.authorityHost).toMatch(/^https:\/\/[^/]+$/);
      expect(cloud.graphEndpoint).toMatch(/^https:\/\/[^/]+$/);
    }
  });

  it('takes a custom pair as given without trailing slashes, and disables instance discovery', () => {
    expect(
      resolveCloud({
        authorityHost: 'https://login.example.test//',
        graphEndpoint: 'https://graph.example.test/',
      }),
    ).toEqual({
      authorityHost: 'https://login.example.test',
      graphEndpoint: 'https://graph.example.test',
      instanceDiscovery: false,
    });
  });

  it('keeps a custom path and disables instance discovery even for a Microsoft host', () => {
    expect(
      resolveCloud({
        authorityHost: 'https://login.microsoftonline.com',
        graphEndpoint: 'https://127.0.0.1:8443/graph/',
      }),
    ).toEqual({
      authorityHost: 'https://login.microsoftonline.com',
      graphEndpoint: 'https://127.0.0.1:8443/graph',
      instanceDiscovery: false,
    });
  });

  it.each(['https://127.0.0.1:8443/v1.0', 'https://127.0.0.1:8443/v1.0/', 'https://127.0.0.1:8443/beta'])(
    'takes a Graph base URL with its version (%s, as `npm run standin` prints it) for the endpoint',
    (url) => {
      expect(
        resolveCloud({ authorityHost: 'https://127.0.0.1:8443', graphEndpoint: url }).graphEndpoint,
      ).toBe('https://127.0.0.1:8443');
    },
  );
});
