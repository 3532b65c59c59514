// The options page: fills the form from storage, validates on Save, shows errors beside each field.
import { initI18n, applyI18n } from '../shared/i18n.js';
import { DEFAULT_SETTINGS, loadSettings, saveSettings, validateSettings } from '../shared/settings.js';
import { formatIceText, parseIceText } from '../shared/ice_text.js';

const FIELDS = ['host', 'port', 'path', 'key', 'secure', 'ice', 'slots', 'maxKbps', 'codec', 'degradation', 'language'];
const $ = (id) => document.getElementById(id);

let t = await initI18n();
applyI18n(document, t);

// An empty or non-numeric box becomes NaN, which validation reports; it never silently becomes 0.
const numberOf = (input) => (input.value.trim() === '' ? Number.NaN : Number(input.value));

function fillForm(settings) {
  $('host').value = settings.server.host;
  $('port').value = String(settings.server.port);
  $('path').value = settings.server.path;
  $('key').value = settings.server.key;
  $('secure').checked = settings.server.secure;
  $('ice').value = formatIceText(settings.iceServers);
  $('slots').value = String(settings.slots);
  $('language').value = settings.language;
  $('maxKbps').value = String(settings.encoding.maxKbps);
  $('codec').value = settings.encoding.codec;
  $('degradation').value = settings.encoding.degradation;
}

function readForm() {
  const ice = parseIceText($('ice').value);
  return {
    settings: {
      server: {
        host: $('host').value,
        port: numberOf($('port')),
        path: $('path').value,
        key: $('key').value,
        secure: $('secure').checked,
      },
      iceServers: ice.iceServers,
      slots: numberOf($('slots')),
      language: $('language').value,
      encoding: {
        maxKbps: numberOf($('maxKbps')),
        codec: $('codec').value,
        degradation: $('degradation').value,
      },
    },
    errors: ice.errors,
  };
}

function setStatus(text, kind) {
  const status = $('status');
  status.textContent = text;
  status.className = kind;
}

function clearErrors() {
  for (const field of FIELDS) {
    $(`${field}-error`).textContent = '';
    $(field).removeAttribute('aria-invalid');
  }
}

// Localised text for a validation error; the English message if the key is missing.
function errorText(error) {
  const text = t(error.code, error.args);
  return text === error.code ? error.message : text;
}

function showErrors(errors) {
  const byField = new Map();
  for (const error of errors) {
    const field = FIELDS.includes(error.field) ? error.field : 'host';
    byField.set(field, [...(byField.get(field) ?? []), errorText(error)]);
  }
  for (const [field, texts] of byField) {
    $(`${field}-error`).textContent = texts.join('\n');
    $(field).setAttribute('aria-invalid', 'true');
  }
  $(byField.keys().next().value)?.focus();
}

async function save(event) {
  event.preventDefault();
  clearErrors();
  const form = readForm();
  const checked = validateSettings(form.settings);
  const errors = [...form.errors, ...(checked.ok ? [] : checked.errors)];
  if (errors.length) {
    showErrors(errors);
    setStatus(t('optionsHasErrors'), 'error');
    return;
  }
  try {
    await saveSettings(checked.settings);
  } catch (error) {
    setStatus(t('optionsSaveFailed', [String(error?.message ?? error)]), 'error');
    return;
  }
  fillForm(checked.settings); // show the cleaned-up values (trimmed, lower-case host)
  // A new language applies to this page at once.
  t = await initI18n({ language: checked.settings.language });
  applyI18n(document, t);
  setStatus(t('optionsSaved'), 'ok');
}

fillForm(await loadSettings());
$('form').addEventListener('submit', save);
$('reset').addEventListener('click', () => {
  clearErrors();
  fillForm(structuredClone(DEFAULT_SETTINGS));
  setStatus(t('optionsResetDone'), '');
});
// Editing after a save or an error makes the old status stale.
$('form').addEventListener('input', () => setStatus('', ''));

// Save stays disabled until the form holds the stored settings (tests wait for data-ready too).
$('save').disabled = false;
document.documentElement.dataset.ready = 'true';
