// GLM-4's special tokens and chat format. GLM-4 (THUDM/glm-4-9b-chat) keeps ChatGLM's architecture but replaces the
// SentencePiece vocabulary with a byte-level BPE one (llama.cpp: tokenizer.ggml.model "gpt2", pre "chatglm-bpe"),
// read here through tokenizer.json or a GGUF file. Its special tokens follow the 151329 byte-level tokens.

/** GLM-4's special tokens in id order, after the byte-level tokens (THUDM's tokenization_chatglm.py). */
export const glm4SpecialTokens: readonly string[] = [
  "<|endoftext|>",
  "[MASK]",
  "[gMASK]",
  "[sMASK]",
  "<sop>",
  "<eop>",
  "<|system|>",
  "<|user|>",
  "<|assistant|>",
  "<|observation|>",
  "<|begin_of_image|>",
  "<|end_of_image|>",
  "<|begin_of_video|>",
  "<|end_of_video|>",
];

/**
 * GLM-4's chat format as llama.cpp writes it for a "[gMASK]<sop>" template (its built-in "chatglm4"): "[gMASK]<sop>"
 * once, "<|role|>\n content" per message, then "<|assistant|>\n". Used when a GLM-4 file carries no template of its own.
 */
export const glm4ChatTemplate =
  "[gMASK]<sop>{% for message in messages %}<|{{ message['role'] }}|>\n{{ message['content'] }}{% endfor %}" +
  "{% if add_generation_prompt %}<|assistant|>\n{% endif %}";
