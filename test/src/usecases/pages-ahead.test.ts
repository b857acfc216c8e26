/**
 * Reading delta pages ahead of their consumer: in order, one request at a time, never more than the
 * depth waiting, stopped by a failure or by close.
 */
import { describe, expect, it } from 'vitest';

import type { DeltaPage } from '../../../src/ports/directory-source.js';
import { PagesAhead } from '../../../src/usecases/pages-ahead.js';

/** A phase of `count` pages (`p0` … ), answered when the test says so. */
function phase(count: number, failAt?: number) {
  const asked: string[] = [];
  const pending: (() => void)[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const request = (url: string): Promise<DeltaPage> => {
    asked.push(url);
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    const n = Number(url.slice(1));
    return new Promise<DeltaPage>((resolve, reject) => {
      pending.push(() => {
        inFlight -= 1;
        if (n === failAt) reject(new Error(`page ${n} failed`));
        else if (n === count - 1) resolve({ items: [n], deltaLink: 'delta' });
        else resolve({ items: [n], nextLink: `p${n + 1}` });
      });
    });
  };
  /** Answers every request asked so far, and those they lead to, until none is left. */
  const answerAll = async (): Promise<void> => {
    while (pending.length > 0) {
      pending.shift()!();
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  return { request, asked, answerAll, maxInFlight: () => maxInFlight };
}

describe('PagesAhead', () => {
  it('asks for pages one at a time and stops once `depth` of them wait to be taken', async () => {
    const graph = phase(10);
    const pages = new PagesAhead(graph.request, 'p0', 3);
    await graph.answerAll();
    expect(graph.asked).toEqual(['p0', 'p1', 'p2']);
    expect(graph.maxInFlight()).toBe(1);
    // Taking one makes room for one more.
    expect((await pages.take()).items).toEqual([0]);
    await graph.answerAll();
    expect(graph.asked).toEqual(['p0', 'p1', 'p2', 'p3']);
  });

  it('gives every page of the phase in order and asks nothing after its delta link', async () => {
    const graph = phase(6);
    const pages = new PagesAhead(graph.request, 'p0', 2);
    const taken: unknown[] = [];
    for (;;) {
      const taking = pages.take();
      await graph.answerAll();
      const page = await taking;
      taken.push(...page.items);
      if (page.deltaLink) break;
    }
    expect(taken).toEqual([0, 1, 2, 3, 4, 5]);
    expect(graph.asked).toEqual(['p0', 'p1', 'p2', 'p3', 'p4', 'p5']);
    expect(() => pages.take()).toThrow(/no delta page/);
  });

  it('stops at a failed page, whose error its taker gets', async () => {
    const graph = phase(10, 2);
    const pages = new PagesAhead(graph.request, 'p0', 8);
    await graph.answerAll();
    expect(graph.asked).toEqual(['p0', 'p1', 'p2']);
    await pages.take();
    await pages.take();
    await expect(pages.take()).rejects.toThrow('page 2 failed');
  });

  it('asks nothing more once closed', async () => {
    const graph = phase(10);
    const pages = new PagesAhead(graph.request, 'p0', 8);
    pages.close();
    await graph.answerAll();
    expect(graph.asked).toEqual(['p0']);
  });
});
