import { describe, expect, it } from 'vitest';

import {
  decodeQueueMessage,
  encodeQueueMessage,
  outputMessages,
  queueMessageTypedData,
} from '../../../local/host/queue-message-encoding.js';
import { parseNcrontab } from '../../../local/host/timer-trigger.js';

describe('queue message encoding', () => {
  it('round-trips UTF-8 text through base64', () => {
    const text = '{"name":"Zoë"}';
    expect(decodeQueueMessage(encodeQueueMessage(text, 'base64'), 'base64')).toBe(text);
  });

  it('leaves text untouched with encoding none', () => {
    expect(encodeQueueMessage('a+b/c', 'none')).toBe('a+b/c');
    expect(decodeQueueMessage('a+b/c', 'none')).toBe('a+b/c');
  });

  it('reports text that is not base64', () => {
    expect(decodeQueueMessage('not base64!', 'base64')).toBeUndefined();
  });

  it('types JSON object and array text as json, anything else as string', () => {
    expect(queueMessageTypedData('{"a":1}')).toEqual({ json: '{"a":1}' });
    expect(queueMessageTypedData('[1]')).toEqual({ json: '[1]' });
    expect(queueMessageTypedData('{broken')).toEqual({ string: '{broken' });
    expect(queueMessageTypedData('42')).toEqual({ string: '42' });
  });

  it('makes one output message per array element and serialises objects', () => {
    expect(outputMessages({ json: JSON.stringify(['x', { n: 1 }]) })).toEqual(['x', '{"n":1}']);
    expect(outputMessages({ json: JSON.stringify({ n: 2 }) })).toEqual(['{"n":2}']);
    expect(outputMessages({ string: 'plain' })).toEqual(['plain']);
    expect(outputMessages({ int: 5 })).toEqual(['5']);
  });
});

describe('parseNcrontab', () => {
  it('accepts six-field NCRONTAB and computes the next occurrence in UTC', () => {
    const next = parseNcrontab('0 30 9 * * 1-5').nextRun(new Date('2026-01-03T12:00:00Z'));
    expect(next?.toISOString()).toBe('2026-01-05T09:30:00.000Z');
  });

  it('refuses five-field cron', () => {
    expect(() => parseNcrontab('*/5 * * * *')).toThrow();
  });
});
