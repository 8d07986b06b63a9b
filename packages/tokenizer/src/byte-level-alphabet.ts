// GPT-2's reversible byte <-> printable-unicode map used by byte-level BPE vocabularies
// (bytes that are printable keep their character, the rest are shifted to U+0100 and up; space becomes 'Ġ').

function buildByteToCharacter(): string[] {
  const printable: number[] = [];
  for (let byte = 0x21; byte <= 0x7e; byte++) printable.push(byte);
  for (let byte = 0xa1; byte <= 0xac; byte++) printable.push(byte);
  for (let byte = 0xae; byte <= 0xff; byte++) printable.push(byte);
  const table = new Array<string>(256);
  for (const byte of printable) table[byte] = String.fromCharCode(byte);
  let shifted = 0;
  for (let byte = 0; byte < 256; byte++) {
    if (table[byte] === undefined) table[byte] = String.fromCharCode(256 + shifted++);
  }
  return table;
}

const byteToCharacter = buildByteToCharacter();

/** The character each byte 0..255 is spelled with (index = byte): the first 256 tokens of a byte-level vocabulary. */
export const byteLevelAlphabet: readonly string[] = byteToCharacter;
const characterToByte = new Map<string, number>(byteToCharacter.map((character, byte) => [character, byte]));

/** UTF-8 bytes spelled in the byte-level alphabet (one character per byte). */
export function byteLevelEncode(bytes: Uint8Array): string {
  let result = "";
  for (const byte of bytes) result += byteToCharacter[byte];
  return result;
}

/**
 * Bytes spelled by a byte-level token. Characters outside the alphabet (not produced by byte-level
 * vocabularies) are kept as their own UTF-8 bytes.
 */
export function byteLevelDecode(token: string, encodeText: (text: string) => Uint8Array): Uint8Array {
  const bytes: number[] = [];
  for (const character of token) {
    const byte = characterToByte.get(character);
    if (byte !== undefined) bytes.push(byte);
    else bytes.push(...encodeText(character));
  }
  return Uint8Array.from(bytes);
}
