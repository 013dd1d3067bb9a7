/**
 * The random part of a session's public id.
 */
import { randomUUID } from 'node:crypto';

/**
 * A new random UUID, stored as one flat string. `randomUUID()` assembles its
 * 36 characters from some twenty short strings, and V8 keeps such a string as
 * the tree of its concatenations (about 450 bytes) for as long as it lives; a
 * session keeps its id for its whole life. Copying it through its Latin-1
 * bytes (a UUID is ASCII) stores it as one string of about 60 bytes.
 */
export function sessionUuid(): string {
  return Buffer.from(randomUUID(), 'latin1').toString('latin1');
}
