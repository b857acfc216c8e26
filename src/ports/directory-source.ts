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

/** A user's custom security attributes as Graph lists them (by attribute set, then attribute). */
export interface UserSecurityAttributes {
  readonly id: string;
  /** null when the user has none assigned. */
  readonly attributes: Readonly<Record<string, Readonly<Record<string, unknown>>>> | null;
}

/** Reads what delta does not track: custom security attributes (a list pass of their own). */
export interface SecurityAttributeSource {
  /** The application permissions the connection's token carries (its `roles` claim). */
  grantedRoles(): Promise<string[]>;
  /** Every user's custom security attributes, page by page (`/users?$select=id,customSecurityAttributes`). */
  securityAttributePages(): AsyncIterable<UserSecurityAttributes[]>;
  /** Requests made so far. */
  readonly requestCount: number;
}

/** A user's photo metadata (`GET /users/{id}/photo`); null = no photo. */
export interface PhotoMetadata {
  readonly mediaEtag: string;
  readonly contentType: string;
}

export interface PhotoContent {
  readonly bytes: Buffer;
  readonly contentType: string;
}

/** Reads users' profile photos: metadata in `$batch` requests, bytes one by one. */
export interface PhotoSource {
  /** Metadata of each user's photo (null: none), in `$batch` requests of at most 20. */
  photoMetadata(userIds: readonly string[]): Promise<Map<string, PhotoMetadata | null>>;
  /** The photo's bytes (`/users/{id}/photo/$value`); null when the user has none (any more). */
  downloadPhoto(userId: string): Promise<PhotoContent | null>;
  /** Requests made so far (a `$batch` counts one). */
  readonly requestCount: number;
}
