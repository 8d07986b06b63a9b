// SentencePiece's tokenizer.model (a serialized ModelProto, sentencepiece_model.proto): the pieces with their scores
// and types, the model type and the normalizer settings that matter for encoding, parsed without any protobuf
// library. `sentencePieceVocabulary` turns a BPE model into the GgufVocabulary the SentencePiece tokenizer runs on,
// exactly as llama.cpp's converter lays out a "llama" vocabulary (so this package and llama.cpp tokenize alike).
//
// Fields read (field number: meaning):
//   ModelProto      1: repeated SentencePiece pieces · 2: TrainerSpec · 3: NormalizerSpec
//   SentencePiece   1: piece (string) · 2: score (float) · 3: type (1 normal, 2 unknown, 3 control, 4 user-defined,
//                   5 unused, 6 byte; default normal)
//   TrainerSpec     3: model_type (1 unigram [default], 2 BPE, 3 word, 4 char) · 35: byte_fallback · 40: unk_id ·
//                   41: bos_id · 42: eos_id · 43: pad_id (−1: none)
//   NormalizerSpec  1: name · 3: add_dummy_prefix (default true) · 4: remove_extra_whitespaces (default true)

import { readFileSync } from "node:fs";

import type { GgufVocabulary } from "./gguf-vocabulary.ts";
import { fixed32Float, protobufFields, protobufString, ProtobufError, WireType, type ProtobufField } from "./protobuf-reader.ts";

/** SentencePiece piece types; the same numbers as GGUF's tokenizer.ggml.token_type. */
export const SentencePieceType = {
  /** An ordinary piece, merged by BPE. */
  normal: 1,
  /** The unknown-token piece (<unk>). */
  unknown: 2,
  /** A control piece (<s>, </s>, special tokens): never produced from text by the merges. */
  control: 3,
  /** A piece matched literally in the text before the merges. */
  userDefined: 4,
  /** A piece the model never emits (padding). */
  unused: 5,
  /** A byte-fallback piece <0xNN>, spelling one byte of text the other pieces cannot. */
  byte: 6,
} as const;

/** trainer_spec.model_type: the segmentation algorithm the model was trained for (only "bpe" is encoded here). */
export type SentencePieceModelType = "unigram" | "bpe" | "word" | "char";
const modelTypes: Record<number, SentencePieceModelType> = { 1: "unigram", 2: "bpe", 3: "word", 4: "char" };

/** One entry of the vocabulary; its id is its index in {@link SentencePieceModel.pieces}. */
export interface SentencePiece {
  /** The piece's text, with "▁" (U+2581) for a space. */
  piece: string;
  /** Its score: for BPE, the merge priority (higher merges first). */
  score: number;
  /** One of SentencePieceType. */
  type: number;
}

/** What a tokenizer.model holds that encoding needs (see {@link parseSentencePieceModel}). */
export interface SentencePieceModel {
  /** Where the model was read from (named in errors). */
  source: string;
  /** Pieces in id order. */
  pieces: SentencePiece[];
  /** trainer_spec.model_type. */
  modelType: SentencePieceModelType;
  /** Pieces that are not in the vocabulary are spelled with <0xNN> byte pieces. */
  byteFallback: boolean;
  /** Id of the unknown piece (trainer_spec.unk_id). */
  unknownId: number;
  /** Id of the beginning-of-sequence piece (trainer_spec.bos_id); −1 when the model has none. */
  bosId: number;
  /** Id of the end-of-sequence piece (trainer_spec.eos_id); −1 when the model has none. */
  eosId: number;
  /** Id of the padding piece (trainer_spec.pad_id); −1 when the model has none. */
  padId: number;
  /** The normalizer's name ("identity", "nmt_nfkc", ...). */
  normalizerName: string;
  /** A "▁" is put before the text (SentencePiece's dummy prefix). */
  addDummyPrefix: boolean;
  /**
   * normalizer_spec.remove_extra_whitespaces (SentencePiece trims and collapses whitespace before encoding). Recorded,
   * not applied: llama.cpp's SentencePiece tokenizer, which this package matches, ignores it too.
   */
  removeExtraWhitespaces: boolean;
}

/** A tokenizer.model that cannot be read, parsed or used; the message names the file and what is wrong in one line. */
export class SentencePieceModelError extends Error {
  /** "SentencePieceModelError". */
  override name = "SentencePieceModelError";
}

function parsePiece(field: ProtobufField, source: string, id: number): SentencePiece {
  let piece: string | undefined;
  let score = 0;
  let type: number = SentencePieceType.normal;
  for (const inner of protobufFields(field.bytes!, `${source}: piece ${id}`, field.payloadOffset)) {
    if (inner.number === 1 && inner.wireType === WireType.lengthDelimited) piece = protobufString(inner.bytes!, `${source}: piece ${id}`);
    else if (inner.number === 2 && inner.wireType === WireType.fixed32) score = fixed32Float(inner.bytes!);
    else if (inner.number === 3 && inner.wireType === WireType.varint) type = inner.varint!;
  }
  if (piece === undefined) throw new SentencePieceModelError(`${source}: piece ${id} has no text (field 1)`);
  if (!Object.values(SentencePieceType).includes(type as 1)) throw new SentencePieceModelError(`${source}: piece ${id} ("${piece}") has unknown type ${type}`);
  return { piece, score, type };
}

/** Parses the bytes of a tokenizer.model; `source` names it in errors. */
export function parseSentencePieceModel(bytes: Uint8Array, source: string): SentencePieceModel {
  const model: SentencePieceModel = {
    source,
    pieces: [],
    modelType: "unigram",
    byteFallback: false,
    unknownId: 0,
    bosId: 1,
    eosId: 2,
    padId: -1,
    normalizerName: "",
    addDummyPrefix: true,
    removeExtraWhitespaces: true,
  };
  try {
    for (const field of protobufFields(bytes, source)) {
      if (field.wireType !== WireType.lengthDelimited) continue;
      if (field.number === 1) model.pieces.push(parsePiece(field, source, model.pieces.length));
      else if (field.number === 2) {
        for (const inner of protobufFields(field.bytes!, `${source}: trainer_spec`, field.payloadOffset)) {
          if (inner.wireType !== WireType.varint) continue;
          if (inner.number === 3) {
            const type = modelTypes[inner.varint!];
            if (type === undefined) throw new SentencePieceModelError(`${source}: unknown trainer_spec.model_type ${inner.varint}`);
            model.modelType = type;
          } else if (inner.number === 35) model.byteFallback = inner.varint !== 0;
          else if (inner.number === 40) model.unknownId = inner.int32!;
          else if (inner.number === 41) model.bosId = inner.int32!;
          else if (inner.number === 42) model.eosId = inner.int32!;
          else if (inner.number === 43) model.padId = inner.int32!;
        }
      } else if (field.number === 3) {
        for (const inner of protobufFields(field.bytes!, `${source}: normalizer_spec`, field.payloadOffset)) {
          if (inner.number === 1 && inner.wireType === WireType.lengthDelimited) model.normalizerName = protobufString(inner.bytes!, `${source}: normalizer_spec.name`);
          else if (inner.number === 3 && inner.wireType === WireType.varint) model.addDummyPrefix = inner.varint !== 0;
          else if (inner.number === 4 && inner.wireType === WireType.varint) model.removeExtraWhitespaces = inner.varint !== 0;
        }
      }
    }
  } catch (error) {
    if (error instanceof ProtobufError) throw new SentencePieceModelError(error.message, { cause: error });
    throw error;
  }
  if (model.pieces.length === 0) throw new SentencePieceModelError(`${source}: no pieces (field 1): not a SentencePiece tokenizer.model`);
  for (const [name, id] of [["unk_id", model.unknownId], ["bos_id", model.bosId], ["eos_id", model.eosId], ["pad_id", model.padId]] as const) {
    if (id >= model.pieces.length) throw new SentencePieceModelError(`${source}: trainer_spec.${name} = ${id} is past the ${model.pieces.length} pieces`);
  }
  return model;
}

/** Reads and parses a tokenizer.model file. */
export function readSentencePieceModel(file: string): SentencePieceModel {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new SentencePieceModelError(`${file}: ${code === "ENOENT" ? "file not found" : `cannot read (${code ?? String(error)})`}`, { cause: error });
  }
  return parseSentencePieceModel(bytes, file);
}

/** A token appended after the SentencePiece pieces (ChatGLM's [gMASK], <|user|>, ...). */
export interface AddedToken {
  /** Its id: past the last piece (the ids in between become unused padding). */
  id: number;
  /** Its text, matched literally when special tokens are parsed. */
  text: string;
  /** GGUF token type: control for special tokens (the default), user-defined for plain added words. */
  type?: number;
}

/** How {@link sentencePieceVocabulary} extends and labels a model's pieces. */
export interface SentencePieceVocabularyOptions {
  /** Tokens at ids past the pieces, as a model's own tokenizer code adds them. */
  addedTokens?: readonly AddedToken[];
  /** Pad the vocabulary to this many ids (a model's padded embedding) with unused "[PAD<id>]" tokens. */
  vocabSize?: number;
  /** Spell these ids differently (llama.cpp's converter names ChatGLM3's 0, 1, 2 "<unk>", "<bos>", "<eos>"). */
  renamedTokens?: ReadonlyMap<number, string>;
  /** Override trainer_spec eos_id. */
  eosTokenId?: number;
  /** Override trainer_spec bos_id. */
  bosTokenId?: number;
  /** Put the BOS token before every encoded text (tokenizer.ggml.add_bos_token); unset leaves the tokenizer's default. */
  addBosToken?: boolean;
  /** A Jinja chat template to record (tokenizer.chat_template). */
  chatTemplate?: string;
  /** tokenizer.ggml.pre to record (e.g. "chatglm-spm"); "default" when absent. */
  preTokenizer?: string;
}

/**
 * The GgufVocabulary of a BPE SentencePiece model ("llama" model in GGUF terms): pieces, scores and types in id
 * order, then `addedTokens`, padded to `vocabSize`. Unigram models are refused: their encoding is a different
 * algorithm (Viterbi over piece scores) that this package does not implement.
 */
export function sentencePieceVocabulary(model: SentencePieceModel, options: SentencePieceVocabularyOptions = {}): GgufVocabulary {
  if (model.modelType !== "bpe") {
    throw new SentencePieceModelError(`${model.source}: a ${model.modelType} SentencePiece model; only BPE models (trainer_spec.model_type = BPE) are supported`);
  }
  const tokens = model.pieces.map((piece, id) => options.renamedTokens?.get(id) ?? piece.piece);
  const scores = model.pieces.map((piece) => piece.score);
  const types = model.pieces.map((piece) => piece.type);
  const added = [...(options.addedTokens ?? [])].sort((a, b) => a.id - b.id);
  for (const token of added) {
    if (token.id < tokens.length) throw new SentencePieceModelError(`${model.source}: added token "${token.text}" has id ${token.id}, which a piece already has`);
    while (tokens.length < token.id) {
      tokens.push(`[PAD${tokens.length}]`);
      scores.push(0);
      types.push(SentencePieceType.unused);
    }
    tokens.push(token.text);
    scores.push(0);
    types.push(token.type ?? SentencePieceType.control);
  }
  const vocabSize = options.vocabSize ?? tokens.length;
  if (vocabSize < tokens.length) throw new SentencePieceModelError(`${model.source}: vocabSize ${vocabSize} is smaller than the ${tokens.length} tokens`);
  while (tokens.length < vocabSize) {
    tokens.push(`[PAD${tokens.length}]`);
    scores.push(0);
    types.push(SentencePieceType.unused);
  }
  return {
    model: "llama",
    tokens,
    scores: Float32Array.from(scores),
    tokenTypes: Int32Array.from(types),
    preTokenizer: options.preTokenizer,
    bosTokenId: options.bosTokenId ?? (model.bosId >= 0 ? model.bosId : undefined),
    eosTokenId: options.eosTokenId ?? (model.eosId >= 0 ? model.eosId : undefined),
    unknownTokenId: model.unknownId >= 0 ? model.unknownId : undefined,
    paddingTokenId: model.padId >= 0 ? model.padId : undefined,
    addBosToken: options.addBosToken,
    addEosToken: false,
    addSpacePrefix: model.addDummyPrefix,
    chatTemplate: options.chatTemplate,
  };
}
