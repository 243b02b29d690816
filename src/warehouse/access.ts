import { TributaryError } from "../errors";
import { SCHEMAS } from "./tables";

/**
 * Who may read the warehouse, in Redshift's own terms (DuckDB, the offline warehouse, has no users).
 * One database role, `analyst`, may read the `analytics` and `history` schemas and nothing else: no
 * staging, no ledger, no writes. Analysts reach it with their own IAM identity (the Data API's
 * GetCredentials / GetClusterCredentialsWithIAM, or a JDBC/ODBC driver with IAM authentication), which
 * Redshift maps to the database user `IAMR:<role name>`; the loader grants it the role:
 *   - Redshift Serverless also grants it at every sign-in from the role's `RedshiftDbRoles` tag;
 *   - a provisioned cluster only through the grant the loader's DDL makes here.
 */

export const ANALYST_DB_ROLE = "analyst";

/** Schemas the analyst role reads. */
export const ANALYST_SCHEMAS: readonly string[] = [SCHEMAS.analytics, SCHEMAS.history];

/** The database user Redshift maps an IAM role to with IAM authentication. */
export function iamRoleDbUser(roleName: string): string {
  // IAM role names are [\w+=,.@-]{1,64}; the double-quoted identifier below tolerates all of them but ".
  if (!/^[\w+=,.@-]{1,64}$/.test(roleName)) {
    throw new TributaryError(
      "TRIBUTARY_BAD_IAM_ROLE_NAME",
      `${JSON.stringify(roleName)} is not an IAM role name (1–64 of letters, digits and +=,.@_-).`,
    );
  }
  return `IAMR:${roleName}`;
}

/**
 * Redshift has no CREATE ROLE/USER IF NOT EXISTS, and the DDL runs before every load: a procedure
 * makes the role (and the IAM role's database user, for provisioned clusters where it is not created
 * at sign-in before the grant is needed) exactly once, then grants.
 */
const ENSURE_PROCEDURE = `CREATE OR REPLACE PROCEDURE ${SCHEMAS.tributary}.ensure_analyst_access(db_user VARCHAR(128))
AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM svv_roles WHERE role_name = '${ANALYST_DB_ROLE}') THEN
    EXECUTE 'CREATE ROLE ${ANALYST_DB_ROLE}';
  END IF;
  IF db_user IS NOT NULL THEN
    IF NOT EXISTS (SELECT 1 FROM pg_user WHERE usename = db_user) THEN
      EXECUTE 'CREATE USER ' || quote_ident(db_user) || ' PASSWORD DISABLE';
    END IF;
    EXECUTE 'GRANT ROLE ${ANALYST_DB_ROLE} TO ' || quote_ident(db_user);
  END IF;
END;
$$ LANGUAGE plpgsql`;

/**
 * The Redshift statements that create the analyst role, grant it read access to `analytics` and
 * `history` (present and future tables and views of those schemas), and map `analystIamRoleName`'s
 * database user to it. Idempotent; run after the warehouse DDL.
 */
export function analystAccessDdl(analystIamRoleName?: string): string[] {
  const dbUser = analystIamRoleName === undefined ? "NULL" : `'${iamRoleDbUser(analystIamRoleName)}'`;
  return [
    ENSURE_PROCEDURE,
    `CALL ${SCHEMAS.tributary}.ensure_analyst_access(${dbUser})`,
    ...ANALYST_SCHEMAS.flatMap((schema) => [
      `GRANT USAGE ON SCHEMA ${schema} TO ROLE ${ANALYST_DB_ROLE}`,
      `GRANT SELECT ON ALL TABLES IN SCHEMA ${schema} TO ROLE ${ANALYST_DB_ROLE}`,
      // Tables the loader creates later (a new dataset, a new model) are readable without a redeploy.
      `ALTER DEFAULT PRIVILEGES IN SCHEMA ${schema} GRANT SELECT ON TABLES TO ROLE ${ANALYST_DB_ROLE}`,
    ]),
  ];
}
