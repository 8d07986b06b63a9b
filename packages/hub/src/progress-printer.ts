// Download progress: the event downloads report, and a printer for stderr — a bar redrawn in place on a terminal
// (bytes, percent, MB/s, ETA), or a plain line every few seconds when stderr is a file or a pipe (CI logs).

/** One progress event of a file download. */
export interface DownloadProgress {
  /** The repository-relative file name. */
  file: string;
  /** Bytes of the file on disk so far, including any resumed part. */
  receivedBytes: number;
  /** The file's full size, when the server says. */
  totalBytes: number | undefined;
  /** Bytes that were already on disk from an earlier, interrupted download. */
  resumedFromBytes: number;
  /** True on the last event for the file. */
  done: boolean;
}

/** Receives a download's progress events. */
export type ProgressListener = (progress: DownloadProgress) => void;

/** Where and how often {@link createProgressPrinter} prints. */
export interface ProgressPrinterOptions {
  /** Where to print; default `process.stderr`. */
  stream?: {
    /** Writes text as it is. */
    write(text: string): unknown;
    /** True for a terminal: the bar is redrawn in place. */
    isTTY?: boolean;
  };
  /** Whether to redraw a bar in place; default: the stream is a terminal. */
  interactive?: boolean;
  /** Time between redraws on a terminal; default 100 ms. */
  redrawIntervalMs?: number;
  /** Time between lines when not on a terminal; default 5 s. */
  lineIntervalMs?: number;
  /** Files smaller than this are not shown; default 1 MiB. */
  minimumBytes?: number;
  /** The word that starts a file's first line when not on a terminal; default "Downloading" ("Reading" for loading
   *  weights from disk). */
  action?: string;
  /** Clock, for tests. */
  now?: () => number;
}

interface FileState {
  startTime: number;
  startBytes: number;
  lastPrint: number;
}

/**
 * A listener that prints download progress: on a terminal a bar redrawn in place (bytes, percent, MB/s, time
 * left), elsewhere (a log file, CI) a line every few seconds. Used by `resolveModel` unless told otherwise.
 */
export function createProgressPrinter(options: ProgressPrinterOptions = {}): ProgressListener {
  const stream = options.stream ?? process.stderr;
  const interactive = options.interactive ?? stream.isTTY === true;
  const interval = interactive ? (options.redrawIntervalMs ?? 100) : (options.lineIntervalMs ?? 5000);
  const minimumBytes = options.minimumBytes ?? 1024 * 1024;
  const now = options.now ?? Date.now;
  const files = new Map<string, FileState>();

  return (progress) => {
    if (progress.totalBytes !== undefined && progress.totalBytes < minimumBytes) return;
    const time = now();
    let state = files.get(progress.file);
    if (state === undefined) {
      state = { startTime: time, startBytes: progress.receivedBytes, lastPrint: Number.NEGATIVE_INFINITY };
      files.set(progress.file, state);
      if (!interactive) stream.write(`${startLine(progress, options.action ?? "Downloading")}\n`);
    }
    if (progress.done) {
      files.delete(progress.file);
      const line = doneLine(progress, state, time);
      stream.write(interactive ? `\r\x1b[2K${line}\n` : `${line}\n`);
      return;
    }
    if (time - state.lastPrint < interval) return;
    state.lastPrint = time;
    const line = progressLine(progress, state, time, interactive);
    stream.write(interactive ? `\r\x1b[2K${line}` : `${line}\n`);
  };
}

/** A listener that does nothing. */
export const silentProgress: ProgressListener = () => {};

/** Bytes in decimal units with three significant digits: "1.23 GB", "512 kB", "17 B". */
export function formatBytes(bytes: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value >= 100 ? 0 : value >= 10 ? 1 : 2)} ${units[unit]}`;
}

/** Seconds as "m:ss", or "h:mm:ss" from an hour: "4:05", "1:02:03". */
export function formatDuration(seconds: number): string {
  const whole = Math.max(0, Math.round(seconds));
  const hours = Math.floor(whole / 3600);
  const minutes = Math.floor((whole % 3600) / 60);
  const rest = String(whole % 60).padStart(2, "0");
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, "0")}:${rest}` : `${minutes}:${rest}`;
}

function startLine(progress: DownloadProgress, action: string): string {
  const size = progress.totalBytes === undefined ? "" : ` (${formatBytes(progress.totalBytes)})`;
  const resumed = progress.resumedFromBytes > 0 ? `, resuming at ${formatBytes(progress.resumedFromBytes)}` : "";
  return `${action} ${progress.file}${size}${resumed}`;
}

function progressLine(progress: DownloadProgress, state: FileState, time: number, interactive: boolean): string {
  const seconds = (time - state.startTime) / 1000;
  const speed = seconds > 0.2 ? (progress.receivedBytes - state.startBytes) / seconds : undefined;
  const speedText = speed === undefined ? "-- MB/s" : `${(speed / 1e6).toFixed(1)} MB/s`;
  const name = shorten(progress.file, 40);
  if (progress.totalBytes === undefined || progress.totalBytes === 0) {
    return `${name}  ${formatBytes(progress.receivedBytes)}  ${speedText}`;
  }
  const fraction = Math.min(1, progress.receivedBytes / progress.totalBytes);
  const percent = `${(fraction * 100).toFixed(0).padStart(3)}%`;
  const remaining = progress.totalBytes - progress.receivedBytes;
  const eta = speed === undefined || speed <= 0 ? "--:--" : formatDuration(remaining / speed);
  const bar = interactive ? ` ${bar24(fraction)}` : "";
  return `${name}${bar} ${percent}  ${formatBytes(progress.receivedBytes)}/${formatBytes(progress.totalBytes)}  ${speedText}  ETA ${eta}`;
}

function doneLine(progress: DownloadProgress, state: FileState, time: number): string {
  const seconds = (time - state.startTime) / 1000;
  const fetched = progress.receivedBytes - state.startBytes;
  const speed = seconds > 0 ? ` at ${(fetched / seconds / 1e6).toFixed(1)} MB/s` : "";
  return `${shorten(progress.file, 40)}  ${formatBytes(progress.receivedBytes)} done in ${formatDuration(seconds)}${speed}`;
}

function bar24(fraction: number): string {
  const filled = Math.round(fraction * 24);
  return `[${"#".repeat(filled)}${".".repeat(24 - filled)}]`;
}

function shorten(text: string, width: number): string {
  return text.length <= width ? text : `…${text.slice(text.length - width + 1)}`;
}
