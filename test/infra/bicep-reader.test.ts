import { describe, expect, it } from 'vitest';

import { arrayItems, loopSource, objectEntries, property, readBicep, stringLiteral } from './bicep-reader.js';

const SAMPLE = `
targetScope = 'resourceGroup'

// a comment with { an unbalanced brace and a 'quote
@secure()
@description('A value: with a colon, a comma and a // slash pair')
param token string

/* block comment
   resource fake 'Not.A/type@2000-01-01' = {} */
var names = [
  'a'
  'b-\${token}'
]

resource store 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: 'st\${uniqueString('x', '{')}'
  tags: { 'azd-env-name': 'dev', owner: 'me' }
  properties: {
    minimumTlsVersion: 'TLS1_2'
    url: 'https://example.test/path'
  }
}

resource items 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = [
  for n in names: if (!empty(n)) {
    name: n
  }
]

module child './child.bicep' = {
  name: 'child'
}

output SOME_VALUE string = store.name
`;

describe('bicep reader', () => {
  const file = readBicep(SAMPLE);

  it('attaches decorators to the parameter that follows them and ignores comments', () => {
    expect(file.params).toEqual([
      {
        name: 'token',
        type: 'string',
        decorators: ['@secure()', "@description('A value: with a colon, a comma and a // slash pair')"],
        defaultValue: undefined,
      },
    ]);
    expect(file.resources.map((r) => r.symbol)).toEqual(['store', 'items']);
  });

  it('reads resource types and API versions, and the object body even inside a loop', () => {
    const [store, items] = file.resources;
    expect(store).toMatchObject({ type: 'Microsoft.Storage/storageAccounts', apiVersion: '2023-05-01' });
    expect(items?.apiVersion).toBe('2023-05-01');
    expect(loopSource(items!)).toEqual({ item: 'n', source: 'names' });
    expect(objectEntries(items!.body).get('name')).toBe('n');
  });

  it('reads nested properties, keeps strings with braces and slashes intact', () => {
    const store = file.resources[0]!;
    expect(property(store.body, 'properties', 'minimumTlsVersion')).toBe("'TLS1_2'");
    expect(property(store.body, 'properties', 'url')).toBe("'https://example.test/path'");
    expect(property(store.body, 'name')).toBe("'st${uniqueString('x', '{')}'");
    expect(property(store.body, 'tags', 'azd-env-name')).toBe("'dev'");
    expect(property(store.body, 'tags', 'owner')).toBe("'me'");
  });

  it('reads variables, array items, modules, outputs and the target scope', () => {
    expect(file.targetScope).toBe('resourceGroup');
    const names = file.variables.find((v) => v.name === 'names')!;
    expect(arrayItems(names.value).map(stringLiteral)).toEqual(['a', undefined]);
    expect(file.modules).toEqual([{ symbol: 'child', path: './child.bicep', body: "{\n  name: 'child'\n}" }]);
    expect(file.outputs).toEqual([{ name: 'SOME_VALUE', type: 'string', value: 'store.name' }]);
  });

  it('refuses a statement it does not understand instead of skipping it', () => {
    expect(() => readBicep('import foo')).toThrow(/unrecognised Bicep statement/);
  });
});
