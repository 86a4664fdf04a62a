/**
 * The engine cache's entry file: one line naming the format, one line of JSON saying what the
 * entry is (the key's fields, the plan's size and SHA-256, when it was built), then the plan.
 * `head -2 ENTRY` shows a person what an entry holds; the size and digest let a reader tell a
 * truncated or damaged entry from a good one before handing its bytes to a runtime.
 */
import type { CacheKeyFields } from './cache-key.js';
import { sha256Hex } from './model-digest.js';

const MAGIC = 'tensorrt-node engine cache entry v1\n';
/** A header longer than this is damage, not metadata. */
const MAX_HEADER_BYTES = 1 << 20;

export interface EntryHeader extends CacheKeyFields {
  key: string;
  /** ISO 8601 time of the build. */
  built: string;
  planBytes: number;
  planSha256: string;
}

/** The entry's bytes before the plan. */
export function encodeEntryHeader(key: string, fields: CacheKeyFields, plan: Uint8Array): Uint8Array {
  const header: EntryHeader = { key, built: new Date().toISOString(), planBytes: plan.byteLength, planSha256: sha256Hex(plan), ...fields };
  return new TextEncoder().encode(`${MAGIC}${JSON.stringify(header)}\n`);
}

/** A readable entry, or why it is not one. */
export type DecodedEntry = { header: EntryHeader; plan: Uint8Array } | { problem: string };

/** Checks an entry file's bytes against the key it was looked up by. */
export function decodeEntry(bytes: Uint8Array, key: string): DecodedEntry {
  const magic = new TextEncoder().encode(MAGIC);
  if (bytes.byteLength < magic.byteLength || !magic.every((b, i) => bytes[i] === b)) return { problem: 'it does not start with the entry header' };
  const end = bytes.indexOf(0x0a, magic.byteLength);
  if (end < 0 || end - magic.byteLength > MAX_HEADER_BYTES) return { problem: 'its header is cut off' };
  let header: EntryHeader;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(magic.byteLength, end))) as EntryHeader;
  } catch {
    return { problem: 'its header is not JSON' };
  }
  if (typeof header !== 'object' || header === null || header.key !== key) return { problem: 'its header names another key' };
  const plan = bytes.subarray(end + 1);
  if (plan.byteLength !== header.planBytes) return { problem: `it holds ${plan.byteLength} plan bytes where its header says ${String(header.planBytes)} (truncated?)` };
  if (sha256Hex(plan) !== header.planSha256) return { problem: "its plan's SHA-256 does not match its header (damaged)" };
  return { header, plan };
}
