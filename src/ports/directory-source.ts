/** A Graph delta page as the fetcher consumes it: raw items, parsed item by item by the caller. */
export interface DeltaPage {
  readonly items: readonly unknown[];
  readonly nextLink?: string;
  readonly deltaLink?: string;
}

export type DeltaResource = 'users' | 'groups';

/** Reads a tenant's directory changes (Microsoft Graph delta queries). */
export interface DirectorySource {
  /** The first request of a full round: every query option the pipeline needs. */
  initialDeltaUrl(resource: DeltaResource): string;
  /** Throws DeltaTokenExpiredError when Graph says the token is no longer usable. */
  getDeltaPage(url: string): Promise<DeltaPage>;
  /** Delta pages requested so far (retries made by the Graph client are not counted). */
  readonly requestCount: number;
}
