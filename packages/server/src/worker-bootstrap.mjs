// Entry point of the server's worker threads (plain JavaScript, so Node can start it as is): registers tsx's
// TypeScript loader in this thread — loader hooks that a process registered at start-up (`tsx file.ts`,
// `node --import tsx`) do not reach worker threads on every Node version, and a test runner's own transform never
// does — then runs model-worker.ts.

import { register } from "tsx/esm/api";

register();
await import(new URL("./model-worker.ts", import.meta.url).href);
