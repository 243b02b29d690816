/**
 * Splits SQL text into statements at top-level semicolons: not inside '…' strings ('' escapes a
 * quote, as standard SQL), "…" identifiers, $tag$…$tag$ bodies, -- line comments or
 * /* … *\/ block comments. Empty statements (a trailing `;`) are dropped. Both engines we query accept
 * this lexical subset; it is only used to count and to name statements, never to rewrite them.
 */
export function splitSqlStatements(text: string): string[] {
  const statements: string[] = [];
  let start = 0;
  let i = 0;
  const push = (end: number) => {
    const statement = text.slice(start, end).trim();
    if (statement !== "" && !isOnlyComments(statement)) statements.push(statement);
  };
  while (i < text.length) {
    const c = text[i];
    const next = text[i + 1];
    if (c === "-" && next === "-") {
      const end = text.indexOf("\n", i);
      i = end < 0 ? text.length : end + 1;
    } else if (c === "/" && next === "*") {
      const end = text.indexOf("*/", i + 2);
      i = end < 0 ? text.length : end + 2;
    } else if (c === "'" || c === '"') {
      i++;
      while (i < text.length) {
        if (text[i] === c && text[i + 1] === c) i += 2;
        else if (text[i] === c) break;
        else i++;
      }
      i++;
    } else if (c === "$") {
      const tag = /^\$[A-Za-z_]*\$/.exec(text.slice(i))?.[0];
      if (tag) {
        const end = text.indexOf(tag, i + tag.length);
        i = end < 0 ? text.length : end + tag.length;
      } else {
        i++;
      }
    } else if (c === ";") {
      push(i);
      start = i + 1;
      i++;
    } else {
      i++;
    }
  }
  push(text.length);
  return statements;
}

function isOnlyComments(statement: string): boolean {
  return (
    statement
      .replace(/--[^\n]*(\n|$)/g, "")
      .replace(/\/\*[\s\S]*?\*\//g, "")
      .trim() === ""
  );
}
