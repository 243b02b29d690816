import { TributaryError } from "../errors";
import { exportTargetsOf } from "./exports";
import type { Model, Question } from "./models/types";
import { SCHEMAS } from "./tables";

/**
 * The questions models answer (`Model.questions`): one SQL text per question, rendered for the engine
 * that runs it. `{table}` names an exported table of the model: `analytics.table` in Redshift and
 * DuckDB, the Glue table `"table"` in Athena (the named query runs in the lake's Glue database).
 */

export type QuestionEngine = "warehouse" | "athena";

export interface ModelQuestion {
  readonly model: string;
  readonly question: Question;
  /** The exported tables the question reads. */
  readonly tables: readonly string[];
}

const TABLE_REFERENCE = /\{([a-z_][a-z0-9_]*)\}/g;

/** Every question of `models`, checked: unique snake_case ids, and only exported tables of its model. */
export function questionsOf(models: readonly Model[]): ModelQuestion[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  const questions: ModelQuestion[] = [];
  for (const model of models) {
    const exported = new Set(exportTargetsOf([model]).map((t) => t.table.name));
    for (const question of model.questions ?? []) {
      if (!/^[a-z_][a-z0-9_]*$/.test(question.id))
        problems.push(`${model.name}: question id "${question.id}" is not snake_case`);
      if (seen.has(question.id)) problems.push(`${model.name}: question id ${question.id} is used twice`);
      seen.add(question.id);
      const tables = [...new Set([...question.sql.matchAll(TABLE_REFERENCE)].map((m) => m[1]))];
      for (const table of tables) {
        if (!exported.has(table)) {
          problems.push(
            `${model.name}.${question.id} reads {${table}}, which the model does not export (exports: ${[...exported].join(", ") || "none"}); Athena only sees exported tables`,
          );
        }
      }
      if (tables.length === 0) problems.push(`${model.name}.${question.id} names no {table}`);
      questions.push({ model: model.name, question, tables });
    }
  }
  if (problems.length > 0) {
    throw new TributaryError("TRIBUTARY_BAD_MODEL_QUESTION", `Model questions: ${problems.join("; ")}.`);
  }
  return questions;
}

/** The question's SQL for one engine. */
export function renderQuestion(question: Question, engine: QuestionEngine): string {
  return question.sql.replace(TABLE_REFERENCE, (_, table: string) =>
    engine === "warehouse" ? `${SCHEMAS.analytics}.${table}` : `"${table}"`,
  );
}
