// Where a forward pass spends its time, op by op: a Kernel whose backend calls are timed and summed by op and operand
// shapes (benchmarks only — `pnpm bench smolvlm-500m --profile`). The backends' ops are synchronous, so a call's wall
// time is its own; the wrapper costs a few microseconds a call.

import type { AttentionOptions, Backend } from "./backend.ts";
import { Kernel } from "./kernel.ts";
import type { Tensor } from "./tensor.ts";

/** The summed calls of one op on operands of one dtype and shape. */
export interface OpProfileEntry {
  /** The backend method, e.g. "matmul". */
  op: string;
  /** The tensor operands as dtype[shape], in call order (matmul: out, input, weight). */
  operands: string;
  /** How many calls were summed. */
  calls: number;
  /** Their wall time together. */
  milliseconds: number;
  /** Floating-point operations of all calls (matmul: 2·tokens·rows·cols; attention: 4·tokens·heads·headDim·positions), 0 for the others. */
  flops: number;
}

function isTensor(value: unknown): value is Tensor {
  return typeof value === "object" && value !== null && "shape" in value && "dtype" in value;
}

function flopsOf(op: string, args: unknown[]): number {
  if (op === "matmul") {
    const [out, input] = args as Tensor[];
    return 2 * out.shape[0] * out.shape[1] * input.shape[1];
  }
  if (op === "attention") {
    const query = args[1] as Tensor;
    const options = args[4] as AttentionOptions;
    const [tokens, heads, headDim] = query.shape;
    // Causal queries see about half of the positions on average; full attention sees all of them.
    const positions = options.causal ? Math.min(options.kvLength, options.startPosition + (tokens + 1) / 2) : options.kvLength;
    return 4 * tokens * heads * headDim * positions;
  }
  return 0;
}

/** A kernel that times its ops: run a pass on {@link OpProfile.kernel}, then read {@link OpProfile.entries}. */
export class OpProfile {
  /** The profiled kernel: the wrapped kernel's backend, every call timed. */
  readonly kernel: Kernel;
  private readonly table = new Map<string, OpProfileEntry>();

  constructor(inner: Kernel) {
    const table = this.table;
    const backend = new Proxy(inner.backend, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver) as unknown;
        if (typeof value !== "function" || property === "packWeight" || property === "setThreads") return value;
        return (...args: unknown[]) => {
          const started = performance.now();
          const result = (value as (...a: unknown[]) => unknown).apply(target, args);
          const milliseconds = performance.now() - started;
          const op = String(property);
          const operands = args.filter(isTensor).map((tensor) => `${tensor.dtype}[${tensor.shape.join("×")}]`).join(" ");
          const key = `${op} ${operands}`;
          const entry = table.get(key) ?? { op, operands, calls: 0, milliseconds: 0, flops: 0 };
          entry.calls++;
          entry.milliseconds += milliseconds;
          entry.flops += flopsOf(op, args);
          table.set(key, entry);
          return result;
        };
      },
    }) as Backend;
    this.kernel = new Kernel(backend);
  }

  /** The entries so far, the most time first. */
  entries(): OpProfileEntry[] {
    return [...this.table.values()].sort((a, b) => b.milliseconds - a.milliseconds);
  }

  /** Forgets every call timed so far. */
  reset(): void {
    this.table.clear();
  }
}
