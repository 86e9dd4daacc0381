// End-to-end test of the customer feedback link (/f/{token}) in headless Chromium.
//
//   VAFA_BASE=http://127.0.0.1:8080 VAFA_ADMIN_KEY=vk_… node e2e/feedback.mjs
//
// Against a running demo server (`vafa serve --demo`), with its admin key: asks a demo
// customer for a CSAT answer (the program's default language, Persian) and an NPS answer
// (English) through the API, answers both forms in a 360 px wide phone browser, checks
// the thank-you and "already answered" pages, and reads the stored answers back from
// the API. Any console error, page error or request to another host fails the run.
// Screenshots of both forms go to VAFA_SHOTS (default: a folder in the system's temp
// directory; docs/screenshots/ is made by screenshots.mjs, not by a test run).
//
// Chromium: /usr/bin/chromium (Debian's `chromium` package), or VAFA_CHROMIUM.
// Exits 0 when everything passed, 1 with a message saying what did not.

import { readFileSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const chromiumPath = process.env.VAFA_CHROMIUM || '/usr/bin/chromium';
const shotsDir = process.env.VAFA_SHOTS || join(tmpdir(), 'vafa-e2e-shots');

class Failure extends Error {}
// What the browser saw that it should not have (console errors, outside requests, …).
const problems = [];
function fail(msg) {
  throw new Failure(msg);
}
function check(cond, msg) {
  if (!cond) fail(msg);
}

const base = (process.env.VAFA_BASE || '').replace(/\/+$/, '');
const adminKey = process.env.VAFA_ADMIN_KEY || '';

// The texts the pages must show, from the UI's own message files.
const ui = {
  fa: JSON.parse(readFileSync(join(root, 'crates/vafa-server/ui/fa.json'), 'utf8')),
  en: JSON.parse(readFileSync(join(root, 'crates/vafa-server/ui/en.json'), 'utf8')),
};
const toPersianDigits = (s) => String(s).replace(/[0-9]/g, (d) => '۰۱۲۳۴۵۶۷۸۹'[d]);
const norm = (s) => (s || '').replace(/\s+/g, ' ').trim();

async function api(method, path, body) {
  const res = await fetch(base + path, {
    method,
    headers: {
      authorization: `Bearer ${adminKey}`,
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
}

async function main() {
  check(/^https?:\/\//.test(base), 'VAFA_BASE must be the server\'s URL, e.g. http://127.0.0.1:8080');
  check(adminKey, 'VAFA_ADMIN_KEY must be the demo\'s admin key (vk_…)');
  check(
    existsSync(chromiumPath),
    `no Chromium at ${chromiumPath}: install it (apt-get install -y chromium) or set VAFA_CHROMIUM`,
  );
  let chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch (e) {
    fail(`playwright-core is not installed: run 'npm ci --prefix e2e' (${e.message})`);
  }
  const serverOrigin = new URL(base).origin;

  // ---------------------------------------------------------------- the API side
  const program = await api('GET', '/api/v1/program');
  check(program.status === 200, `GET /api/v1/program: ${program.status} ${program.text.slice(0, 300)}`);
  const programName = program.json.name;
  check(programName, 'the program has no name');

  const customers = await api('GET', '/api/v1/customers?limit=1');
  check(customers.status === 200, `GET /api/v1/customers: ${customers.status} ${customers.text.slice(0, 300)}`);
  const customerId = customers.json.items?.[0]?.id;
  check(customerId, 'the demo has no customers');

  async function requestFeedback(body) {
    const r = await api('POST', '/api/v1/feedback', { customer_id: customerId, ...body });
    check(r.status === 201, `POST /api/v1/feedback ${JSON.stringify(body)}: ${r.status} ${r.text.slice(0, 300)}`);
    check(r.json.token, `POST /api/v1/feedback answered no token: ${r.text.slice(0, 300)}`);
    check(r.json.status === 'requested', `a new request has status ${r.json.status}, not requested`);
    return r.json;
  }

  const cases = [
    {
      lang: 'fa',
      dir: 'rtl',
      // No locale: the program's language, which is Persian for the demo.
      request: await requestFeedback({ kind: 'csat' }),
      kind: 'csat',
      score: 4,
      caption: ui.fa.fb_csat_4,
      comment: 'قهوه عالی بود، ولی صف کمی طولانی بود. ممنون از برخورد خوب‌تان!',
      thanksStart: 'سپاسگزاریم',
    },
    {
      lang: 'en',
      dir: 'ltr',
      request: await requestFeedback({ kind: 'nps', locale: 'en' }),
      kind: 'nps',
      score: 9,
      caption: '9',
      comment: 'Great coffee, friendly staff. The queue at noon was a bit long.',
      thanksStart: 'Thank you!',
    },
  ];
  check(cases[0].request.locale === 'fa', `the demo program's default feedback locale is ${cases[0].request.locale}, not fa`);
  check(cases[1].request.locale === 'en', `locale "en" was stored as ${cases[1].request.locale}`);

  // ---------------------------------------------------------------- the browser side
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--headless', '--no-sandbox'],
  });
  try {
    const context = await browser.newContext({
      viewport: { width: 360, height: 740 },
      deviceScaleFactor: 1,
      isMobile: true,
      hasTouch: true,
    });
    // Nothing may come from anywhere but the server: block and report the rest.
    await context.route('**/*', (route) => {
      const url = route.request().url();
      let origin = '';
      try {
        origin = new URL(url).origin;
      } catch {}
      if (origin === serverOrigin) return route.continue();
      problems.push(`request to another host: ${url}`);
      return route.abort('blockedbyclient');
    });
    mkdirSync(shotsDir, { recursive: true });

    for (const c of cases) {
      const t = ui[c.lang];
      const url = `${base}/f/${c.request.token}`;
      const where = `${c.lang} ${c.kind} form`;
      // Status codes the test expects a page to answer with; a console error about
      // loading a resource with one of these is that page, not a bug.
      const expectedStatus = new Set();
      const watch = (page, name) => {
        page.on('pageerror', (e) => problems.push(`${name}: page error: ${e.message}`));
        page.on('console', (m) => {
          if (m.type() !== 'error') return;
          const s = /status of (\d{3})/.exec(m.text());
          if (s && expectedStatus.has(Number(s[1])) && /^Failed to load resource/.test(m.text())) return;
          problems.push(`${name}: console error: ${m.text()} (${m.location().url || ''})`);
        });
        page.on('requestfailed', (r) => {
          if (new URL(r.url()).origin === serverOrigin) {
            problems.push(`${name}: request failed: ${r.url()} ${r.failure()?.errorText}`);
          }
        });
        page.on('response', (r) => {
          if (r.status() >= 400 && r.request().resourceType() !== 'document') {
            problems.push(`${name}: ${r.status()} for ${r.url()}`);
          }
        });
      };

      const page = await context.newPage();
      watch(page, where);
      // A second tab with the same link, answered after the first: the "two taps" case.
      const twin = await context.newPage();
      watch(twin, `${where} (second tab)`);

      const res = await page.goto(url, { waitUntil: 'load' });
      check(res.status() === 200, `${where}: GET ${url} answered ${res.status()}`);
      check(
        (await page.getAttribute('html', 'dir')) === c.dir,
        `${where}: html[dir] is ${await page.getAttribute('html', 'dir')}, not ${c.dir}`,
      );
      check(
        (await page.getAttribute('html', 'lang')) === c.lang,
        `${where}: html[lang] is ${await page.getAttribute('html', 'lang')}, not ${c.lang}`,
      );
      const stylesheetOk = await page.evaluate(() =>
        [...document.styleSheets].some((s) => {
          try {
            return s.cssRules.length > 0;
          } catch {
            return false;
          }
        }),
      );
      check(stylesheetOk, `${where}: the page's stylesheet did not load`);

      const h1 = norm(await page.locator('h1').innerText());
      const wantTitle = t[c.kind === 'nps' ? 'fb_title_nps' : 'fb_title_csat'].replace('{program}', programName);
      check(h1.includes(programName), `${where}: the question "${h1}" lacks the program name "${programName}"`);
      check(h1 === norm(wantTitle), `${where}: the question is "${h1}", expected "${wantTitle}"`);

      const radios = page.locator('input[type=radio][name=score]');
      const values = await radios.evaluateAll((els) => els.map((e) => e.value));
      const wantValues = c.kind === 'nps' ? [...Array(11).keys()].map(String) : ['1', '2', '3', '4', '5'];
      check(
        JSON.stringify(values) === JSON.stringify(wantValues),
        `${where}: score options are [${values}], expected [${wantValues}]`,
      );
      const captions = (await page.locator('.scale label').allInnerTexts()).map(norm);
      const wantCaptions =
        c.kind === 'csat'
          ? [1, 2, 3, 4, 5].map((n) => t[`fb_csat_${n}`])
          : wantValues.map((v) => (c.lang === 'fa' ? toPersianDigits(v) : v));
      check(
        JSON.stringify(captions) === JSON.stringify(wantCaptions),
        `${where}: score captions are ${JSON.stringify(captions)}, expected ${JSON.stringify(wantCaptions)}`,
      );
      // On a phone nothing may stick out sideways.
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      check(overflow <= 0, `${where}: the page is ${overflow} px wider than the 360 px screen`);

      await twin.goto(url, { waitUntil: 'load' });

      // Tap the score's caption, as a customer would.
      const label = page.locator('.scale label').filter({ has: page.locator(`input[value="${c.score}"]`) });
      check(norm(await label.innerText()) === c.caption, `${where}: score ${c.score} is captioned "${await label.innerText()}"`);
      await label.locator('span').click();
      check(
        await page.locator(`input[name=score][value="${c.score}"]`).isChecked(),
        `${where}: tapping "${c.caption}" did not choose score ${c.score}`,
      );
      const commentLabel = norm(await page.locator('label[for=comment]').innerText());
      check(commentLabel === norm(t.fb_comment), `${where}: the comment label is "${commentLabel}"`);
      await page.locator('textarea#comment').pressSequentially(c.comment);
      check(
        (await page.locator('textarea#comment').inputValue()) === c.comment,
        `${where}: the comment box holds "${await page.locator('textarea#comment').inputValue()}"`,
      );
      await page.locator('textarea#comment').blur();
      await page.screenshot({ path: join(shotsDir, `feedback-${c.lang}-360.png`), fullPage: true });

      const send = page.getByRole('button', { name: t.fb_send });
      check((await send.count()) === 1, `${where}: no "${t.fb_send}" button`);
      const [sent] = await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), send.click()]);
      check(sent && sent.request().method() === 'POST', `${where}: submitting did not POST the form`);
      check(sent.status() === 200, `${where}: submitting answered ${sent.status()}`);
      check((await page.getAttribute('html', 'dir')) === c.dir, `${where}: the thank-you page is not ${c.dir}`);
      const thanks = norm(await page.locator('main').innerText());
      check(thanks.startsWith(c.thanksStart), `${where}: after submitting the page says "${thanks}"`);
      check(thanks === norm(t.fb_thanks), `${where}: the thank-you text is "${thanks}", expected "${t.fb_thanks}"`);

      // Re-opening the link: already answered, no form.
      const again = await page.goto(url, { waitUntil: 'load' });
      const againText = norm(await page.locator('main').innerText());
      check(again.status() === 200, `${where}: re-opening the answered link answered ${again.status()}`);
      check(againText === norm(t.fb_already), `${where}: the re-opened link says "${againText}", expected "${t.fb_already}"`);
      check((await page.locator('form').count()) === 0, `${where}: the answered link still shows a form`);
      check((await page.getAttribute('html', 'dir')) === c.dir, `${where}: the answered page is not ${c.dir}`);

      // The second tab answers too: refused with 409, in the same language.
      expectedStatus.add(409);
      await twin.locator(`input[name=score][value="1"]`).check({ force: true });
      const [second] = await Promise.all([
        twin.waitForNavigation({ waitUntil: 'load' }),
        twin.getByRole('button', { name: t.fb_send }).click(),
      ]);
      check(second.status() === 409, `${where}: a second answer from another tab got ${second.status()}, not 409`);
      const secondText = norm(await twin.locator('main').innerText());
      check(secondText === norm(t.fb_already), `${where}: the second answer's page says "${secondText}"`);
      await twin.close();
      await page.close();

      // The answer is stored as given, and only the first one.
      const list = await api('GET', `/api/v1/feedback?kind=${c.kind}&customer_id=${customerId}&limit=50`);
      check(list.status === 200, `GET /api/v1/feedback?kind=${c.kind}: ${list.status} ${list.text.slice(0, 300)}`);
      const stored = list.json.items.find((f) => f.id === c.request.id);
      check(stored, `${where}: the answer ${c.request.id} is not in GET /api/v1/feedback?kind=${c.kind}`);
      check(stored.status === 'answered', `${where}: the stored answer has status ${stored.status}`);
      check(stored.score === c.score, `${where}: the stored score is ${stored.score}, not ${c.score}`);
      check(stored.comment === c.comment, `${where}: the stored comment is ${JSON.stringify(stored.comment)}`);
      check(stored.answered_at, `${where}: the stored answer has no answered_at`);
      console.log(`e2e feedback: ${c.lang} ${c.kind} form answered (score ${c.score}) and stored as ${stored.id}`);
    }
    await context.close();
  } finally {
    await browser.close();
  }
  if (problems.length) fail(`the browser saw:\n  ${problems.join('\n  ')}`);
  console.log(`e2e feedback: passed; screenshots in ${shotsDir}/feedback-{fa,en}-360.png`);
}

main().catch((e) => {
  let msg = e instanceof Failure ? e.message : e.stack || String(e);
  if (problems.length && !msg.startsWith('the browser saw')) msg += `\nthe browser also saw:\n  ${problems.join('\n  ')}`;
  console.error(`error: e2e feedback test failed: ${msg}`);
  process.exit(1);
});
