import { describe, expect, it } from 'vitest';
import { describeError, errorText, knownErrorText, toCoreError } from './errors';

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
  it("keeps the core's message when it names the field, or for unknown codes", () => {
    expect(errorText({ code: 'invalid_input', message: 'password: at least 8 characters' })).toBe('password: at least 8 characters');
    expect(errorText({ code: 'invalid_settings', message: 'download_dir: not a folder' })).toMatch(/download_dir/);
    expect(errorText({ code: 'brand_new', message: 'Server said no.' })).toBe('Server said no.');
    expect(errorText({ code: 'brand_new', message: '' })).toBe('Something went wrong.');
  });
});

describe('toCoreError', () => {
  it('keeps {code, message} and wraps anything else', () => {
    expect(toCoreError({ code: 'x', message: 'y' })).toEqual({ code: 'x', message: 'y' });
    expect(toCoreError('boom')).toEqual({ code: 'unknown', message: 'boom' });
    expect(toCoreError(new Error('bad'))).toEqual({ code: 'unknown', message: 'bad' });
  });
});

describe('describeError', () => {
  it('words whatever was caught', () => {
    expect(describeError({ code: 'rate_limited', message: 'slow down' })).toMatch(/Too many/);
    expect(describeError(new Error('bad'))).toBe('bad');
  });
});
