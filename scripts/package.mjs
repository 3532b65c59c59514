// Assembles the unpacked extensions dist/chrome and dist/firefox from extension/, the wasm module
// and PeerJS, with a manifest per browser derived from the top-level manifest.json.
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const version = /^version\s*=\s*"([^"]+)"/m.exec(readFileSync(join(root, 'Cargo.toml'), 'utf8'))[1];
const base = JSON.parse(readFileSync(join(root, 'manifest.json'), 'utf8'));

// Firefox wants an id to keep storage across reinstalls and a minimum version with MV3 content
// scripts and `wasm-unsafe-eval`; Chrome rejects the key, so it goes in Firefox's copy only.
const perBrowser = {
  chrome: (m) => m,
  firefox: (m) => ({
    ...m,
    browser_specific_settings: {
      gecko: {
        id: 'treecast@treecast.invalid',
        strict_min_version: '140.0',
        data_collection_permissions: { required: ['none'] },
      },
    },
  }),
};

for (const [browser, adapt] of Object.entries(perBrowser)) {
  const out = join(root, 'dist', browser);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  cpSync(join(root, 'extension'), out, {
    recursive: true,
    filter: (src) => !/(\.py|\.md|~)$/.test(src),
  });
  cpSync(join(root, 'dist', 'wasm'), join(out, 'wasm'), { recursive: true });
  mkdirSync(join(out, 'vendor'), { recursive: true });
  cpSync(join(root, 'node_modules', 'peerjs', 'dist', 'peerjs.min.js'), join(out, 'vendor', 'peerjs.min.js'));
  cpSync(join(root, 'node_modules', 'peerjs', 'LICENSE'), join(out, 'vendor', 'peerjs.LICENSE'));
  const manifest = adapt({ ...base, version });
  writeFileSync(join(out, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  console.log(`package: dist/${browser} (version ${version})`);
}
