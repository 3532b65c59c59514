import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { loadClassicScript } from './load_classic.mjs';

const { readPageData } = loadClassicScript('extension/content/page_data.js');
const fixture = (name) => readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8');
const pages = JSON.parse(fixture('pages.json'));

// Just enough of a Document for readPageData: getElementById and location.pathname.
function fakeDoc(propsText, path = '/watch/lv345678901') {
  const element = propsText === null ? null : { getAttribute: (name) => (name === 'data-props' ? propsText : null) };
  return {
    location: { pathname: path },
    getElementById: (id) => (id === 'embedded-data' ? element : null),
  };
}

const withProps = (mutate, path) => {
  const props = JSON.parse(fixture('on_air_viewer.json'));
  mutate(props);
  return readPageData(fakeDoc(JSON.stringify(props), path));
};

for (const page of pages) {
  test(`fixture: ${page.name}`, () => {
    const result = readPageData(fakeDoc(page.props === null ? null : fixture(page.props), page.path));
    for (const [key, value] of Object.entries(page.expect)) {
      assert.deepEqual(result[key], value, `${key} of ${JSON.stringify(result)}`);
    }
    if (result.ok) {
      assert.deepEqual(Object.keys(result).sort(),
        ['broadcasterUserId', 'isBroadcaster', 'isLoggedIn', 'ok', 'programId', 'status', 'title', 'verifyCode', 'viewerUserId']);
    } else {
      assert.match(result.reason, /^idle[A-Z]/);
    }
  });
}

test('the viewer page reads the title and keeps nothing else from the page', () => {
  const result = readPageData(fakeDoc(fixture('on_air_viewer.json')));
  assert.deepEqual(result, {
    ok: true,
    programId: 'lv345678901',
    title: '【雑談】夜のまったり配信 & お絵描き <初見歓迎>',
    status: 'ON_AIR',
    broadcasterUserId: '12345678',
    viewerUserId: '87654321',
    isBroadcaster: false,
    isLoggedIn: true,
    verifyCode: null,
  });
});

test("the streamer's verification code is read from the program description", () => {
  const code = withProps((p) => { p.program.description = '説明文\nP2P確認コード treecast:ab12-cd34-EF56-gh78\n'; });
  assert.equal(code.verifyCode, 'treecast:AB12-CD34-EF56-GH78');
  assert.equal(withProps((p) => { p.program.description = 'treecast:AB12-CD34'; }).verifyCode, null);
  assert.equal(withProps((p) => { p.program.description = { html: 'treecast:AB12-CD34-EF56-GH78' }; }).verifyCode, null);
});

test('a document without location (not a browser) is still read', () => {
  const doc = fakeDoc(fixture('on_air_viewer.json'));
  delete doc.location;
  assert.equal(readPageData(doc).ok, true);
});

test('numeric user ids are accepted as strings; junk ids are not', () => {
  const numeric = withProps((p) => { p.program.supplier.programProviderId = 12345678; p.user.id = 12345678; });
  assert.equal(numeric.broadcasterUserId, '12345678');
  assert.equal(numeric.isBroadcaster, true);
  const junk = withProps((p) => { p.program.supplier.programProviderId = '123/../x'; });
  assert.equal(junk.reason, 'idleNoBroadcaster');
  const junkViewer = withProps((p) => { p.user.id = { toString: 'x' }; });
  assert.equal(junkViewer.viewerUserId, null);
});

test('only a true isBroadcaster (not a truthy one) marks the streamer', () => {
  assert.equal(withProps((p) => { p.user.isBroadcaster = 'true'; }).isBroadcaster, false);
  assert.equal(withProps((p) => { p.user.isLoggedIn = 1; }).isLoggedIn, false);
});

test('wrong types are refused without throwing', () => {
  assert.equal(withProps((p) => { p.program = []; }).reason, 'idleNoProgramId');
  assert.equal(withProps((p) => { p.program.nicoliveProgramId = 345678901; }).reason, 'idleNoProgramId');
  assert.equal(withProps((p) => { p.program.status = ['ON_AIR']; }).reason, 'idleBadStatus');
  assert.equal(withProps((p) => { p.program.supplier = 'x'; }).reason, 'idleNoBroadcaster');
  assert.equal(withProps((p) => { p.program.title = { text: 'x' }; }).title, '');
  assert.equal(withProps((p) => { p.user = null; }).ok, true);
  assert.equal(readPageData(fakeDoc('[1,2,3]')).reason, 'idleMalformedData');
  assert.equal(readPageData(fakeDoc('null')).reason, 'idleMalformedData');
  assert.equal(readPageData(fakeDoc('   ')).reason, 'idleNoEmbeddedData');
});

test('long titles are cut', () => {
  assert.equal(withProps((p) => { p.program.title = 'あ'.repeat(1000); }).title.length, 300);
});

test('a hostile document never makes it throw', () => {
  const throwing = { location: { pathname: '/watch/lv1' }, getElementById() { throw new Error('boom'); } };
  assert.deepEqual(readPageData(throwing), { ok: false, reason: 'idleMalformedData' });
  const getterTrap = fakeDoc('{}');
  Object.defineProperty(getterTrap, 'location', { get() { throw new Error('boom'); } });
  assert.equal(readPageData(getterTrap).ok, false);
  assert.equal(readPageData(null).ok, false);
  assert.equal(readPageData(undefined).ok, false);
});

test('program ids must be lv followed by digits', () => {
  for (const bad of ['lv', 'LV123', 'lv12a', ' lv123', 'co123', 'lv1234567890123456']) {
    assert.equal(withProps((p) => { p.program.nicoliveProgramId = bad; }, '/watch/x').reason, 'idleBadProgramId', bad);
  }
});
