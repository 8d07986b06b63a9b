// The progress printer's edges, exactly: unit and precision thresholds of formatBytes, durations at the hour and below
// zero, the size threshold for showing a file, redraws at exactly the interval, a size the server did not send, more
// bytes than announced, a stalled download (no speed, no ETA), long file names shortened from the left, and a file
// finished in no measurable time.
import { describe, expect, it } from "vitest";
import { createProgressPrinter, formatBytes, formatDuration, silentProgress, type DownloadProgress } from "../src/index.ts";

function recorder(isTTY?: boolean) {
  const output: string[] = [];
  let time = 0;
  const stream = { isTTY, write: (text: string) => output.push(text) };
  return { output, stream, advance: (milliseconds: number) => (time += milliseconds), now: () => time };
}

const progress = (receivedBytes: number, totalBytes: number | undefined, done = false, file = "w.gguf"): DownloadProgress => ({ file, receivedBytes, totalBytes, resumedFromBytes: 0, done });

describe("formatBytes and formatDuration", () => {
  it("three significant digits in decimal units, up to TB", () => {
    const cases: Array<[number, string]> = [
      [0, "0 B"], [999, "999 B"], [1000, "1.00 kB"], [9_994, "9.99 kB"], [10_000, "10.0 kB"], [99_940, "99.9 kB"], [100_000, "100 kB"],
      [999_400, "999 kB"], [1_000_000, "1.00 MB"], [5e12, "5.00 TB"], [2.5e15, "2500 TB"],
    ];
    for (const [bytes, text] of cases) expect(formatBytes(bytes), String(bytes)).toBe(text);
  });

  it("m:ss below an hour, h:mm:ss from an hour, never negative", () => {
    const cases: Array<[number, string]> = [[0, "0:00"], [-4, "0:00"], [5, "0:05"], [59.4, "0:59"], [60, "1:00"], [3599, "59:59"], [3600, "1:00:00"], [3661, "1:01:01"], [36_000, "10:00:00"]];
    for (const [seconds, text] of cases) expect(formatDuration(seconds), String(seconds)).toBe(text);
  });
});

describe("createProgressPrinter edges", () => {
  it("shows files of at least minimumBytes, and files of unknown size", () => {
    const { output, stream, now } = recorder(false);
    const print = createProgressPrinter({ stream, now, minimumBytes: 100 });
    print(progress(0, 99, false, "small"));
    print(progress(0, 100, false, "edge"));
    print(progress(0, undefined, false, "unknown"));
    expect(output).toEqual(["Downloading edge (100 B)\n", "edge   0%  0 B/100 B  -- MB/s  ETA --:--\n", "Downloading unknown\n", "unknown  0 B  -- MB/s\n"]);
    expect(silentProgress(progress(0, 1))).toBeUndefined();
  });

  it("redraws once the interval has passed exactly, not before; an explicit interactive overrides the stream", () => {
    const { output, stream, advance, now } = recorder(false);
    const print = createProgressPrinter({ stream, now, interactive: true, redrawIntervalMs: 50, minimumBytes: 0 });
    print(progress(0, 1000));
    advance(49);
    print(progress(10, 1000));
    advance(1);
    print(progress(500, 1000));
    expect(output).toEqual(["\r\x1b[2Kw.gguf [........................]   0%  0 B/1.00 kB  -- MB/s  ETA --:--", "\r\x1b[2Kw.gguf [############............]  50%  500 B/1.00 kB  -- MB/s  ETA --:--"]);
    // Defaults: a stream without isTTY is not a terminal; lines every 5 s.
    const plain = recorder();
    const printPlain = createProgressPrinter({ stream: plain.stream, now: plain.now });
    printPlain(progress(0, 2e6));
    plain.advance(4999);
    printPlain(progress(1e6, 2e6));
    plain.advance(1);
    printPlain(progress(1.5e6, 2e6));
    expect(plain.output).toEqual(["Downloading w.gguf (2.00 MB)\n", "w.gguf   0%  0 B/2.00 MB  -- MB/s  ETA --:--\n", "w.gguf  75%  1.50 MB/2.00 MB  0.3 MB/s  ETA 0:02\n"]);
  });

  it("caps the percentage at 100, shows no speed within the first 0.2 s, no ETA when stalled", () => {
    const { output, stream, advance, now } = recorder(true);
    const print = createProgressPrinter({ stream, now, minimumBytes: 0, redrawIntervalMs: 0 });
    print(progress(0, 1e6));
    advance(200);
    print(progress(1e5, 1e6)); // exactly 0.2 s: no speed yet
    advance(800);
    print(progress(0, 1e6)); // no bytes after a second: speed 0, no ETA
    advance(1000);
    print(progress(2e6, 1e6)); // more than announced
    expect(output.slice(1)).toEqual([
      "\r\x1b[2Kw.gguf [##......................]  10%  100 kB/1.00 MB  -- MB/s  ETA --:--",
      "\r\x1b[2Kw.gguf [........................]   0%  0 B/1.00 MB  0.0 MB/s  ETA --:--",
      "\r\x1b[2Kw.gguf [########################] 100%  2.00 MB/1.00 MB  1.0 MB/s  ETA 0:00",
    ]);
  });

  it("measures speed from the bytes of this run (not the resumed part) and shortens long names from the left", () => {
    const { output, stream, advance, now } = recorder(false);
    const print = createProgressPrinter({ stream, now, minimumBytes: 0, lineIntervalMs: 0 });
    const long = `${"d".repeat(30)}/model-00001-of-00002.safetensors`; // 63 characters
    print({ ...progress(4e6, 1e7, false, long), resumedFromBytes: 4e6 });
    advance(2000);
    print({ ...progress(6e6, 1e7, false, long), resumedFromBytes: 4e6 });
    advance(2000);
    print({ ...progress(1e7, 1e7, true, long), resumedFromBytes: 4e6 });
    const shown = `…${long.slice(long.length - 39)}`;
    expect(shown).toHaveLength(40);
    expect(output).toEqual([
      `Downloading ${long} (10.0 MB), resuming at 4.00 MB\n`,
      `${shown}  40%  4.00 MB/10.0 MB  -- MB/s  ETA --:--\n`,
      `${shown}  60%  6.00 MB/10.0 MB  1.0 MB/s  ETA 0:04\n`,
      `${shown}  10.0 MB done in 0:04 at 1.5 MB/s\n`,
    ]);
    // A name of exactly 40 characters is kept whole.
    const forty = "f".repeat(35) + ".gguf";
    const exact = recorder(false);
    createProgressPrinter({ stream: exact.stream, now: exact.now, minimumBytes: 0 })(progress(1, 2, false, forty));
    expect(exact.output[1].startsWith(`${forty}  50%`)).toBe(true);
  });

  it("a file finished in no measurable time: no speed on its done line; a finished file starts over if it comes again", () => {
    const { output, stream, now } = recorder(true);
    const print = createProgressPrinter({ stream, now, minimumBytes: 0 });
    print(progress(1000, 1000, true));
    expect(output).toEqual(["\r\x1b[2Kw.gguf  1.00 kB done in 0:00\n"]);
    const lines = recorder(false);
    const again = createProgressPrinter({ stream: lines.stream, now: lines.now, minimumBytes: 0 });
    again(progress(1000, 1000, true));
    again(progress(0, 1000));
    expect(lines.output).toEqual(["Downloading w.gguf (1.00 kB)\n", "w.gguf  1.00 kB done in 0:00\n", "Downloading w.gguf (1.00 kB)\n", "w.gguf   0%  0 B/1.00 kB  -- MB/s  ETA --:--\n"]);
  });
});
