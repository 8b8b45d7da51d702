// Browser tests of files and images: sending (the picker, a pasted image, a drop), receiving (a
// preview before the file, accepting and declining), the state line of every state with its
// buttons, the picture viewer, names that must stay text, and how it all looks: light and dark,
// wide and 360 px.
import assert from 'node:assert/strict';
import { callsOf, focused, mock, openContact, pageTest, recordHtmlParsing, screenshot, sidewaysOverflow } from './harness.mjs';

const PHONE = { width: 360, height: 740 };
const MIB = 1024 * 1024;

/** The row of the file message named `name`. */
const fileRow = (name) => `#messages .message[data-file="true"]:has(.file-name[title="${name}"])`;
/** What a file's bubble says: name, facts, state line, detail, buttons (their accessible names). @param {import('playwright-core').Page} page */
const bubble = (page, name) =>
  page.$eval(fileRow(name), (row) => {
    const text = (sel) => row.querySelector(sel)?.textContent ?? null;
    const shown = (sel) => {
      const node = row.querySelector(sel);
      return node !== null && !node.closest('[hidden]');
    };
    return {
      name: text('.file-name'),
      facts: text('.file-facts'),
      state: text('.file-state-text'),
      detail: shown('.file-detail') ? text('.file-detail') : '',
      actions: [...row.querySelectorAll('.file-actions button')].map((b) => `${b.textContent} [${b.getAttribute('aria-label')}]`),
      progress: shown('.file-progress') ? Number(row.querySelector('.file-progress').getAttribute('aria-valuenow')) : null,
    };
  });
/** Waits until the state line of the file `name` says `text` (a string, or a RegExp source). @param {import('playwright-core').Page} page */
const waitState = (page, name, text) =>
  page.waitForFunction(
    ([sel, text]) => {
      const t = document.querySelector(sel)?.querySelector('.file-state-text')?.textContent ?? '';
      return text.startsWith('/') ? new RegExp(text.slice(1, -1)).test(t) : t === text;
    },
    [fileRow(name), text instanceof RegExp ? String(text) : text],
  );
/** The message id of the file `name`. @param {import('playwright-core').Page} page */
const idOf = (page, name) => page.getAttribute(fileRow(name), 'data-id');

pageTest('attach files: the picker sends each as its own bubble; progress with speed and time left; then Delivered', { session: 'online' }, async (page) => {
  await openContact(page, 'bob');
  assert.equal(await page.getAttribute('#attach-files', 'aria-label'), 'Attach files');
  assert.equal(await page.$eval('#attach-files .icon-paperclip', (s) => s.getAttribute('aria-hidden')), 'true');
  assert.notEqual(await page.$eval('#attach-files .icon', (s) => getComputedStyle(s).maskImage), 'none', 'drawn');
  // Cancelled: nothing is sent.
  await mock(page, 'setPickedFiles', []);
  await page.click('#attach-files');
  await page.waitForFunction(() => window.__parleyMock.callsOf('pick_files').length === 1);
  assert.deepEqual(await callsOf(page, 'send_files'), []);
  assert.equal(await focused(page), 'attach-files');

  await mock(page, 'setPickedFiles', ['/home/alice/Pictures/holiday.jpg', '/home/alice/Documents/report.pdf']);
  await page.click('#attach-files');
  await page.waitForSelector(fileRow('report.pdf'));
  assert.deepEqual(await callsOf(page, 'send_files'), [{ userId: 'bob', paths: ['/home/alice/Pictures/holiday.jpg', '/home/alice/Documents/report.pdf'] }]);
  // Bob is in no room with us: offline.
  assert.deepEqual(await bubble(page, 'holiday.jpg'), {
    name: 'holiday.jpg',
    facts: '2.4 MB · JPEG image',
    state: 'Waiting for Bob to come online',
    detail: '',
    actions: ['Cancel [Cancel holiday.jpg]'],
    progress: null,
  });
  assert.equal((await bubble(page, 'report.pdf')).facts, '48 MB · PDF document');
  // The picture shows at once, in a box the size of its thumbnail's aspect.
  assert.deepEqual(await page.$eval(`${fileRow('holiday.jpg')} .file-preview img`, (i) => [i.getAttribute('width'), i.getAttribute('height'), i.src.slice(0, 23)]), ['320', '240', 'data:image/jpeg;base64,']);
  const img = await page.$eval(`${fileRow('holiday.jpg')} .file-preview img`, (i) => i.getBoundingClientRect().toJSON());
  assert.ok(img.width > 280 && img.width <= 320 && Math.abs(img.width / img.height - 4 / 3) < 0.02, JSON.stringify(img));
  assert.equal(await page.$(`${fileRow('report.pdf')} .file-preview`), null, 'no picture for a PDF');
  assert.equal(await page.textContent('#contacts [data-user-id="bob"] .preview'), 'You: 📎 report.pdf');

  // Bob comes online: waiting to start.
  await page.fill('#room-name', 'lobby');
  await page.click('#room-join');
  await waitState(page, 'report.pdf', 'Waiting to start');

  const id = await idOf(page, 'report.pdf');
  await mock(page, 'advanceTransfer', id);
  await waitState(page, 'report.pdf', 'Sending 0%');
  assert.equal(await page.getAttribute(`${fileRow('report.pdf')} .file-progress`, 'role'), 'progressbar');
  assert.equal(await page.getAttribute(`${fileRow('report.pdf')} .file-progress`, 'aria-label'), 'report.pdf progress');
  assert.equal((await bubble(page, 'report.pdf')).progress, 0);
  await mock(page, 'advanceTransfer', id);
  await waitState(page, 'report.pdf', 'Sending 33%');
  const running = await bubble(page, 'report.pdf');
  assert.equal(running.progress, 33);
  assert.match(running.detail, /^16 MB of 48 MB · 268 KB\/s · about 2 min left$/);
  assert.equal(await page.getAttribute(`${fileRow('report.pdf')} .file-progress`, 'aria-valuetext'), '33%, 16 MB of 48 MB');
  await screenshot(page, 'files-sending-light');
  await mock(page, 'advanceTransfer', id);
  await waitState(page, 'report.pdf', 'Sending 66%');
  await mock(page, 'advanceTransfer', id);
  await waitState(page, 'report.pdf', 'Delivered');
  assert.deepEqual(await bubble(page, 'report.pdf'), {
    name: 'report.pdf',
    facts: '48 MB · PDF document',
    state: 'Delivered',
    detail: '',
    actions: ['Open [Open report.pdf]', 'Show in folder [Show in folder: report.pdf]'],
    progress: null,
  });
  await page.click(`${fileRow('report.pdf')} [data-action="open"]`);
  await page.click(`${fileRow('report.pdf')} [data-action="show"]`);
  await page.waitForFunction(() => window.__parleyMock.callsOf('show_file').length === 1);
  assert.deepEqual(await callsOf(page, 'open_file'), [{ id }]);
  assert.deepEqual(await callsOf(page, 'show_file'), [{ id }]);
  // A refusal from the core, in words.
  await mock(page, 'failNext', 'send_files', 'file_unreadable', 'could not read /x');
  await page.click('#attach-files');
  await page.waitForFunction(() => /couldn't be read/.test(document.querySelector('#composer-error')?.textContent ?? ''));
  await screenshot(page, 'files-sent-light');
});

pageTest('an incoming picture shows before it arrives; the viewer opens (click or Enter), loads it, and Escape closes it', { session: 'online' }, async (page) => {
  await openContact(page, 'bob');
  const offer = await mock(page, 'offerFile', 'bob', 'sunset at the beach.jpg', 3_000_000, { width: 3000, height: 2000 });
  await page.waitForSelector(fileRow('sunset at the beach.jpg'));
  assert.equal((await bubble(page, 'sunset at the beach.jpg')).state, 'Waiting for Bob to come online');
  assert.match(await page.getAttribute(`${fileRow('sunset at the beach.jpg')} .file-preview img`, 'src'), /^data:image\/jpeg;base64,/);
  assert.equal(await page.getAttribute(`${fileRow('sunset at the beach.jpg')} .file-preview`, 'aria-label'), 'Show the picture sunset at the beach.jpg');
  assert.match(await page.textContent('#announcer'), /Bob sent a file: sunset at the beach\.jpg/);

  // Before the file is here: its preview, upscaled, and why there is no more.
  await page.click(`${fileRow('sunset at the beach.jpg')} .file-preview`);
  await page.waitForSelector('#picture-viewer', { state: 'visible' });
  assert.equal(await page.getAttribute('#picture-viewer', 'role'), 'dialog');
  assert.equal(await page.textContent('#picture-viewer-title'), 'sunset at the beach.jpg');
  assert.match(await page.textContent('#picture-viewer-status'), /full picture shows once the file has arrived/);
  assert.equal(await page.isVisible('#picture-viewer-open'), false, 'nothing to open yet');
  assert.deepEqual(await callsOf(page, 'picture'), []);
  assert.equal(await focused(page), 'picture-viewer-close');
  // Tab stays on the one button there is.
  await page.keyboard.press('Tab');
  assert.equal(await focused(page), 'picture-viewer-close');
  await screenshot(page, 'files-viewer-preview-light');
  await page.keyboard.press('Escape');
  await page.waitForSelector('#picture-viewer', { state: 'hidden' });
  assert.equal(await page.evaluate(() => document.activeElement?.classList.contains('file-preview')), true, 'the focus is back on the preview');
  assert.equal(await page.isVisible('#conversation'), true, 'only the viewer closed');

  for (let i = 0; i < 4; i++) await mock(page, 'advanceTransfer', offer.id);
  await waitState(page, 'sunset at the beach.jpg', 'Received and verified');
  assert.deepEqual((await bubble(page, 'sunset at the beach.jpg')).actions, [
    'Open [Open sunset at the beach.jpg]',
    'Show in folder [Show in folder: sunset at the beach.jpg]',
    'Save as… [Save as: sunset at the beach.jpg]',
  ]);
  // Enter on the preview: the full picture (a blob: URL of what `picture` answered).
  await page.focus(`${fileRow('sunset at the beach.jpg')} .file-preview`);
  await page.keyboard.press('Enter');
  await page.waitForSelector('#picture-viewer', { state: 'visible' });
  await page.waitForSelector('#picture-viewer-image:not([hidden])');
  assert.deepEqual(await callsOf(page, 'picture'), [{ id: offer.id }]);
  assert.deepEqual(await page.$eval('#picture-viewer-image', (i) => [i.src.slice(0, 5), i.naturalWidth, i.alt]), ['blob:', 640, 'sunset at the beach.jpg']);
  assert.equal(await page.isVisible('#picture-viewer .spinner'), false);
  await screenshot(page, 'files-viewer-light');
  await page.click('#picture-viewer-save');
  await page.waitForSelector('#picture-viewer-status:text("Saved as /home/alice/Documents/sunset at the beach.jpg")');
  await page.click('#picture-viewer-show');
  await page.waitForFunction(() => window.__parleyMock.callsOf('show_file').length === 1);
  // Tab stays in the dialog.
  for (let i = 0; i < 5; i++) await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.querySelector('#picture-viewer')?.contains(document.activeElement)), true);
  await page.keyboard.press('Escape');
  await page.waitForSelector('#picture-viewer', { state: 'hidden' });
  assert.equal(await page.getAttribute('#picture-viewer-image', 'src'), null, 'the blob: URL is let go');

  // A picture the core can't show: said in words, and the dialog still works.
  await mock(page, 'failNext', 'picture', 'picture_unavailable', 'decoding failed');
  await page.click(`${fileRow('sunset at the beach.jpg')} .file-preview`);
  await page.waitForSelector('#picture-viewer-error:text("This picture can\'t be shown here. Open the file with another program instead.")');
  assert.equal(await page.isVisible('#picture-viewer .spinner'), false);
  await page.click('#picture-viewer-open');
  await page.waitForFunction(() => window.__parleyMock.callsOf('open_file').length === 1);
  await page.click('#picture-viewer-close');
  await page.waitForSelector('#picture-viewer', { state: 'hidden' });
});

pageTest('a large file asks first: Accept receives it, Decline declines it; the sender waits for the answer', { session: 'online' }, async (page) => {
  await openContact(page, 'bob');
  const big = await mock(page, 'offerFile', 'bob', 'concert.mkv', 200 * MIB);
  await page.waitForSelector(fileRow('concert.mkv'));
  assert.deepEqual(await bubble(page, 'concert.mkv'), {
    name: 'concert.mkv',
    facts: '210 MB · Matroska video',
    state: '210 MB — accept this file?',
    detail: '',
    actions: ['Accept [Accept concert.mkv]', 'Decline [Decline concert.mkv]'],
    progress: null,
  });
  await screenshot(page, 'files-accept-light');
  await page.click(`${fileRow('concert.mkv')} [data-action="accept"]`);
  await waitState(page, 'concert.mkv', 'Receiving 0%');
  assert.deepEqual(await callsOf(page, 'accept_file'), [{ conversationId: 'bob', id: big.id }]);
  assert.equal(await page.evaluate(() => document.activeElement?.closest('.row')?.getAttribute('data-id')), big.id, 'the focus stays with the message');
  for (let i = 0; i < 3; i++) await mock(page, 'advanceTransfer', big.id, 4_200_000);
  await waitState(page, 'concert.mkv', 'Received and verified');
  await page.click(`${fileRow('concert.mkv')} [data-action="save"]`);
  await page.waitForFunction(() => document.querySelector('#announcer')?.textContent === 'Saved as /home/alice/Documents/concert.mkv');
  await mock(page, 'setSaveAsPath', null);
  await page.click(`${fileRow('concert.mkv')} [data-action="save"]`);
  await page.waitForFunction(() => window.__parleyMock.callsOf('save_file_as').length === 2);

  const other = await mock(page, 'offerFile', 'bob', 'backup.tar', 500 * MIB);
  await page.waitForSelector(fileRow('backup.tar'));
  await page.click(`${fileRow('backup.tar')} [data-action="decline"]`);
  await waitState(page, 'backup.tar', 'Declined');
  assert.deepEqual(await callsOf(page, 'decline_file'), [{ conversationId: 'bob', id: other.id }]);
  assert.deepEqual((await bubble(page, 'backup.tar')).actions, []);

  // Our own file, over Bob's limit: his answer is awaited; then he declines.
  await mock(page, 'setPickedFiles', ['/home/alice/Videos/film.mp4']);
  await page.click('#attach-files');
  await page.waitForSelector(fileRow('film.mp4'));
  const film = await idOf(page, 'film.mp4');
  await mock(page, 'setFile', film, { state: 'awaiting-accept' });
  await waitState(page, 'film.mp4', 'Waiting for Bob to accept');
  assert.deepEqual((await bubble(page, 'film.mp4')).actions, ['Cancel [Cancel film.mp4]']);
  await mock(page, 'setFile', film, { state: 'declined' });
  await waitState(page, 'film.mp4', 'Bob declined this file');
});

pageTest('cancel a transfer; one already over says so in words', { session: 'online' }, async (page) => {
  await openContact(page, 'bob');
  await mock(page, 'setPickedFiles', ['/home/alice/Documents/report.pdf']);
  await page.click('#attach-files');
  await page.waitForSelector(fileRow('report.pdf'));
  const id = await idOf(page, 'report.pdf');
  await mock(page, 'advanceTransfer', id);
  await mock(page, 'advanceTransfer', id);
  await waitState(page, 'report.pdf', 'Sending 33%');
  // From the keyboard: the message, Tab to its buttons.
  await page.focus(fileRow('report.pdf'));
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'Cancel report.pdf');
  await page.keyboard.press('Enter');
  await waitState(page, 'report.pdf', 'Cancelled');
  assert.deepEqual(await callsOf(page, 'cancel_file'), [{ conversationId: 'bob', id }]);
  assert.deepEqual(await bubble(page, 'report.pdf'), { name: 'report.pdf', facts: '48 MB · PDF document', state: 'Cancelled', detail: '', actions: [], progress: null });

  // Bob's offer finished on his side meanwhile: the core refuses, the words say why.
  const offer = await mock(page, 'offerFile', 'bob', 'notes.txt', 2000);
  await page.waitForSelector(fileRow('notes.txt'));
  await mock(page, 'failNext', 'cancel_file', 'transfer_finished', 'already complete');
  await page.click(`${fileRow('notes.txt')} [data-action="cancel"]`);
  await page.waitForSelector('#composer-error:text("That file is already finished.")');
  assert.deepEqual((await callsOf(page, 'cancel_file')).at(-1), { conversationId: 'bob', id: offer.id });
});

pageTest('a pasted image is sent as a file; pasted text stays text', { session: 'online' }, async (page) => {
  await openContact(page, 'bob');
  await page.focus('#composer');
  const prevented = await page.evaluate(async () => {
    // A real (tiny) PNG, as a screenshot tool puts on the clipboard.
    const c = document.createElement('canvas');
    c.width = 4;
    c.height = 3;
    c.getContext('2d').fillRect(0, 0, 2, 2);
    const bytes = new Uint8Array(await (await new Promise((r) => c.toBlob(r, 'image/png'))).arrayBuffer());
    const data = new DataTransfer();
    data.items.add(new File([bytes], 'image.png', { type: 'image/png' }));
    const e = new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true });
    document.querySelector('#composer').dispatchEvent(e);
    return e.defaultPrevented;
  });
  assert.equal(prevented, true);
  await page.waitForFunction(() => window.__parleyMock.callsOf('send_pasted_file').length === 1);
  const [call] = await callsOf(page, 'send_pasted_file');
  assert.equal(call.userId, 'bob');
  assert.match(call.name, /^Pasted image \d{4}-\d\d-\d\d \d\d\.\d\d\.png$/);
  assert.ok(call.size > 0);
  await page.waitForSelector(fileRow(call.name));
  assert.equal((await bubble(page, call.name)).facts.endsWith('PNG image'), true);
  assert.equal(await page.inputValue('#composer'), '', 'nothing typed');

  // Text (with a picture of it, as office programs put there too): the field's own paste.
  const textPrevented = await page.evaluate(() => {
    const data = new DataTransfer();
    data.setData('text/plain', 'just words');
    data.items.add(new File(['x'], 'image.png', { type: 'image/png' }));
    const e = new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true });
    document.querySelector('#composer').dispatchEvent(e);
    return e.defaultPrevented;
  });
  assert.equal(textPrevented, false);
  assert.equal((await callsOf(page, 'send_pasted_file')).length, 1);
});

pageTest('files dropped onto the conversation: "Drop to send to Bob", then sent', { session: 'online' }, async (page) => {
  await openContact(page, 'bob');
  const drag = (type, target = '#messages') =>
    page.evaluate(
      ([type, target]) => {
        const data = (window.__drop ??= (() => {
          const d = new DataTransfer();
          d.items.add(new File(['Meeting at nine.\n'], 'notes.txt', { type: 'text/plain' }));
          d.items.add(new File([new Uint8Array(5000)], 'data.bin', { type: 'application/octet-stream' }));
          return d;
        })());
        const e = new DragEvent(type, { dataTransfer: data, bubbles: true, cancelable: true });
        document.querySelector(target).dispatchEvent(e);
        return e.defaultPrevented;
      },
      [type, target],
    );
  assert.equal(await page.isVisible('#drop-overlay'), false);
  assert.equal(await drag('dragenter'), true);
  assert.equal(await drag('dragover'), true);
  await page.waitForSelector('#drop-overlay', { state: 'visible' });
  assert.equal(await page.textContent('#drop-overlay'), 'Drop to send to Bob');
  await screenshot(page, 'files-drop-light');
  // Into a child and out of it: still over the conversation.
  await drag('dragenter', '#composer');
  await drag('dragleave', '#messages');
  assert.equal(await page.isVisible('#drop-overlay'), true);
  await drag('dragleave', '#composer');
  await page.waitForSelector('#drop-overlay', { state: 'hidden' });
  // Over the text field too (it would otherwise take the file).
  await drag('dragenter', '#composer');
  assert.equal(await drag('dragover', '#composer'), true);
  assert.equal(await drag('drop', '#composer'), true);
  await page.waitForSelector('#drop-overlay', { state: 'hidden' });
  await page.waitForSelector(fileRow('data.bin'));
  assert.deepEqual(await callsOf(page, 'send_pasted_file'), [
    { userId: 'bob', name: 'notes.txt', size: 17 },
    { userId: 'bob', name: 'data.bin', size: 5000 },
  ]);
  assert.equal((await bubble(page, 'notes.txt')).facts, '17 B · Text');
  assert.equal((await bubble(page, 'data.bin')).facts, '5.0 KB · BIN file');
});

pageTest('a hostile file name stays text: nothing of it is parsed, run or reordered', { session: 'online', init: recordHtmlParsing }, async (page) => {
  await openContact(page, 'bob');
  const hostile = '<img src=x onerror="window.__pwned=1">\u202Egnp.exe';
  const shown = '<img src=x onerror="window.__pwned=1">gnp.exe';
  const offer = await mock(page, 'offerFile', 'bob', hostile, 4096);
  const row = `#messages .message[data-id="${offer.id}"]`;
  await page.waitForSelector(`${row} .file-name`);
  assert.equal(await page.textContent(`${row} .file-name`), shown);
  assert.equal(await page.getAttribute(`${row} .file-name`, 'title'), shown);
  assert.equal(await page.textContent(`${row} .file-facts`), '4.1 KB · Windows program');
  assert.equal(await page.$$eval(`${row} img`, (imgs) => imgs.length), 0, 'no element made from the name');
  assert.equal(await page.getAttribute(`${row} [data-action="cancel"]`, 'aria-label'), `Cancel ${shown}`);
  assert.equal(await page.textContent('#contacts [data-user-id="bob"] .preview'), `📎 ${shown}`);
  // In search results too.
  await page.click('#nav-search');
  await page.fill('#search-input', 'onerror');
  await page.waitForSelector('#search-results .hit');
  assert.equal(await page.$eval('#search-results .hit .file-mark', (m) => m.getAttribute('aria-label')), 'File:');
  assert.match(await page.textContent('#search-results .hit .snippet'), /<img src=x onerror=/);
  assert.equal(await page.$$eval('#search-results img', (imgs) => imgs.length), 0);
  await page.waitForTimeout(200);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  assert.deepEqual(await page.evaluate(() => window.__htmlParsed), []);
});

pageTest('what went wrong, in words: failed, paused (then resumed), moved or deleted', { session: 'online' }, async (page) => {
  await openContact(page, 'bob');
  const offer = (name) => mock(page, 'offerFile', 'bob', name, 30_000_000);
  const a = await offer('a-intact.zip');
  const b = await offer('b-changed.zip');
  const c = await offer('c-odd.zip');
  const d = await offer('d-paused.zip');
  const e = await offer('e-moved.zip');
  await page.waitForSelector(fileRow('e-moved.zip'));
  await mock(page, 'setFile', a.id, { state: 'failed', error: 'hash_mismatch' });
  await mock(page, 'setFile', b.id, { state: 'failed', error: 'source_changed' });
  await mock(page, 'setFile', c.id, { state: 'failed', error: 'strange_code' });
  await mock(page, 'setFile', d.id, { state: 'paused', error: 'disk_full', bytes_done: 15_000_000 });
  await mock(page, 'setFile', e.id, { state: 'complete', missing: true, bytes_done: 30_000_000 });
  await waitState(page, 'e-moved.zip', 'File moved or deleted');
  assert.equal((await bubble(page, 'a-intact.zip')).state, 'The file did not arrive intact — ask for it again');
  assert.equal((await bubble(page, 'b-changed.zip')).state, 'The file changed after it was sent — ask for it again');
  assert.equal((await bubble(page, 'c-odd.zip')).state, 'Failed (strange_code)');
  assert.deepEqual(await bubble(page, 'd-paused.zip'), {
    name: 'd-paused.zip',
    facts: '30 MB · ZIP archive',
    state: 'Paused: the disk is full. Free some space, then resume.',
    detail: '50% received',
    actions: ['Resume [Resume d-paused.zip]', 'Cancel [Cancel d-paused.zip]'],
    progress: 50,
  });
  assert.deepEqual((await bubble(page, 'e-moved.zip')).actions, [], 'nothing to open, show or save');
  assert.deepEqual((await bubble(page, 'a-intact.zip')).actions, []);
  await screenshot(page, 'files-problems-light');
  await page.click(`${fileRow('d-paused.zip')} [data-action="resume"]`);
  await waitState(page, 'd-paused.zip', 'Receiving 50%');
  assert.deepEqual(await callsOf(page, 'resume_file'), [{ conversationId: 'bob', id: d.id }]);
  assert.match((await bubble(page, 'd-paused.zip')).detail, /Resumed at 50%/);
  // Our own: the file we sent was changed before Bob fetched it.
  await mock(page, 'setPickedFiles', ['/home/alice/Documents/report.pdf']);
  await page.click('#attach-files');
  await page.waitForSelector(fileRow('report.pdf'));
  await mock(page, 'setFile', await idOf(page, 'report.pdf'), { state: 'failed', error: 'source_changed' });
  await waitState(page, 'report.pdf', 'The file changed after it was sent — send it again');
});

pageTest('a file message has the actions of a message, but no Edit; after a restart it shows what was stored', { session: 'online' }, async (page) => {
  await openContact(page, 'bob');
  await mock(page, 'setPickedFiles', ['/home/alice/Documents/report.pdf']);
  await page.click('#attach-files');
  await page.waitForSelector(fileRow('report.pdf'));
  await page.click(`${fileRow('report.pdf')} .file-card`, { button: 'right' });
  await page.waitForSelector('#context-menu');
  assert.deepEqual(await page.$$eval('#context-menu > [role="menuitem"]', (i) => i.map((x) => x.textContent)), ['Reply', 'Copy file name', 'Delete for everyone', 'Delete for me']);
  await page.click('#context-menu [aria-label="React with thumbs up"]');
  await page.waitForSelector(`${fileRow('report.pdf')} .reaction[data-emoji="👍"]`);
  // ↑ in the empty composer skips it: nothing to edit.
  await page.focus('#composer');
  await page.keyboard.press('ArrowUp');
  assert.equal(await page.isVisible('#composer-bar'), false);
  // Bytes already stored show without an event (as after a restart).
  const id = await idOf(page, 'report.pdf');
  await mock(page, 'setFile', id, { state: 'transferring', bytes_done: 24_100_000 });
  await waitState(page, 'report.pdf', 'Sending 50%');
  assert.equal((await bubble(page, 'report.pdf')).detail, '24 MB of 48 MB');
  // Deleted for everyone: the placeholder, no file left.
  await page.click(`${fileRow('report.pdf')} .file-card`, { button: 'right' });
  await page.click('#context-menu > [role="menuitem"]:text-is("Delete for everyone")');
  await page.click('#confirm-ok');
  await page.waitForSelector(`#messages .message[data-id="${id}"][data-deleted="true"]`);
  assert.equal(await page.$(`#messages .message[data-id="${id}"] .file-card`), null);
});

pageTest('settings: the auto-accept size says what is wrong next to the field', { session: 'online' }, async (page) => {
  await page.waitForSelector('#main');
  await page.click('#nav-settings');
  await page.waitForFunction(() => document.querySelector('#settings-auto-accept')?.value === '100');
  assert.equal(await page.$eval('label[for="settings-auto-accept"]', (l) => l.textContent), 'Receive files without asking up to (MiB)');
  await page.fill('#settings-auto-accept', '-3');
  await page.click('#settings-save');
  await page.waitForSelector('#settings-auto-accept-error:text("whole number of MiB")');
  assert.equal(await page.getAttribute('#settings-auto-accept', 'aria-invalid'), 'true');
  assert.equal(await focused(page), 'settings-auto-accept');
  assert.match(await page.getAttribute('#settings-auto-accept', 'aria-describedby'), /settings-auto-accept-error/);
  assert.match(await page.textContent('#settings-errors'), /whole number of MiB/);
  await screenshot(page, 'files-settings-error-light');
  await page.fill('#settings-auto-accept', '250');
  await page.waitForFunction(() => document.querySelector('#settings-auto-accept-error')?.textContent === '');
  assert.equal(await page.getAttribute('#settings-auto-accept', 'aria-invalid'), null);
  await page.click('#settings-save');
  await page.waitForSelector('#settings-message:text("Settings saved.")');
  assert.equal((await callsOf(page, 'set_settings')).at(-1).settings.auto_accept_mib, 250);
});

// --- how it looks -----------------------------------------------------------------------

for (const theme of ['light', 'dark']) {
  for (const [size, viewport] of [
    ['wide', { width: 1100, height: 760 }],
    ['360', PHONE],
  ]) {
    pageTest(`${theme}, ${size}: file bubbles in every state fit and read`, { session: 'online', history: 2, colorScheme: theme, viewport }, async (page) => {
      const shot = (name) => screenshot(page, `files-${name}-${theme}-${size}`);
      await openContact(page, 'bob');
      const long = 'Quarterly report of the regional office for the north-eastern territories, final version (2).pdf';
      const pic = await mock(page, 'offerFile', 'bob', 'IMG_20261204_094112.jpg', 3_400_000, { width: 3024, height: 4032 });
      const big = await mock(page, 'offerFile', 'bob', 'holiday video.mp4', 700 * MIB);
      const doc = await mock(page, 'offerFile', 'bob', long, 12_000_000);
      await mock(page, 'setPickedFiles', ['/home/alice/Pictures/holiday.jpg', '/home/alice/Documents/report.pdf']);
      await page.click('#attach-files');
      await page.waitForSelector(fileRow('report.pdf'));
      const report = await idOf(page, 'report.pdf');
      await mock(page, 'advanceTransfer', report);
      await mock(page, 'progress', report, 19_000_000, 4_200_000, 12_000_000);
      await mock(page, 'setFile', doc.id, { state: 'paused', error: 'downloads_unavailable', bytes_done: 5_000_000 });
      for (let i = 0; i < 4; i++) await mock(page, 'advanceTransfer', pic.id);
      await waitState(page, 'IMG_20261204_094112.jpg', 'Received and verified');
      await waitState(page, 'report.pdf', /^Sending 39%$/);
      // Images keep their box (no jump when they decode), inside the bubble.
      const boxes = await page.$$eval('#messages .file-preview img', (imgs) => imgs.map((i) => {
        const r = i.getBoundingClientRect();
        const b = i.closest('.bubble').getBoundingClientRect();
        return { w: r.width, h: r.height, ratio: r.width / r.height, inside: r.left >= b.left - 0.5 && r.right <= b.right + 0.5 };
      }));
      for (const box of boxes) assert.ok(box.inside && box.w > 100, JSON.stringify(box));
      assert.ok(boxes.some((b) => Math.abs(b.ratio - 0.75) < 0.02), 'the portrait keeps its aspect');
      assert.ok((await sidewaysOverflow(page)) <= 0, 'nothing sticks out sideways');
      const bubbles = await page.$$eval('#messages .bubble.file', (bs) => bs.map((b) => b.getBoundingClientRect().right));
      for (const right of bubbles) assert.ok(right <= viewport.width, 'each bubble is in the window');
      // The long name: its end shows, in full in the title.
      assert.equal(await page.getAttribute(`#messages .message[data-id="${doc.id}"] .file-name`, 'title'), long);
      assert.equal(await page.isVisible(`#messages .message[data-id="${doc.id}"] .file-name-tail:text("(2).pdf")`), true);
      await page.$eval(`#messages .message[data-id="${big.id}"]`, (r) => r.scrollIntoView({ block: 'center' }));
      await shot('received');
      await page.$eval('#messages', (m) => {
        m.scrollTop = m.scrollHeight;
      });
      await page.waitForTimeout(100);
      await shot('sent');
      // The drop overlay and the viewer.
      await page.evaluate(() => {
        const d = new DataTransfer();
        d.items.add(new File(['x'], 'x.txt'));
        document.querySelector('#messages').dispatchEvent(new DragEvent('dragenter', { dataTransfer: d, bubbles: true, cancelable: true }));
      });
      await page.waitForSelector('#drop-overlay', { state: 'visible' });
      await shot('drop');
      await page.evaluate(() => {
        const d = new DataTransfer();
        d.items.add(new File(['x'], 'x.txt'));
        document.querySelector('#messages').dispatchEvent(new DragEvent('dragleave', { dataTransfer: d, bubbles: true, cancelable: true }));
      });
      await page.$eval(`#messages .message[data-id="${pic.id}"]`, (r) => r.scrollIntoView({ block: 'center' }));
      await page.click(`#messages .message[data-id="${pic.id}"] .file-preview`);
      await page.waitForSelector('#picture-viewer-image:not([hidden])');
      const dialog = await page.$eval('#picture-viewer', (d) => d.getBoundingClientRect().toJSON());
      assert.ok(dialog.left >= 0 && dialog.right <= viewport.width && dialog.bottom <= viewport.height + 1, 'the viewer fits');
      await shot('viewer');
      await page.keyboard.press('Escape');
    });
  }
}
