/**
 * Unit specs for lib/framing.ts: the frames the server writes, the escaping
 * that keeps them intact through browsers and proxies, and the parsing of
 * what clients send.
 */
import { closeFrame, escapeUnsafe, messageFrame, parseMessages, quote, scriptString } from '../lib/framing';

/** Every code point the protocol wants written as a `\uXXXX` escape, beyond C0 controls. */
const UNSAFE_RANGES: ReadonlyArray<readonly [number, number]> = [
  [0x200c, 0x200f],
  [0x2028, 0x202f],
  [0x2060, 0x206f],
  [0xfff0, 0xffff],
];

function unsafeCharacters(): string[] {
  const chars: string[] = [];
  for (const [from, to] of UNSAFE_RANGES) {
    for (let code = from; code <= to; code++) chars.push(String.fromCharCode(code));
  }
  return chars;
}

const hex4 = (char: string): string => char.charCodeAt(0).toString(16).padStart(4, '0');

/** What survives a trip through UTF-8, as every frame takes on the wire. */
const overTheWire = (text: string): string => Buffer.from(text, 'utf8').toString('utf8');

describe('framing', () => {
  describe('#messageFrame', () => {
    it('writes the messages as an a-prefixed JSON array in order', () => {
      expect(messageFrame(['a', 'b', 'c'])).toBe('a["a","b","c"]');
    });

    it('writes an empty array as a[]', () => {
      expect(messageFrame([])).toBe('a[]');
    });

    it('escapes quotes and backslashes the JSON way', () => {
      expect(messageFrame(['say "hi"\\'])).toBe('a["say \\"hi\\"\\\\"]');
    });

    it('leaves ordinary text, accents and emoji unescaped', () => {
      expect(messageFrame(['héllo wörld 日本 😀'])).toBe('a["héllo wörld 日本 😀"]');
    });

    it('escapes every unsafe character in every message', () => {
      const frame = messageFrame(['x\u2028y', '\uffff']);
      expect(frame).toBe('a["x\\u2028y","\\uffff"]');
    });

    it('writes the same frame for ASCII messages when told they are ASCII', () => {
      const ascii = ['plain', 'say "hi"\\', 'tab\tbell\u0007', ''];
      expect(messageFrame(ascii, true)).toBe(messageFrame(ascii));
      expect(messageFrame(ascii, true)).toBe('a["plain","say \\"hi\\"\\\\","tab\\tbell\\u0007",""]');
    });
  });

  describe('#closeFrame', () => {
    it('writes the code and reason as a c-prefixed JSON array', () => {
      expect(closeFrame(3000, 'Go away!')).toBe('c[3000,"Go away!"]');
    });

    it('writes the shutdown frame the handler uses', () => {
      expect(closeFrame(1001, 'Server shutting down')).toBe('c[1001,"Server shutting down"]');
    });

    it('escapes unsafe characters in the reason', () => {
      expect(closeFrame(4000, 'a\u2029b\u200d')).toBe('c[4000,"a\\u2029b\\u200d"]');
    });
  });

  describe('#quote', () => {
    it('writes a JSON string literal', () => {
      expect(quote('plain')).toBe('"plain"');
      expect(quote('a"b')).toBe('"a\\"b"');
    });

    it('writes each character of the protocol unsafe ranges as a lowercase \\uXXXX escape', () => {
      for (const char of unsafeCharacters()) {
        expect([hex4(char), quote(char)]).toEqual([hex4(char), `"\\u${hex4(char)}"`]);
      }
    });

    it('escapes the range boundaries and leaves their neighbours alone', () => {
      expect(quote('\u200b\u200c\u200f\u2010')).toBe('"\u200b\\u200c\\u200f\u2010"');
      expect(quote('\u2027\u2028\u202f\u2030')).toBe('"\u2027\\u2028\\u202f\u2030"');
      expect(quote('\u205f\u2060\u206f\u2070')).toBe('"\u205f\\u2060\\u206f\u2070"');
      expect(quote('\uffef\ufff0\uffff')).toBe('"\uffef\\ufff0\\uffff"');
    });

    it('never writes a raw C0 control character', () => {
      for (let code = 0; code < 0x20; code++) {
        const char = String.fromCharCode(code);
        const quoted = quote(char);
        expect([code, /[\u0000-\u001f]/.test(quoted)]).toEqual([code, false]);
        expect(JSON.parse(quoted)).toBe(char);
      }
    });

    it('keeps lone surrogates through UTF-8 and JSON decoding', () => {
      for (const text of ['\ud800', '\udfff', 'a\udc00b', '\udc00\ud800', '\ud83d']) {
        const wire = overTheWire(quote(text));
        expect(JSON.parse(wire)).toBe(text);
      }
    });

    it('keeps a valid surrogate pair as the character it encodes', () => {
      expect(quote('😀')).toBe('"😀"');
    });

    it('round-trips every unsafe character through UTF-8 and JSON decoding', () => {
      const text = unsafeCharacters().join('');
      expect(JSON.parse(overTheWire(quote(text)))).toBe(text);
    });
  });

  describe('#escapeUnsafe', () => {
    it('returns JSON text without unsafe characters unchanged', () => {
      const json = JSON.stringify(['nothing to do here', 'é😀']);
      expect(escapeUnsafe(json)).toBe(json);
    });

    it('escapes unsafe characters in JSON text', () => {
      expect(escapeUnsafe('["\u2028","\u206f","\ufff5"]')).toBe('["\\u2028","\\u206f","\\ufff5"]');
    });

    it('escapes every occurrence, not only the first', () => {
      expect(escapeUnsafe('"\u200c\u200c\u200c"')).toBe('"\\u200c\\u200c\\u200c"');
    });
  });

  describe('#scriptString', () => {
    it('escapes < > & so no message can end a script block', () => {
      const text = scriptString('a["</script><script>alert(1)</script>&amp;"]');
      expect(text).not.toMatch(/[<>&]/);
      expect(text).toContain('\\u003c/script\\u003e');
      expect(text).toContain('\\u0026amp;');
    });

    it('is a string literal that decodes to the frame', () => {
      const frame = messageFrame(['<b>"bold" & \'quoted\'</b>', '\u2028']);
      expect(JSON.parse(scriptString(frame))).toBe(frame);
    });

    it('quotes the open frame as the protocol shows', () => {
      expect(scriptString('o')).toBe('"o"');
      expect(scriptString('a["x"]')).toBe('"a[\\"x\\"]"');
    });
  });

  describe('#parseMessages', () => {
    it('accepts a JSON array of strings', () => {
      expect(parseMessages('["a","b"]')).toEqual(['a', 'b']);
    });

    it('accepts an empty array', () => {
      expect(parseMessages('[]')).toEqual([]);
    });

    it('accepts a single JSON string as one message', () => {
      expect(parseMessages('"b"')).toEqual(['b']);
    });

    it('decodes any \\uXXXX escape a client sends, lone surrogates included', () => {
      expect(parseMessages('["\\u2028\\ud800\\u0041\\uffff"]')).toEqual(['\u2028\ud800A\uffff']);
    });

    it.each([
      ['broken JSON', '["a'],
      ['an empty text', ''],
      ['a number', '1'],
      ['null', 'null'],
      ['a boolean', 'true'],
      ['an object', '{"a":"b"}'],
      ['an array holding a number', '["a",1]'],
      ['an array holding null', '[null]'],
      ['an array holding an array', '[["a"]]'],
      ['an array holding an object', '[{}]'],
    ])('refuses %s with null', (_name, text) => {
      expect(parseMessages(text)).toBeNull();
    });
  });
});
