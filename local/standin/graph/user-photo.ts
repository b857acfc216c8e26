/** Profile photo bytes: explicit bytes when set, else a tiny valid JPEG made unique by a comment with the user id. */
import type { UserPhoto } from '../tenant/types.js';

const JPEG_1X1 = Buffer.from(
  '/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAP//////////////////////////////////////////////////////////////////////////////////////wgALCAABAAEBAREA/8QAFBABAAAAAAAAAAAAAAAAAAAAAP/aAAgBAQABPxA=',
  'base64',
);

/** The media type of photo bytes by their signature (Graph stores JPEG, PNG and GIF photos). */
export function photoContentType(bytes: Buffer): string {
  if (bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) return 'image/png';
  if (bytes[0] === 0x47 && bytes[1] === 0x49 && bytes[2] === 0x46) return 'image/gif';
  return 'image/jpeg';
}

/**
 * `GET /users/{id}/photo` as Graph answers it (profilephoto-get.md, example 3): the media type, the
 * media ETag (changes whenever the photo does), the size of the largest photo.
 */
export function photoMetadata(baseUrl: string, tenantId: string, userId: string, photo: UserPhoto) {
  return {
    '@odata.context': `${baseUrl}/$metadata#users('${userId}')/photo/$entity`,
    '@odata.id': `${baseUrl}/users('${userId}@${tenantId}')/photo`,
    '@odata.mediaContentType': photoContentType(photoBytes(userId, photo)),
    '@odata.mediaEtag': photo.etag,
    id: '240X240',
    width: 240,
    height: 240,
  };
}

export function photoBytes(userId: string, photo: UserPhoto): Buffer {
  if (photo.bytes) return photo.bytes;
  const comment = Buffer.from(`${userId} ${photo.etag}`, 'utf8');
  const length = Buffer.alloc(2);
  length.writeUInt16BE(comment.length + 2);
  // SOI, then a COM segment, then the rest of the image.
  return Buffer.concat([
    JPEG_1X1.subarray(0, 2),
    Buffer.from([0xff, 0xfe]),
    length,
    comment,
    JPEG_1X1.subarray(2),
  ]);
}
