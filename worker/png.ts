// Checks that bytes a sandbox calls a figure are a well-formed PNG before brain hands them to the
// client as an image: the signature, an IHDR with sane dimensions and a valid format, every
// chunk's CRC, the image data inflating to exactly the size the header promises (so a
// decompression bomb is cut off at that size), a filter type on every scanline, and IEND last.
// Sandboxed code can write any bytes it likes on the figure channel; only real images get out.
import zlib from 'node:zlib';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Largest figure accepted: 16 megapixels (a 20 x 20 inch matplotlib figure at 80 dpi is 2.6). */
export const MAX_PNG_PIXELS = 16 * 1024 * 1024;
const MAX_SIDE = 32_768;

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Bit depths allowed for each colour type, and the samples per pixel. */
const FORMATS: Record<number, { depths: number[]; channels: number }> = {
  0: { depths: [1, 2, 4, 8, 16], channels: 1 },
  2: { depths: [8, 16], channels: 3 },
  3: { depths: [1, 2, 4, 8], channels: 1 },
  4: { depths: [8, 16], channels: 2 },
  6: { depths: [8, 16], channels: 4 },
};

/** The seven Adam7 passes: x start, y start, x step, y step. */
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
];

/** Width and height of each stored sub-image (one for a plain PNG, seven for an interlaced one). */
function subImages(width: number, height: number, interlaced: boolean): [number, number][] {
  if (!interlaced) return [[width, height]];
  return ADAM7.map(([x0, y0, dx, dy]) => [Math.max(0, Math.ceil((width - x0) / dx)), Math.max(0, Math.ceil((height - y0) / dy))] as [number, number]).filter(([w, h]) => w > 0 && h > 0);
}

/** Why `buf` is not an acceptable PNG, or null when it is one. */
export function pngProblem(buf: Buffer, maxPixels = MAX_PNG_PIXELS): string | null {
  if (buf.length < SIGNATURE.length + 25 + 12 || !buf.subarray(0, 8).equals(SIGNATURE)) return 'no PNG signature';
  let off = 8;
  let header: { width: number; height: number; depth: number; colour: number; interlaced: boolean } | undefined;
  let palette = false;
  const idat: Buffer[] = [];
  let idatDone = false;
  let ended = false;
  while (off < buf.length) {
    if (ended) return 'bytes after IEND';
    if (off + 12 > buf.length) return 'truncated chunk';
    const length = buf.readUInt32BE(off);
    if (length > 0x7fffffff || off + 12 + length > buf.length) return 'chunk longer than the file';
    const type = buf.subarray(off + 4, off + 8);
    const name = type.toString('latin1');
    if (!/^[A-Za-z]{4}$/.test(name)) return 'invalid chunk type';
    const data = buf.subarray(off + 8, off + 8 + length);
    if (crc32(buf.subarray(off + 4, off + 8 + length)) !== buf.readUInt32BE(off + 8 + length)) return `bad CRC in ${name}`;
    off += 12 + length;
    if (!header && name !== 'IHDR') return 'IHDR is not the first chunk';
    if (name !== 'IDAT' && idat.length) idatDone = true;
    switch (name) {
      case 'IHDR': {
        if (header) return 'second IHDR';
        if (length !== 13) return 'IHDR of the wrong length';
        const width = data.readUInt32BE(0);
        const height = data.readUInt32BE(4);
        const [depth, colour, compression, filter, interlace] = [data[8], data[9], data[10], data[11], data[12]];
        if (width === 0 || height === 0 || width > MAX_SIDE || height > MAX_SIDE) return `dimensions ${width} x ${height} out of range`;
        if (width * height > maxPixels) return `${width} x ${height} pixels is more than ${maxPixels}`;
        const format = FORMATS[colour];
        if (!format || !format.depths.includes(depth)) return `colour type ${colour} with bit depth ${depth}`;
        if (compression !== 0 || filter !== 0 || interlace > 1) return 'unknown compression, filter or interlace method';
        header = { width, height, depth, colour, interlaced: interlace === 1 };
        break;
      }
      case 'PLTE':
        if (idat.length || length === 0 || length % 3 !== 0 || length / 3 > 256) return 'invalid PLTE';
        palette = true;
        break;
      case 'IDAT':
        if (idatDone) return 'IDAT chunks are not consecutive';
        idat.push(data);
        break;
      case 'IEND':
        if (length !== 0) return 'IEND with data';
        ended = true;
        break;
      default:
        // Bit 5 of the first letter: lowercase = ancillary (safe to ignore), uppercase = critical.
        if ((type[0] & 0x20) === 0) return `unknown critical chunk ${name}`;
    }
  }
  if (!header || !ended) return 'no IEND';
  if (!idat.length) return 'no image data';
  if (header.colour === 3 && !palette) return 'palette image without PLTE';
  const bitsPerPixel = header.depth * FORMATS[header.colour].channels;
  const rows = subImages(header.width, header.height, header.interlaced).map(([w, h]) => ({ bytes: 1 + Math.ceil((w * bitsPerPixel) / 8), count: h }));
  const expected = rows.reduce((n, r) => n + r.bytes * r.count, 0);
  let raw: Buffer;
  try {
    // One byte more than expected: too much data shows as a longer result or a RangeError.
    raw = zlib.inflateSync(Buffer.concat(idat), { maxOutputLength: expected + 1 });
  } catch (err) {
    return `image data does not inflate (${(err as Error).message})`;
  }
  if (raw.length !== expected) return `image data is ${raw.length} bytes, the header needs ${expected}`;
  let at = 0;
  for (const r of rows) {
    for (let y = 0; y < r.count; y++, at += r.bytes) if (raw[at] > 4) return `unknown scanline filter ${raw[at]}`;
  }
  return null;
}
