// Embedding lookup: each id's table row, decoded from the table's dtype to float32.

import { isInterleaved, plainDType } from "../dtype.ts";
import { decodeValues, rowStorage } from "../formats/index.ts";
import { deinterleaveRow } from "../formats/interleaved.ts";
import type { Tensor } from "../tensor.ts";

/** out [ids.length, dim] f32 = table [vocab, dim] rows at ids (an interleaved table's rows are gathered back first). */
export function embedding(out: Tensor, table: Tensor, ids: Int32Array): void {
  const dim = table.shape[1];
  const outValues = out.data as Float32Array; // [ids.length, dim]
  const interleaved = isInterleaved(table.dtype);
  for (let index = 0; index < ids.length; index++) {
    const row = interleaved ? deinterleaveRow(table, ids[index]) : rowStorage(table, ids[index]);
    decodeValues(plainDType(table.dtype), row, outValues.subarray(index * dim, (index + 1) * dim));
  }
}
