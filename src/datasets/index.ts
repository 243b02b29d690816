export * from "./types";
export type * from "./declaration";
export {
  allDatasets,
  catalog,
  datasetByName,
  datasetsDir,
  loadCatalog,
  readDeclaration,
  type Catalog,
} from "./catalog";
export { compileDataset, suggestion } from "./compile";
