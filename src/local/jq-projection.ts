/**
 * Which top-level fields a MetadataExtractionQuery reads, so that jq can be handed just those fields
 * instead of the whole record. jq spends most of its time parsing its input: a 470-byte Sparkify
 * event cut down to `{"ts":…,"page":…}` makes the jq 1.6 process about three times faster, with the
 * same outputs.
 *
 * The analysis is deliberately conservative. It parses the query with jq's precedence and tracks
 * whether each sub-expression receives the record itself (the root) as its input. The record may
 * only be used as `.name` / `."name"` there (followed by any postfix: `.name[0:10]`, `.name.x`,
 * `.name?`); what a field's value then flows into (`| floor | strftime(…)`) never sees the record
 * again. Anything else that could see the whole record — `.` alone, `.[…]`, `..`, a function called
 * on the record (`keys`, `tostring`, `length`), variables, `as`, `def`, `reduce`, `foreach`, `try`,
 * `label`, string interpolation, formats, assignment, `input`/`inputs` — and anything the parser
 * does not know makes it give up: the query then gets whole records, as before.
 *
 * Meant for jq 1.6 only (jq 1.7 keeps number literals as written, which re-serializing would change).
 * A projected value is re-serialized from the parsed record, so only values whose JSON text jq 1.6
 * parses back to exactly the same value are projected: strings, booleans, null and finite numbers
 * other than -0 (jq 1.6 holds every number as a double, as JavaScript does). A record whose read
 * field holds an object or an array, or another number, goes to jq whole.
 */
export interface JqInputProjection {
  /** The top-level fields the query reads, in first-use order. */
  readonly fields: readonly string[];
  /** The JSON text jq gets instead of the record, or undefined to send the record's own text. */
  project(record: unknown): string | undefined;
}

type Token =
  | { readonly kind: "field"; readonly name: string }
  | { readonly kind: "word"; readonly text: string }
  | { readonly kind: "string" }
  | { readonly kind: "number" }
  | { readonly kind: "punct"; readonly text: string };

/** Query features outside what the analysis proves safe. */
class Unsupported extends Error {}

const WORD = /[A-Za-z_][A-Za-z0-9_]*/y;
const NUMBER = /(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/y;
const STRING = /"(?:[^"\\]|\\.)*"/y;
const PUNCTUATION = ["?//", "//=", "|=", "+=", "-=", "*=", "/=", "%=", "==", "!=", "<=", ">=", "//", ".."];
const SINGLE = "|,.()[]{}:;?+-*/%<>=$@";
const NEVER = new Set([
  "as",
  "def",
  "reduce",
  "foreach",
  "try",
  "catch",
  "label",
  "import",
  "include",
  "input",
  "inputs",
  "input_line_number",
  "__loc__",
]);
const CONSTANTS = new Set(["null", "true", "false"]);
const COMPARISONS = new Set(["==", "!=", "<", "<=", ">", ">="]);

function tokenize(query: string): Token[] {
  const tokens: Token[] = [];
  let at = 0;
  const match = (pattern: RegExp): string | undefined => {
    pattern.lastIndex = at;
    const m = pattern.exec(query);
    return m ? m[0] : undefined;
  };
  while (at < query.length) {
    const c = query[at];
    if (c === " " || c === "\t" || c === "\n" || c === "\r") {
      at++;
      continue;
    }
    if (c === "#") throw new Unsupported("comment");
    if (c === '"') {
      const literal = match(STRING);
      if (literal === undefined || literal.includes("\\(")) throw new Unsupported("string");
      tokens.push({ kind: "string" });
      at += literal.length;
      continue;
    }
    const number = match(NUMBER);
    if (number !== undefined) {
      tokens.push({ kind: "number" });
      at += number.length;
      continue;
    }
    if (c === "." && query[at + 1] !== ".") {
      // `.name` and `."name"` are field accesses; a lone `.` is the input itself.
      at++;
      const word = match(WORD);
      if (word !== undefined) {
        tokens.push({ kind: "field", name: word });
        at += word.length;
        continue;
      }
      const literal = query[at] === '"' ? match(STRING) : undefined;
      if (literal !== undefined) {
        if (literal.includes("\\(")) throw new Unsupported("string");
        tokens.push({ kind: "field", name: JSON.parse(literal) as string });
        at += literal.length;
        continue;
      }
      tokens.push({ kind: "punct", text: "." });
      continue;
    }
    const word = match(WORD);
    if (word !== undefined) {
      tokens.push({ kind: "word", text: word });
      at += word.length;
      continue;
    }
    const punct = PUNCTUATION.find((p) => query.startsWith(p, at)) ?? (SINGLE.includes(c) ? c : undefined);
    if (punct === undefined) throw new Unsupported(`character ${c}`);
    tokens.push({ kind: "punct", text: punct });
    at += punct.length;
  }
  return tokens;
}

/** Recursive descent over jq's grammar, from the loosest operator (`|`) to terms. */
class QueryAnalysis {
  private at = 0;
  readonly fields: string[] = [];

  constructor(private readonly tokens: readonly Token[]) {}

  run(): void {
    this.pipe(true);
    if (this.at !== this.tokens.length) throw new Unsupported("trailing tokens");
  }

  private peek(): Token | undefined {
    return this.tokens[this.at];
  }

  private isPunct(text: string): boolean {
    const token = this.peek();
    return token?.kind === "punct" && token.text === text;
  }

  private isWord(text: string): boolean {
    const token = this.peek();
    return token?.kind === "word" && token.text === text;
  }

  private expectPunct(text: string): void {
    if (!this.isPunct(text)) throw new Unsupported(`expected ${text}`);
    this.at++;
  }

  private expectWord(text: string): void {
    if (!this.isWord(text)) throw new Unsupported(`expected ${text}`);
    this.at++;
  }

  /** `a | b`: b's input is a's output, never the record. */
  private pipe(root: boolean): void {
    this.comma(root);
    while (this.isPunct("|")) {
      this.at++;
      this.comma(false);
    }
  }

  private comma(root: boolean): void {
    this.binary(root, 0);
    while (this.isPunct(",")) {
      this.at++;
      this.binary(root, 0);
    }
  }

  /** Binary operators, loosest first; both operands get the same input. */
  private binary(root: boolean, level: number): void {
    const levels: Array<(t: Token | undefined) => boolean> = [
      (t) => t?.kind === "punct" && t.text === "//",
      (t) => t?.kind === "word" && t.text === "or",
      (t) => t?.kind === "word" && t.text === "and",
      (t) => t?.kind === "punct" && COMPARISONS.has(t.text),
      (t) => t?.kind === "punct" && (t.text === "+" || t.text === "-"),
      (t) => t?.kind === "punct" && (t.text === "*" || t.text === "/" || t.text === "%"),
    ];
    if (level === levels.length) {
      this.postfix(root);
      return;
    }
    this.binary(root, level + 1);
    while (levels[level](this.peek())) {
      this.at++;
      this.binary(root, level + 1);
    }
  }

  /** A term and its suffixes. Index and slice bounds are evaluated against the term's own input. */
  private postfix(root: boolean): void {
    this.term(root);
    for (;;) {
      const token = this.peek();
      if (token?.kind === "field") {
        this.at++;
      } else if (this.isPunct("?")) {
        this.at++;
      } else if (this.isPunct("[")) {
        this.at++;
        if (this.isPunct("]")) {
          this.at++;
          continue;
        }
        if (!this.isPunct(":")) this.pipe(root);
        if (this.isPunct(":")) {
          this.at++;
          if (!this.isPunct("]")) this.pipe(root);
        }
        this.expectPunct("]");
      } else {
        return;
      }
    }
  }

  private term(root: boolean): void {
    const token = this.peek();
    if (!token) throw new Unsupported("unexpected end");
    if (token.kind === "string" || token.kind === "number") {
      this.at++;
      return;
    }
    if (token.kind === "field") {
      this.at++;
      if (root && !this.fields.includes(token.name)) this.fields.push(token.name);
      return;
    }
    if (token.kind === "word") {
      if (NEVER.has(token.text)) throw new Unsupported(token.text);
      if (CONSTANTS.has(token.text)) {
        this.at++;
        return;
      }
      if (token.text === "if") return this.conditional(root);
      // A function called on the record would see all of it.
      if (root) throw new Unsupported(`${token.text} on the record`);
      this.at++;
      if (this.isPunct("(")) {
        this.at++;
        this.pipe(false);
        while (this.isPunct(";")) {
          this.at++;
          this.pipe(false);
        }
        this.expectPunct(")");
      }
      return;
    }
    switch (token.text) {
      case ".":
      case "..":
        if (root) throw new Unsupported("the whole record");
        this.at++;
        return;
      case "(":
        this.at++;
        this.pipe(root);
        this.expectPunct(")");
        return;
      case "[":
        this.at++;
        if (!this.isPunct("]")) this.pipe(root);
        this.expectPunct("]");
        return;
      case "{":
        this.at++;
        this.object(root);
        return;
      default:
        throw new Unsupported(token.text);
    }
  }

  private conditional(root: boolean): void {
    this.expectWord("if");
    this.pipe(root);
    this.expectWord("then");
    this.pipe(root);
    while (this.isWord("elif")) {
      this.at++;
      this.pipe(root);
      this.expectWord("then");
      this.pipe(root);
    }
    if (this.isWord("else")) {
      this.at++;
      this.pipe(root);
    }
    this.expectWord("end");
  }

  /** `{key: value, …}`; a value is a postfix term or a pipe of them (jq's ExpD), `{name}` is `{name: .name}`. */
  private object(root: boolean): void {
    if (this.isPunct("}")) {
      this.at++;
      return;
    }
    for (;;) {
      const key = this.peek();
      if (key?.kind === "word" || key?.kind === "string") {
        this.at++;
        if (key.kind === "word" && !this.isPunct(":")) {
          if (root && !this.fields.includes(key.text)) this.fields.push(key.text);
        } else {
          this.expectPunct(":");
          this.objectValue(root);
        }
      } else if (this.isPunct("(")) {
        this.at++;
        this.pipe(root);
        this.expectPunct(")");
        this.expectPunct(":");
        this.objectValue(root);
      } else {
        throw new Unsupported("object key");
      }
      if (this.isPunct(",")) {
        this.at++;
        continue;
      }
      this.expectPunct("}");
      return;
    }
  }

  private objectValue(root: boolean): void {
    this.postfix(root);
    while (this.isPunct("|")) {
      this.at++;
      this.postfix(false);
    }
  }
}

/** A projected value must parse back in jq 1.6 to exactly what the record held. */
function projectable(value: unknown): boolean {
  if (value === null || typeof value === "string" || typeof value === "boolean") return true;
  return typeof value === "number" && Number.isFinite(value) && !Object.is(value, -0);
}

/**
 * The projection for `query`, or undefined when the query may read more of the record than named
 * top-level fields (jq then gets whole records).
 */
export function jqInputProjection(query: string): JqInputProjection | undefined {
  let analysis: QueryAnalysis;
  try {
    analysis = new QueryAnalysis(tokenize(query));
    analysis.run();
  } catch (err) {
    if (err instanceof Unsupported) return undefined;
    throw err;
  }
  const fields = [...analysis.fields];
  const keyTexts = fields.map((f) => JSON.stringify(f));
  return {
    fields,
    project(record) {
      if (record === null || typeof record !== "object" || Array.isArray(record)) return undefined;
      const source = record as Record<string, unknown>;
      let text = "{";
      for (let i = 0; i < fields.length; i++) {
        // A missing field stays missing: `.name` is null either way.
        if (!Object.prototype.hasOwnProperty.call(source, fields[i])) continue;
        const value = source[fields[i]];
        if (!projectable(value)) return undefined;
        if (text.length > 1) text += ",";
        text += `${keyTexts[i]}:${JSON.stringify(value)}`;
      }
      return `${text}}`;
    },
  };
}
