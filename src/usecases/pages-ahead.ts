import type { DeltaPage } from '../ports/directory-source.js';

/** Delta pages a phase may have asked for and not yet taken. */
export const READ_AHEAD_PAGES = 8;

/**
 * A delta phase's pages, asked for ahead of the code that works on them: as soon as a page comes,
 * the next one is asked for, until `depth` pages wait to be taken. Graph's latency then overlaps
 * that work (parsing, a flush, a checkpoint) however long one step of it takes, instead of adding
 * to it. Requests stay one at a time, in order: each needs its predecessor's `nextLink`.
 *
 * A failed request stops the reading; `take` rejects with its error when it reaches that page.
 * `close` stops asking (a page asked for meanwhile is never awaited and its failure is dropped).
 */
export class PagesAhead {
  readonly #waiting: Promise<DeltaPage>[] = [];
  #nextUrl: string | null;
  #asking = false;
  #closed = false;

  constructor(
    private readonly request: (url: string) => Promise<DeltaPage>,
    firstUrl: string,
    private readonly depth = READ_AHEAD_PAGES,
  ) {
    this.#nextUrl = firstUrl;
    this.#ask();
  }

  /** The next page, in order. Call it again only once the page it gave has come. */
  take(): Promise<DeltaPage> {
    const page = this.#waiting.shift();
    if (!page) throw new Error('no delta page is on its way: the previous one ended the phase or failed');
    this.#ask();
    return page;
  }

  close(): void {
    this.#closed = true;
  }

  #ask(): void {
    if (this.#closed || this.#asking || this.#nextUrl === null || this.#waiting.length >= this.depth) return;
    const url = this.#nextUrl;
    this.#nextUrl = null;
    this.#asking = true;
    const page = this.request(url);
    this.#waiting.push(page);
    // Registered before anyone awaits the page, so the next one is asked for before its taker resumes.
    page.then(
      (came) => {
        this.#asking = false;
        this.#nextUrl = came.deltaLink ? null : (came.nextLink ?? null);
        this.#ask();
      },
      () => {
        this.#asking = false;
      },
    );
  }
}
