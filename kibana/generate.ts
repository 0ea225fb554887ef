// Regenerates kibana/recsys.ndjson from src/kibana/objects.ts: `npx tsx kibana/generate.ts`.
// test/unit/kibana.test.ts fails when the committed file and the builder disagree.
import { writeFileSync } from 'node:fs';
import { buildSavedObjects } from '../src/kibana/objects.ts';
import { SAVED_OBJECTS_FILE, toNdjson } from '../src/kibana/saved-objects.ts';

const objects = buildSavedObjects();
writeFileSync(SAVED_OBJECTS_FILE, toNdjson(objects));
console.log(`wrote ${objects.length} saved objects to ${SAVED_OBJECTS_FILE}`);
