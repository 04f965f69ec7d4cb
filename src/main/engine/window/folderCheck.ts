import { readdirSync, statSync, type Dirent } from 'node:fs';
import { join, resolve } from 'node:path';
import type { FolderCheckResult, IgnorePreviewResult } from '../../../shared/contract';
import { expandHome } from '../config/loadConfig';
import { IgnoreStack, isTempName } from '../scan/ignoreRules';

/** Whether a path typed into the window can be synced: it exists, is a folder and can be read. */
export function checkFolder(path: string): FolderCheckResult {
  const resolved = resolve(expandHome(path.trim()));
  let isDir: boolean;
  try {
    isDir = statSync(resolved).isDirectory();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return {
      ok: false,
      resolved,
      message:
        code === 'ENOENT'
          ? `there is no folder at ${resolved}: create it, or check the spelling`
          : `${resolved} cannot be reached (${code ?? 'error'}): check that Ferry may read it`,
    };
  }
  if (!isDir)
    return { ok: false, resolved, message: `${resolved} is a file, not a folder: pick the folder that holds it` };
  try {
    const entries = readdirSync(resolved).length;
    return { ok: true, resolved, message: `a folder with ${entries} entr${entries === 1 ? 'y' : 'ies'}`, entries };
  } catch (err) {
    return {
      ok: false,
      resolved,
      message: `${resolved} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}): give your user read permission`,
    };
  }
}

/** Entries looked at before the answer is cut short. */
const MAX_SCANNED = 50_000;

/**
 * What a draft list of ignore patterns leaves out of a folder, with the scanner's own semantics
 * (IgnoreStack: the patterns, then .ferryignore files layered as git layers .gitignore files).
 */
export function previewIgnore(path: string, patterns: readonly string[], limit: number): IgnorePreviewResult {
  const root = resolve(expandHome(path.trim()));
  const ignored: string[] = [];
  let ignoredCount = 0;
  let scanned = 0;
  let truncated = false;
  const stack: { abs: string; rel: string; rules: IgnoreStack }[] = [
    { abs: root, rel: '', rules: IgnoreStack.forRoot(patterns).enter(root, '') },
  ];
  while (stack.length > 0 && !truncated) {
    const { abs, rel, rules } = stack.pop() as (typeof stack)[number];
    let entries: Dirent[];
    try {
      entries = readdirSync(abs, { withFileTypes: true });
    } catch {
      continue;
    }
    entries.sort((a, b) => a.name.localeCompare(b.name));
    for (const d of entries) {
      if (++scanned > MAX_SCANNED) {
        truncated = true;
        break;
      }
      if (isTempName(d.name)) continue;
      const childRel = rel === '' ? d.name : `${rel}/${d.name}`;
      const isDir = d.isDirectory();
      if (rules.ignores(childRel, isDir)) {
        ignoredCount++;
        if (ignored.length < limit) ignored.push(isDir ? `${childRel}/` : childRel);
      } else if (isDir) {
        const childAbs = join(abs, d.name);
        stack.push({ abs: childAbs, rel: childRel, rules: rules.enter(childAbs, childRel) });
      }
    }
  }
  return { ignored, ignoredCount, scanned: Math.min(scanned, MAX_SCANNED), truncated };
}
