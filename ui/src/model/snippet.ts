/** Search snippets: matched terms sit between U+0002 and U+0003. */
export type SnippetPart = { text: string; match: boolean };

const START = '\u0002';
const END = '\u0003';

/** Splits a snippet into plain and matched parts; stray or unbalanced markers are dropped. */
export function splitSnippet(snippet: string): SnippetPart[] {
  const parts: SnippetPart[] = [];
  let match = false;
  let text = '';
  const flush = () => {
    if (text === '') return;
    const last = parts[parts.length - 1];
    if (last !== undefined && last.match === match) last.text += text;
    else parts.push({ text, match });
    text = '';
  };
  for (const ch of snippet) {
    if (ch === START || ch === END) {
      flush();
      match = ch === START;
    } else {
      text += ch;
    }
  }
  flush();
  return parts;
}

/** The parts as DOM nodes: text nodes and <mark> elements, never parsed HTML. */
export function snippetNodes(doc: Document, snippet: string): Node[] {
  return splitSnippet(snippet).map((part) => {
    if (!part.match) return doc.createTextNode(part.text);
    const mark = doc.createElement('mark');
    mark.textContent = part.text;
    return mark;
  });
}
