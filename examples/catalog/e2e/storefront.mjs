// storefront.mjs loads the catalog's storefront in headless Chromium three
// times (a visit and two reloads) and prints, as JSON on stdout, what the
// browser saw of each load: the status, the headers sent and received, the
// navigation entry's Server-Timing and sizes, and the products on the page.
// TestStorefrontInChromium (storefront_e2e_test.go) runs it and judges the
// result; it is not meant to be run alone, but can be:
//
//	node storefront.mjs http://127.0.0.1:8080/
//
// The browser is Debian's chromium (CHROMIUM, default /usr/bin/chromium),
// driven by playwright-core, which downloads no browser of its own.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const url = process.argv[2];
if (!url) {
  console.error('usage: node storefront.mjs URL');
  process.exit(2);
}

// A fresh profile, and no traffic of Chromium's own: the machine's network
// is closed, and a request of Chromium's would not be the page's.
const profile = mkdtempSync(join(tmpdir(), 'storefront-chromium-'));
const args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let context;
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args,
    timeout: 60_000,
  });
  const page = context.pages()[0] ?? await context.newPage();
  const loads = [];
  // Each load: what the browser sent and got for the document, and what the
  // page itself sees once loaded.
  const observe = async (how, response) => {
    const entry = await page.evaluate(() => {
      const nav = performance.getEntriesByType('navigation')[0];
      return {
        type: nav.type,
        transferSize: nav.transferSize,
        encodedBodySize: nav.encodedBodySize,
        decodedBodySize: nav.decodedBodySize,
        serverTiming: nav.serverTiming.map((m) => ({ name: m.name, description: m.description, duration: m.duration })),
        title: document.title,
        products: [...document.querySelectorAll('.product')].map((li) => ({
          id: Number(li.dataset.productId),
          name: li.querySelector('.name').textContent,
        })),
        categories: document.querySelectorAll('.sidebar li').length,
      };
    });
    loads.push({
      how,
      status: response ? response.status() : 0,
      fromServiceWorker: response ? response.fromServiceWorker() : false,
      requestHeaders: response ? await response.request().allHeaders() : {},
      responseHeaders: response ? await response.allHeaders() : {},
      ...entry,
    });
  };
  await observe('visit', await page.goto(url, { waitUntil: 'load' }));
  await observe('reload', await page.reload({ waitUntil: 'load' }));
  await observe('reload', await page.reload({ waitUntil: 'load' }));
  process.stdout.write(JSON.stringify({ browser: context.browser()?.version() ?? '', loads }, null, 2) + '\n');
} finally {
  await context?.close();
  rmSync(profile, { recursive: true, force: true });
}
