import { describe, expect, it } from 'vitest';
import { linkify, openableUrl } from './links';

const links = (text: string) => linkify(text).filter((p) => p.url !== null).map((p) => [p.text, p.url]);

describe('linkify', () => {
  it('finds http, https and mailto links, and gives the text back whole', () => {
    const text = 'See https://example.org/a?b=c#d and http://192.168.1.2:8080 or mail mailto:bob@example.org!';
    expect(links(text)).toEqual([
      ['https://example.org/a?b=c#d', 'https://example.org/a?b=c#d'],
      ['http://192.168.1.2:8080', 'http://192.168.1.2:8080/'],
      ['mailto:bob@example.org', 'mailto:bob@example.org'],
    ]);
    expect(linkify(text).map((p) => p.text).join('')).toBe(text);
  });

  it('leaves the punctuation of the sentence out of the link', () => {
    expect(links('Look: https://example.org.')).toEqual([['https://example.org', 'https://example.org/']]);
    expect(links('(see https://en.wikipedia.org/wiki/Foo_(bar))')).toEqual([['https://en.wikipedia.org/wiki/Foo_(bar)', 'https://en.wikipedia.org/wiki/Foo_(bar)']]);
    expect(links('"https://example.org/x", then')).toEqual([['https://example.org/x', 'https://example.org/x']]);
  });

  it('never makes links of other schemes, however they are written', () => {
    for (const text of ['javascript:alert(1)', 'JaVaScRiPt:alert(1)', 'file:///etc/passwd', 'data:text/html,<b>x</b>', 'tauri://localhost/index.html', 'xhttps://example.org', 'https://']) {
      expect(links(text), text).toEqual([]);
      expect(linkify(text), text).toEqual([{ text, url: null }]);
    }
    // Markup next to a link stays text: the link ends where the markup starts.
    expect(links('https://example.org/<img src=x onerror=alert(1)>')).toEqual([['https://example.org/', 'https://example.org/']]);
  });

  it('keeps plain text plain', () => {
    expect(linkify('')).toEqual([{ text: '', url: null }]);
    expect(linkify('no links here')).toEqual([{ text: 'no links here', url: null }]);
  });
});

describe('openableUrl', () => {
  it('takes only http(s) with a host and mailto with an address', () => {
    expect(openableUrl('HTTPS://Example.ORG/Path')).toBe('https://example.org/Path');
    expect(openableUrl('mailto:a@b.c')).toBe('mailto:a@b.c');
    expect(openableUrl('mailto:')).toBeNull();
    expect(openableUrl('javascript:alert(1)')).toBeNull();
    expect(openableUrl('not a url')).toBeNull();
  });
});
