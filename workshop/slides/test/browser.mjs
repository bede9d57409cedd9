// The deck, the diagrams and the book, opened in a real Chromium (Debian's, driven by
// playwright-core) as a room would see them:
//
// - every slide of the deck at 1280×720: no element outside the slide's frame, no code block
//   scrolled or cut, every image loaded, body text at least 24 px (a dense slide's or a pair's
//   notes, 22), tables at least 22 px, code at least 20 px (nothing under the theme's 20), and
//   speaker notes (with their minutes) for every slide;
// - the presenter view: the current slide's notes, the next slide and the timer;
// - nothing fetched from the network, no script error;
// - every diagram drawn (an SVG with a size and its title);
// - every chapter of the built book with every figure loaded.
//
// Usage: node browser.mjs DECK.html DIAGRAM_DIR BOOK_DIR [SHOTS_DIR]
// Exits 1 with one line per problem found.

import { chromium } from 'playwright-core';
import { readdirSync, mkdirSync } from 'node:fs';
import { resolve, join } from 'node:path';

const [deck, diagrams, book, shots] = process.argv.slice(2);
if (!deck || !diagrams || !book) {
  console.error('usage: node browser.mjs DECK.html DIAGRAM_DIR BOOK_DIR [SHOTS_DIR]');
  process.exit(2);
}
const problems = [];
const url = (path) => 'file://' + resolve(path);

const browser = await chromium.launch({
  executablePath: process.env.CHROME_PATH || '/usr/bin/chromium',
  // As root Chromium needs --no-sandbox; the rest keep it from calling home on a closed network.
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--disable-quic', '--no-first-run'],
});

// A page that records what a room would notice: requests off this machine, failed loads,
// script errors.
async function open(path, viewport = { width: 1280, height: 720 }) {
  const page = await browser.newPage({ viewport });
  const where = path.replace(/^.*\/(workshop|docs)\//, '$1/');
  page.on('request', (r) => {
    if (!/^(file|data|about|blob):/.test(r.url())) problems.push(`${where}: fetched ${r.url()} (a deck must open offline)`);
  });
  page.on('requestfailed', (r) => problems.push(`${where}: failed to load ${r.url()}`));
  page.on('pageerror', (e) => problems.push(`${where}: script error: ${e.message}`));
  await page.goto(url(path), { waitUntil: 'load' });
  return page;
}

// What is wrong with the active slide, measured in the page.
function slideProblems() {
  const active = document.querySelector('svg.bespoke-marp-active section');
  if (!active) return ['no active slide'];
  const frame = active.getBoundingClientRect();
  const out = [];
  const slack = 1;
  for (const el of active.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    if (r.left < frame.left - slack || r.right > frame.right + slack || r.top < frame.top - slack || r.bottom > frame.bottom + slack) {
      out.push(`<${el.tagName.toLowerCase()}> "${(el.textContent || el.getAttribute('src') || '').trim().slice(0, 40)}" reaches outside the slide`);
      break;
    }
  }
  for (const pre of active.querySelectorAll('pre')) {
    if (pre.scrollWidth > pre.clientWidth + 1 || pre.scrollHeight > pre.clientHeight + 1) out.push(`a code block is cut: "${pre.textContent.trim().slice(0, 40)}"`);
  }
  for (const img of active.querySelectorAll('img')) {
    if (!img.complete || img.naturalWidth === 0) out.push(`image ${img.getAttribute('src')} did not load`);
  }
  // The scale from the slide's own 1280 px to the screen, to read sizes as the slide sets them.
  for (const el of active.querySelectorAll('p, li, td, th, h1, h2, h3')) {
    if (!el.textContent.trim() || el.closest('pre')) continue;
    const least = el.closest('td, th, div.pair') ? 22 : 24;
    const px = parseFloat(getComputedStyle(el).fontSize);
    if (px < least) { out.push(`text of ${px}px: "${el.textContent.trim().slice(0, 40)}"`); break; }
  }
  for (const el of active.querySelectorAll('pre, pre code, code')) {
    const px = parseFloat(getComputedStyle(el).fontSize);
    if (px < 20) { out.push(`code of ${px}px`); break; }
  }
  return out;
}

async function checkDeck() {
  const page = await open(deck);
  const count = await page.evaluate(() => document.querySelectorAll('svg[data-marpit-svg]').length);
  if (count < 40 || count > 72) problems.push(`deck: ${count} slides, not 40 to 72`);
  const notes = await page.evaluate(() => [...document.querySelectorAll('.bespoke-marp-note')].map((n) => [Number(n.dataset.index), n.textContent]));
  for (let i = 0; i < count; i++) {
    const note = notes.find(([k]) => k === i);
    if (!note || !/^\s*\d+ min\b/.test(note[1]) || !/Say: \S/.test(note[1])) problems.push(`deck slide ${i + 1}: no speaker notes with minutes and what to say`);
  }
  if (shots) {
    mkdirSync(shots, { recursive: true });
    // The on-screen controls come and go with the mouse: keep them out of the pictures.
    await page.addStyleTag({ content: '.bespoke-marp-osc { display: none !important; }' });
  }
  for (let i = 0; i < count; i++) {
    await page.evaluate((n) => { location.hash = '#' + n; }, i + 1);
    await page.waitForFunction((k) => {
      const all = [...document.querySelectorAll('svg[data-marpit-svg]')];
      return all[k] && all[k].classList.contains('bespoke-marp-active');
    }, i);
    await page.waitForFunction(() => [...document.querySelectorAll('svg.bespoke-marp-active img')].every((img) => img.complete));
    for (const p of await page.evaluate(slideProblems)) problems.push(`deck slide ${i + 1}: ${p}`);
    if (shots) await page.screenshot({ path: join(shots, `slide${String(i + 1).padStart(2, '0')}.png`) });
  }
  await page.close();
  return count;
}

async function checkPresenter() {
  const page = await open(deck + '?view=presenter', { width: 1400, height: 800 });
  await page.waitForSelector('.bespoke-marp-presenter-info-timer');
  const seen = await page.evaluate(() => ({
    note: document.querySelector('.bespoke-marp-note.active')?.textContent || '',
    next: !!document.querySelector('iframe.bespoke-marp-presenter-next'),
    timer: document.querySelector('.bespoke-marp-presenter-info-timer')?.textContent || '',
  }));
  if (!/Say: \S/.test(seen.note)) problems.push('presenter view: the first slide\'s notes are not shown');
  if (!seen.next) problems.push('presenter view: no preview of the next slide');
  if (!/^\d+:\d\d:\d\d$/.test(seen.timer.trim())) problems.push(`presenter view: no timer (saw "${seen.timer}")`);
  await page.close();
}

async function checkDiagrams() {
  const files = readdirSync(diagrams).filter((f) => f.endsWith('.svg'));
  if (files.length < 7) problems.push(`diagrams: only ${files.length} in ${diagrams}`);
  for (const f of files) {
    const page = await open(join(diagrams, f));
    const drawn = await page.evaluate(() => {
      const svg = document.documentElement;
      const box = svg.getBBox ? svg.getBBox() : { width: 0, height: 0 };
      return { width: box.width, height: box.height, title: document.querySelector('title')?.textContent || '', texts: document.querySelectorAll('text').length };
    });
    if (drawn.width < 100 || drawn.height < 100 || drawn.texts < 3 || !drawn.title) problems.push(`diagram ${f}: not drawn (${JSON.stringify(drawn)})`);
    await page.close();
  }
  return files.length;
}

async function checkBook() {
  const chapters = readdirSync(book).filter((f) => f.endsWith('.html') && !['print.html', '404.html', 'toc.html'].includes(f));
  if (chapters.length < 10) problems.push(`book: only ${chapters.length} chapters in ${book}`);
  let figures = 0;
  for (const f of chapters) {
    const page = await open(join(book, f), { width: 1280, height: 900 });
    const images = await page.evaluate(async () => {
      const all = [...document.querySelectorAll('main img')];
      await Promise.all(all.map((img) => img.complete ? null : new Promise((r) => { img.onload = img.onerror = r; })));
      return all.map((img) => ({ src: img.getAttribute('src'), ok: img.naturalWidth > 0 }));
    });
    for (const img of images) if (!img.ok) problems.push(`book ${f}: figure ${img.src} did not load`);
    figures += images.length;
    await page.close();
  }
  if (figures < 15) problems.push(`book: only ${figures} figures in all its chapters`);
  return [chapters.length, figures];
}

const slides = await checkDeck();
await checkPresenter();
const drawn = await checkDiagrams();
const [chapters, figures] = await checkBook();
await browser.close();
if (problems.length) {
  for (const p of problems) console.error(`browser-test: ${p}`);
  process.exit(1);
}
console.log(`browser-test: ${slides} slides at 1280×720 fit their frames with their notes, the presenter view shows notes, next slide and timer, ${drawn} diagrams drawn, ${chapters} chapters with ${figures} figures loaded; nothing fetched from the network`);
