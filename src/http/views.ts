/** The ejs pages and their assets, shared by both listeners. */
import { fileURLToPath } from 'node:url';

export const VIEWS_DIR = fileURLToPath(new URL('../../views', import.meta.url));
