import type { BlobClient, BlobDownloadResponseParsed } from '@azure/storage-blob';

/** A blob's content in one GET (downloadToBuffer asks for the blob's properties first: two requests). */
export async function downloadBlob(blob: BlobClient): Promise<Buffer> {
  return contentOf(await blob.download());
}

/**
 * A blob's content and ETag in one GET; with `ifNoneMatch`, 'unchanged' when the blob still has that
 * ETag (a 304: no content sent).
 */
export async function downloadTagged(
  blob: BlobClient,
  ifNoneMatch?: string,
): Promise<{ content: Buffer; etag: string } | 'unchanged'> {
  try {
    const response = await blob.download(0, undefined, ifNoneMatch ? { conditions: { ifNoneMatch } } : {});
    return { content: await contentOf(response), etag: response.etag ?? '' };
  } catch (error) {
    if (ifNoneMatch && (error as { statusCode?: number }).statusCode === 304) return 'unchanged';
    throw error;
  }
}

async function contentOf(response: BlobDownloadResponseParsed): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of response.readableStreamBody ?? []) parts.push(part as Buffer);
  return Buffer.concat(parts);
}
