// The kernel's error type and the argument checks every op runs before it touches memory.
// Messages name the op, the argument and the shapes, so a caller can see what was expected.

import type { DType } from "./dtype.ts";
import type { Tensor } from "./tensor.ts";

/** An op called with arguments it cannot take; the message names the op, the argument and the shapes. */
export class KernelError extends Error {
  /** Always `"KernelError"`. */
  override name = "KernelError";
}

export function shapeText(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}

export function fail(op: string, message: string): never {
  throw new KernelError(`${op}: ${message}`);
}

export function requireDType(op: string, name: string, tensor: Tensor, allowed: readonly DType[]): void {
  if (!allowed.includes(tensor.dtype)) {
    fail(op, `${name} must be ${allowed.join(" or ")}, got ${tensor.dtype} ${shapeText(tensor.shape)}`);
  }
}

export function requireContiguous(op: string, name: string, tensor: Tensor): void {
  if (!tensor.isContiguous()) {
    fail(op, `${name} ${shapeText(tensor.shape)} must be contiguous (strides ${shapeText(tensor.strides)}); call .contiguous() first`);
  }
}

export function requireRank(op: string, name: string, tensor: Tensor, rank: number): void {
  if (tensor.shape.length !== rank) {
    fail(op, `${name} must have ${rank} dimensions, got ${shapeText(tensor.shape)}`);
  }
}

export function requireShape(op: string, name: string, tensor: Tensor, expected: readonly number[]): void {
  const same = tensor.shape.length === expected.length && tensor.shape.every((size, index) => size === expected[index]);
  if (!same) fail(op, `${name} must have shape ${shapeText(expected)}, got ${shapeText(tensor.shape)}`);
}

/** Checks a float tensor for use as an op argument: f32, contiguous. */
export function requireFloat32(op: string, name: string, tensor: Tensor): void {
  requireDType(op, name, tensor, ["f32"]);
  requireContiguous(op, name, tensor);
}

export function requireInteger(op: string, name: string, value: number, minimum: number): void {
  if (!Number.isInteger(value) || value < minimum) fail(op, `${name} must be an integer ≥ ${minimum}, got ${value}`);
}
