import { describe, expect, it } from 'vitest';
import { FerryError } from '../../src/shared/errors';
import { TEMPLATE_FIELDS } from '../../src/shared/config';
import { expandTemplate, type TemplateInput } from '../../src/main/engine/rules/pathTemplate';

// 2023-01-09T23:30:00Z: late on the 9th in UTC, already the 10th east of UTC.
const mtimeNs = BigInt(Date.UTC(2023, 0, 9, 23, 30)) * 1_000_000n + 123_456n;
const input: TemplateInput = { path: 'photos/2023/IMG_0001.JPG', mtimeNs, folder: 'camera', rule: 'to-nas' };

const expand = (template: string, over: Partial<TemplateInput> = {}) => expandTemplate(template, { ...input, ...over });

describe('expandTemplate', () => {
  it('expands every placeholder', () => {
    expect(expand('{path}')).toBe('photos/2023/IMG_0001.JPG');
    expect(expand('{dir}')).toBe('photos/2023');
    expect(expand('{name}')).toBe('IMG_0001.JPG');
    expect(expand('{stem}')).toBe('IMG_0001');
    expect(expand('{ext}')).toBe('JPG');
    expect(expand('{yyyy}')).toBe('2023');
    expect(expand('{mm}')).toBe('01');
    expect(expand('{dd}')).toBe('09');
    expect(expand('{folder}')).toBe('camera');
    expect(expand('{rule}')).toBe('to-nas');
  });

  it('expands every field the config schema allows', () => {
    for (const field of TEMPLATE_FIELDS) expect(expand(`{${field}}`), field).not.toContain('{');
  });

  it('combines placeholders and literal text', () => {
    expect(expand('archive/{folder}/{yyyy}-{mm}-{dd}/{stem}.{ext}')).toBe('archive/camera/2023-01-09/IMG_0001.JPG');
  });

  it('keeps literal text that spells a field name without braces', () => {
    const f = { path: 'a/b.txt', mtimeNs: 0n, folder: 'f', rule: 'r' };
    expect(expandTemplate('text/path/name-{name}', f)).toBe('text/path/name-b.txt');
    expect(expandTemplate('{ext}x/{stem}', f)).toBe('txtx/b');
  });

  it('dates files in UTC with zero-padded month and day', () => {
    expect(expand('{yyyy}/{mm}/{dd}', { mtimeNs: BigInt(Date.UTC(1999, 11, 31, 0, 0, 1)) * 1_000_000n })).toBe(
      '1999/12/31',
    );
    expect(expand('{mm}{dd}', { mtimeNs: BigInt(Date.UTC(2024, 1, 3)) * 1_000_000n })).toBe('0203');
  });

  it('gives a file at the root an empty {dir} without a leading slash', () => {
    expect(expand('{dir}/{name}', { path: 'a.txt' })).toBe('a.txt');
  });

  it('treats a leading dot as part of the stem, not an extension', () => {
    expect(expand('{stem}|{ext}', { path: '.bashrc' })).toBe('.bashrc|');
    expect(expand('{stem}|{ext}', { path: 'noext' })).toBe('noext|');
    expect(expand('{stem}|{ext}', { path: 'a.tar.gz' })).toBe('a.tar|gz');
  });

  it('normalises empty and "." segments and backslashes', () => {
    expect(expand('/x//./{name}/')).toBe('x/IMG_0001.JPG');
    expect(expand('a\\b\\{name}')).toBe('a/b/IMG_0001.JPG');
  });

  it("keeps a backslash of a file's name in the name: it is not a separator on POSIX", () => {
    const f = { path: 'back\\slash.txt', mtimeNs: 0n, folder: 'f', rule: 'r' };
    expect(expandTemplate('x/{name}', f)).toBe('x/back\\slash.txt');
    expect(expandTemplate('x/{dir}/{stem}.{ext}', { ...f, path: 'd\\e/a\\b.txt' })).toBe('x/d\\e/a\\b.txt');
  });

  it('leaves an unknown placeholder as written', () => {
    expect(expand('{nope}/{name}')).toBe('{nope}/IMG_0001.JPG');
  });

  it('refuses a template that escapes the root via ..', () => {
    let caught: unknown;
    try {
      expand('../{name}');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(FerryError);
    expect((caught as FerryError).kind).toBe('invalid-name');
    expect((caught as FerryError).code).toBe('path-escapes-root');
  });

  it('refuses a file name that escapes the root through a placeholder', () => {
    expect(() => expand('{dir}/x', { path: '../../etc/passwd' })).toThrow(FerryError);
    expect(() => expand('in/{folder}/x', { folder: '..' })).toThrow(/leaves the destination's root/);
  });
});
