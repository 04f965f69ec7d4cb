import { MemoryDestination } from '../../src/main/engine/providers/memory/memoryProvider';
import { providerConformance } from '../conformance/providerSuite';

providerConformance('memory (reference)', async () => ({ dest: new MemoryDestination() }));
