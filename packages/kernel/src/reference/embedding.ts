// Embedding lookup: each id's table row, decoded from the table's dtype to float32.

import { decodeValues, rowStorage } from "../formats/index.ts";
import type { Tensor } from "../tensor.ts";

/** out [ids.length, dim] f32 = table [vocab, dim] rows at ids. */
export function embedding(out: Tensor, table: Tensor, ids: Int32Array): void {
  const dim = table.shape[1];
  const outValues = out.data as Float32Array; // [ids.length, dim]
  for (let index = 0; index < ids.length; index++) {
    decodeValues(table.dtype, rowStorage(table, ids[index]), outValues.subarray(index * dim, (index + 1) * dim));
  }
}
