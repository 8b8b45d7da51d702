import { describe, expect, it } from 'vitest';
import { describeError, errorField, errorText, fieldText, isQuietError, isTransientError, knownErrorText, toCoreError } from './errors';

describe('errorText', () => {
  it('has friendly words for the common codes', () => {
    expect(errorText({ code: 'invalid_credentials', message: 'x' })).toBe('Wrong username, email or password.');
    expect(errorText({ code: 'username_taken', message: 'x' })).toMatch(/taken/);
    expect(errorText({ code: 'server_unreachable', message: 'x' })).toMatch(/Can't reach the server/);
    expect(errorText({ code: 'rate_limited', message: '' })).toMatch(/Too many/);
  });
  it('words the start-up and recovery code failures', () => {
    expect(errorText({ code: 'wrong_recovery_code', message: 'x' })).toMatch(/doesn't open this history/);
    expect(errorText({ code: 'invalid_recovery_code', message: 'x' })).toMatch(/52 letters and digits/);
    expect(errorText({ code: 'history_locked', message: 'x' })).toMatch(/recovery code/);
    expect(errorText({ code: 'not_started', message: 'x' })).toMatch(/hasn't opened your profile/);
    expect(errorText({ code: 'keyring_unavailable', message: 'x' })).toMatch(/keyring/);
    expect(knownErrorText('profile_in_use')).toMatch(/already running/);
    expect(knownErrorText('nothing_to_verify')).toMatch(/nothing to verify yet.*Chat with them first/);
    expect(knownErrorText('brand_new')).toBeNull();
  });
  it("words the message actions' refusals", () => {
    expect(errorText({ code: 'not_your_message', message: 'x' })).toBe('You can only edit or delete your own messages.');
    expect(errorText({ code: 'edit_window_passed', message: 'x' })).toMatch(/more than 24 hours old.*delete it for you/);
    expect(errorText({ code: 'message_deleted', message: 'x' })).toMatch(/was deleted/);
    expect(errorText({ code: 'invalid_reaction', message: 'x' })).toMatch(/isn't an emoji/);
    expect(errorText({ code: 'unknown_message', message: 'x' })).toMatch(/isn't on this device/);
  });
  it('words what can go wrong with files', () => {
    expect(errorText({ code: 'transfer_finished', message: 'x' })).toBe('That file is already finished.');
    for (const code of ['file_unreadable', 'not_a_file', 'file_too_large', 'file_changed', 'unknown_transfer', 'file_missing', 'folder_missing', 'not_a_folder', 'folder_read_only', 'picture_unavailable', 'disk_full', 'downloads_unavailable']) {
      expect(knownErrorText(code), code).toMatch(/^[A-Z].*\.$/);
    }
    expect(errorText({ code: 'folder_read_only', message: 'x' })).toMatch(/Choose another one in Settings/);
  });
  it("keeps the core's message when it names the field, or for unknown codes, as a sentence", () => {
    expect(errorText({ code: 'invalid_input', message: 'password: at least 8 characters' })).toBe('Password: at least 8 characters.');
    expect(errorText({ code: 'invalid_settings', message: 'download_dir: not a folder' })).toBe('Download dir: not a folder.');
    expect(errorText({ code: 'invalid_settings', message: 'download folder: give a full path (for example /home/me/Downloads)' })).toBe(
      'Download folder: give a full path (for example /home/me/Downloads)',
    );
    expect(errorText({ code: 'brand_new', message: 'Server said no.' })).toBe('Server said no.');
    expect(errorText({ code: 'brand_new', message: 'not online: go online first' })).toBe('Not online: go online first.');
    expect(errorText({ code: 'brand_new', message: '' })).toBe('Something went wrong. Try again.');
  });

  it("words the server's field checks for people, never its developer wording", () => {
    // parley-protocol's validate::room, as the core passes it on (`invalid_room`).
    const room = errorText({ code: 'invalid_room', message: "room name may contain letters, digits, spaces, '_', '.', '-' and '#'" });
    expect(room).toBe('A room name can only have letters, digits, spaces and the signs _ . - #. Remove the other characters.');
    expect(errorText({ code: 'invalid_room', message: 'room name must be 1 to 64 characters' })).toBe('A room name can have at most 64 characters.');
    expect(errorText({ code: 'invalid_room', message: '' })).toMatch(/^A room name can have letters/);
    expect(errorText({ code: 'invalid_input', message: 'username must be 3 to 32 characters long' })).toBe('A username has 3 to 32 characters. Choose another one.');
    expect(errorText({ code: 'invalid_input', message: 'password must be at least 8 characters' })).toBe('Choose a password of at least 8 characters.');
    expect(errorText({ code: 'invalid_input', message: 'email must look like name@example.org' })).toBe('Enter an email address like name@example.org.');
    expect(fieldText('display_name must not be empty')).toBe("A display name can't be empty.");
    expect(fieldText('status must be at most 100 characters')).toBe('A status can have at most 100 characters.');
    expect(fieldText('bio must not contain control characters')).toBe('\u201cAbout you\u201d can\'t contain tabs or other control characters.');
    // Every message a person sees starts with a capital and ends like a sentence.
    for (const message of ['room name must not start or end with a space', 'login must be your username or email', 'something new']) {
      expect(fieldText(message)).toMatch(/^[A-Z\u201c].*[.!?)]$/);
    }
  });

  it('words the server codes that can reach a person, saying what to do', () => {
    for (const code of ['unknown_peer', 'too_many_rooms', 'room_full', 'unavailable', 'internal', 'unauthorized']) {
      expect(knownErrorText(code), code).toMatch(/^[A-Z].*\.$/);
    }
    expect(knownErrorText('unknown_peer')).not.toMatch(/peer|id/);
  });
});

describe('toCoreError', () => {
  it('keeps {code, message} and wraps anything else', () => {
    expect(toCoreError({ code: 'x', message: 'y' })).toEqual({ code: 'x', message: 'y' });
    expect(toCoreError('boom')).toEqual({ code: 'unknown', message: 'boom' });
    expect(toCoreError(new Error('bad'))).toEqual({ code: 'unknown', message: 'bad' });
  });

  it('keeps the fingerprint a certificate error carries', () => {
    const e = { code: 'untrusted_certificate', message: 'no authority vouches', fingerprint: 'sha256:3F2A 91BC' };
    expect(toCoreError(e)).toEqual(e);
    expect(toCoreError({ code: 'x', message: 'y', fingerprint: 42 })).toEqual({ code: 'x', message: 'y' });
  });
});

describe('a server\'s connection', () => {
  it('has words for the certificate, plain http and sharing refusals', () => {
    expect(errorText({ code: 'certificate_changed', message: '' })).toMatch(/posing as the server/);
    expect(errorText({ code: 'untrusted_certificate', message: '' })).toMatch(/No certificate authority vouches/);
    expect(errorText({ code: 'plain_http', message: '' })).toMatch(/not encrypted|nothing sent to it is encrypted/);
    expect(errorText({ code: 'not_hosting', message: '' })).toMatch(/Another Parley window/);
    expect(errorText({ code: 'discovery_unavailable', message: 'no multicast' })).toBe("Parley can't look for servers on this network right now.");
  });

  it('says what is wrong with an invite, and points at the server field', () => {
    const e = { code: 'invalid_invite', message: 'the invite has no certificate fingerprint (fp=\u2026)' };
    expect(errorText(e)).toBe("That invite can't be used: the invite has no certificate fingerprint (fp=\u2026). Copy the whole invite again from the server's owner.");
    expect(errorField(e)).toBe('server');
    expect(errorField({ code: 'invalid_server_url', message: '' })).toBe('server');
  });
});

describe('describeError', () => {
  it('words whatever was caught', () => {
    expect(describeError({ code: 'rate_limited', message: 'slow down' })).toMatch(/Too many/);
    expect(describeError(new Error('bad'))).toBe('Bad.');
  });
});

describe('which errors show, and for how long', () => {
  it('an offline contact is no news', () => {
    expect(isQuietError('unknown_peer')).toBe(true);
    expect(isQuietError('rate_limited')).toBe(false);
  });
  it('connection and delivery errors stop holding once things work again', () => {
    expect(isTransientError('server_unreachable')).toBe(true);
    expect(isTransientError('not_online')).toBe(true);
    expect(isTransientError('identity_mismatch')).toBe(false);
    expect(isTransientError('history_error')).toBe(false);
  });
  it('names the field an error is about', () => {
    expect(errorField({ code: 'username_taken', message: '' })).toBe('username');
    expect(errorField({ code: 'email_taken', message: '' })).toBe('email');
    expect(errorField({ code: 'invalid_credentials', message: '' })).toBe('login');
    expect(errorField({ code: 'invalid_input', message: 'password must be at least 8 characters' })).toBe('password');
    expect(errorField({ code: 'invalid_input', message: 'display_name must not be empty' })).toBe('display_name');
    expect(errorField({ code: 'invalid_room', message: 'x' })).toBe('room');
    expect(errorField({ code: 'server_unreachable', message: '' })).toBeNull();
  });
});
