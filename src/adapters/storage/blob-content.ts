import type { BlobClient } from '@azure/storage-blob';

/** A blob's content in one GET (downloadToBuffer asks for the blob's properties first: two requests). */
export async function downloadBlob(blob: BlobClient): Promise<Buffer> {
  const response = await blob.download();
  const parts: Buffer[] = [];
  for await (const part of response.readableStreamBody ?? []) parts.push(part as Buffer);
  return Buffer.concat(parts);
}
