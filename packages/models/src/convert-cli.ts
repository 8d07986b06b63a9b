#!/usr/bin/env tsx
// Command line for convertSafetensorsToGguf (`pnpm convert`); the command itself is in convert-command.ts:
//   pnpm convert <hf-model-directory> <out.gguf> [--quant q8_0] [--name NAME]

import { runConvertCommandLine } from "./convert-command.ts";

runConvertCommandLine();
