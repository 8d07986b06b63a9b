// Where the docs build reads from and writes to, relative to this package, so every step agrees.

import path from "node:path";
import { fileURLToPath } from "node:url";

/** The docs/ folder (this package): guides, configuration, and the built site. */
export const docsDirectory = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
/** The repository root. */
export const repositoryRoot = path.resolve(docsDirectory, "..");
/** The hand-written guides, one markdown file each. */
export const guidesDirectory = path.join(docsDirectory, "guides");
/** The built site (not committed): open `docs/site/index.html`. */
export const defaultSiteDirectory = path.join(docsDirectory, "site");
/** Sources the build generates before typedoc reads them (gallery pages, extracted examples); not committed. */
export const generatedDirectory = path.join(docsDirectory, ".generated");
