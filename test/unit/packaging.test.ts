import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import picomatch from 'picomatch';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

/**
 * electron-builder.yml, read as electron-builder reads it: the installers it makes, and that every
 * path it names is there (in the repo, or in out/ after `npm run build`). Packaging itself needs the
 * Electron binary and is not run by the tests.
 */
const root = resolve(__dirname, '../..');
const built = existsSync(resolve(root, 'out/main/index.js'));

type Target = string | { target: string; arch?: string[] };
type BuilderConfig = {
  appId: string;
  productName: string;
  directories: { output: string };
  files: string[];
  asarUnpack: string[];
  npmRebuild: boolean;
  extraResources: { from: string; to: string; filter?: string[] }[];
  icon: string;
  linux: {
    target: Target[];
    category: string;
    maintainer: string;
    icon: string;
    desktop: { entry: Record<string, string> };
  };
  mac: { target: Target[]; category: string; hardenedRuntime: boolean; icon: string };
  win: { target: Target[]; icon: string };
  nsis: { oneClick: boolean; perMachine: boolean };
  electronFuses: Record<string, boolean>;
};

const config = parse(readFileSync(resolve(root, 'electron-builder.yml'), 'utf8')) as BuilderConfig;
const names = (targets: Target[]) => targets.map((t) => (typeof t === 'string' ? t : t.target));

/** Whether electron-builder's `files` list (later patterns win, `!` excludes) takes a path of the app. */
function packed(path: string): boolean {
  let taken = false;
  for (const pattern of config.files) {
    const exclude = pattern.startsWith('!');
    if (picomatch(exclude ? pattern.slice(1) : pattern, { dot: true })(path)) taken = !exclude;
  }
  return taken;
}

describe('the installers (electron-builder.yml)', () => {
  it('names the app and builds AppImage + deb, a dmg and an NSIS installer into dist/', () => {
    expect(config.appId).toBe('dev.ferry.app');
    expect(config.productName).toBe('Ferry');
    expect(config.directories.output).toBe('dist');
    expect(names(config.linux.target).sort()).toEqual(['AppImage', 'deb']);
    expect(config.linux.category).toBe('Utility');
    expect(config.linux.maintainer).toMatch(/<.+@.+>/);
    expect(config.linux.desktop.entry['Name']).toBe('Ferry');
    expect(names(config.mac.target)).toEqual(['dmg']);
    expect(config.mac.category).toBe('public.app-category.utilities');
    expect(config.mac.hardenedRuntime).toBe(true);
    expect(names(config.win.target)).toEqual(['nsis']);
    // An assisted installer, per user: no administrator rights needed.
    expect(config.nsis).toMatchObject({ oneClick: false, perMachine: false });
  });

  it('rebuilds better-sqlite3 for Electron and keeps its native binary and the file worker out of the asar', () => {
    expect(config.npmRebuild).toBe(true);
    const unpacked = (p: string) => config.asarUnpack.some((g) => picomatch(g, { dot: true })(p));
    expect(unpacked('node_modules/better-sqlite3/build/Release/better_sqlite3.node')).toBe(true);
    expect(unpacked('out/main/fileWorker.js')).toBe(true);
    expect(unpacked('out/main/index.js')).toBe(false);
  });

  it('packs the built app (main, preload, window) and package.json, not the CLI bundle or source maps', () => {
    const pkg = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8')) as { main: string };
    for (const p of [
      pkg.main,
      'out/main/fileWorker.js',
      'out/preload/index.js',
      'out/renderer/index.html',
      'package.json',
    ])
      expect(packed(p), p).toBe(true);
    expect(packed('resources/icon.png')).toBe(true);
    expect(packed('out/node/cli.js')).toBe(false);
    expect(packed('out/main/index.js.map')).toBe(false);
    expect(packed('src/main/index.ts')).toBe(false);
    expect(packed('node_modules/better-sqlite3/deps/sqlite3/sqlite3.c')).toBe(false);
  });

  it('names only paths that exist in the repo', () => {
    const icons = [config.icon, config.linux.icon, config.mac.icon, config.win.icon];
    for (const p of icons) expect(existsSync(resolve(root, p)), p).toBe(true);
    expect(readFileSync(resolve(root, config.icon)).readUInt32BE(16)).toBeGreaterThanOrEqual(512); // PNG width
    for (const r of config.extraResources) expect(existsSync(resolve(root, r.from)), r.from).toBe(true);
    // The tray's icons, macOS Template images among them, go to process.resourcesPath/tray.
    const tray = config.extraResources.find((r) => r.from === 'resources/tray');
    expect(tray?.to).toBe('tray');
    expect(existsSync(resolve(root, 'resources/tray/tray-idleTemplate.png'))).toBe(true);
    const listed = config.files.filter((p) => !p.startsWith('!') && !p.includes('*'));
    for (const p of listed) expect(existsSync(resolve(root, p)), p).toBe(true);
  });

  it.skipIf(!built)('names only paths that exist after a build (out/)', () => {
    const pkg = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8')) as { main: string };
    for (const p of [pkg.main, 'out/main/fileWorker.js', 'out/preload/index.js', 'out/renderer/index.html'])
      expect(existsSync(resolve(root, p)), p).toBe(true);
  });

  it('flips the fuses: no run-as-node, NODE_OPTIONS or --inspect, app only from an integrity-checked asar', () => {
    expect(config.electronFuses).toEqual({
      runAsNode: false,
      enableCookieEncryption: true,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true,
      grantFileProtocolExtraPrivileges: false,
    });
    // Every name is one electron-builder knows (a misspelt fuse would be ignored, not refused).
    const scheme = JSON.parse(readFileSync(resolve(root, 'node_modules/app-builder-lib/scheme.json'), 'utf8')) as {
      definitions: Record<string, { properties: Record<string, unknown> }>;
    };
    const known = Object.keys(scheme.definitions['FuseOptionsV1']?.properties ?? {});
    for (const name of Object.keys(config.electronFuses)) expect(known, name).toContain(name);
  });

  it('is run by npm run dist / dist:dir after a full build', () => {
    const pkg = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    expect(pkg.scripts['dist']).toBe('npm run build && electron-builder');
    expect(pkg.scripts['dist:dir']).toBe('npm run build && electron-builder --dir');
    expect(pkg.devDependencies['electron-builder']).toBe('26.17.0');
  });
});
