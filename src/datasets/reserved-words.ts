/**
 * Names a column cannot take: the warehouse DDL, COPY column lists, model SQL and every analyst's
 * query name columns unquoted, so a column called `user` or `at` would fail the first CREATE TABLE
 * (Redshift: `syntax error at or near "user"`; DuckDB: `syntax error at or near "at"`) or force every
 * query to quote it. The catalog refuses them at declaration time and `dataset init` renames them.
 */

/** Amazon Redshift's reserved words (Database Developer Guide, "Reserved words", r_pg_keywords). */
const REDSHIFT = `aes128 aes256 all allowoverwrite analyse analyze and any array as asc authorization az64 backup
between binary blanksasnull both bytedict bzip2 case cast check collate column constraint create credentials
cross current_date current_time current_timestamp current_user current_user_id default deferrable deflate
defrag delta delta32k desc disable distinct do else emptyasnull enable encode encrypt encryption end except
explicit false for foreign freeze from full globaldict256 globaldict64k grant group gzip having identity
ignore ilike in initially inner intersect interval into is isnull join leading left like limit localtime
localtimestamp lun luns lzo lzop minus mostly16 mostly32 mostly8 natural new not notnull null nulls off
offline offset oid old on only open or order outer overlaps parallel partition percent permissions pivot
placing primary raw readratio recover references rejectlog resort respect restore right select session_user
similar snapshot some sysdate system table tag tdes text255 text32k then timestamp to top trailing true
truncatecolumns union unique unnest unpivot user using verbose wallet when where with without`;

/**
 * DuckDB's keywords that cannot name a column unquoted: the categories `reserved` and `type_function`
 * of `duckdb_keywords()` (the test compares this list with the bundled DuckDB's).
 */
const DUCKDB = `all analyse analyze and any array as asc asymmetric both case cast check collate column constraint
create default deferrable desc describe distinct do else end except false fetch for foreign from group having
in initially intersect into lambda lateral leading limit not null offset on only or order pivot pivot_longer
pivot_wider placing primary qualify references returning select show some summarize symmetric table then to
trailing true union unique unpivot using variadic when where window with
anti asof at authorization binary by collation columns concurrently cross freeze full generated glob ilike
inner is isnull join left like map natural notnull outer overlaps positional right semi similar struct
tablesample try_cast unpack verbose`;

const words = (list: string): ReadonlySet<string> => new Set(list.split(/\s+/).filter(Boolean));

export const REDSHIFT_RESERVED = words(REDSHIFT);
export const DUCKDB_RESERVED = words(DUCKDB);

/** The engines for which `name` is a reserved word, e.g. ["Redshift"] for `user`; empty when it is free. */
export function reservedIn(name: string): string[] {
  return [...(REDSHIFT_RESERVED.has(name) ? ["Redshift"] : []), ...(DUCKDB_RESERVED.has(name) ? ["DuckDB"] : [])];
}
