// Byte- and text-level mutation for the targets whose input is not a protobuf: sim engines
// (with the header's length and checksum rewritten, see fixEngineHeader) and the text formats
// of the TypeScript parsers (token-aware: the separators and numbers those grammars split on).
import { INTERESTING_INTS } from './random.mjs';

const HEADER_SIZE = 32;  // native/sim/engine_format.h
const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;

/** FNV-1a 64 of the payload, as engine_format.cc computes it. */
export function fnv1a64(bytes) {
  let h = FNV_OFFSET;
  for (const b of bytes) h = BigInt.asUintN(64, (h ^ BigInt(b)) * FNV_PRIME);
  return h;
}

/**
 * Makes a sim engine's header agree with its payload (length, checksum; magic and version
 * are kept as they are), so that mutations reach the payload parser behind the checksum,
 * as the native engine target's custom mutator does.
 */
export function fixEngineHeader(bytes) {
  if (bytes.length < HEADER_SIZE) return bytes;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const payload = bytes.subarray(HEADER_SIZE);
  view.setBigUint64(16, BigInt(payload.length), true);
  view.setBigUint64(24, fnv1a64(payload), true);
  return bytes;
}

export function mutateBytes(bytes, rnd) {
  const out = Array.from(bytes);
  const count = 1 + rnd.int(3);
  for (let i = 0; i < count; i++) {
    const at = out.length > 0 ? rnd.int(out.length) : 0;
    switch (rnd.int(5)) {
      case 0: out[at] = rnd.int(256); break;
      case 1: out.splice(at, 1 + rnd.int(8)); break;
      case 2: out.splice(at, 0, ...Array.from({ length: 1 + rnd.int(8) }, () => rnd.int(256))); break;
      case 3: {
        // An integer field (counts, dims, lengths are u32/i64 little-endian) set to an edge.
        const value = BigInt.asUintN(64, rnd.pick(INTERESTING_INTS));
        const width = rnd.chance(0.5) ? 4 : 8;
        for (let k = 0; k < width && at + k < out.length; k++) out[at + k] = Number((value >> BigInt(8 * k)) & 0xffn);
        break;
      }
      default: {
        // A chunk copied elsewhere: repeats a tensor or node record.
        const from = rnd.int(out.length || 1);
        out.splice(at, 0, ...out.slice(from, from + 1 + rnd.int(32)));
      }
    }
  }
  return Uint8Array.from(out);
}

/** A mutated sim engine; seven times in eight with a consistent header. */
export function mutateEngine(bytes, rnd) {
  const out = mutateBytes(bytes, rnd);
  return rnd.int(8) === 0 ? out : fixEngineHeader(out);
}

const TOKENS = [':', ': ', 'x', ',', '\n', '\r\n', "'", '-', '0', '1', '00000000', 'ffffffff', '7f800000', '7fc00000',
  '80000000', '9007199254740993', '1e309', 'NaN', ' ', '\u0000', '\ud800', 'é', 'TRT-', '-EntropyCalibration2', '__proto__'];

/** A mutated text seed (UTF-8 bytes in and out; invalid UTF-8 now and then, on purpose). */
export function mutateText(bytes, rnd) {
  if (rnd.chance(0.1)) return mutateBytes(bytes, rnd);
  let text = new TextDecoder().decode(bytes);
  const count = 1 + rnd.int(3);
  for (let i = 0; i < count; i++) {
    const at = rnd.int(text.length + 1);
    switch (rnd.int(4)) {
      case 0: text = text.slice(0, at) + rnd.pick(TOKENS) + text.slice(at); break;
      case 1: text = text.slice(0, at) + text.slice(at + 1 + rnd.int(4)); break;
      case 2: {
        const lines = text.split('\n');
        lines.splice(rnd.int(lines.length + 1), 0, rnd.pick(lines));
        text = lines.join('\n');
        break;
      }
      default: text = text.slice(0, at) + rnd.pick(TOKENS).repeat(1 + rnd.int(300)) + text.slice(at);
    }
  }
  return new TextEncoder().encode(text);
}
