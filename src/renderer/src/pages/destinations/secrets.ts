import { request } from '../../lib/bridge';
import { secretName } from './schemaForm';

/**
 * Stores each secret value typed into the form (`secret:set`) and hands back the reference the config
 * holds instead. `onStored` runs after each one, so a failure half-way keeps what was already stored
 * (the form swaps those values for their references and the person retypes only the rest).
 */
export async function storeSecrets(
  destinationId: string,
  pending: Readonly<Record<string, string>>,
  onStored: (field: string, ref: string) => void,
): Promise<void> {
  for (const [field, value] of Object.entries(pending)) {
    if (value === '') continue;
    const { ref } = await request('secret:set', { name: secretName(destinationId, field), value });
    onStored(field, ref);
  }
}
