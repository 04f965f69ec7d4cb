import { isDeepStrictEqual } from 'node:util';
import { isMap, isScalar, isSeq, parseDocument, stringify, type Document, type Node as YamlNode } from 'yaml';
import { parseConfig } from './loadConfig';

/**
 * The config file's new text for a configuration edited elsewhere (the window, the API), changing only
 * what changed. The editor works on the parsed config — defaults filled in, `~` and relative paths
 * resolved — so a value equal to the parsed one keeps the person's own spelling, and their comments,
 * order and layout stay where they were. Folders, destinations and rules are matched by id or name,
 * so reordering or removing one moves or drops its comments with it.
 */
export function updateConfigText(oldText: string, next: unknown, file: string, baseDir: string): string {
  let doc: Document;
  let before: unknown;
  try {
    doc = parseDocument(oldText, { uniqueKeys: true });
    if (doc.errors.length > 0 || !isMap(doc.contents)) return stringify(next);
    // Only the shape matters here: a file whose folders overlap is being fixed, its comments stay.
    before = parseConfig(oldText, file, baseDir, { paths: false });
  } catch {
    // The file on disk is not a valid config any more: nothing of it can be kept safely.
    return stringify(next);
  }
  if (isDeepStrictEqual(before, next)) return oldText;
  doc.contents = patch(doc, doc.contents, before, next) as typeof doc.contents;
  // yaml re-prints flow collections with or without inner spaces, for all alike: as most of the file did.
  const padded = (oldText.match(/[[{] /g) ?? []).length;
  const tight = (oldText.match(/[[{][^\s\]}]/g) ?? []).length;
  return doc.toString({ flowCollectionPadding: padded > tight });
}

/** `node` (whose parsed value is `before`) made to hold `after`, reusing every part that did not change. */
function patch(doc: Document, node: unknown, before: unknown, after: unknown): unknown {
  if (isDeepStrictEqual(before, after) && node !== undefined) return node;
  // An empty `[]` or `{}` that gets entries is written in block style: the person wrote it empty, not
  // in flow style, and entries inside a flow collection would all be printed on one line.
  if ((isSeq(node) || isMap(node)) && node.flow && node.items.length === 0) node.flow = false;
  if (isMap(node) && isPlainObject(after)) {
    const was = isPlainObject(before) ? before : {};
    for (const key of Object.keys(after)) {
      const value = after[key];
      if (value === undefined) continue;
      const child = node.get(key, true) as unknown;
      if (child === undefined) {
        // A default the parser filled in and nobody changed stays unwritten (inside a new section too).
        if (isDeepStrictEqual(was[key], value)) continue;
        const fresh = isPlainObject(value) && isPlainObject(was[key]) ? doc.createNode({}) : undefined;
        node.set(key, fresh ? patch(doc, fresh, was[key], value) : doc.createNode(value));
      } else node.set(key, patch(doc, child, was[key], value));
    }
    for (const pair of [...node.items]) {
      const key = isScalar(pair.key) ? pair.key.value : pair.key;
      if (typeof key === 'string' && !(key in after)) node.delete(key);
    }
    return node;
  }
  if (isSeq(node) && Array.isArray(after)) {
    const was = Array.isArray(before) ? before : [];
    // A comment above the first entry belongs to that entry, wherever it moves.
    const first = node.items[0] as YamlNode | undefined;
    if (node.commentBefore && first && !first.commentBefore) {
      first.commentBefore = node.commentBefore;
      node.commentBefore = undefined;
    }
    const olds = node.items.map((item, i) => ({ item, value: was[i] as unknown, used: false }));
    const byId = new Map<string, (typeof olds)[number]>();
    for (const o of olds) {
      const id = identity(o.value);
      if (id !== undefined) byId.set(id, o);
    }
    const kept = new Set(after.map(identity).filter((id) => id !== undefined));
    node.items = after.map((value, i) => {
      const id = identity(value);
      // Matched by id or name; else by position, unless the entry there is still in the list elsewhere
      // (an entry whose id or name was edited stays the same entry).
      const there = olds[i];
      const byPlace = there && !kept.has(identity(there.value) as string) ? there : undefined;
      const old = (id !== undefined ? byId.get(id) : undefined) ?? byPlace;
      if (!old || old.used) return doc.createNode(value);
      old.used = true;
      return patch(doc, old.item, old.value, value) as YamlNode;
    });
    return node;
  }
  // A changed scalar keeps its node, and with it the comment on its line.
  if (isScalar(node) && (after === null || typeof after !== 'object')) {
    node.value = after;
    return node;
  }
  return doc.createNode(after);
}

/** What names an entry of a list across edits: a folder's or destination's id, a rule's name. */
function identity(value: unknown): string | undefined {
  if (!isPlainObject(value)) return undefined;
  if (typeof value.id === 'string') return `id:${value.id}`;
  if (typeof value.name === 'string') return `name:${value.name}`;
  return undefined;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
