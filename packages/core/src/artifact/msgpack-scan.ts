/**
 * A bounded structural check of one MessagePack value, run before it is decoded: the nesting
 * depth is limited, every declared length (of an array, map, string or binary) must fit in the
 * bytes that are left, and the value must end exactly at the end of the bytes. The walk is
 * iterative and allocates nothing per item, so a hostile blob — nesting 10⁵ deep, an array
 * declaring 2³² elements with nothing behind it — is refused in time proportional to its
 * header count, before the decoder allocates anything or recurses.
 *
 * Extension types and the never-used byte 0xc1 are refused too: the weights format is plain
 * MessagePack (nil, booleans, numbers, strings, binaries, arrays, maps) and uses none.
 */

/** Why a value was refused, or undefined when its structure is sound. */
export type MsgpackProblem = string | undefined;

export interface MsgpackLimits {
  /** The most containers (arrays, maps) nested in one another. */
  readonly maxDepth: number;
}

/** Bytes of a header's length field, for the length-prefixed types; the payload follows it. */
const LENGTH_FIELD: Readonly<Record<number, number>> = {
  0xc4: 1, // bin 8
  0xc5: 2, // bin 16
  0xc6: 4, // bin 32
  0xd9: 1, // str 8
  0xda: 2, // str 16
  0xdb: 4, // str 32
};

/** Bytes after the type byte of the fixed-size types. */
const FIXED: Readonly<Record<number, number>> = {
  0xc0: 0, // nil
  0xc2: 0, // false
  0xc3: 0, // true
  0xca: 4, // float 32
  0xcb: 8, // float 64
  0xcc: 1,
  0xcd: 2,
  0xce: 4,
  0xcf: 8, // uint 8–64
  0xd0: 1,
  0xd1: 2,
  0xd2: 4,
  0xd3: 8, // int 8–64
};

function readLength(bytes: Uint8Array, at: number, width: number): number {
  let n = 0;
  for (let i = 0; i < width; i++) n = n * 256 + bytes[at + i]!;
  return n;
}

/**
 * Checks that `bytes` hold exactly one MessagePack value within `limits`; returns the problem,
 * or undefined when the structure is sound (the decoder may still refuse its contents).
 */
export function scanMsgpack(bytes: Uint8Array, limits: MsgpackLimits): MsgpackProblem {
  const end = bytes.byteLength;
  // Values still to read in each open container (the top level reads one); bounded by maxDepth.
  const open: number[] = [];
  let remaining = 1;
  let at = 0;
  for (;;) {
    if (remaining === 0) {
      if (open.length === 0) break;
      remaining = open.pop()!;
      continue;
    }
    remaining--;
    if (at >= end) return `it ends inside a value (byte ${at})`;
    const type = bytes[at]!;
    at++;
    let items = 0;
    let skip = 0;
    if (type <= 0x7f || type >= 0xe0)
      skip = 0; // fixint
    else if (type <= 0x8f)
      items = (type & 0x0f) * 2; // fixmap
    else if (type <= 0x9f)
      items = type & 0x0f; // fixarray
    else if (type <= 0xbf)
      skip = type & 0x1f; // fixstr
    else if (FIXED[type] !== undefined) skip = FIXED[type]!;
    else if (LENGTH_FIELD[type] !== undefined) {
      const width = LENGTH_FIELD[type]!;
      if (at + width > end) return `it ends inside a length (byte ${at})`;
      skip = readLength(bytes, at, width);
      at += width;
    } else if (type >= 0xdc && type <= 0xdf) {
      const width = type === 0xdc || type === 0xde ? 2 : 4;
      if (at + width > end) return `it ends inside a length (byte ${at})`;
      const count = readLength(bytes, at, width);
      at += width;
      items = type >= 0xde ? count * 2 : count;
    } else return `byte ${at - 1} is type 0x${type.toString(16)}, which plain MessagePack weights never use`;
    if (skip > end - at) return `a value at byte ${at} declares ${skip} bytes; ${end - at} are left`;
    at += skip;
    if (items > 0) {
      // Every item takes at least one byte: a longer declared list cannot be in the blob.
      if (items > end - at) return `a list at byte ${at} declares ${items} items; ${end - at} bytes are left`;
      if (open.length + 1 > limits.maxDepth)
        return `it nests lists or maps more than ${limits.maxDepth} deep`;
      open.push(remaining);
      remaining = items;
    }
  }
  if (at !== end) return `${end - at} bytes follow the value`;
  return undefined;
}
