// Rasterizes the tray icons: resources/tray/src/<state>.svg → resources/tray/*.png (`npm run icons`;
// the PNGs are committed, so a build needs no rasterizer). Each source draws the glyph in
// `currentColor` (the root's `color`) and its badge in the fill of `class="badge"`; this script sets
// both for each kind of menu bar:
//   tray-<state>-light-<16|24|32>.png  dark glyph, for light bars (Windows, Linux)
//   tray-<state>-dark-<16|24|32>.png   light glyph, for dark bars (Windows, Linux)
//   tray-<state>Template.png, …Template@2x.png  black with alpha (macOS tints template images itself)
// The names are those src/main/desktop/trayModel.ts asks for (test/unit/trayIcons.test.ts checks them).
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Resvg } from '@resvg/resvg-js';

const dir = fileURLToPath(new URL('../resources/tray/', import.meta.url));

const STATES = ['idle', 'syncing', 'paused', 'error', 'offline'];

/** Badge colours: the 600 shades on a light bar, the 400 shades on a dark one (contrast on both). */
const BADGES = {
  syncing: { light: '#2563eb', dark: '#60a5fa' },
  paused: { light: '#d97706', dark: '#fbbf24' },
  error: { light: '#dc2626', dark: '#f87171' },
  offline: { light: '#64748b', dark: '#94a3b8' },
};

const VARIANTS = [
  {
    theme: 'light',
    glyph: '#1f2937',
    files: [16, 24, 32].map((px) => ({ px, name: (s) => `tray-${s}-light-${px}.png` })),
  },
  {
    theme: 'dark',
    glyph: '#f1f5f9',
    files: [16, 24, 32].map((px) => ({ px, name: (s) => `tray-${s}-dark-${px}.png` })),
  },
  {
    theme: 'template',
    glyph: '#000000',
    files: [
      { px: 16, name: (s) => `tray-${s}Template.png` },
      { px: 32, name: (s) => `tray-${s}Template@2x.png` },
    ],
  },
];

/** Replaces one attribute value in the source, failing loudly if the source no longer has it. */
function replaceOnce(svg, pattern, replacement, what) {
  if (!pattern.test(svg)) throw new Error(`tray-icons: ${what} not found`);
  return svg.replace(pattern, replacement);
}

function colour(svg, state, variant) {
  let out = replaceOnce(svg, /(<svg\b[^>]*\bcolor=")[^"]*(")/, `$1${variant.glyph}$2`, `${state}.svg: color on <svg>`);
  const badge = BADGES[state];
  if (badge) {
    const fill = variant.theme === 'template' ? '#000000' : badge[variant.theme];
    out = replaceOnce(out, /(class="badge"\s+fill=")[^"]*(")/, `$1${fill}$2`, `${state}.svg: class="badge" fill`);
  }
  return out;
}

let written = 0;
for (const state of STATES) {
  const source = readFileSync(`${dir}src/${state}.svg`, 'utf8');
  for (const variant of VARIANTS) {
    const svg = colour(source, state, variant);
    for (const { px, name } of variant.files) {
      const png = new Resvg(svg, { fitTo: { mode: 'width', value: px }, font: { loadSystemFonts: false } })
        .render()
        .asPng();
      writeFileSync(`${dir}${name(state)}`, png);
      written++;
    }
  }
}
console.log(`tray-icons: ${written} PNGs written to resources/tray/`);
