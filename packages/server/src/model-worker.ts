// Entry point of the server's worker threads (started through worker-bootstrap.mjs by worker-model-host.ts): runs the
// role the thread was started for (worker-roles.ts) on the thread's parentPort.

import { parentPort, workerData } from "node:worker_threads";

import { runModelWorker, runPromptWorker } from "./worker-roles.ts";
import type { WorkerStart } from "./worker-protocol.ts";

const start = workerData as WorkerStart;
if (start.role === "model") await runModelWorker(parentPort!, start);
else await runPromptWorker(parentPort!, start);
