/**
 * Just enough XML for WebDAV multistatus answers, with namespaces resolved: elements are named
 * `{namespace}local` (Clark notation), so `D:getetag`, `d:getetag` and a default-namespace `getetag`
 * are the same property. No DTDs, no external entities (a DOCTYPE is refused), only the five
 * predefined entities and character references.
 *
 * Why not the `webdav` package's parser: it keeps only the first <propstat> of each response, so a
 * property answered "404" in a separate propstat (common when asking for optional properties such as
 * oc:checksums) can hide the properties that were found.
 */

export type XmlElement = { name: string; children: XmlElement[]; text: string };

export const DAV_NS = 'DAV:';
export const OC_NS = 'http://owncloud.org/ns';

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

export function decodeEntities(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|[a-zA-Z]+);/g, (whole, ref: string) => {
    if (ref.startsWith('#x')) return String.fromCodePoint(Number.parseInt(ref.slice(2), 16));
    if (ref.startsWith('#')) return String.fromCodePoint(Number.parseInt(ref.slice(1), 10));
    return ENTITIES[ref] ?? whole;
  });
}

const ATTR = /([^\s=/>]+)\s*=\s*("([^"]*)"|'([^']*)')/g;

/** Parses a document into its root element. Throws on malformed nesting. */
export function parseXml(xml: string): XmlElement {
  type Frame = { el: XmlElement; ns: Map<string, string>; raw: string };
  const root: XmlElement = { name: '#document', children: [], text: '' };
  const stack: Frame[] = [{ el: root, ns: new Map([['xml', 'http://www.w3.org/XML/1998/namespace']]), raw: '' }];
  let i = 0;
  const top = () => stack[stack.length - 1] as Frame;
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    if (lt < 0) {
      top().el.text += decodeEntities(xml.slice(i));
      break;
    }
    if (lt > i) top().el.text += decodeEntities(xml.slice(i, lt));
    if (xml.startsWith('<!--', lt)) {
      const end = xml.indexOf('-->', lt + 4);
      if (end < 0) throw new Error('unterminated comment');
      i = end + 3;
    } else if (xml.startsWith('<![CDATA[', lt)) {
      const end = xml.indexOf(']]>', lt + 9);
      if (end < 0) throw new Error('unterminated CDATA section');
      top().el.text += xml.slice(lt + 9, end);
      i = end + 3;
    } else if (xml.startsWith('<?', lt)) {
      const end = xml.indexOf('?>', lt + 2);
      if (end < 0) throw new Error('unterminated processing instruction');
      i = end + 2;
    } else if (xml.startsWith('<!', lt)) {
      throw new Error('DOCTYPE and other declarations are not accepted in a WebDAV answer');
    } else if (xml[lt + 1] === '/') {
      const end = xml.indexOf('>', lt);
      if (end < 0) throw new Error('unterminated end tag');
      const raw = xml.slice(lt + 2, end).trim();
      const frame = stack.pop();
      if (!frame || stack.length === 0 || frame.raw !== raw)
        throw new Error(`mismatched end tag </${raw}> for <${frame?.raw ?? ''}>`);
      i = end + 1;
    } else {
      // Find the tag's end, skipping '>' inside quoted attribute values.
      let j = lt + 1;
      let quote: string | undefined;
      for (; j < xml.length; j++) {
        const c = xml[j];
        if (quote) {
          if (c === quote) quote = undefined;
        } else if (c === '"' || c === "'") quote = c;
        else if (c === '>') break;
      }
      if (j >= xml.length) throw new Error('unterminated start tag');
      let inner = xml.slice(lt + 1, j);
      const selfClosing = inner.endsWith('/');
      if (selfClosing) inner = inner.slice(0, -1);
      const nameEnd = inner.search(/[\s]/);
      const raw = nameEnd < 0 ? inner : inner.slice(0, nameEnd);
      const attrText = nameEnd < 0 ? '' : inner.slice(nameEnd);
      const ns = new Map(top().ns);
      for (const m of attrText.matchAll(ATTR)) {
        const [, key, , dq, sq] = m;
        const value = decodeEntities(dq ?? sq ?? '');
        if (key === 'xmlns') ns.set('', value);
        else if (key?.startsWith('xmlns:')) ns.set(key.slice(6), value);
      }
      const colon = raw.indexOf(':');
      const prefix = colon < 0 ? '' : raw.slice(0, colon);
      const local = colon < 0 ? raw : raw.slice(colon + 1);
      const uri = ns.get(prefix) ?? '';
      const el: XmlElement = { name: `{${uri}}${local}`, children: [], text: '' };
      top().el.children.push(el);
      if (!selfClosing) stack.push({ el, ns, raw });
      i = j + 1;
    }
  }
  if (stack.length !== 1) throw new Error(`unclosed element <${top().raw}>`);
  const doc = root.children[0];
  if (!doc) throw new Error('empty document');
  return doc;
}

export function child(el: XmlElement, name: string): XmlElement | undefined {
  return el.children.find((c) => c.name === name);
}

export function childrenNamed(el: XmlElement, name: string): XmlElement[] {
  return el.children.filter((c) => c.name === name);
}

/** All text below an element. */
export function textOf(el: XmlElement | undefined): string {
  if (!el) return '';
  return el.text + el.children.map(textOf).join('');
}

export type DavResource = {
  /** The href as the server sent it (still percent-encoded). */
  href: string;
  /** HTTP status of the whole response, when given instead of propstats. */
  status: number | undefined;
  collection: boolean;
  size: number | undefined;
  etag: string | undefined;
  lastModifiedMs: number | undefined;
  /** Checksums the server vouches for, by lower-case algorithm (oc:checksums: "SHA256:…", "MD5:…"). */
  checksums: Record<string, string>;
};

function statusCode(el: XmlElement | undefined): number | undefined {
  const m = /HTTP\/\S+\s+(\d{3})/.exec(textOf(el));
  return m ? Number(m[1]) : undefined;
}

/** The resources of a 207 Multi-Status answer, with the properties found (2xx propstats only). */
export function parseMultistatus(xml: string): DavResource[] {
  const doc = parseXml(xml);
  if (doc.name !== `{${DAV_NS}}multistatus`) throw new Error(`expected a DAV:multistatus, got ${doc.name}`);
  const out: DavResource[] = [];
  for (const resp of childrenNamed(doc, `{${DAV_NS}}response`)) {
    const href = textOf(child(resp, `{${DAV_NS}}href`)).trim();
    const props = new Map<string, XmlElement>();
    for (const ps of childrenNamed(resp, `{${DAV_NS}}propstat`)) {
      const st = statusCode(child(ps, `{${DAV_NS}}status`)) ?? 200;
      if (st < 200 || st > 299) continue;
      const prop = child(ps, `{${DAV_NS}}prop`);
      for (const p of prop?.children ?? []) props.set(p.name, p);
    }
    const rt = props.get(`{${DAV_NS}}resourcetype`);
    const lenText = textOf(props.get(`{${DAV_NS}}getcontentlength`)).trim();
    const etagText = textOf(props.get(`{${DAV_NS}}getetag`)).trim();
    const lm = textOf(props.get(`{${DAV_NS}}getlastmodified`)).trim();
    const lmMs = lm ? Date.parse(lm) : Number.NaN;
    out.push({
      href,
      status: statusCode(child(resp, `{${DAV_NS}}status`)),
      collection: rt?.children.some((c) => c.name === `{${DAV_NS}}collection`) ?? false,
      size: /^\d+$/.test(lenText) ? Number(lenText) : undefined,
      etag: etagText ? normalizeEtag(etagText) : undefined,
      lastModifiedMs: Number.isFinite(lmMs) ? lmMs : undefined,
      checksums: parseChecksums(textOf(props.get(`{${OC_NS}}checksums`))),
    });
  }
  return out;
}

/** "SHA1:ab MD5:cd SHA256:ef" (oc:checksums, OC-Checksum) → { sha1: 'ab', md5: 'cd', sha256: 'ef' }. */
export function parseChecksums(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of text.matchAll(/([A-Za-z0-9-]+):([0-9a-fA-F]+)/g)) {
    const [, alg, hex] = m;
    if (alg && hex) out[alg.toLowerCase().replace(/-/g, '')] = hex.toLowerCase();
  }
  return out;
}

/** An ETag as a comparable token: without the weak marker, without quotes. */
export function normalizeEtag(raw: string): string {
  let s = raw.trim();
  if (s.startsWith('W/')) s = s.slice(2);
  if (s.length >= 2 && s.startsWith('"') && s.endsWith('"')) s = s.slice(1, -1);
  return s;
}
