// Localisation for extension pages (popup, options, player).
// By default the browser's language is used through chrome.i18n; when the options name a
// language, that locale's messages.json is loaded instead (chrome.i18n cannot switch locale).
import { loadSettings } from './settings.js';

const api = () => globalThis.browser ?? globalThis.chrome;

/**
 * Expands one messages.json entry the way chrome.i18n.getMessage does:
 * $name$ becomes the placeholder's content, then $1..$9 become substitutions and $$ a dollar sign.
 */
export function formatMessage(entry, substitutions = []) {
  if (!entry || typeof entry.message !== 'string') return '';
  const subs = Array.isArray(substitutions) ? substitutions : [substitutions];
  const placeholders = {};
  for (const [name, value] of Object.entries(entry.placeholders ?? {})) {
    placeholders[name.toLowerCase()] = String(value?.content ?? '');
  }
  return entry.message
    .replace(/\$([a-z0-9_@]+)\$/gi, (whole, name) => placeholders[name.toLowerCase()] ?? whole)
    .replace(/\$(\$|[1-9])/g, (whole, what) => (what === '$' ? '$' : String(subs[Number(what) - 1] ?? '')));
}

/**
 * Makes t(key, substitutions). `messages` is a parsed messages.json or null (browser language);
 * keys it lacks fall back to `getMessage`, and unknown keys to the key itself so gaps are visible.
 */
export function createTranslator(messages, getMessage = () => '') {
  return (key, substitutions) => {
    const own = messages && Object.hasOwn(messages, key) ? formatMessage(messages[key], substitutions) : '';
    return own || getMessage(key, substitutions) || key;
  };
}

async function fetchMessages(language) {
  const response = await fetch(api().runtime.getURL(`_locales/${language}/messages.json`));
  if (!response.ok) throw new Error(`no messages for ${language}`);
  return response.json();
}

/** Loads the language chosen in the options (or the browser's) and returns t(key, substitutions). */
export async function initI18n({ language } = {}) {
  const chosen = language ?? (await loadSettings()).language;
  const getMessage = (key, subs) => api()?.i18n?.getMessage(key, subs) ?? '';
  let messages = null;
  if (chosen !== 'auto') {
    try {
      messages = await fetchMessages(chosen);
    } catch {
      messages = null; // fall back to the browser's language rather than show nothing
    }
  }
  const t = createTranslator(messages, getMessage);
  if (globalThis.document) document.documentElement.lang = t('localeCode');
  return t;
}

const ATTRIBUTES = [
  ['data-i18n', (el, text) => { el.textContent = text; }],
  ['data-i18n-title', (el, text) => { el.title = text; }],
  ['data-i18n-placeholder', (el, text) => { el.placeholder = text; }],
  ['data-i18n-aria-label', (el, text) => { el.setAttribute('aria-label', text); }],
];

/** Fills elements marked data-i18n (text), data-i18n-title, data-i18n-placeholder and data-i18n-aria-label. */
export function applyI18n(root, t) {
  for (const [attribute, apply] of ATTRIBUTES) {
    for (const el of root.querySelectorAll(`[${attribute}]`)) apply(el, t(el.getAttribute(attribute)));
  }
}
