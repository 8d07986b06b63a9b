// What the server's two worker threads do (model-worker.ts starts one of them in each thread; worker-model-host.ts
// starts the threads). In the model role the thread loads the model through the loader module and owns it from then
// on — its scheduler, KV cache and kernel threads — running model steps back to back without ever holding up the HTTP
// thread. In the prompt role it loads only the tokenizer and chat template and prepares requests (JSON, bounds,
// template, tokenizing), so a large prompt never delays the model's steps either. Messages: worker-protocol.ts. Both
// take the port they talk through, so tests can run them in one thread.

import { ApiError } from "./api-error.ts";
import { LocalModelHost } from "./local-model-host.ts";
import type { ModelInfo } from "./model-host.ts";
import { prepareRequest } from "./prompt-preparation.ts";
import type { LoadedPromptText, ServingLoader } from "./serving-loader.ts";
import type { FailureData, FromModelWorker, FromPromptWorker, ToModelWorker, ToPromptWorker, WorkerStart } from "./worker-protocol.ts";

/** The side of the channel a worker role talks through: the thread's parentPort, or a stand-in in tests. */
export interface WorkerPort {
  postMessage(message: unknown, transfer?: ArrayBuffer[]): void;
  on(event: "message", listener: (message: any) => void): unknown; // eslint-disable-line @typescript-eslint/no-explicit-any
  close(): void;
}

/** How often the model worker checks whether the /health counters changed while nothing else was sent. */
const HEALTH_INTERVAL_MS = 50;

function failureData(error: unknown, loader?: ServingLoader): FailureData {
  const described = loader?.describeFailure?.(error);
  if (described) return { message: described.message, exitCode: described.exitCode };
  return { message: (error as Error)?.message ?? String(error), stack: (error as Error)?.stack };
}

async function importLoader(start: WorkerStart): Promise<ServingLoader> {
  const module = (await import(start.loaderModule)) as Partial<ServingLoader>;
  if (typeof module.loadServedModel !== "function" || typeof module.loadPromptText !== "function") {
    throw new TypeError(`${start.loaderModule} must export loadServedModel and loadPromptText (see serving-loader.ts)`);
  }
  return module as ServingLoader;
}

/** The model role: loads the model, then runs the requests it is sent and reports once per event-loop turn. */
export async function runModelWorker(port: WorkerPort, start: WorkerStart): Promise<void> {
  const post = (message: FromModelWorker) => port.postMessage(message);
  let loader: ServingLoader | undefined;
  let host: LocalModelHost;
  let summary: string | undefined;
  try {
    loader = await importLoader(start);
    const served = await loader.loadServedModel(start.loadOptions);
    host = new LocalModelHost(served);
    summary = served.summary;
  } catch (error) {
    post({ kind: "load-failed", failure: failureData(error, loader) });
    return;
  }

  // What happened since the last update; sent once per turn of this thread's event loop (one per scheduler step).
  let accepted: string[] = [];
  let texts = new Map<string, string>();
  let finished: Extract<FromModelWorker, { kind: "update" }>["finished"] = [];
  let lastHealth = "";
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    const health = host.health();
    lastHealth = JSON.stringify(health);
    post({ kind: "update", accepted, texts: [...texts], finished, health });
    accepted = [];
    texts = new Map();
    finished = [];
  };
  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(flush);
  };
  const healthTimer = setInterval(() => {
    if (JSON.stringify(host.health()) !== lastHealth) schedule();
  }, HEALTH_INTERVAL_MS).unref();

  const controllers = new Map<string, AbortController>();
  port.on("message", (message: ToModelWorker) => {
    switch (message.kind) {
      case "generate": {
        const { id } = message;
        const controller = new AbortController();
        controllers.set(id, controller);
        const request = { ...message.request, promptIds: Array.from(message.request.promptIds) };
        host
          .generate(id, request, {
            signal: controller.signal,
            onAccepted: () => {
              accepted.push(id);
              schedule();
            },
            onText: (text) => {
              texts.set(id, (texts.get(id) ?? "") + text);
              schedule();
            },
          })
          .then(
            (outcome) => finished.push({ id, outcome }),
            (error: unknown) => finished.push(error instanceof ApiError ? { id, refusal: error.toData() } : { id, failure: failureData(error) }),
          )
          .finally(() => {
            controllers.delete(id);
            schedule();
          });
        break;
      }
      case "cancel":
        controllers.get(message.id)?.abort();
        break;
      case "cancel-all":
        host.cancelAll();
        break;
      case "close":
        void host.close().then(() => {
          clearInterval(healthTimer);
          flush();
          post({ kind: "closed" });
          port.close();
        });
        break;
    }
  });
  lastHealth = JSON.stringify(host.health());
  post({ kind: "ready", info: host.info(), summary, health: host.health() });
}

/** The prompt role: loads the tokenizer and chat template, then prepares the requests it is sent. */
export async function runPromptWorker(port: WorkerPort, start: WorkerStart): Promise<void> {
  const post = (message: FromPromptWorker, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);
  let info: ModelInfo | undefined;
  let text: LoadedPromptText | undefined;
  port.on("message", async (message: ToPromptWorker) => {
    if (message.kind === "info") {
      info = message.info;
      return;
    }
    const { id, endpoint, body } = message;
    try {
      if (!info || !text) throw new ApiError(503, "the model is still loading", null, "server_error", "model_loading");
      const prepared = await prepareRequest({ id: info.id, tokenizer: text.tokenizer, chatTemplate: text.chatTemplate, limits: info.limits, images: text.images }, endpoint, body);
      const promptIds = Int32Array.from(prepared.promptIds);
      post({ kind: "prepared", id, request: { ...prepared, promptIds } }, [promptIds.buffer]);
    } catch (error) {
      if (error instanceof ApiError) post({ kind: "refused", id, refusal: error.toData() });
      else post({ kind: "failed", id, failure: failureData(error) });
    }
  });
  let loader: ServingLoader | undefined;
  try {
    loader = await importLoader(start);
    text = await loader.loadPromptText(start.loadOptions);
  } catch (error) {
    post({ kind: "load-failed", failure: failureData(error, loader) });
    return;
  }
  post({ kind: "ready" });
}
