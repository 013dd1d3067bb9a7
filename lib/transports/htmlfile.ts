/**
 * htmlfile: `GET <session>/htmlfile?c=<callback>` streams an HTML page whose
 * script blocks call `parent.<callback>` with each frame. The head is padded
 * past 1 KiB so browsers start running scripts before the page ends; frames
 * are string literals with markup characters escaped, so no message can close
 * the script block.
 */
import { scriptString } from '../framing';
import type { HttpReceiverFormat } from './http-receiver';

function head(callback: string): string {
  return (
    '<!doctype html>\n' +
    '<html><head>\n' +
    '  <meta http-equiv="X-UA-Compatible" content="IE=edge" />\n' +
    '  <meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />\n' +
    "</head><body><h2>Don't panic!</h2>\n" +
    '  <script>\n' +
    '    document.domain = document.domain;\n' +
    `    var c = parent.${callback};\n` +
    '    c.start();\n' +
    '    function p(d) {c.message(d);};\n' +
    '    window.onload = function() {c.stop();};\n' +
    '  </script>\n'
  );
}

const PADDING = ' '.repeat(1024) + '\r\n\r\n';

export const htmlfile: HttpReceiverFormat = {
  transport: 'htmlfile',
  contentType: 'text/html; charset=UTF-8',
  streaming: true,
  prelude: (callback) => head(callback) + PADDING,
  frame: (frame) => `<script>\np(${scriptString(frame)});\n</script>\r\n`,
};
