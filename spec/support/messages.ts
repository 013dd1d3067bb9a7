/**
 * The messages the real-client specs send: every kind of string a JavaScript
 * program can send, which must come back unchanged and in order on every
 * transport. {@link messageSet} is self-contained so that its source can be
 * evaluated in a browser page too (`messageSetSource`).
 */

/**
 * Opens a dialog, then counts in `top.sockjsPwned`, if a page ever runs it as
 * script (the dialog first: a cross-origin iframe cannot touch `top`).
 */
const PWN = 'alert(1);top.sockjsPwned=(top.sockjsPwned||0)+1';

/**
 * Every message, in sending order: edge-case strings, every BMP code unit
 * (lone surrogates included) over four messages, astral samples, markup and
 * script-looking text, and messages of 100 KB and more.
 */
export function messageSet(pwn: string): string[] {
  const range = (from: number, to: number, step = 1): string => {
    let text = '';
    for (let code = from; code <= to; code += step) text += String.fromCodePoint(code);
    return text;
  };
  const bmp = (from: number, to: number): string => {
    let text = '';
    for (let unit = from; unit <= to; unit++) text += String.fromCharCode(unit);
    return text;
  };
  return [
    'hello',
    '',
    ' ',
    ' \t\r\n\f\v\u00a0\u1680\u2000\u200b\u3000\ufeff ',
    '  leading and trailing  ',
    '"',
    "'",
    '\\',
    '\\"\\\\\\u0041\\n',
    'a"b\'c`d\\e',
    '"]',
    '[]',
    '{}',
    '["a",1]',
    '{"a":[1,"b"],"c":null}',
    'null',
    'true',
    '1',
    '"quoted"',
    'o',
    'h',
    'a["frame"]',
    'c[3000,"Go away!"]',
    '\u2028',
    '\u2029',
    'a\u2028b\u2029c\u0085d',
    '\u0000',
    bmp(0x00, 0x1f) + '\u007f' + bmp(0x80, 0x9f),
    '\ud800',
    '\udfff',
    'a\udc00b',
    'x\ud83d',
    '\ude00\ud83d',
    '\ud83d\ude00',
    '\u{10000}\u{1d11e}\u{1f600}\u{10ffff}',
    range(0x10000, 0x10ffff, 0x101),
    bmp(0x0000, 0x3fff),
    bmp(0x4000, 0x7fff),
    bmp(0x8000, 0xbfff),
    bmp(0xc000, 0xffff),
    `</script><script>${pwn}</script>`,
    `<img src=x onerror="${pwn}"><svg onload="${pwn}">`,
    `<!--<script>${pwn}</script>-->`,
    `<![CDATA[]]></body></html><script>${pwn}</script>`,
    `"]);${pwn};//`,
    `');${pwn};//`,
    `\\");${pwn};//`,
    '&lt;&amp;&#x3c;&quot;',
    'x'.repeat(100 * 1024),
    'y'.repeat(100 * 1024 + 1),
    'é€😀\u2028<'.repeat(8 * 1024),
  ];
}

/** The message set as {@link messageSet} returns it in Node. */
export const messages: readonly string[] = messageSet(PWN);

/** An expression that evaluates to the same message set in a browser page. */
export const messageSetSource = `(${messageSet.toString()})(${JSON.stringify(PWN)})`;
