// `pnpm recipe <name> --serve`: an OpenAI-compatible HTTP server with continuous batching, the model in a worker
// thread. This thread resolves the model (downloading it with a progress bar if needed), starts the workers with the
// parsed options (serving-loader.ts runs inside them), listens at once — /health says "loading" until the model is
// ready, so a port clash is reported before a long load — and then only does HTTP. The first SIGINT, SIGTERM or
// SIGHUP drains: no new requests, open ones get --shutdown-grace seconds to finish, the rest are cancelled with a
// clear answer, and the process exits 0; a second signal cancels at once. A model worker that dies ends the
// process with exit code 1, so a supervisor restarts it.

import { basename } from "node:path";

import { createProgressPrinter, resolveModel, type ResolvedModel } from "@infer-recipes/hub";
import { InferenceServer, WorkerModelHost } from "@infer-recipes/server";

import type { GenerationArguments } from "./generation-arguments.ts";
import type { ServeLoadOptions } from "./serving-loader.ts";

/** Signals closer together than this are one signal delivered twice (by the terminal and by a launcher). */
const REPEATED_SIGNAL_MS = 500;

/**
 * The id /v1/models reports and requests name: the hub repository for a downloaded or cached model, else the file's
 * name without its extension (or the model folder's name) — never a path of this machine.
 */
export function servedModelName(resolved: Pick<ResolvedModel, "repo" | "path" | "format">): string {
  if (resolved.repo) return resolved.repo;
  return basename(resolved.path).replace(/\.(gguf|bin)$/i, "");
}

/** Resolves with the first of SIGINT/SIGTERM/SIGHUP; `onRepeat` runs for a later one (not a duplicate delivery). */
function waitForStopSignal(onRepeat: (signal: NodeJS.Signals) => void): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let first: number | undefined;
    const handler = (signal: NodeJS.Signals) => {
      const now = performance.now();
      if (first === undefined) {
        first = now;
        resolve(signal);
      } else if (now - first >= REPEATED_SIGNAL_MS) {
        onRepeat(signal);
      }
    };
    for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, handler);
  });
}

/** What the server's workers load: the loader module (serving-loader.ts's contract) and its options. */
export interface ServedModelLaunch {
  /** The id /v1/models reports. */
  name: string;
  /** The file URL of the ServingLoader module the workers import. */
  loaderModule: URL;
  /** Plain data (it is copied into the workers). */
  loadOptions: unknown;
}

/** Serves `specifier` (a text model) until a stop signal; returns the exit code. Load failures are thrown (describeFailure). */
export async function runServer(args: GenerationArguments, specifier: string): Promise<number> {
  const resolved = await resolveModel(specifier, { progress: createProgressPrinter() });
  const name = servedModelName(resolved);
  return serveModel(args, { name, loaderModule: new URL("./serving-loader.ts", import.meta.url), loadOptions: { model: resolved.path, name, args } satisfies ServeLoadOptions });
}

/** Serves what `launch` loads (the model already resolved to local files) until a stop signal; returns the exit code. */
export async function serveModel(args: GenerationArguments, launch: ServedModelLaunch): Promise<number> {
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const { name } = launch;
  let reportFailure: (error: Error) => void = () => {};
  const workerFailure = new Promise<Error>((resolve) => (reportFailure = resolve));
  const host = WorkerModelHost.start({
    loaderModule: launch.loaderModule,
    loadOptions: launch.loadOptions,
    onFailure: (error) => reportFailure(error),
  });
  let server: InferenceServer;
  try {
    server = await InferenceServer.start({
      model: host,
      host: args.host,
      port: args.port,
      access: { apiKey: args.apiKey, allowedHosts: args.allowedHosts, corsOrigins: args.corsOrigins },
      log,
    });
  } catch (error) {
    await host.close();
    throw error;
  }
  log(`listening on ${server.url}; loading the model in a worker thread (GET /health answers "loading" until it is ready)`);
  const stopSignal = waitForStopSignal((repeated) => {
    log(`${repeated} again: cancelling open requests now`);
    void server.close();
  });
  const loaded = await Promise.race([host.ready.then(() => true), stopSignal.then(() => false)]).catch(async (error: unknown) => {
    await server.close();
    throw error;
  });
  if (loaded) {
    log(
      `serving "${name}" on ${server.url} — OpenAI-compatible: POST /v1/completions, POST /v1/chat/completions, GET /v1/models, GET /health\n` +
        `${host.summary ? `${host.summary}; ` : ""}${args.apiKey ? "API key required" : "no API key"}; Ctrl-C stops`,
    );
  }
  const ended = await Promise.race([stopSignal, workerFailure]);
  if (ended instanceof Error) {
    log(`error: ${ended.message}; stopping`);
    await server.close();
    return 1;
  }
  log(`${ended}: stopping — no new requests; ${server.openRequests} open request(s) get ${args.shutdownGraceSeconds} s to finish`);
  await server.close({ graceMs: args.shutdownGraceSeconds * 1000 });
  log("stopped");
  return 0;
}
