// The PNG check that stands between the sandbox's figure channel and the client: only
// well-formed images get through, whatever bytes the sandboxed code writes.
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { pngProblem } from '../worker/png.js';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function chunk(type: string, data: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(body));
  return Buffer.concat([head, body, crc]);
}

function ihdr(width: number, height: number, depth = 8, colour = 0, interlace = 0): Buffer {
  const d = Buffer.alloc(13);
  d.writeUInt32BE(width, 0);
  d.writeUInt32BE(height, 4);
  d.set([depth, colour, 0, 0, interlace], 8);
  return chunk('IHDR', d);
}

/** Scanlines of a width x height image with `bytesPerRow` bytes after each filter byte. */
function rows(height: number, bytesPerRow: number, filter = 0): Buffer {
  return Buffer.concat(Array.from({ length: height }, () => Buffer.concat([Buffer.from([filter]), Buffer.alloc(bytesPerRow, 7)])));
}

function png(...chunks: Buffer[]): Buffer {
  return Buffer.concat([SIGNATURE, ...chunks]);
}

const grey = png(ihdr(4, 3), chunk('IDAT', zlib.deflateSync(rows(3, 4))), chunk('IEND'));

describe('figure check', () => {
  it('accepts well-formed PNGs: grey, RGBA split over IDATs, palette, interlaced, with ancillary chunks', () => {
    expect(pngProblem(grey)).toBeNull();
    const rgba = zlib.deflateSync(rows(2, 5 * 4));
    expect(pngProblem(png(ihdr(5, 2, 8, 6), chunk('tEXt', Buffer.from('Software\0brain')), chunk('IDAT', rgba.subarray(0, 7)), chunk('IDAT', rgba.subarray(7)), chunk('IEND')))).toBeNull();
    expect(pngProblem(png(ihdr(3, 2, 8, 3), chunk('PLTE', Buffer.alloc(6)), chunk('IDAT', zlib.deflateSync(rows(2, 3))), chunk('IEND')))).toBeNull();
    // Adam7 of 3 x 3 grey: passes 2 and 3 are empty, the others 1x1, 1x1, 2x1, 1x2 and 3x1.
    const adam7 = Buffer.concat([[1, 1], [1, 1], [2, 1], [1, 2], [3, 1]].map(([w, h]) => rows(h, w)));
    expect(pngProblem(png(ihdr(3, 3, 8, 0, 1), chunk('IDAT', zlib.deflateSync(adam7)), chunk('IEND')))).toBeNull();
  });

  it('refuses a signature followed by anything else, a bad CRC, and broken structure', () => {
    expect(pngProblem(Buffer.concat([SIGNATURE, Buffer.from('not really an image, just bytes after a signature')]))).toMatch(/chunk/);
    const badCrc = Buffer.from(grey);
    badCrc[badCrc.length - 13] ^= 1;
    expect(pngProblem(badCrc)).toMatch(/bad CRC/);
    expect(pngProblem(Buffer.concat([grey, Buffer.from('trailing')]))).toMatch(/after IEND/);
    expect(pngProblem(grey.subarray(0, grey.length - 12))).toMatch(/no IEND/);
    expect(pngProblem(png(chunk('IDAT', zlib.deflateSync(rows(3, 4))), ihdr(4, 3), chunk('IEND')))).toMatch(/IHDR is not the first/);
    expect(pngProblem(png(ihdr(4, 3), chunk('ABCD', Buffer.alloc(3)), chunk('IDAT', zlib.deflateSync(rows(3, 4))), chunk('IEND')))).toMatch(/unknown critical chunk/);
    expect(pngProblem(png(ihdr(4, 3, 8, 3), chunk('IDAT', zlib.deflateSync(rows(3, 4))), chunk('IEND')))).toMatch(/without PLTE/);
    expect(pngProblem(png(ihdr(4, 3, 3, 0), chunk('IDAT', zlib.deflateSync(rows(3, 4))), chunk('IEND')))).toMatch(/bit depth 3/);
  });

  it('refuses absurd dimensions, and image data that does not match them (no decompression bomb gets inflated past the size)', () => {
    expect(pngProblem(png(ihdr(100_000, 100_000), chunk('IDAT', zlib.deflateSync(rows(1, 1))), chunk('IEND')))).toMatch(/out of range/);
    expect(pngProblem(png(ihdr(8000, 8000), chunk('IDAT', zlib.deflateSync(rows(1, 1))), chunk('IEND')))).toMatch(/more than/);
    expect(pngProblem(png(ihdr(0, 3), chunk('IDAT', zlib.deflateSync(rows(3, 4))), chunk('IEND')))).toMatch(/out of range/);
    // 64 MB of zeros behind a 4 x 3 header: inflation stops one byte past the 15 expected.
    const bomb = zlib.deflateSync(Buffer.alloc(64 << 20));
    expect(pngProblem(png(ihdr(4, 3), chunk('IDAT', bomb), chunk('IEND')))).toMatch(/inflate|bytes, the header needs/);
    expect(pngProblem(png(ihdr(4, 3), chunk('IDAT', zlib.deflateSync(rows(2, 4))), chunk('IEND')))).toMatch(/the header needs 15/);
    expect(pngProblem(png(ihdr(4, 3), chunk('IDAT', zlib.deflateSync(rows(3, 4, 9))), chunk('IEND')))).toMatch(/scanline filter 9/);
    expect(pngProblem(png(ihdr(4, 3), chunk('IDAT', Buffer.from('not zlib at all')), chunk('IEND')))).toMatch(/inflate/);
  });
});
