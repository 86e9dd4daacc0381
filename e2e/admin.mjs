// End-to-end test of the admin UI in headless Chromium, against a running demo server:
//
//   VAFA_BASE=http://127.0.0.1:8080 VAFA_ADMIN_KEY=vk_… [VAFA_PASSWORD=…] node e2e/admin.mjs
//
// A cashier signs in (a wrong password first), finds a demo customer by mobile typed in
// Persian digits, sees a quote go when the sale form is edited after it, quotes a sale
// with the tier discount and points as payment, records
// it, and the purchase is read back through the API (the discount and the points it
// took, the balance after). Then the customer 360 shows it on the timeline, the
// language switches to English and back, and a page the role may not see is refused.
// An analyst's dashboard shades its heat map by value.
// Any console error, page error or request to another host fails the run.
//
// Chromium: /usr/bin/chromium (Debian's `chromium` package), or VAFA_CHROMIUM.

import { readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { customerToSell } from './demo.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const chromiumPath = process.env.VAFA_CHROMIUM || '/usr/bin/chromium';
const base = (process.env.VAFA_BASE || '').replace(/\/+$/, '');
const adminKey = process.env.VAFA_ADMIN_KEY || '';
const password = process.env.VAFA_PASSWORD || 'vafa-demo-1405';

class Failure extends Error {}
const fail = (msg) => { throw new Failure(msg); };
const check = (cond, msg) => { if (!cond) fail(msg); };
const problems = [];

const ui = {
  fa: JSON.parse(readFileSync(join(root, 'crates/vafa-server/ui/fa.json'), 'utf8')),
  en: JSON.parse(readFileSync(join(root, 'crates/vafa-server/ui/en.json'), 'utf8')),
};
const persian = (s) => String(s).replace(/[0-9]/g, (d) => '۰۱۲۳۴۵۶۷۸۹'[d]);
// The fixed text of a translated string: what precedes its first {placeholder}.
const stem = (s) => s.split('{')[0].trim();

async function api(method, path, body) {
  const res = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${adminKey}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, json, text };
}

async function main() {
  check(/^https?:\/\//.test(base), 'VAFA_BASE must be the server\'s URL');
  check(adminKey, 'VAFA_ADMIN_KEY must be the demo\'s admin key');
  check(existsSync(chromiumPath), `no Chromium at ${chromiumPath}`);
  const { chromium } = await import('playwright-core');
  const origin = new URL(base).origin;

  const browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await ctx.newPage();
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('request', (r) => {
      const u = r.url();
      if (!u.startsWith(origin) && !u.startsWith('data:')) problems.push(`outside request: ${u}`);
    });
    // Failed requests the test causes on purpose (a wrong password, a refused page).
    const expectedStatus = new Set([401, 403]);

    // ------------------------------------------------------------ signing in
    await page.goto(base + '/login');
    check(await page.getAttribute('html', 'dir') === 'rtl', 'the login page is right to left');
    await page.fill('#username', 'cashier');
    await page.fill('#password', 'not the password');
    await page.click('button[type=submit]');
    await page.waitForSelector('.error[role=alert]');
    check((await page.textContent('.error')).includes(ui.fa.login_wrong), 'a wrong password says so');
    await page.fill('#username', 'cashier');
    await page.fill('#password', password);
    await Promise.all([page.waitForURL('**/cashier'), page.click('button[type=submit]')]);
    const nav = await page.$$eval('nav.main a', (as) => as.map((a) => a.getAttribute('href')));
    check(nav.includes('/cashier') && !nav.includes('/settings'), `a cashier's navigation: ${nav}`);
    console.log('e2e admin: the cashier signed in (a wrong password was refused first)');

    // ------------------------------------------------------------ the counter
    const { id: customerId, mobile } = await customerToSell(base, adminKey);
    const before = (await api('GET', `/api/v1/customers/${customerId}/balance`)).json.points;
    const tier = (await api('GET', `/api/v1/customers/${customerId}`)).json.tier;
    check(tier, 'the demo customer has a tier');
    const spend = Math.min(20, before.available);
    check(spend > 0, 'the customer has points to spend');

    await page.fill('[data-test=find]', persian(mobile));
    await page.press('[data-test=find]', 'Enter');
    await page.waitForSelector('[data-test=customer-panel]');
    check(await page.isVisible('[data-test=discount]'), 'the panel shows the tier discount');
    // A quote is for the sale as typed: editing the form takes it (and its record button)
    // away, so a sale is never recorded at figures no longer on screen.
    await page.fill('[data-test=amount]', '200000');
    await page.click('[data-test=quote]');
    await page.waitForSelector('[data-test=confirm]');
    await page.fill('[data-test=amount]', '350000');
    check(!(await page.isVisible('[data-test=confirm]')), 'an edited sale form takes the stale quote away');
    await page.fill('[data-test=amount]', '350000');
    await page.fill('[data-test=points-to-use]', String(spend));
    await page.click('[data-test=quote]');
    await page.waitForSelector('[data-test=quote-result]');
    const quote = await page.textContent('[data-test=quote-result]');
    check(quote.includes(stem(ui.fa.tier_discount_line)), `the quote has the tier discount: ${quote}`);
    check(quote.includes(stem(ui.fa.points_paid)), `the quote pays with points: ${quote}`);
    await page.click('[data-test=confirm]');
    await page.waitForSelector('[data-test=receipt]');
    check((await page.textContent('[data-test=receipt]')).includes(ui.fa.sale_recorded), 'the receipt says the sale is recorded');

    // Read back through the API: the newest purchase, its discount and points.
    const ledger = (await api('GET', `/api/v1/customers/${customerId}/ledger?limit=5`)).json.items;
    const entry = ledger.find((e) => e.type === 'purchase');
    check(entry && entry.reference, 'the sale is in the ledger');
    const purchase = (await api('GET', `/api/v1/purchases/${entry.reference}`)).json;
    const pct = Number(tier.tier.discount_percent);
    const cart = 3500000; // 350,000 toman in rials
    const sale = Number(purchase.total.amount);
    check(pct > 0 && sale === Math.round(cart * (100 - pct) / 100),
      `the sale is the cart less the ${pct}% tier discount: ${sale}`);
    check(entry.points === purchase.points_earned - spend,
      `the entry spent ${spend} points and earned ${purchase.points_earned}: ${entry.points}`);
    const after = (await api('GET', `/api/v1/customers/${customerId}/balance`)).json.points;
    check(after.available + after.pending === before.available + before.pending - spend + purchase.points_earned,
      `balance ${JSON.stringify(before)} − ${spend} + ${purchase.points_earned} = ${JSON.stringify(after)}`);
    console.log(`e2e admin: sold 350,000 toman with the ${pct}% tier discount and ${spend} points; ${purchase.id} read back`);

    // ------------------------------------------------------------ customer 360
    await Promise.all([page.waitForURL(`**/customers/${customerId}`), page.click('[data-test=customer-panel] a[href^="/customers/"]')]);
    await page.waitForSelector('[data-test=customer-360]');
    const timeline = await page.textContent('[data-test=timeline]');
    check(timeline.includes(ui.fa.tl_purchase), 'the timeline shows the purchase');
    check(await page.isVisible('[data-test=balance]'), 'the 360 shows the balance');
    console.log('e2e admin: the customer 360 shows the sale on the timeline');

    // ------------------------------------------------------------ languages
    await Promise.all([page.waitForNavigation(), page.click('[data-test=switch-lang]')]);
    check(await page.getAttribute('html', 'lang') === 'en' && await page.getAttribute('html', 'dir') === 'ltr', 'English is left to right');
    check((await page.textContent('nav.main')).includes(ui.en.nav_cashier), 'the navigation is in English');
    check(page.url().endsWith(`/customers/${customerId}`), 'the switch stays on the page');
    await page.goto(base + '/cashier');
    check((await page.textContent('h1')).includes(ui.en.nav_cashier), 'the next page is English too');
    await Promise.all([page.waitForNavigation(), page.click('[data-test=switch-lang]')]);
    check(await page.getAttribute('html', 'lang') === 'fa', 'back to Persian');
    console.log('e2e admin: switched to English and back to Persian');

    // ------------------------------------------------------------ roles
    const refused = await page.goto(base + '/settings');
    check(expectedStatus.has(refused.status()), `a cashier may not open the settings (${refused.status()})`);
    check((await page.textContent('main')).includes(ui.fa.no_access), 'the refusal says why');
    await ctx.close();

    // ------------------------------------------------------------ the dashboard's charts
    // A heat map's cells are shaded by their value (a style rule for every bar had painted
    // them all one colour).
    const analyst = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const dash = await analyst.newPage();
    dash.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    await dash.goto(base + '/login');
    await dash.fill('#username', 'analyst');
    await dash.fill('#password', password);
    await Promise.all([dash.waitForNavigation(), dash.click('button[type=submit]')]);
    await dash.goto(base + '/dashboard');
    const fills = await dash.$$eval('svg.heat rect.cell', (cells) => cells.map((c) => getComputedStyle(c).fill));
    check(fills.length > 4, `the dashboard draws its cohort heat map (${fills.length} cells)`);
    check(new Set(fills).size > 2, `the heat map's cells are shaded by value: ${[...new Set(fills)].join(', ')}`);
    console.log(`e2e admin: the cohort heat map shows ${new Set(fills).size} shades over ${fills.length} cells`);
    await analyst.close();
  } finally {
    await browser.close();
  }
  // The deliberate 401 and 403 answers log "Failed to load resource"; nothing else may.
  const real = problems.filter((p) => !/Failed to load resource: the server responded with a status of (401|403)/.test(p));
  check(real.length === 0, `the browser saw problems:\n${real.join('\n')}`);
  console.log('e2e admin: passed, no console errors');
}

main().catch((e) => {
  console.error(e instanceof Failure ? `e2e admin FAILED: ${e.message}` : e);
  process.exit(1);
});
