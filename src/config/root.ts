import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root, used for the local infrastructure folder and bundled files. */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
