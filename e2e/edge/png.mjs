// A PNG decoder for the e2e checks, on node:zlib alone: 8-bit greyscale,
// grey+alpha, RGB and RGBA, not interlaced — what Go's image/png writes for
// the pictures twig sends (an opaque RGBA picture is written as RGB). Any
// other PNG is an error naming what it is.
import { inflateSync } from "node:zlib";

const sig = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const channels = { 0: 1, 2: 3, 4: 2, 6: 4 };

// decodePNG returns {width, height, rgba} (rgba: a Buffer, 4 bytes a pixel,
// straight alpha) for a PNG's bytes or base64 text.
export function decodePNG(input) {
  const b = typeof input === "string" ? Buffer.from(input, "base64") : Buffer.from(input);
  if (b.length < 8 || !b.subarray(0, 8).equals(sig)) throw new Error("not a PNG");
  let width = 0, height = 0, depth = 0, type = -1, interlace = 0;
  const idat = [];
  for (let p = 8; p + 8 <= b.length; ) {
    const len = b.readUInt32BE(p), kind = b.toString("latin1", p + 4, p + 8), data = b.subarray(p + 8, p + 8 + len);
    if (kind === "IHDR") [width, height, depth, type, interlace] = [data.readUInt32BE(0), data.readUInt32BE(4), data[8], data[9], data[12]];
    else if (kind === "IDAT") idat.push(data);
    else if (kind === "IEND") break;
    p += 12 + len;
  }
  const ch = channels[type];
  if (depth !== 8 || !ch || interlace) throw new Error(`PNG of depth ${depth}, colour type ${type}, interlace ${interlace}: not supported here`);
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * ch;
  if (raw.length !== height * (stride + 1)) throw new Error(`PNG data of ${raw.length} bytes for ${width}×${height}`);
  const cur = Buffer.alloc(stride), prev = Buffer.alloc(stride);
  const rgba = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)], line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let i = 0; i < stride; i++) {
      const a = i >= ch ? cur[i - ch] : 0, up = prev[i], c = i >= ch ? prev[i - ch] : 0;
      let v = line[i];
      switch (f) {
        case 0: break;
        case 1: v += a; break;
        case 2: v += up; break;
        case 3: v += (a + up) >> 1; break;
        case 4: {
          const pa = Math.abs(up - c), pb = Math.abs(a - c), pc = Math.abs(a + up - 2 * c);
          v += pa <= pb && pa <= pc ? a : pb <= pc ? up : c;
          break;
        }
        default: throw new Error(`PNG row ${y}: filter ${f}`);
      }
      cur[i] = v & 255;
    }
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 4, s = x * ch;
      if (ch <= 2) rgba.fill(cur[s], o, o + 3);
      else cur.copy(rgba, o, s, s + 3);
      rgba[o + 3] = ch === 4 ? cur[s + 3] : ch === 2 ? cur[s + 1] : 255;
    }
    cur.copy(prev);
  }
  return { width, height, rgba };
}
