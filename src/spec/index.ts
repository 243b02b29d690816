export * from "./settings";
export * from "./names";
export * from "./delivery";
export * from "./validate";
export * from "./agent-config";
