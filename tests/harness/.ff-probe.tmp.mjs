import puppeteer from 'puppeteer-core';
const t0 = Date.now();
const log = (...a) => console.log(((Date.now()-t0)/1000).toFixed(1), ...a);
const uuid = '11111111-2222-4333-8444-555555555555';
const browser = await puppeteer.launch({ browser: 'firefox', executablePath: '/usr/bin/firefox-esr', headless: true, timeout: 90000, args: ['--remote-allow-system-access'],
  extraPrefsFirefox: { 'extensions.webextensions.uuids': JSON.stringify({ 'treecast@treecast.invalid': uuid }) } });
log('launched');
log(await browser.installExtension('/work/main/dist/firefox'));
const page = await browser.newPage();
try { await page.goto(`moz-extension://${uuid}/options/options.html`, { timeout: 8000, waitUntil: 'domcontentloaded' }); log('goto ok'); } catch (e) { log('goto', e.message); }
log('url', page.url(), browser.pages ? (await browser.pages()).map(p => p.url()) : '');
try { log('eval', await page.evaluate(() => [location.href, typeof browser, document.readyState])); } catch (e) { log('eval err', e.message); }
await browser.close();
log('closed');
