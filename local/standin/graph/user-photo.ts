/** Profile photo bytes: explicit bytes when set, else a tiny valid JPEG made unique by a comment with the user id. */
import type { UserPhoto } from '../tenant/types.js';

const JPEG_1X1 = Buffer.from(
  '/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAP//////////////////////////////////////////////////////////////////////////////////////wgALCAABAAEBAREA/8QAFBABAAAAAAAAAAAAAAAAAAAAAP/aAAgBAQABPxA=',
  'base64',
);

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
