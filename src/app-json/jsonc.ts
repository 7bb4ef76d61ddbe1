import { type ParseError, parse, printParseErrorCode } from "jsonc-parser";

// JSON with comments (JSONC), as Dokku reads app.json: `//` and `/* */` comments and
// trailing commas are allowed. Errors name the line and column, not a byte offset.

const WHY: Record<string, string> = {
  InvalidSymbol: "unexpected character",
  InvalidNumberFormat: "invalid number",
  PropertyNameExpected: 'a property name in double quotes was expected, e.g. "web"',
  ValueExpected: "a value was expected",
  ColonExpected: 'a ":" was expected',
  CommaExpected: 'a "," was expected',
  CloseBraceExpected: 'a closing "}" was expected',
  CloseBracketExpected: 'a closing "]" was expected',
  EndOfFileExpected: "text after the end of the document",
  InvalidCommentToken: "invalid comment",
  UnexpectedEndOfComment: "a /* comment is not closed",
  UnexpectedEndOfString: "a string is not closed",
  UnexpectedEndOfNumber: "a number is cut short",
  InvalidUnicode: "invalid \\u escape",
  InvalidEscapeCharacter: "invalid escape in a string",
  InvalidCharacter: "invalid character in a string",
};

/** 1-based line and column of a character offset. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === "\n") {
      line++;
      start = i + 1;
    }
  }
  return { line, column: offset - start + 1 };
}

export type JsoncResult = { ok: true; value: unknown } | { ok: false; error: string };

/** Parse JSONC; on error, `<file> line L, column C: <why>` for the first problem. */
export function parseJsonc(text: string, file: string): JsoncResult {
  const errors: ParseError[] = [];
  const value = parse(text, errors, { allowTrailingComma: true, disallowComments: false });
  if (errors.length > 0) {
    const first = errors[0];
    const { line, column } = lineColumn(text, first.offset);
    const code = printParseErrorCode(first.error);
    return { ok: false, error: `${file} line ${line}, column ${column}: ${WHY[code] ?? code}` };
  }
  if (text.trim() === "") return { ok: false, error: `${file} is empty` };
  return { ok: true, value };
}
