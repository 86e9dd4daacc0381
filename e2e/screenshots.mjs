// Screenshots of the admin UI for docs/screenshots/, in Persian and English, at 1280 px
// and 360 px wide, against a running demo server (`vafa serve --demo`):
//
//   VAFA_BASE=http://127.0.0.1:8080 VAFA_ADMIN_KEY=vk_… node e2e/screenshots.mjs [page …]
//
// Signs in as the demo's admin (password vafa-demo-1405) and shoots every page (or the
// ones named); the admin key finds a customer to sell to on the cashier screen. VAFA_SHOTS sets another output folder. Chromium: /usr/bin/chromium or
// VAFA_CHROMIUM. A console error on any page fails the run.

import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { customerToSell } from './demo.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const base = (process.env.VAFA_BASE || 'http://127.0.0.1:8080').replace(/\/+$/, '');
const out = process.env.VAFA_SHOTS || join(root, 'docs', 'screenshots');
const user = process.env.VAFA_USER || 'admin';
const password = process.env.VAFA_PASSWORD || 'vafa-demo-1405';

// name → how to reach it (a path, or a function that finds one).
export const pages = {
  login: { path: '/login', signedOut: true },
  // The customer's survey link (no sign-in), asked in the language being shot.
  feedback: { signedOut: true, path: async (lang) => {
    const adminKey = process.env.VAFA_ADMIN_KEY || '';
    const { id } = await customerToSell(base, adminKey);
    const res = await fetch(base + '/api/v1/feedback', {
      method: 'POST',
      headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'csat', customer_id: id, locale: lang }),
    });
    if (!res.ok) throw new Error(`POST /api/v1/feedback: ${res.status} ${await res.text()}`);
    return '/f/' + (await res.json()).token;
  } },
  dashboard: { path: '/dashboard' },
  cashier: { path: '/cashier', act: async (page) => {
    // A customer with points, found the way a cashier would, and a sale quoted.
    const { mobile } = await customerToSell(base, process.env.VAFA_ADMIN_KEY || '');
    {
      await page.fill('[data-test=find]', mobile);
      await page.click('form.find button');
      await page.waitForSelector('[data-test=customer-panel]');
      await page.fill('[data-test=amount]', '450000');
      await page.check('[data-test=use-all]');
      await page.click('[data-test=quote]');
      await page.waitForSelector('[data-test=quote-result]');
    }
  } },
  customers: { path: '/customers' },
  // A customer in care: the first open ticket's, so the 360 has a story to show.
  customer: { path: async (page) => {
    await page.goto(base + '/crm');
    return await page.getAttribute('[data-test=tickets] a[href^="/customers/cus_"]', 'href');
  } },
  // A purchase of that customer, with its lines and the return form.
  purchase: { path: async (page) => {
    await page.goto(base + '/crm');
    const customer = await page.getAttribute('[data-test=tickets] a[href^="/customers/cus_"]', 'href');
    await page.goto(base + customer);
    return await page.getAttribute('[data-test=purchases] a[href^="/purchases/"]', 'href');
  } },
  crm: { path: '/crm' },
  'crm-ticket': { path: async (page) => {
    await page.goto(base + '/crm');
    return await page.getAttribute('a[href^="/crm/tickets/"]', 'href');
  } },
  'crm-tasks': { path: '/crm/tasks' },
  'crm-feedback': { path: '/crm/feedback' },
  segments: { path: '/segments' },
  settings: { path: '/settings' },
  'settings-rules': { path: '/settings/rules' },
  'settings-tiers': { path: '/settings/tiers' },
  'settings-rewards': { path: '/settings/rewards' },
  'settings-coupons': { path: '/settings/coupons' },
};

async function signIn(page) {
  await page.goto(base + '/login');
  await page.fill('#username', user);
  await page.fill('#password', password);
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
}

async function setLang(page, lang) {
  const now = await page.getAttribute('html', 'lang');
  if (now !== lang) {
    await Promise.all([page.waitForNavigation(), page.click('[data-test=switch-lang]')]);
  }
}

async function main() {
  const wanted = process.argv.slice(2);
  const names = wanted.length ? wanted : Object.keys(pages);
  mkdirSync(out, { recursive: true });
  const browser = await chromium.launch({
    executablePath: process.env.VAFA_CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const errors = [];
  try {
    for (const lang of ['fa', 'en']) {
      for (const width of [1280, 360]) {
        const ctx = await browser.newContext({ viewport: { width, height: width > 400 ? 900 : 780 }, deviceScaleFactor: 1 });
        const page = await ctx.newPage();
        page.on('console', (m) => { if (m.type() === 'error') errors.push(`${lang} ${width}: ${m.text()}`); });
        page.on('pageerror', (e) => errors.push(`${lang} ${width}: ${e.message}`));
        await signIn(page);
        await setLang(page, lang);
        for (const name of names) {
          const p = pages[name];
          if (!p) throw new Error(`no page ${name}`);
          if (p.signedOut) {
            const anon = await browser.newContext({ viewport: { width, height: 780 } });
            const ap = await anon.newPage();
            ap.on('console', (m) => { if (m.type() === 'error') errors.push(`${name} ${lang} ${width}: ${m.text()}`); });
            await ap.goto(base + (typeof p.path === 'function' ? await p.path(lang) : p.path));
            await ap.screenshot({ path: join(out, `${name}-${lang}-${width}.png`), fullPage: true });
            await anon.close();
            continue;
          }
          const path = typeof p.path === 'function' ? await p.path(page) : p.path;
          if (!path) throw new Error(`${name}: nothing to show`);
          await page.goto(base + path);
          if (p.act) await p.act(page);
          await page.screenshot({ path: join(out, `${name}-${lang}-${width}.png`), fullPage: true });
          console.log(`screenshot ${name}-${lang}-${width}.png`);
        }
        await ctx.close();
      }
    }
  } finally {
    await browser.close();
  }
  if (errors.length) {
    console.error('console errors:\n' + errors.join('\n'));
    process.exit(1);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((e) => { console.error(e); process.exit(1); });
}
