// The first load's JavaScript, gzipped: the scripts index.html loads (entry
// and modulepreloads), not the lazy routes. Fails above the budget, or when
// the first load is more than one script.
import { readFileSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import { join } from 'node:path'

const BUDGET = 300 * 1024
const dist = join(import.meta.dirname, '..', 'dist')
const html = readFileSync(join(dist, 'index.html'), 'utf8')
const files = [...html.matchAll(/(?:src|href)="\/(assets\/[^"]+\.js)"/g)].map((m) => m[1])
let total = 0
for (const f of files) {
  const n = gzipSync(readFileSync(join(dist, f)), { level: 9 }).length
  total += n
  console.log(`${(n / 1024).toFixed(1).padStart(7)} KB  ${f}`)
}
console.log(`${(total / 1024).toFixed(1).padStart(7)} KB  first load, gzipped (budget ${BUDGET / 1024} KB)`)
if (files.length > 1) {
  // Rolldown moves the modules the entry shares with lazy chunks into a
  // chunk of their own when two lazy chunks share a module
  // (rolldown/rolldown#10731): the same code, ~3 KB more gzipped.
  console.error('the first load is split into several scripts: keep modules that lazy chunks share in the entry, or the lazy pages in one chunk (src/pages/lazy.ts)')
  process.exit(1)
}
if (total > BUDGET) {
  console.error('the first load is over its budget: split what the inbox does not need into lazy routes')
  process.exit(1)
}
