import { afterAll } from 'vitest';
import { configSchema } from '../../src/shared/config';
import { WebdavDestination, type WebdavDestinationConfig } from '../../src/main/engine/providers/webdav/webdavProvider';
import { providerConformance } from '../conformance/providerSuite';
import { startApacheDav } from '../servers/apacheDav';
import type { DavServer } from '../servers/davServer';
import { startNginxDav } from '../servers/nginxDav';

/** The WebDAV servers people run (TEST-SERVERS.md), each through the one provider conformance suite. */
const servers: DavServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
});

function destOn(s: DavServer, auth: WebdavDestinationConfig['auth'] = 'auto'): WebdavDestination {
  const cfg = configSchema.parse({
    destinations: [{ id: 'dav', type: 'webdav', url: s.url, user: s.user, password: 'env:UNUSED', auth }],
  }).destinations[0] as WebdavDestinationConfig;
  return new WebdavDestination(cfg, { secret: () => s.pass });
}

providerConformance('webdav (nginx dav + dav_ext)', async () => {
  const s = await startNginxDav();
  servers.push(s);
  return { dest: destOn(s) };
});

providerConformance('webdav (Apache httpd mod_dav, Basic)', async () => {
  const s = await startApacheDav({ auth: 'basic' });
  servers.push(s);
  return { dest: destOn(s, 'basic') };
});

providerConformance('webdav (Apache httpd mod_dav, Digest)', async () => {
  const s = await startApacheDav({ auth: 'digest' });
  servers.push(s);
  return { dest: destOn(s, 'digest') };
});
