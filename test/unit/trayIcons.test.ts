import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import { describe, expect, it } from 'vitest';
import { TRAY_STATES, allTrayIconImages } from '../../src/main/desktop/trayModel';

const dir = resolve(__dirname, '../../resources/tray');
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Width, height and colour type from a PNG's IHDR chunk (which must come first). */
function ihdr(png: Buffer): { width: number; height: number; colorType: number } {
  expect(png.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
  expect(png.toString('latin1', 12, 16)).toBe('IHDR');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20), colorType: png.readUInt8(25) };
}

/** The decoded pixels (premultiplied RGBA), by drawing the PNG with the rasterizer the icons come from. */
function pixels(png: Buffer, px: number): Uint8Array {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${px}" height="${px}"><image width="${px}" height="${px}" href="data:image/png;base64,${png.toString('base64')}"/></svg>`;
  return new Resvg(svg).render().pixels;
}

describe('tray icons (resources/tray, made by `npm run icons`)', () => {
  const images = allTrayIconImages();

  it.each(images.map((i) => [i.file, i.px] as const))('%s is a %i px square PNG', (file, px) => {
    const path = resolve(dir, file);
    expect(existsSync(path), `${file} is missing: run npm run icons`).toBe(true);
    expect(ihdr(readFileSync(path))).toMatchObject({ width: px, height: px });
  });

  it('holds no PNG the tray does not use', () => {
    const named = new Set(images.map((i) => i.file));
    expect(readdirSync(dir).filter((f) => f.endsWith('.png') && !named.has(f))).toEqual([]);
  });

  it('has an SVG source for every state', () => {
    for (const state of TRAY_STATES) expect(existsSync(resolve(dir, 'src', `${state}.svg`)), state).toBe(true);
  });

  it('macOS template images are black with alpha, and not empty', () => {
    for (const { file, px } of images.filter((i) => i.file.includes('Template'))) {
      const png = readFileSync(resolve(dir, file));
      expect(ihdr(png).colorType, file).toBe(6); // RGBA
      const data = pixels(png, px);
      let opaque = 0;
      for (let i = 0; i < data.length; i += 4) {
        expect([data[i], data[i + 1], data[i + 2]], `${file}: a pixel that is not black`).toEqual([0, 0, 0]);
        if ((data[i + 3] ?? 0) > 128) opaque++;
      }
      expect(opaque, file).toBeGreaterThan((px * px) / 8);
    }
  });

  it('light-bar icons are dark and dark-bar icons are light', () => {
    const luminance = (file: string, px: number): number => {
      const data = pixels(readFileSync(resolve(dir, file)), px);
      let sum = 0;
      let weight = 0;
      for (let i = 0; i < data.length; i += 4) {
        const a = data[i + 3] ?? 0;
        if (a === 0) continue;
        // premultiplied: divide the alpha back out
        sum += ((data[i] ?? 0) + (data[i + 1] ?? 0) + (data[i + 2] ?? 0)) / 3 / (a / 255);
        weight++;
      }
      return sum / weight;
    };
    expect(luminance('tray-idle-light-24.png', 24)).toBeLessThan(80);
    expect(luminance('tray-idle-dark-24.png', 24)).toBeGreaterThan(200);
  });
});
