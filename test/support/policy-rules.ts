import type { PolicyDocument, PolicyStatement } from "../../infra/iam/policy";
import { DATA_API_STATEMENT_ACTIONS } from "../../infra/iam/loader";

/**
 * Actions the Service Authorization Reference lists without a resource type: the only ones an
 * Allow may pair with `Resource: "*"`.
 */
export const ACTIONS_WITHOUT_RESOURCE_TYPE: readonly string[] = [
  ...DATA_API_STATEMENT_ACTIONS,
  "cloudwatch:PutMetricData",
];

const list = (value: string | readonly string[] | undefined): readonly string[] =>
  value === undefined ? [] : typeof value === "string" ? [value] : value;

/**
 * Every violation of "no `*` or `service:*` action, no `Resource: "*"` where a scope exists" in the
 * Allow statements. In a KMS key policy `Resource: "*"` means "this key", so only actions are checked.
 */
export function wildcardViolations(
  document: Pick<PolicyDocument, "Statement">,
  options: { readonly keyPolicy?: boolean } = {},
): string[] {
  const violations: string[] = [];
  document.Statement.forEach((statement: PolicyStatement, index) => {
    if (statement.Effect !== "Allow") return;
    const label = statement.Sid ?? `Statement[${index}]`;
    for (const action of list(statement.Action)) {
      if (action === "*" || /^[a-z0-9-]+:\*$/.test(action)) violations.push(`${label}: action ${action}`);
    }
    if (!options.keyPolicy && list(statement.Resource).includes("*")) {
      const scoped = list(statement.Action).filter((a) => !ACTIONS_WITHOUT_RESOURCE_TYPE.includes(a));
      if (scoped.length > 0) violations.push(`${label}: Resource "*" for ${scoped.join(", ")}`);
      if (statement.Condition === undefined) violations.push(`${label}: Resource "*" without a condition`);
    }
  });
  return violations;
}
