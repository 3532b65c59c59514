// Loads one of the extension's classic scripts (content scripts) the way a browser would run it,
// but hands back what it puts in module.exports. Runs in this realm so assertions compare cleanly.
import { readFileSync } from 'node:fs';
import vm from 'node:vm';

export function loadClassicScript(relativePath) {
  const url = new URL(`../../${relativePath}`, import.meta.url);
  const source = readFileSync(url, 'utf8');
  const module = { exports: {} };
  vm.runInThisContext(`(function (module) {\n${source}\n})`, { filename: url.pathname })(module);
  return module.exports;
}
