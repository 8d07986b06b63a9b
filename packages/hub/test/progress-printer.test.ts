// Tests for the progress printer: a bar redrawn in place on a terminal, periodic lines otherwise, small files hidden.

import { describe, expect, it } from "vitest";
import { createProgressPrinter, formatBytes, formatDuration, type DownloadProgress } from "../src/index.ts";

function recorder(isTTY: boolean) {
  const output: string[] = [];
  let time = 0;
  const stream = { isTTY, write: (text: string) => output.push(text) };
  return { output, stream, advance: (milliseconds: number) => (time += milliseconds), now: () => time };
}

const event = (receivedBytes: number, done = false): DownloadProgress => ({
  file: "model.safetensors",
  receivedBytes,
  totalBytes: 100_000_000,
  resumedFromBytes: 0,
  done,
});

describe("createProgressPrinter", () => {
  it("redraws a bar with bytes, percent, speed and ETA on a terminal", () => {
    const { output, stream, advance, now } = recorder(true);
    const print = createProgressPrinter({ stream, now });
    print(event(0));
    advance(2000);
    print(event(20_000_000));
    advance(10);
    print(event(20_100_000)); // within the redraw interval: not drawn
    advance(3000);
    print(event(100_000_000, true));
    expect(output).toHaveLength(3);
    expect(output[1]).toBe("\r\x1b[2Kmodel.safetensors [#####...................]  20%  20.0 MB/100 MB  10.0 MB/s  ETA 0:08");
    expect(output[2]).toBe("\r\x1b[2Kmodel.safetensors  100 MB done in 0:05 at 20.0 MB/s\n");
  });

  it("prints a start line and a line every few seconds when not on a terminal", () => {
    const { output, stream, advance, now } = recorder(false);
    const print = createProgressPrinter({ stream, now, lineIntervalMs: 5000 });
    print({ ...event(40_000_000), resumedFromBytes: 40_000_000 });
    for (let second = 1; second <= 10; second++) {
      advance(1000);
      print({ ...event(40_000_000 + second * 5_000_000), resumedFromBytes: 40_000_000 });
    }
    expect(output).toEqual([
      "Downloading model.safetensors (100 MB), resuming at 40.0 MB\n",
      "model.safetensors  40%  40.0 MB/100 MB  -- MB/s  ETA --:--\n",
      "model.safetensors  65%  65.0 MB/100 MB  5.0 MB/s  ETA 0:07\n",
      "model.safetensors  90%  90.0 MB/100 MB  5.0 MB/s  ETA 0:02\n",
    ]);
  });

  it("names the action on the first line: reading weights from disk is not a download", () => {
    const { output, stream, now } = recorder(false);
    const print = createProgressPrinter({ stream, now, action: "Reading" });
    print(event(0));
    expect(output[0]).toBe("Reading model.safetensors (100 MB)\n");
  });

  it("stays quiet for small files", () => {
    const { output, stream } = recorder(true);
    const print = createProgressPrinter({ stream });
    print({ file: "config.json", receivedBytes: 0, totalBytes: 700, resumedFromBytes: 0, done: false });
    print({ file: "config.json", receivedBytes: 700, totalBytes: 700, resumedFromBytes: 0, done: true });
    expect(output).toEqual([]);
  });
});

describe("formatting", () => {
  it("formats bytes and durations", () => {
    expect(formatBytes(999)).toBe("999 B");
    expect(formatBytes(1_234_567)).toBe("1.23 MB");
    expect(formatBytes(2_019_000_000)).toBe("2.02 GB");
    expect(formatDuration(59.6)).toBe("1:00");
    expect(formatDuration(3725)).toBe("1:02:05");
  });
});
