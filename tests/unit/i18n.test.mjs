import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { createTranslator, formatMessage } from '../../extension/shared/i18n.js';

const root = new URL('../../', import.meta.url);
const read = (path) => readFileSync(new URL(path, root), 'utf8');
const locales = {
  en: JSON.parse(read('extension/_locales/en/messages.json')),
  ja: JSON.parse(read('extension/_locales/ja/messages.json')),
};

test('formatMessage expands named placeholders, numbered substitutions and $$', () => {
  const entry = { message: '$COUNT$ times, $Total$ ms ($$)', placeholders: { count: { content: '$1' }, total: { content: '$2' } } };
  assert.equal(formatMessage(entry, ['3', '1200']), '3 times, 1200 ms ($)');
  assert.equal(formatMessage(entry, ['3']), '3 times,  ms ($)');
  assert.equal(formatMessage({ message: 'Error: $1' }, 'boom'), 'Error: boom');
  assert.equal(formatMessage({ message: 'no $UNKNOWN$ here' }), 'no $UNKNOWN$ here');
  assert.equal(formatMessage(undefined), '');
});

test('a translator prefers its own messages, then the browser, then shows the key', () => {
  const t = createTranslator({ hello: { message: 'こんにちは $1', placeholders: {} } }, (key) => (key === 'bye' ? 'Bye' : ''));
  assert.equal(t('hello', ['A']), 'こんにちは A');
  assert.equal(t('bye'), 'Bye');
  assert.equal(t('missingKey'), 'missingKey');
  assert.equal(createTranslator(null, () => 'from browser')('x'), 'from browser');
});

test('English and Japanese have the same keys, all non-empty, with placeholders declared', () => {
  assert.deepEqual(Object.keys(locales.ja).sort(), Object.keys(locales.en).sort());
  for (const [lang, messages] of Object.entries(locales)) {
    for (const [key, entry] of Object.entries(messages)) {
      assert.ok(/^[A-Za-z0-9_]+$/.test(key), `${lang}: bad key ${key}`);
      assert.ok(typeof entry.message === 'string' && entry.message.trim() !== '', `${lang}.${key} is empty`);
      for (const [, name] of entry.message.matchAll(/\$([A-Za-z0-9_@]+)\$/g)) {
        assert.ok(entry.placeholders && Object.keys(entry.placeholders).some((p) => p.toLowerCase() === name.toLowerCase()),
          `${lang}.${key} uses $${name}$ without declaring it`);
      }
    }
  }
  assert.equal(locales.en.extName.message, 'treecast');
  assert.equal(locales.en.localeCode.message, 'en');
  assert.equal(locales.ja.localeCode.message, 'ja');
});

test('the Japanese file is translated, not copied', () => {
  const japanese = /[\u3040-\u30ff\u4e00-\u9fff]/;
  const untranslated = Object.keys(locales.en).filter((key) =>
    locales.en[key].message === locales.ja[key].message && !japanese.test(locales.ja[key].message));
  assert.deepEqual(untranslated.sort(), ['extName', 'languageEn', 'popupFpsValue', 'popupKbps'].sort());
});

function filesUnder(dir) {
  return readdirSync(new URL(dir, root)).flatMap((name) => {
    const path = `${dir}/${name}`;
    return statSync(new URL(path, root)).isDirectory() ? filesUnder(path) : [path];
  });
}

test('every message key our code and pages use exists', () => {
  // The player (the lead's) is scanned too: its strings live in the same messages.json files.
  const sources = ['extension/content', 'extension/popup', 'extension/options', 'extension/shared', 'extension/player', 'extension/dashboard']
    .flatMap(filesUnder).filter((path) => /\.(js|html)$/.test(path));
  const patterns = [
    /data-i18n(?:-[a-z-]+)?="([A-Za-z0-9_]+)"/g, // pages
    /\b(?:t|message)\('([A-Za-z0-9_]+)'/g, // t('key') in pages, message('key', ...) in the overlay
    /\bfail\('([A-Za-z0-9_]+)'/g, // idle reasons from the page reader
    /\berror\('[a-z]*', '([A-Za-z0-9_]+)'/g, // validation errors
    /code: '([A-Za-z0-9_]+)'/g,
    // any other quoted string shaped like one of our keys (ternaries, tables such as STATE_KEYS)
    /'((?:state|popup|idle|options|overlay|err|source|language|dash)[A-Z][A-Za-z0-9]*)'/g,
  ];
  const used = new Set();
  for (const path of sources) {
    const text = read(path);
    for (const pattern of patterns) for (const [, key] of text.matchAll(pattern)) used.add(key);
  }
  for (const [, key] of read('manifest.json').matchAll(/__MSG_([A-Za-z0-9_]+)__/g)) used.add(key);
  assert.ok(used.size > 60, `found only ${used.size} keys: the scan is broken`);
  const missing = [...used].filter((key) => !(key in locales.en));
  assert.deepEqual(missing, []);
});
