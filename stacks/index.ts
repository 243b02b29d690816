/**
 * The Pulumi program (Pulumi.yaml `main: stacks/`). Reads the stack's config once, validates it, and
 * builds the environment; the exports below are the stack outputs.
 */
import * as pulumi from "@pulumi/pulumi";
import { allDatasets } from "../src/datasets";
import { loadStackConfig } from "./config";
import { createStack } from "./program";

const catalog = allDatasets();
const outputs = createStack(
  loadStackConfig(
    pulumi.getStack(),
    pulumi.runtime.allConfig(),
    catalog.map((d) => d.name),
  ),
  catalog,
);

export const bucket = outputs.bucket;
export const streams = outputs.streams;
export const glueDatabase = outputs.glueDatabase;
export const athenaWorkgroup = outputs.athenaWorkgroup;
export const agentConfigParameter = outputs.agentConfigParameter;
export const agentConfig = outputs.agentConfig;
export const agentInstanceProfile = outputs.agentInstanceProfile;
export const shipperInstall = outputs.shipperInstall;
export const alarmTopicArn = outputs.alarmTopicArn;
export const warehouse = outputs.warehouse;
export const loaderFunction = outputs.loaderFunction;
export const loadQueueUrl = outputs.loadQueueUrl;
export const loadDeadLetterQueueUrl = outputs.loadDeadLetterQueueUrl;
