// The instructor's page in Debian's Chromium (driven by playwright-core), open while real
// `make verify`s run: the page, loaded once, must show each verdict as it arrives.
//
//   1. `make verify STEP` on the unsolved exercise: the learner's row appears with a failing
//      cell that says why, and the causes list counts that cause for 1 of 1 learners;
//   2. the step's own code copied in, `make verify STEP` again: the cell passes and says how
//      fast, and no failure is left "right now".
//
// Also: nothing is fetched from anywhere but the room, no script error, the page's text at
// least 18 px at 1280×720 (a projector), and a picture of each moment in SHOTS_DIR.
//
// Usage (from the repository, ROOM set in the environment): node page.mjs INSTRUCTOR_URL STEP SHOTS_DIR
// Exits 1 with one line per problem found.

import { execSync } from 'node:child_process';
import { readFileSync, mkdirSync } from 'node:fs';
import { resolve, join } from 'node:path';
import { createRequire } from 'node:module';

// playwright-core is installed with the deck's tools (workshop/slides/node_modules).
const require = createRequire(resolve('workshop/slides/package.json'));
const { chromium } = require('playwright-core');

const [instructor, step, shots] = process.argv.slice(2);
if (!instructor || !step || !shots || !process.env.ROOM) {
  console.error('usage: ROOM=… node page.mjs INSTRUCTOR_URL STEP SHOTS_DIR');
  process.exit(2);
}
mkdirSync(shots, { recursive: true });
const problems = [];
const origin = new URL(instructor).origin;

const browser = await chromium.launch({
  executablePath: process.env.CHROME_PATH || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--disable-quic', '--no-first-run'],
});
const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
page.on('request', (r) => {
  if (new URL(r.url()).origin !== origin) problems.push(`fetched ${r.url()}: the page must load nothing from elsewhere`);
});
page.on('pageerror', (e) => problems.push(`script error: ${e.message}`));
await page.goto(instructor, { waitUntil: 'load' });
await page.waitForFunction(() => document.getElementById('live').textContent === 'live', null, { timeout: 15000 });

// Runs a make command as a learner would; its exit code is what the grader said.
function run(command) {
  console.log(`room-test: ${command}`);
  try {
    execSync(command, { stdio: 'inherit' });
    return 0;
  } catch (e) {
    return e.status;
  }
}

// The learner's row and the step's cell, and the causes list, as the page shows them now.
function seen([name, step]) {
  const columns = [...document.querySelectorAll('#columns th')].map((th) => th.textContent);
  const col = columns.indexOf(step);
  const row = [...document.querySelectorAll('#rows tr')].find((tr) => tr.cells[0].textContent === name);
  const cell = row && col > 0 ? row.cells[col] : null;
  return {
    cell: cell ? { state: cell.className, text: cell.textContent } : null,
    causes: [...document.querySelectorAll('#cause-list li')].map((li) => li.textContent),
    smallest: Math.min(...[...document.querySelectorAll('body *')]
      .filter((e) => e.childNodes.length && [...e.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim()))
      .map((e) => parseFloat(getComputedStyle(e).fontSize))),
  };
}

// Waits (up to 60 s after the verify ended) until `want` holds of what the page shows.
async function expect(what, name, want) {
  const deadline = Date.now() + 60000;
  let last;
  while (Date.now() < deadline) {
    last = await page.evaluate(seen, [name, step]);
    if (last && want(last)) return last;
    await page.waitForTimeout(250);
  }
  problems.push(`${what}: the page never showed it; it showed ${JSON.stringify(last)}`);
  return last;
}

const failed = run(`make --no-print-directory verify STEP=${step}`);
// make exits 2 when a recipe fails (the grader itself exits 1).
if (failed !== 2) problems.push(`the unsolved ${step} should fail make verify (exit 2), not exit ${failed}`);
const name = readFileSync('exercises/.room/name', 'utf8').trim();
let shown = await expect('a failing cell that says why, and its cause counted', name, (s) =>
  s.cell && s.cell.state === 'failing' && s.cell.text.startsWith('✗ ') &&
  s.causes.some((c) => c.startsWith('1 of 1 ') && c.includes(s.cell.text.slice(2)) && c.includes(step)));
console.log(`room-test: the page shows ${name}'s ${step} as "${shown?.cell?.text}"; causes: ${JSON.stringify(shown?.causes)}`);
await page.screenshot({ path: join(shots, 'failing.png') });

const passed = run(`cp crates/${step}/src/main.rs exercises/${step}/src/main.rs && make --no-print-directory verify STEP=${step}`);
if (passed !== 0) problems.push(`${step} with the step's own code should pass verify, not exit ${passed}`);
shown = await expect('a passing cell that says how fast, and no failure right now', name, (s) =>
  s.cell && s.cell.state === 'passing' && s.cell.text.startsWith('✓ ') &&
  s.causes.length === 1 && s.causes[0] === 'no failures right now');
console.log(`room-test: the page shows ${name}'s ${step} as "${shown?.cell?.text}"`);
await page.screenshot({ path: join(shots, 'passing.png') });
if (shown && shown.smallest < 18) problems.push(`text of ${shown.smallest} px on the page: a projector needs 18 px or more`);

await browser.close();
for (const p of problems) console.error(`room-test: ${p}`);
process.exit(problems.length ? 1 : 0);
