// Matching a user's file pattern against repository-relative file names. A pattern is, tried in order:
// an exact path; an exact file name in any folder; a glob (`*` within a folder, `**` across folders, `?` one
// character; compared to the file name when the pattern has no `/`, else to the whole path, case-insensitively if
// nothing matches exactly); or a tag such as `Q4_K_M` that a weight file's name contains between separators
// (case-insensitive), the way llama.cpp's `-hf org/name:Q4_K_M` picks a quantization.

const weightExtensions = /\.(gguf|bin|safetensors)$/i;

export function hasGlobCharacters(pattern: string): boolean {
  return pattern.includes("*") || pattern.includes("?");
}

/** The files that `pattern` selects, in the order given. */
export function matchFiles(files: readonly string[], pattern: string): string[] {
  const normalized = pattern.replace(/\\/g, "/").replace(/^\.\//, "");
  if (files.includes(normalized)) return [normalized];
  // An exact file name in any folder (a pattern with a slash is no file's name).
  const sameName = files.filter((file) => baseName(file) === normalized);
  if (sameName.length > 0) return sameName;
  const byName = !normalized.includes("/");
  if (hasGlobCharacters(normalized)) {
    const subject = (file: string) => (byName ? baseName(file) : file);
    const exact = globToRegExp(normalized, "");
    const matches = files.filter((file) => exact.test(subject(file)));
    if (matches.length > 0) return matches;
    const caseless = globToRegExp(normalized, "i");
    return files.filter((file) => caseless.test(subject(file)));
  }
  const tag = new RegExp(`(^|[^A-Za-z0-9])${escapeRegExp(normalized)}([^A-Za-z0-9]|$)`, "i");
  return files.filter((file) => weightExtensions.test(file) && tag.test(baseName(file)));
}

export function baseName(file: string): string {
  return file.slice(file.lastIndexOf("/") + 1);
}

export function directoryName(file: string): string {
  return file.slice(0, Math.max(0, file.lastIndexOf("/")));
}

function globToRegExp(glob: string, flags: string): RegExp {
  let source = "";
  for (let index = 0; index < glob.length; index++) {
    const character = glob[index];
    if (character === "*" && glob[index + 1] === "*") {
      source += ".*";
      index++;
    } else if (character === "*") {
      source += "[^/]*";
    } else if (character === "?") {
      source += "[^/]";
    } else {
      source += escapeRegExp(character);
    }
  }
  return new RegExp(`^${source}$`, flags);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
