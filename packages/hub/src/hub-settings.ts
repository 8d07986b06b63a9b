// Hub settings read from the environment the way the Python huggingface_hub library reads them, so both share one
// cache and one configuration: HF_ENDPOINT, HF_TOKEN, HF_HUB_CACHE / HF_HOME / XDG_CACHE_HOME, HF_HUB_OFFLINE,
// HF_HUB_DOWNLOAD_TIMEOUT. Explicit options override the environment.

import { homedir } from "node:os";
import { join, resolve } from "node:path";

/** The hub used when neither the `endpoint` option nor HF_ENDPOINT says otherwise. */
export const defaultEndpoint = "https://huggingface.co";
export const defaultStallTimeoutMs = 30_000;

/** Environment variables as a plain record (`process.env`, or a stand-in for tests). */
export type Environment = Readonly<Record<string, string | undefined>>;

/** The hub configuration in force: options over environment variables over defaults. */
export interface HubSettings {
  /** Hub base URL without a trailing slash. */
  endpoint: string;
  /** Sent as `Authorization: Bearer <token>` to the hub (never to a CDN on another origin). */
  token: string | undefined;
  /** The hub cache directory (holds `models--{org}--{name}` folders). */
  cacheDirectory: string;
  /** Where `cacheDirectory` came from, for messages: `HF_HUB_CACHE`, `$HF_HOME/hub`, `default` or `option`. */
  cacheDirectorySource: string;
  /** True when the hub must not be contacted (HF_HUB_OFFLINE=1 or the `offline` option). */
  offline: boolean;
  /** A connection that delivers no bytes for this long is abandoned. */
  stallTimeoutMs: number;
}

/** Settings given in code; each overrides its environment variable. */
export interface HubSettingsOptions {
  /** Hub base URL (else HF_ENDPOINT, else {@link defaultEndpoint}). */
  endpoint?: string;
  /** Access token for gated and private repositories (else HF_TOKEN). */
  token?: string;
  /** The hub cache directory (else HF_HUB_CACHE, then $HF_HOME/hub, then ~/.cache/huggingface/hub). */
  cacheDirectory?: string;
  /** Never contact the hub: use the cache or fail (else HF_HUB_OFFLINE). */
  offline?: boolean;
  /** Abandon a connection that delivers no bytes for this long (else HF_HUB_DOWNLOAD_TIMEOUT seconds, else 30 s). */
  stallTimeoutMs?: number;
  /** Variables to read instead of `process.env`. */
  environment?: Environment;
}

/** The settings in force for `options`, read the way the Python huggingface_hub library reads them. */
export function hubSettings(options: HubSettingsOptions = {}): HubSettings {
  const environment = options.environment ?? process.env;
  const endpoint = (options.endpoint ?? nonEmpty(environment.HF_ENDPOINT) ?? defaultEndpoint).replace(/\/+$/, "");
  const token = nonEmpty(options.token) ?? nonEmpty(environment.HF_TOKEN) ?? nonEmpty(environment.HUGGING_FACE_HUB_TOKEN);
  const { directory, source } = cacheDirectoryFrom(options.cacheDirectory, environment);
  const offline = options.offline ?? isTruthy(environment.HF_HUB_OFFLINE);
  const timeoutSeconds = Number(nonEmpty(environment.HF_HUB_DOWNLOAD_TIMEOUT));
  const stallTimeoutMs =
    options.stallTimeoutMs ?? (Number.isFinite(timeoutSeconds) && timeoutSeconds > 0 ? timeoutSeconds * 1000 : defaultStallTimeoutMs);
  return { endpoint, token, cacheDirectory: directory, cacheDirectorySource: source, offline, stallTimeoutMs };
}

/** Expands a leading `~` to the home directory and makes the path absolute. */
export function expandHome(path: string, environment: Environment = process.env): string {
  if (path === "~" || path.startsWith("~/") || path.startsWith("~\\")) {
    return join(nonEmpty(environment.HOME) ?? homedir(), path.slice(1));
  }
  return resolve(path);
}

function cacheDirectoryFrom(option: string | undefined, environment: Environment): { directory: string; source: string } {
  if (option !== undefined) return { directory: expandHome(option, environment), source: "option" };
  const hubCache = nonEmpty(environment.HF_HUB_CACHE) ?? nonEmpty(environment.HUGGINGFACE_HUB_CACHE);
  if (hubCache !== undefined) return { directory: expandHome(hubCache, environment), source: "HF_HUB_CACHE" };
  const hfHome = nonEmpty(environment.HF_HOME);
  if (hfHome !== undefined) return { directory: join(expandHome(hfHome, environment), "hub"), source: "$HF_HOME/hub" };
  const cacheHome = nonEmpty(environment.XDG_CACHE_HOME) ?? join(nonEmpty(environment.HOME) ?? homedir(), ".cache");
  return { directory: join(expandHome(cacheHome, environment), "huggingface", "hub"), source: "default" };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}

function isTruthy(value: string | undefined): boolean {
  return value !== undefined && ["1", "true", "yes", "on"].includes(value.trim().toLowerCase());
}
