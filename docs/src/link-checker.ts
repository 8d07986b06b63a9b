// A link checker over the built site: every href and src in every HTML page that points inside the site must name a
// file that exists, and every #anchor an element id (or name) on the page it points at. External links (http:,
// mailto:, ...) are listed apart, not fetched: the build is offline.

import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";

/** What the checker found. */
export interface LinkReport {
  /** HTML pages read. */
  pages: number;
  /** Internal links followed (with or without an anchor). */
  links: number;
  /** One line per broken link: the page, the link, and what is missing. */
  problems: string[];
  /** Distinct external URLs, not checked. */
  external: string[];
}

function htmlFiles(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(".html"))
    .map((entry) => path.join(entry.parentPath, entry.name));
}

function decodeEntities(text: string): string {
  return text
    .replace(/&quot;/g, '"')
    .replace(/&#39;|&#x27;/g, "'")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&");
}

/** The ids (and a element names) a page defines, which #anchors may point at. */
export function anchorsOf(html: string): Set<string> {
  const anchors = new Set<string>();
  for (const match of html.matchAll(/\s(?:id|name)="([^"]*)"/g)) anchors.add(decodeEntities(match[1]));
  return anchors;
}

/** The href and src values of a page, skipping those inside <script> and <code> text. */
export function linksOf(html: string): string[] {
  const withoutScripts = html.replace(/<script\b[^>]*>[\s\S]*?<\/script>/g, (tag) => tag.slice(0, tag.indexOf(">") + 1));
  return [...withoutScripts.matchAll(/<[a-z][^>]*?\s(?:href|src)="([^"]*)"/gi)].map((match) => decodeEntities(match[1]));
}

/** Checks every page under `siteDirectory`. */
export function checkLinks(siteDirectory: string): LinkReport {
  const root = path.resolve(siteDirectory);
  const pages = htmlFiles(root);
  const anchorCache = new Map<string, Set<string>>();
  const anchorsIn = (file: string) => {
    let anchors = anchorCache.get(file);
    if (!anchors) {
      anchors = anchorsOf(readFileSync(file, "utf8"));
      anchorCache.set(file, anchors);
    }
    return anchors;
  };
  const problems: string[] = [];
  const external = new Set<string>();
  let links = 0;
  for (const page of pages) {
    const html = readFileSync(page, "utf8");
    anchorCache.set(page, anchorsOf(html));
    const where = path.relative(root, page);
    for (const link of linksOf(html)) {
      if (link === "" || link === "#") continue;
      if (/^[a-z][a-z0-9+.-]*:/i.test(link)) {
        if (!/^(javascript|data):/i.test(link)) external.add(link);
        continue;
      }
      links++;
      const [beforeAnchor, anchor] = link.split("#", 2);
      const filePart = beforeAnchor.split("?")[0];
      let target = filePart === "" ? page : path.resolve(path.dirname(page), decodeURIComponent(filePart));
      if (!target.startsWith(root + path.sep) && target !== root) {
        problems.push(`${where}: link "${link}" leaves the site (${path.relative(root, target)})`);
        continue;
      }
      if (existsSync(target) && statSync(target).isDirectory()) target = path.join(target, "index.html");
      if (!existsSync(target)) {
        problems.push(`${where}: link "${link}" points at ${path.relative(root, target)}, which does not exist`);
        continue;
      }
      if (anchor !== undefined && anchor !== "" && target.endsWith(".html") && !anchorsIn(target).has(decodeURIComponent(anchor))) {
        problems.push(`${where}: link "${link}": ${path.relative(root, target)} has no element with id "${anchor}"`);
      }
    }
  }
  return { pages: pages.length, links, problems, external: [...external].sort() };
}
