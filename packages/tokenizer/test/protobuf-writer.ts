// TEST FIXTURE WRITER: the protobuf wire format, just enough to encode SentencePiece ModelProto messages by hand.

export function varint(value: number): number[] {
  const bytes: number[] = [];
  let rest = BigInt.asUintN(64, BigInt(value));
  do {
    let byte = Number(rest & 0x7fn);
    rest >>= 7n;
    if (rest !== 0n) byte |= 0x80;
    bytes.push(byte);
  } while (rest !== 0n);
  return bytes;
}
export const key = (field: number, wireType: number) => varint(field * 8 + wireType);
export const varintField = (field: number, value: number) => [...key(field, 0), ...varint(value)];
export const bytesField = (field: number, payload: number[]) => [...key(field, 2), ...varint(payload.length), ...payload];
export const stringField = (field: number, text: string) => bytesField(field, [...new TextEncoder().encode(text)]);
export const floatField = (field: number, value: number) => [...key(field, 5), ...new Uint8Array(Float32Array.of(value).buffer)];

export function pieceMessage(piece: string, score: number, type?: number): number[] {
  return bytesField(1, [...stringField(1, piece), ...floatField(2, score), ...(type === undefined ? [] : varintField(3, type))]);
}
