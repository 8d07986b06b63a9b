// The link checker finds what a reader would hit: a link to a missing page, an anchor the target page lacks, a link
// that leaves the site; and passes a site whose links all resolve.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

import { afterAll, describe, expect, it } from "vitest";

import { checkLinks } from "../src/link-checker.ts";

const site = mkdtempSync(path.join(tmpdir(), "docs-links-"));
afterAll(() => rmSync(site, { recursive: true, force: true }));

function page(name: string, html: string): void {
  mkdirSync(path.dirname(path.join(site, name)), { recursive: true });
  writeFileSync(path.join(site, name), `<!DOCTYPE html><html><body>${html}</body></html>`);
}

describe("checkLinks", () => {
  it("passes links to existing pages and anchors, and lists external links without fetching them", () => {
    page("index.html", `<a href="guide/a.html#part">a</a><a href="#top">top</a><span id="top"></span><a href="https://example.com/x">x</a>`);
    page("guide/a.html", `<h2 id="part">Part</h2><a href="../index.html">home</a><img src="../media/chart.svg">`);
    writeFileSync(path.join(site, "media-placeholder"), "");
    mkdirSync(path.join(site, "media"), { recursive: true });
    writeFileSync(path.join(site, "media/chart.svg"), "<svg/>");
    const report = checkLinks(site);
    expect(report.problems).toEqual([]);
    expect(report.pages).toBe(2);
    expect(report.links).toBe(4);
    expect(report.external).toEqual(["https://example.com/x"]);
  });

  it("reports a missing page, a missing anchor and a link that leaves the site, each with its page", () => {
    page("broken.html", `<a href="nowhere.html">1</a><a href="guide/a.html#no-such-part">2</a><a href="../outside.html">3</a>`);
    const problems = checkLinks(site).problems;
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/^broken\.html: link "nowhere\.html" points at nowhere\.html, which does not exist$/);
    expect(problems[1]).toMatch(/^broken\.html: link "guide\/a\.html#no-such-part": guide\/a\.html has no element with id "no-such-part"$/);
    expect(problems[2]).toMatch(/^broken\.html: link "\.\.\/outside\.html" leaves the site/);
  });
});
