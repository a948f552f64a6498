// The first page's JavaScript, gzipped, against its budget (issue 12: under 250 kB): every script and
// modulepreload that dist/index.html loads, compressed as a server would. Exit 1 over budget.
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";

const BUDGET = 250 * 1024;
const html = readFileSync("dist/index.html", "utf8");
const files = [...html.matchAll(/<(?:script[^>]*\ssrc|link[^>]*rel="modulepreload"[^>]*\shref)="\/?([^"]+\.js)"/g)].map((m) => m[1]);
let total = 0;
for (const file of new Set(files)) {
  const size = gzipSync(readFileSync(`dist/${file}`), { level: 9 }).length;
  total += size;
  console.log(`  ${file}: ${(size / 1024).toFixed(1)} kB gzipped`);
}
const line = `first page JavaScript: ${(total / 1024).toFixed(1)} kB gzipped (budget ${BUDGET / 1024} kB)`;
if (files.length === 0 || total > BUDGET) {
  console.error(`ui budget: ${files.length ? line : "no script found in dist/index.html"}`);
  process.exit(1);
}
console.log(line);
